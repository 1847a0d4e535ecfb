//! What `train`, `eval` and `predict` were asked, resolved from the flags, shared by the three
//! task modules.

use std::path::{Path, PathBuf};

use crate::burn::tensor::Device;
use crate::model::weights::{HfModel, LoadReport};
use crate::train::TrainingConfig;
use crate::{Pretrained, from_pretrained};
use anyhow::{Context, Result, bail};

/// Where labelled data comes from, and which columns hold what.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Column of the text (a header name, or a 0-based index).
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Column of the second text, for sentence-pair tasks.
    #[arg(long)]
    pub text_pair_column: Option<String>,
    /// Column of the label.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// The CSV/TSV has no header row (columns are then indices).
    #[arg(long)]
    pub no_header: bool,
    /// Multi-label data in a CSV/TSV: what separates a row's labels in the label column
    /// (`--label-delimiter ';'` for `sports;politics`; an empty field is no label).
    #[arg(long)]
    pub label_delimiter: Option<String>,
    /// Masked-LM text files: a document per line (default), or paragraphs separated by blank
    /// lines.
    #[arg(long, value_enum)]
    pub documents: Option<crate::tasks::masked_lm::DocumentSeparator>,
}

impl DataArgs {
    /// An error when a column flag was given to `task`, whose data has no columns.
    pub fn refuse(&self, task: &str) -> Result<()> {
        let given = [
            ("--text-column", self.text_column != "text"),
            ("--text-pair-column", self.text_pair_column.is_some()),
            ("--label-column", self.label_column != "label"),
            ("--no-header", self.no_header),
            ("--label-delimiter", self.label_delimiter.is_some()),
        ];
        match given.iter().find(|(_, given)| *given) {
            Some((flag, _)) => anyhow::bail!(
                "{flag} is for sequence classification's CSV/TSV/JSONL; {task} data has no columns"
            ),
            None => Ok(()),
        }
    }
}

/// A `train` command: the recipe with the flags applied, and where the data and output are.
pub struct TrainJob {
    /// HF folder or hub model id to start from.
    pub model: String,
    /// Training data.
    pub data: PathBuf,
    /// Validation data; without it, a split of `data`.
    pub validation: Option<PathBuf>,
    /// Fraction of `data` held out when `validation` is not given.
    pub validation_split: f64,
    /// Output folder.
    pub output: PathBuf,
    /// Resume from this epoch's checkpoint.
    pub resume_from_epoch: Option<usize>,
    /// The recipe.
    pub args: TrainingConfig,
    /// Whether `max_length` came from a flag or a recipe file (else the task may pick its own).
    pub max_length_given: bool,
}

impl TrainJob {
    /// The training and validation sets: `validation` read as `data` is (`read` is given the
    /// file and "train" or "test"), or `split` of `data`; prints their sizes in `unit`s.
    pub fn sets<T>(
        &self,
        unit: &str,
        read: impl Fn(&Path, &str) -> Result<Vec<T>>,
        split: impl FnOnce(Vec<T>) -> (Vec<T>, Vec<T>),
    ) -> Result<(Vec<T>, Vec<T>)> {
        let items = read(&self.data, "train")?;
        let (train, valid) = match &self.validation {
            Some(path) => (items, read(path, "test")?),
            None => split(items),
        };
        eprintln!(
            "training on {} {unit}, validating on {}",
            train.len(),
            valid.len()
        );
        Ok((train, valid))
    }
}

/// An `eval` command.
pub struct EvalJob {
    /// HF folder or hub model id of a fine-tuned model.
    pub model: String,
    /// Labelled data.
    pub data: PathBuf,
    /// Examples per batch.
    pub batch_size: usize,
    /// Longest input in tokens (default: the model's).
    pub max_length: Option<usize>,
    /// Question answering: overlap of the context windows.
    pub doc_stride: usize,
    /// SQuAD v2: how much the null score must beat the best span's for "no answer".
    pub null_score_diff_threshold: f32,
    /// Print JSON.
    pub json: bool,
}

/// One input of `predict`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PredictInput {
    /// The text (classification, tagging).
    pub text: Option<String>,
    /// A second text (sentence-pair classification).
    pub text_pair: Option<String>,
    /// The question (question answering).
    pub question: Option<String>,
    /// The context (question answering).
    pub context: Option<String>,
    /// Its line in the `--file` (1-based), 0 for the flags.
    #[serde(skip)]
    pub line: usize,
}

impl PredictInput {
    /// The fields given, by their JSON names.
    fn given(&self) -> impl Iterator<Item = &'static str> {
        [
            ("text", self.text.is_some()),
            ("text_pair", self.text_pair.is_some()),
            ("question", self.question.is_some()),
            ("context", self.context.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
    }
}

/// A `predict` command.
pub struct PredictJob {
    /// The model folder.
    pub model: String,
    /// The inputs, from the flags or `file`.
    pub inputs: Vec<PredictInput>,
    /// The file the inputs come from, if any.
    pub file: Option<PathBuf>,
    /// Truncate to this many tokens (default: the model's limit).
    pub max_length: Option<usize>,
    /// Longest answer, in tokens (default: the pipeline's, 15).
    pub max_answer_length: Option<usize>,
    /// Overlap of the windows over a long context (default: the pipeline's).
    pub doc_stride: Option<usize>,
    /// Inputs per forward pass (sequence classification).
    pub batch_size: usize,
    /// Multi-label classification: the probability above which a label is predicted.
    pub threshold: Option<f32>,
    /// Masked LM: candidates per `[MASK]` (default: the pipeline's, 5).
    pub top_k: Option<usize>,
    /// Print JSON.
    pub json: bool,
}

impl PredictJob {
    /// Where input `i` comes from, to start an error about it.
    pub fn place(&self, i: usize) -> String {
        match &self.file {
            Some(path) => format!(
                "{}: input {} (line {}): ",
                path.display(),
                i + 1,
                self.inputs[i].line
            ),
            None => String::new(),
        }
    }

    /// `result`, its error prefixed with where input `i` comes from.
    pub fn at<T, E: Into<anyhow::Error>>(&self, i: usize, result: Result<T, E>) -> Result<T> {
        result.map_err(|e| {
            let e = e.into();
            match self.file {
                Some(_) => anyhow::anyhow!("{}{e:#}", self.place(i)),
                None => e,
            }
        })
    }

    /// An error when a question-answering flag (`--doc-stride`, `--max-answer-length`) was
    /// given to `task`, which has no use for it.
    pub fn refuse_answer_flags(&self, task: &str) -> Result<()> {
        for (flag, given) in [
            ("--doc-stride", self.doc_stride.is_some()),
            ("--max-answer-length", self.max_answer_length.is_some()),
        ] {
            if given {
                bail!("{flag} is for question answering; {task} does not read it");
            }
        }
        Ok(())
    }

    /// An error when `--threshold` was given to `task` (not a multi-label classifier).
    pub fn refuse_threshold(&self, task: &str) -> Result<()> {
        if self.threshold.is_some() {
            bail!("--threshold is for multi-label classification; {task} does not read it");
        }
        Ok(())
    }

    /// An error for the first input that gives a field `task` does not read (`reads`): the
    /// head would ignore it.
    pub fn check_fields(&self, task: &str, reads: &[&str]) -> Result<()> {
        for (i, input) in self.inputs.iter().enumerate() {
            if let Some(name) = input.given().find(|name| !reads.contains(name)) {
                let field = |name: &str| match self.file {
                    Some(_) => format!("`{name}`"),
                    None => format!("--{}", name.replace('_', "-")),
                };
                let reads: Vec<String> = reads.iter().map(|name| field(name)).collect();
                bail!(
                    "{}{} is not read by {task}, which reads {}",
                    self.place(i),
                    field(name),
                    reads.join(" and ")
                );
            }
        }
        Ok(())
    }
}

/// The inputs of a `predict --file`: a JSON object or a plain text per non-empty line.
pub fn read_inputs(path: &Path) -> Result<Vec<PredictInput>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 ({e})", path.display()))?;
    let mut inputs = Vec::new();
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('{') {
            let input: PredictInput = serde_json::from_str(line).with_context(|| {
                format!(
                    "{}:{}: not a JSON object of text/text_pair or question/context (a plain \
                     text that starts with `{{` is written as {{\"text\": ...}})",
                    path.display(),
                    i + 1
                )
            })?;
            inputs.push(PredictInput {
                line: i + 1,
                ..input
            });
        } else {
            inputs.push(PredictInput {
                text: Some(line.to_string()),
                line: i + 1,
                ..Default::default()
            });
        }
    }
    if inputs.is_empty() {
        bail!("{}: no inputs", path.display());
    }
    Ok(inputs)
}

/// Prints `value` as one JSON line, or `plain`.
pub fn print(json: bool, value: &serde_json::Value, plain: &str) {
    if json {
        say(&value.to_string());
    } else {
        say(plain);
    }
}

/// Prints a line on standard output. When the reader has gone (`burnbert predict ... | head`),
/// the process ends quietly with status 0, as `cat` or `grep` end, rather than panicking as
/// `println!` does.
pub fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Loads a model, warning about tensors it lacks or does not use.
pub fn load<M: HfModel>(model: &str, device: &Device) -> Result<Pretrained<M>> {
    let bert = from_pretrained::<M>(model, device)?;
    if let Some(warning) = bert.report.warning() {
        eprintln!("warning: {warning}");
    }
    Ok(bert)
}

/// Loads `model` as an `M`: its parameter count and load report.
pub fn counted<M: HfModel>(model: &str, device: &Device) -> Result<(usize, LoadReport)> {
    let bert = load::<M>(model, device)?;
    Ok((bert.model.num_params(), bert.report))
}
