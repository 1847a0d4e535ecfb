//! `burnbert`: inspect, encode with and predict with HF BERT models from the command line.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use burnbert::burn::tensor::Device;
use burnbert::data::PaddedBatch;
use burnbert::model::weights::HfModel;
use burnbert::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertModel, Pretrained, from_pretrained, predict,
};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "burnbert",
    version,
    about = "Fine-tune and run BERT encoders on Burn"
)]
struct Cli {
    /// Device: flex, ndarray, wgpu, wgpu:cpu, vulkan, metal, cuda[:N], tch[:cpu|:cuda:N].
    /// Defaults to BURN_DEVICE, else the first backend this build has.
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Config, parameter count, head and load report of a model folder or hub id.
    Inspect {
        /// HF folder or hub model id.
        model: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Token ids, pooled output and mean-pooled embedding of a text.
    Encode {
        /// HF folder or hub model id.
        model: String,
        /// The text.
        #[arg(long)]
        text: String,
        /// A second text (segment B).
        #[arg(long)]
        text_pair: Option<String>,
        /// Truncate to this many tokens (default: the model's limit).
        #[arg(long)]
        max_length: Option<usize>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fine-tune a model on labelled data, writing checkpoints, logs, metrics.json and the
    /// fine-tuned HF folder (OUTPUT/model).
    Train {
        /// HF folder or hub model id to start from.
        model: String,
        /// The task.
        #[arg(long, value_enum, default_value = "sequence-classification")]
        task: Task,
        /// Training data: a CSV/TSV/JSONL file, or an aclImdb folder (its train/ split); for
        /// token classification a CoNLL file (word first, tag last) or JSONL of tokens/tags;
        /// for question answering a SQuAD JSON file (split by article without --validation).
        #[arg(long)]
        data: std::path::PathBuf,
        /// Validation data; without it, a seeded --validation-split of --data.
        #[arg(long)]
        validation: Option<std::path::PathBuf>,
        /// Fraction of --data held out for validation when --validation is not given.
        #[arg(long, default_value_t = 0.1)]
        validation_split: f64,
        #[command(flatten)]
        columns: DataArgs,
        /// A recipe file (TOML or JSON) with TrainingArguments names.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// Epochs (num_train_epochs).
        #[arg(long)]
        epochs: Option<usize>,
        /// Peak learning rate.
        #[arg(long)]
        learning_rate: Option<f64>,
        /// Examples per step (per_device_train_batch_size).
        #[arg(long)]
        batch_size: Option<usize>,
        /// Longest input in tokens.
        #[arg(long)]
        max_length: Option<usize>,
        /// Seed of head init, dropout, shuffling and the validation split.
        #[arg(long)]
        seed: Option<u64>,
        /// Output folder.
        #[arg(long)]
        output: std::path::PathBuf,
        /// Resume an interrupted run from this epoch's checkpoint in OUTPUT.
        #[arg(long)]
        resume_from_epoch: Option<usize>,
    },
    /// Score a fine-tuned model on labelled data. A classifier: accuracy, macro and per-class
    /// P/R/F1, loss, confusion matrix; a token classifier (CoNLL / JSONL data): seqeval's entity
    /// P/R/F1 overall and per type, token accuracy, loss.
    Eval {
        /// HF folder or hub model id of a fine-tuned classifier.
        model: String,
        /// Labelled data: a CSV/TSV/JSONL file, or an aclImdb folder (its test/ split).
        #[arg(long)]
        data: std::path::PathBuf,
        #[command(flatten)]
        columns: DataArgs,
        /// Examples per batch.
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// Longest input in tokens (default: the model's limit; 384 for question answering).
        #[arg(long)]
        max_length: Option<usize>,
        /// Question answering: overlap of the context windows, in tokens.
        #[arg(long, default_value_t = 128)]
        doc_stride: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Predict with a fine-tuned head: label, tags or answer.
    Predict {
        /// HF folder or hub model id.
        model: String,
        /// The text (classification, tagging).
        #[arg(long)]
        text: Option<String>,
        /// A second text (sentence-pair classification).
        #[arg(long)]
        text_pair: Option<String>,
        /// The question (question answering).
        #[arg(long)]
        question: Option<String>,
        /// The context (question answering).
        #[arg(long)]
        context: Option<String>,
        /// The head, when `architectures` in config.json does not say.
        #[arg(long, value_enum)]
        task: Option<Task>,
        /// Truncate to this many tokens (default: the model's limit).
        #[arg(long)]
        max_length: Option<usize>,
        /// Longest answer, in tokens.
        #[arg(long, default_value_t = 30)]
        max_answer_length: usize,
        /// Overlap of the windows over a long context, in tokens.
        #[arg(long, default_value_t = 128)]
        doc_stride: usize,
        /// Inputs from a file, one per line: plain text, or JSON objects with `text` (and
        /// `text_pair`), or `question` and `context`. Prints one JSON line per input.
        #[arg(long, conflicts_with_all = ["text", "question"])]
        file: Option<std::path::PathBuf>,
        /// Texts per forward pass with --file (sequence classification).
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// One input of `predict`.
#[derive(Debug, Default, serde::Deserialize)]
struct PredictInput {
    text: Option<String>,
    text_pair: Option<String>,
    question: Option<String>,
    context: Option<String>,
}

/// SQuAD questions split by article: the last `fraction` of the articles (at least one) for
/// validation, so no context is in both.
fn split_articles(
    questions: Vec<burnbert::data::question_answering::SquadExample>,
    fraction: f64,
) -> (
    Vec<burnbert::data::question_answering::SquadExample>,
    Vec<burnbert::data::question_answering::SquadExample>,
) {
    let articles = questions
        .iter()
        .map(|q| q.article)
        .max()
        .map_or(0, |a| a + 1);
    let first_valid =
        articles - ((articles as f64 * fraction).ceil() as usize).clamp(1, articles.max(1));
    questions.into_iter().partition(|q| q.article < first_valid)
}

/// The inputs of a `predict --file`: a JSON object or a plain text per non-empty line.
fn read_inputs(path: &std::path::Path) -> Result<Vec<PredictInput>> {
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
                    "{}:{}: not a JSON object of text/text_pair or question/context",
                    path.display(),
                    i + 1
                )
            })?;
            inputs.push(input);
        } else {
            inputs.push(PredictInput {
                text: Some(line.to_string()),
                ..Default::default()
            });
        }
    }
    if inputs.is_empty() {
        bail!("{}: no inputs", path.display());
    }
    Ok(inputs)
}

/// Where labelled data comes from, and which columns hold what.
#[derive(clap::Args, Debug, Clone)]
struct DataArgs {
    /// Column of the text (a header name, or a 0-based index).
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Column of the second text, for sentence-pair tasks.
    #[arg(long)]
    text_pair_column: Option<String>,
    /// Column of the label.
    #[arg(long, default_value = "label")]
    label_column: String,
    /// The CSV/TSV has no header row (columns are then indices).
    #[arg(long)]
    no_header: bool,
}

impl DataArgs {
    fn columns(&self) -> burnbert::data::classification::Columns {
        let column = |s: &str| {
            s.parse::<burnbert::data::classification::Column>()
                .expect("infallible")
        };
        burnbert::data::classification::Columns {
            text: column(&self.text_column),
            text_pair: self.text_pair_column.as_deref().map(column),
            label: column(&self.label_column),
            has_header: !self.no_header,
        }
    }

    /// A CSV/TSV/JSONL file, or an aclImdb folder (`split` of it).
    fn read(
        &self,
        path: &std::path::Path,
        split: &str,
    ) -> Result<Vec<burnbert::data::classification::TextExample>> {
        Ok(if path.is_dir() {
            burnbert::data::classification::read_aclimdb(path, split)?
        } else {
            burnbert::data::classification::read_file(path, &self.columns())?
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Task {
    SequenceClassification,
    TokenClassification,
    QuestionAnswering,
}

impl Task {
    fn of(config: &BertConfig) -> Option<Task> {
        let arch = config.architectures.as_ref()?.first()?;
        if arch.ends_with("ForSequenceClassification") {
            Some(Task::SequenceClassification)
        } else if arch.ends_with("ForTokenClassification") {
            Some(Task::TokenClassification)
        } else if arch.ends_with("ForQuestionAnswering") {
            Some(Task::QuestionAnswering)
        } else {
            None
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let device = burnbert::device::resolve(cli.device.as_deref())?;
    match cli.command {
        Command::Inspect { model, json } => inspect(&model, json, &device),
        Command::Encode {
            model,
            text,
            text_pair,
            max_length,
            json,
        } => encode(
            &model,
            &text,
            text_pair.as_deref(),
            max_length,
            json,
            &device,
        ),
        Command::Train {
            model,
            task,
            data,
            validation,
            validation_split,
            columns,
            config,
            epochs,
            learning_rate,
            batch_size,
            max_length,
            seed,
            output,
            resume_from_epoch,
        } => {
            let mut args = match &config {
                Some(path) => burnbert::train::TrainingConfig::from_file(path)?,
                None => burnbert::train::TrainingConfig::default(),
            };
            args.num_train_epochs = epochs.unwrap_or(args.num_train_epochs);
            args.learning_rate = learning_rate.unwrap_or(args.learning_rate);
            args.per_device_train_batch_size =
                batch_size.unwrap_or(args.per_device_train_batch_size);
            args.max_length = max_length.unwrap_or(args.max_length);
            args.seed = seed.unwrap_or(args.seed);
            args.validate()?;
            match task {
                Task::SequenceClassification => {}
                Task::TokenClassification => {
                    let sentences = burnbert::data::token_classification::read_tagged(&data)?;
                    let (train, valid) = match &validation {
                        Some(path) => (
                            sentences,
                            burnbert::data::token_classification::read_tagged(path)?,
                        ),
                        None => burnbert::data::classification::split(
                            sentences,
                            validation_split,
                            args.seed,
                        ),
                    };
                    eprintln!(
                        "training on {} sentences, validating on {}",
                        train.len(),
                        valid.len()
                    );
                    let trained = burnbert::train::fine_tune_tagger(
                        &model,
                        &args,
                        &train,
                        &valid,
                        &output,
                        resume_from_epoch,
                        &device,
                    )?;
                    let r = &trained.report;
                    println!(
                        "epoch {}: valid entity F1 {:.4} (P {:.4}, R {:.4}), token accuracy {:.4}; model saved to {}",
                        trained.epoch,
                        r.overall.f1,
                        r.overall.precision,
                        r.overall.recall,
                        r.token_accuracy,
                        trained.exported.display()
                    );
                    return Ok(());
                }
                Task::QuestionAnswering => {
                    if max_length.is_none() && config.is_none() {
                        args.max_length = 384;
                    }
                    let questions = burnbert::data::question_answering::read_squad(&data)?;
                    let (train, valid) = match &validation {
                        Some(path) => (
                            questions,
                            burnbert::data::question_answering::read_squad(path)?,
                        ),
                        None => split_articles(questions, validation_split),
                    };
                    eprintln!(
                        "training on {} questions, validating on {}",
                        train.len(),
                        valid.len()
                    );
                    let trained = burnbert::train::fine_tune_reader(
                        &model,
                        &args,
                        &train,
                        &valid,
                        &output,
                        resume_from_epoch,
                        &device,
                    )?;
                    let s = &trained.report.scores;
                    println!(
                        "epoch {}: valid exact match {:.2}, F1 {:.2} ({} questions); model saved to {}",
                        trained.epoch,
                        s.exact_match,
                        s.f1,
                        s.questions,
                        trained.exported.display()
                    );
                    return Ok(());
                }
            }
            let examples = columns.read(&data, "train")?;
            let (train, valid) = match &validation {
                Some(path) => (examples, columns.read(path, "test")?),
                None => {
                    burnbert::data::classification::split(examples, validation_split, args.seed)
                }
            };
            eprintln!(
                "training on {} examples, validating on {}",
                train.len(),
                valid.len()
            );
            let trained = burnbert::train::fine_tune_classifier(
                &model,
                &args,
                &train,
                &valid,
                &output,
                resume_from_epoch,
                &device,
            )?;
            let r = &trained.report;
            println!(
                "epoch {}: valid accuracy {:.4}, macro F1 {:.4}, loss {:.4}; model saved to {}",
                trained.epoch,
                r.accuracy,
                r.macro_f1,
                r.loss.unwrap_or(f64::NAN),
                trained.exported.display()
            );
            Ok(())
        }
        Command::Eval {
            model,
            data,
            columns,
            batch_size,
            max_length,
            doc_stride,
            json,
        } => {
            let folder = burnbert::source::resolve(&model)?;
            let task = Task::of(&BertConfig::from_file(folder.join("config.json"))?);
            if task == Some(Task::QuestionAnswering) {
                let bert = load::<BertForQuestionAnswering>(&model, &device)?;
                let questions = burnbert::data::question_answering::read_squad(&data)?;
                let max = max_length.unwrap_or(bert.max_length().min(384));
                let features = burnbert::data::question_answering::qa_features(
                    &bert.tokenizer,
                    &questions,
                    max,
                    doc_stride,
                )?;
                let report = burnbert::train::question_answering::evaluate_reader(
                    &bert.model,
                    &bert.tokenizer,
                    &questions,
                    &features,
                    batch_size,
                    burnbert::train::squad::Postprocess::default(),
                    &device,
                )?;
                let s = &report.scores;
                let plain = format!(
                    "exact match {:.2}  F1 {:.2}  ({} questions, {} windows)",
                    s.exact_match, s.f1, s.questions, report.features
                );
                print(json, &json!(report), &plain);
                return Ok(());
            }
            if task == Some(Task::TokenClassification) {
                let bert = load::<BertForTokenClassification>(&model, &device)?;
                let tags =
                    burnbert::data::token_classification::TagSet::from_names(bert.config.labels());
                let sentences = burnbert::data::token_classification::read_tagged(&data)?;
                let max = max_length.unwrap_or(bert.max_length());
                let report = burnbert::train::token_classification::evaluate_tagger(
                    &bert.model,
                    &bert.tokenizer,
                    &tags,
                    &sentences,
                    max,
                    batch_size,
                    &device,
                )?;
                let mut plain = format!(
                    "entity P {:.4} R {:.4} F1 {:.4}  token accuracy {:.4}  loss {:.4}  ({} sentences)\n",
                    report.overall.precision,
                    report.overall.recall,
                    report.overall.f1,
                    report.token_accuracy,
                    report.loss.unwrap_or(f64::NAN),
                    report.sentences
                );
                for (kind, c) in &report.per_type {
                    plain += &format!(
                        "  {kind:<8} P {:.4} R {:.4} F1 {:.4} support {}\n",
                        c.precision, c.recall, c.f1, c.support
                    );
                }
                print(json, &json!(report), plain.trim_end());
                return Ok(());
            }
            let bert = load::<BertForSequenceClassification>(&model, &device)?;
            let labels = burnbert::data::classification::LabelSet::from_names(bert.config.labels());
            let examples = columns.read(&data, "test")?;
            let max = max_length.unwrap_or(bert.max_length());
            let encoded = burnbert::train::classification::encode_examples(
                &bert.tokenizer,
                &examples,
                &labels,
                max,
            )?;
            let batcher = burnbert::train::classification::ClassificationBatcher {
                pad_id: bert.tokenizer.pad_id(),
            };
            let report = burnbert::train::classification::evaluate(
                &bert.model,
                &batcher,
                &encoded,
                &labels,
                batch_size,
                &device,
            )?;
            let mut plain = format!(
                "accuracy {:.4}  macro P {:.4} R {:.4} F1 {:.4}  loss {:.4}  ({} examples)\n",
                report.accuracy,
                report.macro_precision,
                report.macro_recall,
                report.macro_f1,
                report.loss.unwrap_or(f64::NAN),
                encoded.len()
            );
            for c in &report.per_class {
                plain += &format!(
                    "  {:<12} P {:.4} R {:.4} F1 {:.4} support {}\n",
                    c.label, c.precision, c.recall, c.f1, c.support
                );
            }
            print(json, &json!(report), plain.trim_end());
            Ok(())
        }
        Command::Predict {
            model,
            text,
            text_pair,
            question,
            context,
            task,
            max_length,
            max_answer_length,
            doc_stride,
            file,
            batch_size,
            json,
        } => {
            let folder = burnbert::source::resolve(&model)?;
            let config = BertConfig::from_file(folder.join("config.json"))?;
            let task = task.or_else(|| Task::of(&config)).with_context(|| {
                format!(
                    "{}: config.json names no task head in `architectures`; pass --task",
                    folder.display()
                )
            })?;
            let model = folder.to_string_lossy().to_string();
            let (inputs, json) = match &file {
                Some(path) => (read_inputs(path)?, true),
                None => (
                    vec![PredictInput {
                        text,
                        text_pair,
                        question,
                        context,
                    }],
                    json,
                ),
            };
            // Which input a missing field belongs to.
            let place = |i: usize| match &file {
                Some(path) => format!("{}: input {}: ", path.display(), i + 1),
                None => String::new(),
            };
            match task {
                Task::SequenceClassification => {
                    let bert = load::<BertForSequenceClassification>(&model, &device)?;
                    let max = max_length.unwrap_or(bert.max_length());
                    let pairs = inputs
                        .into_iter()
                        .enumerate()
                        .map(|(i, input)| {
                            let text = input.text.with_context(|| {
                                format!(
                                    "{}`text` is required for sequence classification",
                                    place(i)
                                )
                            })?;
                            Ok((text, input.text_pair))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    for chunk in pairs.chunks(batch_size.max(1)) {
                        let predictions = predict::classify(
                            &bert.model,
                            &bert.config,
                            &bert.tokenizer,
                            chunk,
                            max,
                            &device,
                        )?;
                        for p in predictions {
                            let best = p.probabilities.iter().cloned().fold(f32::MIN, f32::max);
                            print(json, &json!(p), &format!("{} ({best:.4})", p.label));
                        }
                    }
                }
                Task::TokenClassification => {
                    let bert = load::<BertForTokenClassification>(&model, &device)?;
                    let max = max_length.unwrap_or(bert.max_length());
                    for (i, input) in inputs.into_iter().enumerate() {
                        let text = input.text.with_context(|| {
                            format!("{}`text` is required for token classification", place(i))
                        })?;
                        let tags = predict::tag(
                            &bert.model,
                            &bert.config,
                            &bert.tokenizer,
                            &text,
                            max,
                            &device,
                        )?;
                        let entities = predict::entities(
                            &bert.model,
                            &bert.config,
                            &bert.tokenizer,
                            &text,
                            max,
                            &device,
                        )?;
                        let plain = tags
                            .iter()
                            .map(|t| format!("{}\t{}\t{:.4}", t.token, t.label, t.score))
                            .collect::<Vec<_>>()
                            .join("\n");
                        let plain = entities.iter().fold(plain, |p, e| {
                            p + &format!(
                                "\n{} [{}..{}] {} ({:.4})",
                                e.word, e.start, e.end, e.entity_group, e.score
                            )
                        });
                        print(
                            json,
                            &json!({ "tokens": tags, "entities": entities }),
                            &plain,
                        );
                    }
                }
                Task::QuestionAnswering => {
                    let bert = load::<BertForQuestionAnswering>(&model, &device)?;
                    let max = max_length.unwrap_or(bert.max_length().min(384));
                    for (i, input) in inputs.into_iter().enumerate() {
                        let (Some(question), Some(context)) = (input.question, input.context)
                        else {
                            bail!(
                                "{}`question` and `context` are required for question answering",
                                place(i)
                            );
                        };
                        let a = predict::answer(
                            &bert.model,
                            &bert.tokenizer,
                            &question,
                            &context,
                            max,
                            doc_stride,
                            max_answer_length,
                            &device,
                        )?;
                        let plain = format!("{} [{}..{}] ({:.4})", a.text, a.start, a.end, a.score);
                        print(json, &json!(a), &plain);
                    }
                }
            }
            Ok(())
        }
    }
}

fn print(json: bool, value: &serde_json::Value, plain: &str) {
    if json {
        println!("{value}");
    } else {
        println!("{plain}");
    }
}

fn load<M: HfModel>(model: &str, device: &Device) -> Result<Pretrained<M>> {
    let bert = from_pretrained::<M>(model, device)?;
    if let Some(warning) = bert.report.warning() {
        eprintln!("warning: {warning}");
    }
    Ok(bert)
}

fn inspect(model: &str, json: bool, device: &Device) -> Result<()> {
    let folder = burnbert::source::resolve(model)?;
    let config = BertConfig::from_file(folder.join("config.json"))?;
    let task = Task::of(&config);
    let (params, report) = match task {
        Some(Task::SequenceClassification) => {
            counted::<BertForSequenceClassification>(model, device)?
        }
        Some(Task::TokenClassification) => counted::<BertForTokenClassification>(model, device)?,
        Some(Task::QuestionAnswering) => counted::<BertForQuestionAnswering>(model, device)?,
        None => counted::<BertModel>(model, device)?,
    };
    let head = match task {
        Some(t) => t.to_possible_value().unwrap().get_name().to_string(),
        None => "none (encoder only)".into(),
    };
    let value = json!({
        "folder": folder,
        "architecture": config.architectures.as_ref().and_then(|a| a.first()).cloned(),
        "head": head,
        "parameters": params,
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers,
        "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size,
        "hidden_act": config.hidden_act.hf_name(),
        "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size,
        "labels": task.map(|_| config.labels()),
        "weights": report.path,
        "missing_tensors": report.missing,
        "unused_tensors": report.unused,
    });
    let plain = format!(
        "{}\n  architecture  {}\n  head          {head}\n  parameters    {params}\n  layers        {} x hidden {} x heads {} (ffn {}, {})\n  vocab         {}  positions {}  token types {}\n  labels        {}\n  weights       {}",
        folder.display(),
        value["architecture"].as_str().unwrap_or("-"),
        config.num_hidden_layers,
        config.hidden_size,
        config.num_attention_heads,
        config.intermediate_size,
        config.hidden_act.hf_name(),
        config.vocab_size,
        config.max_position_embeddings,
        config.type_vocab_size,
        if task.is_some() {
            config.labels().join(", ")
        } else {
            "-".into()
        },
        report.path.display(),
    );
    print(json, &value, &plain);
    Ok(())
}

fn counted<M: HfModel>(
    model: &str,
    device: &Device,
) -> Result<(usize, burnbert::model::weights::LoadReport)> {
    let bert = load::<M>(model, device)?;
    Ok((bert.model.num_params(), bert.report))
}

fn encode(
    model: &str,
    text: &str,
    pair: Option<&str>,
    max_length: Option<usize>,
    json: bool,
    device: &Device,
) -> Result<()> {
    let bert = load::<BertModel>(model, device)?;
    let max = max_length.unwrap_or(bert.max_length());
    let encoding = bert.tokenizer.encode(text, pair, max)?;
    let batch = PaddedBatch::new(std::slice::from_ref(&encoding), bert.tokenizer.pad_id())?;
    let input = batch.to_input(device);
    let mask = input
        .attention_mask
        .clone()
        .expect("a padded batch has a mask");
    let out = bert.model.forward(input);
    let vec = |t: burnbert::burn::tensor::Tensor<2>| -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 data")
    };
    let mean = burnbert::encode::mean_pooled(out.last_hidden_state.clone(), mask.clone());
    let normalized = burnbert::encode::mean_pooled_normalized(out.last_hidden_state, mask);
    let value = json!({
        "input_ids": encoding.input_ids,
        "token_type_ids": encoding.token_type_ids,
        "tokens": encoding.tokens,
        "truncated": encoding.truncated,
        "pooler_output": out.pooler_output.map(vec),
        "mean_pooled": vec(mean),
        "mean_pooled_normalized": vec(normalized.clone()),
    });
    let head: Vec<String> = value["mean_pooled_normalized"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|v| format!("{:.5}", v.as_f64().unwrap()))
        .collect();
    let plain = format!(
        "tokens     {}\ninput_ids  {:?}\nembedding  [{}, ...] ({} dims, mean-pooled, L2-normalised)",
        encoding.tokens.join(" "),
        encoding.input_ids,
        head.join(", "),
        value["mean_pooled"].as_array().unwrap().len()
    );
    print(json, &value, &plain);
    Ok(())
}
