//! `TrainingConfig`: the recipe, with the names and defaults of `transformers.TrainingArguments`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// The learning-rate schedule after warmup (`lr_scheduler_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedulerType {
    /// Linear decay to 0 (HF's default).
    #[default]
    Linear,
    /// Half-cosine decay to 0.
    Cosine,
    /// Constant after warmup (`constant_with_warmup`; plain `constant` when there is no warmup).
    #[serde(alias = "constant_with_warmup")]
    Constant,
}

impl std::str::FromStr for LrSchedulerType {
    type Err = String;

    /// `TrainingArguments`' names: `linear`, `cosine`, `constant`, `constant_with_warmup`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "linear" => Ok(Self::Linear),
            "cosine" => Ok(Self::Cosine),
            "constant" | "constant_with_warmup" => Ok(Self::Constant),
            other => Err(format!(
                "'{other}' is not a schedule burnbert has (linear, cosine, constant, \
                 constant_with_warmup)"
            )),
        }
    }
}

/// When a run evaluates or saves (`eval_strategy`, `save_strategy`): `TrainingArguments`'
/// `IntervalStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalStrategy {
    /// Never (saving only: burnbert always evaluates).
    No,
    /// Every `eval_steps` / `save_steps` optimizer steps, and at the end of training.
    Steps,
    /// At the end of every epoch.
    Epoch,
}

impl std::str::FromStr for IntervalStrategy {
    type Err = String;

    /// `TrainingArguments`' names: `no`, `steps`, `epoch`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "no" => Ok(Self::No),
            "steps" => Ok(Self::Steps),
            "epoch" => Ok(Self::Epoch),
            other => Err(format!("'{other}' is not one of no, steps, epoch")),
        }
    }
}

/// How classes are weighted in the cross-entropy (`class_weights`): `"balanced"` or a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, try_from = "RawClassWeights")]
pub enum ClassWeights {
    /// `"balanced"`: `n_samples / (n_classes · count(class))` over the training labels, as
    /// scikit-learn's `compute_class_weight("balanced", ...)`.
    Mode(ClassWeightMode),
    /// A weight per label, in the label set's id order (`id2label`).
    Given(Vec<f64>),
}

/// `class_weights` as a recipe file writes it: a list, or a text (`"balanced"`, `"1,2"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawClassWeights {
    List(Vec<f64>),
    Text(String),
    Other(serde_json::Value),
}

impl TryFrom<RawClassWeights> for ClassWeights {
    type Error = String;

    fn try_from(raw: RawClassWeights) -> Result<Self, String> {
        match raw {
            RawClassWeights::List(weights) => Ok(Self::Given(weights)),
            RawClassWeights::Text(text) => text.parse().map_err(|e| format!("class_weights: {e}")),
            RawClassWeights::Other(value) => Err(format!(
                "class_weights: give \"balanced\" or a list of numbers, not {value}"
            )),
        }
    }
}

/// The named ways of weighting classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeightMode {
    /// Inversely to each class's frequency in the training data.
    Balanced,
}

impl std::str::FromStr for ClassWeights {
    type Err = String;

    /// `balanced`, or weights separated by commas (`1,2.5,0.5`).
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "balanced" {
            return Ok(Self::Mode(ClassWeightMode::Balanced));
        }
        s.split(',')
            .map(|w| {
                w.trim().parse::<f64>().map_err(|_| {
                    format!(
                        "'{}' is not a number (give `balanced` or numbers separated by commas)",
                        w.trim()
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Given)
    }
}

/// A fine-tuning run's settings. Names and defaults are `TrainingArguments`' where it has them;
/// the others (`max_length`, `head_learning_rate`, freezing, ...) are burnbert's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// Peak learning rate of AdamW.
    pub learning_rate: f64,
    /// Epochs (whole epochs: Burn's learner counts whole epochs).
    pub num_train_epochs: usize,
    /// Stop after this many optimizer steps when set (the schedule then spans them); 0, as
    /// HF's non-positive values, leaves `num_train_epochs` in charge.
    pub max_steps: Option<usize>,
    /// Examples per forward pass.
    pub per_device_train_batch_size: usize,
    /// Examples per evaluation batch.
    pub per_device_eval_batch_size: usize,
    /// Forward passes per optimizer step; their gradients are averaged, as HF does.
    pub gradient_accumulation_steps: usize,
    /// Decoupled weight decay, not applied to biases and LayerNorm weights.
    pub weight_decay: f64,
    /// AdamW β1.
    pub adam_beta1: f64,
    /// AdamW β2.
    pub adam_beta2: f64,
    /// AdamW ε (HF: 1e-8; Burn's default is 1e-5).
    pub adam_epsilon: f64,
    /// Warmup as a fraction of the optimizer steps (used when `warmup_steps` is 0).
    pub warmup_ratio: f64,
    /// Warmup steps, from a learning rate of 0.
    pub warmup_steps: usize,
    /// The schedule after warmup.
    pub lr_scheduler_type: LrSchedulerType,
    /// Clip the global gradient norm to this (0 turns clipping off).
    pub max_grad_norm: f64,
    /// Seed of head initialisation, dropout and shuffling.
    pub seed: u64,
    /// When to validate: `epoch` (after every epoch) or `steps` (every `eval_steps` optimizer
    /// steps and at the end of training). HF's default is `no`; burnbert always validates, as
    /// its best model, early stopping and checkpoints go by validations. HF's older name
    /// `evaluation_strategy` is read too.
    #[serde(alias = "evaluation_strategy")]
    pub eval_strategy: IntervalStrategy,
    /// Optimizer steps between validations with `eval_strategy = "steps"` (HF: defaults to
    /// `logging_steps`).
    pub eval_steps: Option<usize>,
    /// When to checkpoint (model, optimizer, schedule: what a resume needs): `None` (as
    /// `eval_strategy`), `epoch`, `steps` (every `save_steps`, a multiple of the validation
    /// interval, and at the end of training) or `no`. Checkpoints are made at validations.
    pub save_strategy: Option<IntervalStrategy>,
    /// Optimizer steps between checkpoints with `save_strategy = "steps"`.
    pub save_steps: Option<usize>,
    /// Optimizer steps between logged training values (TensorBoard: each training value
    /// averaged over them, as `Trainer` logs its loss; the line log without a terminal);
    /// `None`: every step to TensorBoard, every 10 batches to the line log.
    pub logging_steps: Option<usize>,
    /// Checkpoints kept besides the best one (0, as HF's non-positive values: no limit).
    pub save_total_limit: Option<usize>,
    /// Export the best epoch's model (by `metric_for_best_model`) rather than the last one.
    pub load_best_model_at_end: bool,
    /// The validation metric that picks the best epoch, by HF's names: `loss` (every task);
    /// `accuracy`, `f1`, `precision`, `recall` (macro) or `matthews_correlation` of a classifier;
    /// `mse`, `mae`, `pearson` or `spearmanr` of a regressor; `f1` (micro), `macro_f1`,
    /// `samples_f1`, `subset_accuracy`, `micro_precision` / `_recall`, `macro_precision` /
    /// `_recall` of a multi-label classifier; `accuracy` (token), `f1`, `precision` or
    /// `recall` (entity) of a tagger; `exact_match` or `f1` of a reader; `perplexity` of a
    /// masked language model. HF's `eval_` prefix is accepted (`eval_f1`).
    pub metric_for_best_model: String,
    /// Stop after this many epochs without improvement of `metric_for_best_model`.
    pub early_stopping_patience: Option<usize>,
    /// Longest input in tokens; longer texts are truncated.
    pub max_length: usize,
    /// Learning rate of the task head, when it differs from the encoder's.
    pub head_learning_rate: Option<f64>,
    /// Freeze the embeddings.
    pub freeze_embeddings: bool,
    /// Freeze the first N encoder layers.
    pub freeze_layers: usize,
    /// Freeze everything but the task head.
    pub freeze_encoder: bool,
    /// Unfreeze the frozen parts after this many epochs (they get a learning rate of 0 until
    /// then rather than no gradient, so AdamW's moments see those epochs).
    pub unfreeze_after_epochs: Option<usize>,
    /// Layer-wise learning-rate decay: layer `i` of `L` trains at `lr · d^(L-1-i)`, the
    /// embeddings at `lr · d^L`.
    pub layerwise_lr_decay: Option<f64>,
    /// Label every piece of a word (later pieces of a `B-X` word get `I-X`), not only the
    /// first (token classification; HF's `label_all_tokens`).
    pub label_all_tokens: bool,
    /// Question answering: overlap of consecutive context windows, in tokens (HF's
    /// `doc_stride`); windows are `max_length` tokens long.
    pub doc_stride: usize,
    /// Batch examples of similar length together (less padding), as HF's `group_by_length`.
    pub group_by_length: bool,
    /// Data-loader worker threads.
    pub dataloader_num_workers: usize,
    /// Replace the run in a non-empty output folder (its checkpoints, logs, metrics and
    /// export; other files stay); without it, a used folder is refused.
    pub overwrite_output_dir: bool,
    /// Start a fresh task head when the checkpoint's has another number of labels (HF's
    /// `ignore_mismatched_sizes`); without it, that is an error.
    pub ignore_mismatched_sizes: bool,
    /// SQuAD v2 (data with unanswerable questions): answer "" when the null score beats the
    /// best span's by more than this (`run_qa.py`'s `null_score_diff_threshold`).
    pub null_score_diff_threshold: f64,
    /// Label smoothing ε of the cross-entropy, in `[0, 1)` (single-label sequence and token
    /// classification): HF's `LabelSmoother`, `torch`'s `label_smoothing`.
    pub label_smoothing_factor: f64,
    /// Class weights of the cross-entropy (single-label sequence and token classification), as
    /// `torch.nn.CrossEntropyLoss(weight=...)` takes them; `None`: all 1.
    pub class_weights: Option<ClassWeights>,
    /// Masked-LM training: the fraction of tokens masked, in `(0, 1]` (`run_mlm.py`'s
    /// `mlm_probability`, `DataCollatorForLanguageModeling`'s; 0.15).
    pub mlm_probability: f64,
    /// Masked-LM training: mask whole words (all pieces of a word chosen through its first),
    /// as `DataCollatorForLanguageModeling(whole_word_mask=True)`.
    pub whole_word_mask: bool,
    /// Masked-LM training: one example per document, cut at `max_length`, rather than
    /// documents concatenated and cut into blocks of `max_length` (`run_mlm.py`'s
    /// `line_by_line`).
    pub line_by_line: bool,
    /// Where the run's logs also go: `"none"`, or `"tensorboard"` (also `"all"`): event files
    /// under `OUTPUT/runs/` ([`crate::tensorboard`]).
    pub report_to: String,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            learning_rate: 5e-5,
            num_train_epochs: 3,
            max_steps: None,
            per_device_train_batch_size: 8,
            per_device_eval_batch_size: 8,
            gradient_accumulation_steps: 1,
            weight_decay: 0.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            warmup_ratio: 0.0,
            warmup_steps: 0,
            lr_scheduler_type: LrSchedulerType::Linear,
            max_grad_norm: 1.0,
            seed: 42,
            eval_strategy: IntervalStrategy::Epoch,
            eval_steps: None,
            save_strategy: None,
            save_steps: None,
            logging_steps: None,
            save_total_limit: None,
            load_best_model_at_end: false,
            metric_for_best_model: "loss".into(),
            early_stopping_patience: None,
            max_length: 128,
            head_learning_rate: None,
            freeze_embeddings: false,
            freeze_layers: 0,
            freeze_encoder: false,
            unfreeze_after_epochs: None,
            layerwise_lr_decay: None,
            group_by_length: false,
            label_all_tokens: false,
            doc_stride: 128,
            dataloader_num_workers: 0,
            overwrite_output_dir: false,
            ignore_mismatched_sizes: false,
            null_score_diff_threshold: 0.0,
            label_smoothing_factor: 0.0,
            class_weights: None,
            mlm_probability: 0.15,
            whole_word_mask: false,
            line_by_line: false,
            report_to: "none".into(),
        }
    }
}

impl TrainingConfig {
    /// Reads a `.toml` or `.json` settings file; absent fields keep their defaults, unknown
    /// ones are an error (a misspelt setting must not be silently ignored).
    pub fn from_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.into(),
            source,
        })?;
        let config: Self = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| TrainError::ConfigFile {
                path: path.into(),
                message: e.to_string(),
            })?
        } else {
            toml::from_str(&text).map_err(|e| TrainError::ConfigFile {
                path: path.into(),
                message: e.to_string(),
            })?
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the ranges of the settings.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field, message: &str| {
            Err(TrainError::Config {
                field,
                message: message.into(),
            })
        };
        if self.per_device_train_batch_size == 0 {
            return bad("per_device_train_batch_size", "must be at least 1");
        }
        if !self.null_score_diff_threshold.is_finite() {
            return bad("null_score_diff_threshold", "must be a finite number");
        }
        if self.per_device_eval_batch_size == 0 {
            return bad("per_device_eval_batch_size", "must be at least 1");
        }
        if self.gradient_accumulation_steps == 0 {
            return bad("gradient_accumulation_steps", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        if !(self.mlm_probability > 0.0 && self.mlm_probability <= 1.0) {
            return bad("mlm_probability", "must be in (0, 1]");
        }
        if !(0.0..1.0).contains(&self.label_smoothing_factor) {
            return bad("label_smoothing_factor", "must be in [0, 1)");
        }
        if let Some(ClassWeights::Given(weights)) = &self.class_weights
            && !(weights.iter().all(|w| w.is_finite() && *w >= 0.0)
                && weights.iter().any(|w| *w > 0.0))
        {
            return bad(
                "class_weights",
                "must be finite and not negative, one of them above 0",
            );
        }
        if !(0.0..1.0).contains(&self.warmup_ratio) {
            return bad("warmup_ratio", "must be in [0, 1)");
        }
        if self.max_length < 2 {
            return bad("max_length", "must leave room for [CLS] and [SEP]");
        }
        // `metric_for_best_model` is checked against the task's metrics (`Task::METRICS`): a
        // task of the user's own may name its own.
        if self.metric_for_best_model.trim().is_empty() {
            return bad("metric_for_best_model", "must name a metric ('loss', ...)");
        }
        if self
            .layerwise_lr_decay
            .is_some_and(|d| !(d > 0.0 && d <= 1.0))
        {
            return bad("layerwise_lr_decay", "must be in (0, 1]");
        }
        if self.unfreeze_after_epochs.is_some() && !self.freezes() {
            return bad(
                "unfreeze_after_epochs",
                "needs freeze_embeddings, freeze_layers or freeze_encoder",
            );
        }
        if !matches!(self.report_to.as_str(), "none" | "tensorboard" | "all") {
            return bad(
                "report_to",
                "burnbert reports to \"tensorboard\" (or \"all\", the same) or \"none\"",
            );
        }
        if self.early_stopping_patience == Some(0) {
            return bad(
                "early_stopping_patience",
                "must be at least 1 (validations without improvement before stopping)",
            );
        }
        if self.num_train_epochs == 0 && self.max_steps.is_none_or(|s| s == 0) {
            return bad("num_train_epochs", "must be at least 1");
        }
        self.validate_intervals()
    }

    /// Checks `eval_*`, `save_*` and `logging_steps` against each other: checkpoints are made at
    /// validations (Burn's learner checkpoints after validating).
    fn validate_intervals(&self) -> Result<(), TrainError> {
        let bad = |field, message: String| Err(TrainError::Config { field, message });
        for (field, steps) in [
            ("eval_steps", self.eval_steps),
            ("save_steps", self.save_steps),
            ("logging_steps", self.logging_steps),
        ] {
            if steps == Some(0) {
                return bad(field, "must be at least 1".into());
            }
        }
        match self.eval_strategy {
            IntervalStrategy::No => {
                return bad(
                    "eval_strategy",
                    "burnbert validates during training (its best model, early stopping and \
                     checkpoints go by validations): give \"epoch\" or \"steps\""
                        .into(),
                );
            }
            IntervalStrategy::Steps if self.eval_steps.or(self.logging_steps).is_none() => {
                return bad(
                    "eval_steps",
                    "eval_strategy \"steps\" needs eval_steps (or logging_steps)".into(),
                );
            }
            _ => {}
        }
        let save = self.save_strategy.unwrap_or(self.eval_strategy);
        match (save, self.eval_strategy) {
            (IntervalStrategy::Steps, IntervalStrategy::Steps) => {
                let eval = self.eval_steps.or(self.logging_steps).unwrap_or(1);
                let steps = self.save_steps.unwrap_or(eval);
                if !steps.is_multiple_of(eval) {
                    return bad(
                        "save_steps",
                        format!(
                            "checkpoints are made at validations: give a multiple of eval_steps \
                             ({eval}), not {steps}"
                        ),
                    );
                }
            }
            (IntervalStrategy::Steps, IntervalStrategy::Epoch)
            | (IntervalStrategy::Epoch, IntervalStrategy::Steps) => {
                return bad(
                    "save_strategy",
                    format!(
                        "checkpoints are made at validations: save_strategy {save:?} does not go \
                         with eval_strategy {:?} (give the same, or \"steps\" with save_steps a \
                         multiple of eval_steps)",
                        self.eval_strategy
                    )
                    .to_lowercase(),
                );
            }
            (IntervalStrategy::No, _) if self.load_best_model_at_end => {
                return bad(
                    "save_strategy",
                    "load_best_model_at_end loads the best validation's checkpoint: it needs \
                     save_strategy \"steps\" or \"epoch\", not \"no\""
                        .into(),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// Optimizer steps between validations (`examples` training examples): an epoch's with
    /// `eval_strategy = "epoch"`, else `eval_steps` (or `logging_steps`).
    pub fn steps_per_evaluation(&self, examples: usize) -> usize {
        match self.eval_strategy {
            IntervalStrategy::Steps => self.eval_steps.or(self.logging_steps).unwrap_or(1),
            _ => self.steps_per_epoch(examples),
        }
    }

    /// Validations of the whole run: one after each interval of
    /// [`Self::steps_per_evaluation`], and one at the end of training. Burn's learner runs
    /// each interval as one of its epochs.
    pub fn evaluations(&self, examples: usize) -> usize {
        self.total_steps(examples)
            .div_ceil(self.steps_per_evaluation(examples))
    }

    /// Validations between checkpoints (`None`: never saved); the last validation is always
    /// saved when saving is on.
    pub fn evaluations_per_save(&self, examples: usize) -> Option<usize> {
        match self.save_strategy.unwrap_or(self.eval_strategy) {
            IntervalStrategy::No => None,
            IntervalStrategy::Steps if self.eval_strategy == IntervalStrategy::Steps => {
                let eval = self.steps_per_evaluation(examples);
                Some((self.save_steps.unwrap_or(eval) / eval).max(1))
            }
            _ => Some(1),
        }
    }

    /// The optimizer step (1-based, cumulative) after which validation `evaluation` (1-based)
    /// runs.
    pub fn evaluation_step(&self, examples: usize, evaluation: usize) -> usize {
        (evaluation * self.steps_per_evaluation(examples)).min(self.total_steps(examples))
    }

    /// Whether the run writes TensorBoard event files (`report_to`).
    pub fn reports_to_tensorboard(&self) -> bool {
        matches!(self.report_to.as_str(), "tensorboard" | "all")
    }

    /// Whether any part of the encoder is frozen.
    pub fn freezes(&self) -> bool {
        self.freeze_embeddings || self.freeze_layers > 0 || self.freeze_encoder
    }

    /// Optimizer steps of an epoch of `examples` examples.
    pub fn steps_per_epoch(&self, examples: usize) -> usize {
        examples
            .div_ceil(self.per_device_train_batch_size)
            .div_ceil(self.gradient_accumulation_steps)
            .max(1)
    }

    /// Optimizer steps of the whole run.
    pub fn total_steps(&self, examples: usize) -> usize {
        self.max_steps
            .filter(|&s| s > 0)
            .unwrap_or(self.steps_per_epoch(examples) * self.num_train_epochs)
    }

    /// Warmup steps: `warmup_steps`, else `ceil(warmup_ratio · total)` as HF computes it.
    pub fn warmup(&self, total_steps: usize) -> usize {
        if self.warmup_steps > 0 {
            self.warmup_steps
        } else {
            (self.warmup_ratio * total_steps as f64).ceil() as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_with_trainingarguments_names() {
        let dir = std::env::temp_dir().join(format!("burnbert-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("recipe.toml");
        std::fs::write(&path, "learning_rate = 2e-5\nper_device_train_batch_size = 32\nwarmup_ratio = 0.1\nlr_scheduler_type = \"cosine\"\n").unwrap();
        let c = TrainingConfig::from_file(&path).unwrap();
        assert_eq!(
            (
                c.learning_rate,
                c.per_device_train_batch_size,
                c.lr_scheduler_type
            ),
            (2e-5, 32, LrSchedulerType::Cosine)
        );
        assert_eq!(c.adam_epsilon, 1e-8);
        assert_eq!(c.steps_per_epoch(3600), 113);
        assert_eq!(c.warmup(226), 23);
        std::fs::write(&path, "learning_rat = 2e-5\n").unwrap();
        let err = TrainingConfig::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("recipe.toml") && err.contains("learning_rat"),
            "{err}"
        );
        std::fs::write(&path, "per_device_train_batch_size = 0\n").unwrap();
        let err = TrainingConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("per_device_train_batch_size"), "{err}");
    }

    #[test]
    fn accumulation_and_max_steps() {
        let c = TrainingConfig {
            per_device_train_batch_size: 8,
            gradient_accumulation_steps: 4,
            ..Default::default()
        };
        assert_eq!(c.steps_per_epoch(100), 4); // 13 batches -> 4 updates, the last one partial
        let c = TrainingConfig {
            max_steps: Some(10),
            ..c
        };
        assert_eq!((c.total_steps(100), c.evaluations(100)), (10, 3));
        assert_eq!(c.evaluation_step(100, 3), 10);
        // 0, as HF's non-positive max_steps, leaves the epochs in charge.
        let c = TrainingConfig {
            max_steps: Some(0),
            ..c
        };
        assert_eq!(c.total_steps(100), 12);
        let error = TrainingConfig {
            early_stopping_patience: Some(0),
            ..c
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(error.contains("early_stopping_patience"), "{error}");
    }

    #[test]
    fn validations_every_n_steps_and_checkpoints_at_some_of_them() {
        let c = TrainingConfig {
            per_device_train_batch_size: 10,
            num_train_epochs: 2,
            eval_strategy: IntervalStrategy::Steps,
            eval_steps: Some(4),
            save_steps: Some(8),
            ..Default::default()
        };
        // 10 steps an epoch, 20 in all: validations after steps 4, 8, ..., 20.
        assert_eq!(c.evaluations(100), 5);
        assert_eq!(
            (1..=5)
                .map(|e| c.evaluation_step(100, e))
                .collect::<Vec<_>>(),
            [4, 8, 12, 16, 20]
        );
        assert_eq!(c.evaluations_per_save(100), Some(2));
        // eval_steps falls back to logging_steps, as in HF.
        let fallback = TrainingConfig {
            eval_steps: None,
            logging_steps: Some(3),
            save_steps: None,
            ..c.clone()
        };
        assert_eq!(
            (
                fallback.evaluations(100),
                fallback.evaluations_per_save(100)
            ),
            (7, Some(1))
        );
        let error = |c: TrainingConfig| c.validate().unwrap_err().to_string();
        let e = error(TrainingConfig {
            save_steps: Some(6),
            ..c.clone()
        });
        assert!(
            e.contains("save_steps") && e.contains("multiple of eval_steps (4), not 6"),
            "{e}"
        );
        let e = error(TrainingConfig {
            eval_steps: None,
            ..c.clone()
        });
        assert!(e.contains("eval_steps"), "{e}");
        let e = error(TrainingConfig {
            save_strategy: Some(IntervalStrategy::Epoch),
            ..c.clone()
        });
        assert!(
            e.contains("save_strategy epoch does not go with eval_strategy steps"),
            "{e}"
        );
        let e = error(TrainingConfig {
            save_strategy: Some(IntervalStrategy::No),
            load_best_model_at_end: true,
            ..c.clone()
        });
        assert!(e.contains("load_best_model_at_end"), "{e}");
        let e = error(TrainingConfig {
            eval_strategy: IntervalStrategy::No,
            ..c.clone()
        });
        assert!(e.contains("eval_strategy"), "{e}");
        let no_save = TrainingConfig {
            save_strategy: Some(IntervalStrategy::No),
            ..c
        };
        assert_eq!(no_save.evaluations_per_save(100), None);
        // Per epoch (the default): one validation and one checkpoint an epoch.
        let epochs = TrainingConfig {
            per_device_train_batch_size: 10,
            ..Default::default()
        };
        assert_eq!(
            (
                epochs.evaluations(95),
                epochs.evaluation_step(95, 2),
                epochs.evaluations_per_save(95)
            ),
            (3, 20, Some(1))
        );
    }
}
