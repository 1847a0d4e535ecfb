//! `burnbert train`'s recipe flags: one per [`TrainingConfig`] field, named as
//! `TrainingArguments` names it (`--per-device-train-batch-size` and HF's
//! `--per_device_train_batch_size` both), grouped in `--help` under the headings of
//! `TrainingArguments`' documentation. A flag given overrides the recipe file's value.
//!
//! Switches take an optional value, as `HfArgumentParser` reads them: `--freeze-encoder` is
//! `--freeze-encoder true`, and `--load-best-model-at-end false` turns off what a recipe file
//! turned on.

use crate::train::{ClassWeights, IntervalStrategy, LrSchedulerType, TrainingConfig};

/// How many values a flag of this kind takes: a switch none or one.
macro_rules! num_args {
    (switch) => {
        0..=1
    };
    ($other:ident) => {
        1
    };
}

/// The value a switch given without one stands for.
macro_rules! missing_value {
    (switch) => {
        Some("true")
    };
    ($other:ident) => {
        None::<&'static str>
    };
}

/// How a flag's text is read: a switch as clap's bool-ish words (`true`/`false`, `yes`/`no`,
/// `1`/`0`), any other by its type's `FromStr`.
macro_rules! value_parser {
    (switch, $ty:ty) => {
        clap::builder::BoolishValueParser::new()
    };
    ($other:ident, $ty:ty) => {
        clap::value_parser!($ty)
    };
}

/// Writes a flag's value into its field: `set` and `switch` as is, `some` wrapped in `Some`.
macro_rules! assign {
    (some, $field:expr, $value:expr) => {
        $field = Some($value)
    };
    ($other:ident, $field:expr, $value:expr) => {
        $field = $value
    };
}

/// Declares [`RecipeFlags`]: each line is a `TrainingConfig` field, its type, and how it is set
/// (`set`: the value; `some`: an optional field's value; `switch`: a bool).
macro_rules! recipe_flags {
    ($($heading:literal {
        $($(#[$meta:meta])* $field:ident: $ty:ty => $kind:ident,)*
    })*) => {
        /// The recipe's flags (`TrainingConfig`'s fields); `None`: not given.
        #[derive(clap::Args, Debug, Default)]
        pub(crate) struct RecipeFlags {
            $($(
                $(#[$meta])*
                #[arg(
                    long,
                    alias = stringify!($field),
                    help_heading = $heading,
                    num_args = num_args!($kind),
                    default_missing_value = missing_value!($kind),
                    value_parser = value_parser!($kind, $ty),
                    allow_negative_numbers = true,
                )]
                pub $field: Option<$ty>,
            )*)*
        }

        impl RecipeFlags {
            /// Writes the flags given over `config` (a recipe file's, or the defaults).
            pub(crate) fn apply(self, config: &mut TrainingConfig) {
                $($(
                    if let Some(value) = self.$field {
                        assign!($kind, config.$field, value);
                    }
                )*)*
            }

            /// The fields that have a flag, by `TrainingArguments`' names.
            #[cfg(test)]
            pub(crate) const FIELDS: &'static [&'static str] = &[$($(stringify!($field),)*)*];
        }
    };
}

recipe_flags! {
    "Training Duration and Batch Size" {
        /// Examples per forward pass [default: 8].
        #[arg(visible_alias = "batch-size")]
        per_device_train_batch_size: usize => set,
        /// Epochs (whole epochs) [default: 3].
        #[arg(visible_alias = "epochs")]
        num_train_epochs: usize => set,
        /// Stop after this many optimizer steps; the schedule spans them (overrides
        /// --num-train-epochs).
        #[arg(conflicts_with = "num_train_epochs")]
        max_steps: usize => some,
    }
    "Learning Rate & Scheduler" {
        /// Peak learning rate of AdamW [default: 5e-5].
        learning_rate: f64 => set,
        /// The schedule after warmup: linear, cosine, constant, constant_with_warmup
        /// [default: linear].
        lr_scheduler_type: LrSchedulerType => set,
        /// Warmup steps, from a learning rate of 0 (overrides --warmup-ratio).
        #[arg(conflicts_with = "warmup_ratio")]
        warmup_steps: usize => set,
        /// Warmup as a fraction of the optimizer steps, in [0, 1).
        warmup_ratio: f64 => set,
        /// Learning rate of the task head, when it differs from the encoder's.
        head_learning_rate: f64 => some,
        /// Layer-wise decay d in (0, 1]: layer i of L trains at lr·d^(L-1-i), the embeddings
        /// at lr·d^L.
        layerwise_lr_decay: f64 => some,
    }
    "Optimizer" {
        /// Decoupled weight decay, not applied to biases and LayerNorm weights [default: 0].
        weight_decay: f64 => set,
        /// AdamW β1 [default: 0.9].
        adam_beta1: f64 => set,
        /// AdamW β2 [default: 0.999].
        adam_beta2: f64 => set,
        /// AdamW ε [default: 1e-8].
        adam_epsilon: f64 => set,
    }
    "Regularization & Training Stability" {
        /// Forward passes per optimizer step; their gradients are averaged [default: 1].
        gradient_accumulation_steps: usize => set,
        /// Clip the global gradient norm to this; 0 turns clipping off [default: 1].
        max_grad_norm: f64 => set,
        /// Label smoothing of the cross-entropy, in [0, 1) (single-label sequence and token
        /// classification, masked LM).
        label_smoothing_factor: f64 => set,
        /// Class weights of the cross-entropy: `balanced` (scikit-learn's
        /// compute_class_weight) or one number per label in id order, separated by commas.
        #[arg(allow_hyphen_values = true)]
        class_weights: ClassWeights => some,
    }
    "Freezing" {
        /// Freeze the embeddings.
        freeze_embeddings: bool => switch,
        /// Freeze the first N encoder layers.
        freeze_layers: usize => set,
        /// Freeze everything but the task head.
        freeze_encoder: bool => switch,
        /// Unfreeze the frozen parts after this many epochs.
        unfreeze_after_epochs: usize => some,
    }
    "Evaluation" {
        /// When to validate: `epoch` (after every epoch) or `steps` (every --eval-steps
        /// optimizer steps, and at the end) [default: epoch].
        #[arg(alias = "evaluation_strategy")]
        eval_strategy: IntervalStrategy => set,
        /// Optimizer steps between validations with --eval-strategy steps [default:
        /// --logging-steps].
        eval_steps: usize => some,
        /// Examples per evaluation batch [default: 8].
        per_device_eval_batch_size: usize => set,
    }
    "Logging & Monitoring Training" {
        /// Optimizer steps between logged training values (TensorBoard's averaged loss and
        /// metrics, the line log without a terminal) [default: each step to TensorBoard, 10
        /// batches to the line log].
        logging_steps: usize => some,
    }
    "Checkpointing & Saving" {
        /// When to checkpoint: `epoch`, `steps` (every --save-steps, a multiple of
        /// --eval-steps, and at the end) or `no` [default: as --eval-strategy].
        save_strategy: IntervalStrategy => some,
        /// Optimizer steps between checkpoints with --save-strategy steps [default:
        /// --eval-steps].
        save_steps: usize => some,
        /// Checkpoints kept besides the best one.
        save_total_limit: usize => some,
        /// Replace the earlier run in a non-empty OUTPUT (its checkpoints, logs, metrics and
        /// model; other files stay). Without it, a used OUTPUT is refused.
        overwrite_output_dir: bool => switch,
    }
    "Best Model Tracking" {
        /// Export the best epoch's model by --metric-for-best-model, not the last one.
        load_best_model_at_end: bool => switch,
        /// The validation metric that picks the best epoch, by HF's name (`loss`, `accuracy`,
        /// `f1`, `matthews_correlation`, `pearson`, ...: the task's list is in the error)
        /// [default: loss].
        metric_for_best_model: String => set,
        /// Stop after this many epochs without improvement of --metric-for-best-model.
        early_stopping_patience: usize => some,
    }
    "Experiment Tracking Integration" {
        /// Where the logs also go: `none`, or `tensorboard` (event files under OUTPUT/runs/;
        /// `tensorboard --logdir OUTPUT/runs`) [default: none].
        report_to: String => set,
    }
    "Reproducibility" {
        /// Seed of head init, dropout, shuffling, masking and the validation split
        /// [default: 42].
        seed: u64 => set,
    }
    "Dataloader" {
        /// Batch examples of similar length together (less padding).
        group_by_length: bool => switch,
        /// Data-loader worker threads [default: 0].
        dataloader_num_workers: usize => set,
    }
    "Model and Data (the run_*.py scripts' arguments)" {
        /// Longest input in tokens; longer texts are truncated [default: 128; 384 for
        /// question answering].
        max_length: usize => set,
        /// Start a new task head when the checkpoint's has another number of labels.
        ignore_mismatched_sizes: bool => switch,
        /// Token classification: label every piece of a word, not only the first.
        label_all_tokens: bool => switch,
        /// Question answering: overlap of consecutive context windows, in tokens
        /// [default: 128].
        doc_stride: usize => set,
        /// Question answering on SQuAD v2 data: answer "" when the null score beats the best
        /// span's by more than this (validation EM/F1) [default: 0].
        null_score_diff_threshold: f64 => set,
        /// Masked LM: the fraction of tokens masked, in (0, 1] [default: 0.15].
        mlm_probability: f64 => set,
        /// Masked LM: mask whole words (all pieces of a chosen word).
        whole_word_mask: bool => switch,
        /// Masked LM: one example per document, cut at --max-length, rather than documents
        /// concatenated into blocks of --max-length tokens.
        line_by_line: bool => switch,
    }
}

impl RecipeFlags {
    /// The masked-LM flags given, by name (an error for another task).
    pub(crate) fn masked_lm_flags(&self) -> Vec<&'static str> {
        [
            ("--mlm-probability", self.mlm_probability.is_some()),
            ("--whole-word-mask", self.whole_word_mask.is_some()),
            ("--line-by-line", self.line_by_line.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser)]
    struct Train {
        #[command(flatten)]
        recipe: RecipeFlags,
    }

    fn parse(args: &[&str]) -> Result<TrainingConfig, clap::Error> {
        let train = Train::try_parse_from(std::iter::once("train").chain(args.iter().copied()))?;
        let mut config = TrainingConfig::default();
        train.recipe.apply(&mut config);
        Ok(config)
    }

    /// Every field of the recipe has its flag: a field added to `TrainingConfig` without one
    /// fails here.
    #[test]
    fn every_field_has_a_flag() {
        let fields = serde_json::to_value(TrainingConfig::default()).unwrap();
        let mut fields: Vec<&String> = fields.as_object().unwrap().keys().collect();
        fields.sort();
        let mut flags = RecipeFlags::FIELDS.to_vec();
        flags.sort();
        assert_eq!(fields, flags);
        let command = Train::command();
        for field in RecipeFlags::FIELDS {
            let arg = command
                .get_arguments()
                .find(|a| a.get_id() == *field)
                .unwrap();
            assert_eq!(arg.get_long(), Some(field.replace('_', "-").as_str()));
            assert!(arg.get_all_aliases().unwrap().contains(field), "{field}");
            assert!(arg.get_help_heading().is_some(), "{field}");
        }
    }

    /// The flags of a whole recipe, in both spellings, equal the same recipe read from a
    /// TOML file.
    #[test]
    fn flags_equal_the_recipe_file() {
        let toml = "learning_rate = 2e-5\nnum_train_epochs = 4\nper_device_train_batch_size = 32\n\
            per_device_eval_batch_size = 64\ngradient_accumulation_steps = 2\nweight_decay = 0.01\n\
            adam_beta1 = 0.8\nadam_beta2 = 0.99\nadam_epsilon = 1e-6\nwarmup_ratio = 0.1\n\
            lr_scheduler_type = \"cosine\"\nmax_grad_norm = 0.5\nseed = 7\nsave_total_limit = 2\n\
            load_best_model_at_end = true\nmetric_for_best_model = \"f1\"\n\
            early_stopping_patience = 3\nmax_length = 64\nhead_learning_rate = 1e-3\n\
            freeze_embeddings = true\nfreeze_layers = 2\nunfreeze_after_epochs = 1\n\
            layerwise_lr_decay = 0.9\nlabel_all_tokens = true\ndoc_stride = 64\n\
            group_by_length = true\ndataloader_num_workers = 2\noverwrite_output_dir = true\n\
            ignore_mismatched_sizes = true\nnull_score_diff_threshold = -1.5\n\
            label_smoothing_factor = 0.1\nclass_weights = [1.0, 3.0]\nmlm_probability = 0.2\n\
            whole_word_mask = true\nline_by_line = true\nreport_to = \"tensorboard\"\n\
            eval_strategy = \"steps\"\neval_steps = 50\nsave_strategy = \"steps\"\n\
            save_steps = 100\nlogging_steps = 10\n";
        let dir = std::env::temp_dir().join(format!("burnbert-recipe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("recipe.toml");
        std::fs::write(&path, toml).unwrap();
        let from_file = TrainingConfig::from_file(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let kebab = parse(&[
            "--learning-rate=2e-5",
            "--epochs",
            "4",
            "--batch-size",
            "32",
            "--per-device-eval-batch-size",
            "64",
            "--gradient-accumulation-steps",
            "2",
            "--weight-decay",
            "0.01",
            "--adam-beta1",
            "0.8",
            "--adam-beta2",
            "0.99",
            "--adam-epsilon",
            "1e-6",
            "--warmup-ratio",
            "0.1",
            "--lr-scheduler-type",
            "cosine",
            "--max-grad-norm",
            "0.5",
            "--seed",
            "7",
            "--save-total-limit",
            "2",
            "--load-best-model-at-end",
            "--metric-for-best-model",
            "f1",
            "--early-stopping-patience",
            "3",
            "--max-length",
            "64",
            "--head-learning-rate",
            "1e-3",
            "--freeze-embeddings",
            "--freeze-layers",
            "2",
            "--unfreeze-after-epochs",
            "1",
            "--layerwise-lr-decay",
            "0.9",
            "--label-all-tokens",
            "--doc-stride",
            "64",
            "--group-by-length",
            "true",
            "--dataloader-num-workers",
            "2",
            "--overwrite-output-dir",
            "--ignore-mismatched-sizes",
            "--null-score-diff-threshold",
            "-1.5",
            "--label-smoothing-factor",
            "0.1",
            "--class-weights",
            "1,3",
            "--mlm-probability",
            "0.2",
            "--whole-word-mask",
            "--line-by-line",
            "--report-to",
            "tensorboard",
            "--eval-strategy",
            "steps",
            "--eval-steps",
            "50",
            "--save-strategy",
            "steps",
            "--save-steps",
            "100",
            "--logging-steps",
            "10",
        ])
        .unwrap();
        assert_eq!(kebab, from_file);
        // HF's spelling of the same flags, through `HfArgumentParser`'s forms.
        let snake: Vec<String> = toml
            .lines()
            .map(|line| {
                let (name, value) = line.split_once(" = ").unwrap();
                let value = value.trim_matches('"').replace(['[', ']', ' '], "");
                format!("--{name}={value}")
            })
            .collect();
        let snake: Vec<&str> = snake.iter().map(String::as_str).collect();
        assert_eq!(parse(&snake).unwrap(), from_file);
    }

    /// A flag given overrides the file's value, a switch's `false` included; flags not given
    /// keep it.
    #[test]
    fn flags_override_and_keep() {
        let mut config = TrainingConfig {
            load_best_model_at_end: true,
            learning_rate: 1e-4,
            seed: 3,
            ..Default::default()
        };
        let train =
            Train::try_parse_from(["train", "--load_best_model_at_end", "False", "--seed", "9"])
                .unwrap();
        train.recipe.apply(&mut config);
        assert_eq!(
            (
                config.load_best_model_at_end,
                config.learning_rate,
                config.seed
            ),
            (false, 1e-4, 9)
        );
    }

    /// Bad values and conflicting flags are errors naming the flag.
    #[test]
    fn errors_name_the_flag() {
        for (args, flag) in [
            (&["--learning-rate", "fast"][..], "--learning-rate"),
            (
                &["--lr-scheduler-type", "polynomial"],
                "--lr-scheduler-type",
            ),
            (&["--epochs", "-1"], "--num-train-epochs"),
            (&["--freeze-encoder", "maybe"], "--freeze-encoder"),
            (&["--class-weights", "1,x"], "--class-weights"),
            (&["--max-steps", "10", "--epochs", "2"], "--max-steps"),
            (
                &["--warmup-steps", "10", "--warmup_ratio", "0.1"],
                "--warmup-steps",
            ),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
    }
}
