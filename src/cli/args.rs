//! The command line's grammar (clap): the subcommands and their flags.

use clap::{Parser, Subcommand};

use crate::cli::jobs::DataArgs;
use crate::cli::recipe::RecipeFlags;
use crate::tasks::TaskName;

#[derive(Parser)]
#[command(
    name = "burnbert",
    version,
    about = "Fine-tune and run BERT encoders on Burn"
)]
pub(crate) struct Cli {
    /// Device: flex, ndarray, wgpu, wgpu:cpu, vulkan, metal, cuda[:N], tch[:cpu|:cuda:N].
    /// Defaults to BURN_DEVICE, else the first backend this build has.
    #[arg(long, global = true)]
    pub device: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant (`train`'s flags) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub(crate) enum Command {
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
        task: TaskName,
        /// Training data: a CSV/TSV/JSONL file, or an aclImdb folder (its train/ split); for
        /// token classification a CoNLL file (word first, tag last) or JSONL of tokens/tags;
        /// for question answering a SQuAD JSON file (split by article without --validation);
        /// for masked-lm a text file (a document per line, or --documents blank-line; without
        /// --validation its first --validation-split of documents validate, as run_mlm.py).
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
        /// A recipe file (TOML or JSON) with TrainingArguments names; the flags below
        /// override its values. The merged recipe is saved in OUTPUT.
        #[arg(long)]
        config: Option<std::path::PathBuf>,
        /// Output folder.
        #[arg(long, alias = "output_dir", visible_alias = "output-dir")]
        output: std::path::PathBuf,
        /// Resume an interrupted run from this epoch's checkpoint in OUTPUT; with
        /// --eval-strategy steps, from validation N's (after step N × --eval-steps).
        #[arg(long, alias = "resume_from_epoch")]
        resume_from_epoch: Option<usize>,
        #[command(flatten)]
        recipe: RecipeFlags,
    },
    /// Score a fine-tuned model on labelled data. A classifier: accuracy, macro and per-class
    /// P/R/F1, loss, confusion matrix; a token classifier (CoNLL / JSONL data): seqeval's entity
    /// P/R/F1 overall and per type, token accuracy, loss; a masked LM (a text file):
    /// perplexity.
    Eval {
        /// HF folder or hub model id of a fine-tuned classifier.
        model: String,
        /// Labelled data: a CSV/TSV/JSONL file, or an aclImdb folder (its test/ split); a text
        /// file for a masked LM.
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
    /// Predict with a fine-tuned head: label, tags, answer, or the tokens at each [MASK].
    Predict {
        /// HF folder or hub model id.
        model: String,
        /// The text (classification, tagging; with [MASK] for a masked LM).
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
        task: Option<TaskName>,
        /// Truncate to this many tokens (default: the model's limit).
        #[arg(long)]
        max_length: Option<usize>,
        /// Longest answer, in tokens (the question-answering pipeline's `max_answer_len`; default 15).
        #[arg(long)]
        max_answer_length: Option<usize>,
        /// Overlap of the windows over a long context, in tokens (default: half the max
        /// length, at most 128, as the pipeline's).
        #[arg(long)]
        doc_stride: Option<usize>,
        /// Inputs from a file, one per line: plain text, or JSON objects with `text` (and
        /// `text_pair`), or `question` and `context`. Prints one JSON line per input.
        #[arg(long, conflicts_with_all = ["text", "question"])]
        file: Option<std::path::PathBuf>,
        /// Multi-label classification: the labels predicted are those whose probability is
        /// above this (default 0.5).
        #[arg(long)]
        threshold: Option<f32>,
        /// Masked LM (fill-mask): candidates per [MASK] (default 5).
        #[arg(long)]
        top_k: Option<usize>,
        /// Texts per forward pass with --file (sequence classification).
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Redraw a training run's report (OUTPUT/report.html: loss, metric, learning-rate and
    /// gradient-norm curves per step, the validation scores, the recipe) from its files.
    Report {
        /// The run's output folder (`burnbert train --output`).
        output: std::path::PathBuf,
    },
}
