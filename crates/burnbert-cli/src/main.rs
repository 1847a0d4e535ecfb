//! `burnbert`: inspect, encode with and predict with HF BERT models from the command line.

mod classification;
mod jobs;
mod question_answering;
mod token_classification;

use std::process::ExitCode;

use anyhow::{Context, Result};
use burnbert::burn::tensor::Device;
use burnbert::data::PaddedBatch;
use burnbert::model::weights::HfModel;
use burnbert::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertModel,
};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::classification::DataArgs;
use crate::jobs::{EvalJob, PredictInput, PredictJob, TrainJob, load, print, read_inputs};

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
        /// Replace the earlier run in a non-empty OUTPUT (its checkpoints, logs, metrics and
        /// model; other files stay). Without it, a used OUTPUT is refused.
        #[arg(long)]
        overwrite_output_dir: bool,
        /// Start a new task head when the checkpoint's has another number of labels.
        #[arg(long)]
        ignore_mismatched_sizes: bool,
        /// Question answering on SQuAD v2 data: answer "" when the null score beats the best
        /// span's by more than this (validation EM/F1).
        #[arg(long, allow_negative_numbers = true)]
        null_score_diff_threshold: Option<f64>,
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
        /// Question answering on SQuAD v2 data (with unanswerable questions): answer "" when
        /// the null score beats the best span's by more than this (run_qa.py's name).
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        null_score_diff_threshold: f32,
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
    burnbert::allocator::tune();
    // Exit status 0 for --help / --version, 1 for every error, usage errors included.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
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
    run_command(cli.command, &device)
}

fn run_command(command: Command, device: &Device) -> Result<()> {
    let device = device.clone();
    match command {
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
            overwrite_output_dir,
            ignore_mismatched_sizes,
            null_score_diff_threshold,
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
            args.overwrite_output_dir |= overwrite_output_dir;
            args.ignore_mismatched_sizes |= ignore_mismatched_sizes;
            args.null_score_diff_threshold =
                null_score_diff_threshold.unwrap_or(args.null_score_diff_threshold);
            args.validate()?;
            let mut job = TrainJob {
                model,
                data,
                validation,
                validation_split,
                output,
                resume_from_epoch,
                args,
                max_length_given: max_length.is_some() || config.is_some(),
            };
            match task {
                Task::SequenceClassification => classification::train(&job, &columns, &device),
                Task::TokenClassification => token_classification::train(&job, &device),
                Task::QuestionAnswering => question_answering::train(&mut job, &device),
            }
        }
        Command::Eval {
            model,
            data,
            columns,
            batch_size,
            max_length,
            doc_stride,
            null_score_diff_threshold,
            json,
        } => {
            let folder = burnbert::source::resolve(&model)?;
            let task = Task::of(&BertConfig::from_file(folder.join("config.json"))?);
            let job = EvalJob {
                model,
                data,
                batch_size,
                max_length,
                doc_stride,
                null_score_diff_threshold,
                json,
            };
            match task {
                Some(Task::QuestionAnswering) => question_answering::eval(&job, &device),
                Some(Task::TokenClassification) => token_classification::eval(&job, &device),
                _ => classification::eval(&job, &columns, &device),
            }
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
            let job = PredictJob {
                model: folder.to_string_lossy().to_string(),
                inputs,
                file,
                max_length,
                max_answer_length,
                doc_stride,
                batch_size,
                json,
            };
            match task {
                Task::SequenceClassification => classification::predict(job, &device),
                Task::TokenClassification => token_classification::predict(job, &device),
                Task::QuestionAnswering => question_answering::predict(job, &device),
            }
        }
    }
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
    let (input, mask) = (batch.to_input(device), batch.mask(device));
    let out = bert.model.forward(input);
    let vec = |t: burnbert::burn::tensor::Tensor<2>| -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 data")
    };
    let hidden: Vec<f32> = out
        .last_hidden_state
        .clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data");
    burnbert::predict::check_finite(&hidden, "last_hidden_state")?;
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
