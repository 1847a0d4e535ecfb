#![warn(missing_docs)]
//! The fine-tuning recipe of `transformers`' `Trainer`, on Burn's learner.
//!
//! - [`TrainingConfig`]: `TrainingArguments`' names and defaults, from TOML/JSON or code.
//! - [`schedule::WarmupSchedule`]: linear / cosine / constant with a warmup that starts at 0.
//! - [`optim`]: AdamW as HF sets it up (eps 1e-8, no decay on biases and LayerNorm weights),
//!   a separate head learning rate, and clipping of the global gradient norm.
//! - [`epoch_metric`]: scores of a whole epoch as Burn metrics (Matthews correlation,
//!   Pearson, Spearman), which `metric_for_best_model` can name.
//! - [`loss`]: the recipe's cross-entropy settings, label smoothing and class weights
//!   (scikit-learn's `compute_class_weight`).
//! - [`loader`]: training batches whose epochs a resumed run replays exactly, optionally
//!   grouped by length; [`checkpoint`]: checkpoints written atomically.
//! - [`task`]: the `Task` seam and [`task::fine_tune`], the one training path of every task;
//!   the tasks themselves (sequence classification, regression, multi-label, NER, QA) are in
//!   `burnbert::tasks`, a module each.
//! - [`trainer`]: what every task's run goes through (checkpoints, early stopping, resume,
//!   the chosen epoch); [`step`]: the training step (accumulation, clipping, NaN stop);
//!   [`run_dir`]: the output folder one run owns and its record of the metrics per epoch;
//!   [`history`]: the run's log history per step (`log_history.json`), and with
//!   `report_to` its TensorBoard event files ([`tensorboard`]); [`report`]: the run's page of
//!   curves, scores and recipe (`report.html`).
//! - [`sklearn`]: scikit-learn's classification metrics: accuracy, macro and per-class
//!   precision / recall / F1, confusion matrix, the multi-label scores; [`scipy`]: SciPy's
//!   correlations and the regression errors.

pub mod checkpoint;
mod config;
pub mod epoch_metric;
mod error;
pub mod history;
pub mod loader;
pub mod loss;
pub mod optim;
mod renderer;
pub mod report;
pub mod run_dir;
pub mod schedule;
pub mod scipy;
pub mod sklearn;
pub mod step;
pub mod task;
pub mod tensorboard;
pub mod trainer;

pub use config::{
    ClassWeightMode, ClassWeights, IntervalStrategy, LrSchedulerType, TrainingConfig,
};
pub use error::TrainError;

/// Held by the unit tests that seed or draw from the flex device's generator, which all flex
/// devices share: tests run in parallel, and a draw of one between the seeding and the draw of
/// another changes what the other sees.
#[cfg(test)]
pub(crate) static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
