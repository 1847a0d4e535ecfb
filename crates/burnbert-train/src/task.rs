//! The seam every fine-tuning task plugs into. A [`Task`] says what is particular to it: how
//! its examples become items and batches, which Burn metrics it shows and which one picks the
//! best epoch, how the chosen model is scored, and what `metrics.json` lists. [`fine_tune`] is
//! the one training path that drives any task: the output folder, the loaders, Burn's learner
//! with HF's recipe, the chosen epoch, the score, the export and the summary.
//!
//! The tasks implement it in `burnbert::tasks`, a module each (sequence classification,
//! regression, multi-label classification, token classification, question answering); a task
//! of a user's own implements it outside burnbert (`examples/custom_head/`).

use std::path::{Path, PathBuf};

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::train::SupervisedTraining;
use burn::train::metric::{LearningRateMetric, MetricName};
use burnbert_data::{BertTokenizer, Encoded};
use burnbert_model::weights::{HfModel, save_folder};
use burnbert_model::{Bert, BertConfig};
use serde::Serialize;

use crate::run_dir::RunDir;
use crate::step::{FineTuning, TaskModel};
use crate::trainer::{Run, Watch, check_metric, check_sizes, fit, loaders};
use crate::{TrainError, TrainingConfig};

/// A fine-tuning task: see the module docs.
pub trait Task {
    /// The task's name in messages (`"sequence classification"`).
    const NAME: &'static str;
    /// The values `metric_for_best_model` may take, `loss` included.
    const METRICS: &'static [&'static str];
    /// The model it trains: an HF head (`BertFor*`), or a model of the user's own.
    type Model: TaskModel<Self::Batch> + std::fmt::Debug;
    /// A batch of its items, as the model's loss takes it.
    type Batch: Clone + Send + Sync + std::fmt::Debug + 'static;
    /// An example as its reader gives it.
    type Example;
    /// An encoded example: model input and targets (a window, for long inputs).
    type Item: Encoded + Clone + Send + Sync + std::fmt::Debug + 'static;
    /// Pads items into the model's batches.
    type Batcher: Batcher<Self::Item, Self::Batch> + Clone + 'static;
    /// The chosen model's scores on the validation examples.
    type Report: Serialize + std::fmt::Debug;

    /// Encodes the training examples (truncated or windowed to `args.max_length`); the task may
    /// keep what its loss needs of them and of `args` (class weights, label smoothing; see
    /// [`loss`](crate::loss)).
    ///
    /// # Errors
    /// An example the task cannot encode (a label outside the set), naming its file and line; a
    /// setting of `args` the task does not take.
    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[Self::Example],
        args: &TrainingConfig,
    ) -> Result<Vec<Self::Item>, TrainError>;

    /// Encodes the validation examples; the task keeps what its metrics need of them.
    ///
    /// # Errors
    /// As [`Task::encode_train`].
    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[Self::Example],
        args: &TrainingConfig,
    ) -> Result<Vec<Self::Item>, TrainError>;

    /// The batcher of its items.
    fn batcher(&self, tokenizer: &BertTokenizer) -> Self::Batcher;

    /// Registers its Burn metrics (the loss among them) on `training`.
    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>>;

    /// The metric `metric_for_best_model` (one of [`Task::METRICS`]) names.
    fn watch(&self, metric_for_best_model: &str) -> Watch;

    /// The config exported with the model (the task's labels set in it).
    fn config(&self, config: &BertConfig) -> BertConfig;

    /// Scores the chosen model on the validation examples (`items`: their encoding), on
    /// `device`. `epoch_loss` is that epoch's validation loss as the learner measured it.
    ///
    /// # Errors
    /// A model output that is not finite, or an example that cannot be encoded.
    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &self,
        model: &Self::Model,
        tokenizer: &BertTokenizer,
        examples: &[Self::Example],
        items: &[Self::Item],
        args: &TrainingConfig,
        epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<Self::Report, TrainError>;

    /// Saves the chosen model into `out` (created if missing): an HF head as an HF folder
    /// ([`export_hf`]), a model of the user's own as the user chooses.
    ///
    /// # Errors
    /// A file that cannot be written.
    fn save(
        &self,
        model: &Self::Model,
        config: &BertConfig,
        tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError>;

    /// The per-epoch lists of `metrics.json` besides the loss: `(key, Burn metric name)`; keys
    /// other than `epoch`, `epochs_run`, `valid` and `valid_loss_per_epoch`.
    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)>;

    /// Other fields of `metrics.json` (the task's settings), with keys of their own as
    /// [`Task::epoch_metrics`]'.
    fn summary_fields(&self, _args: &TrainingConfig) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }
}

/// `metrics.json`, its fields in this order. `epoch` is the chosen validation (1-based; an
/// epoch with `eval_strategy = "epoch"`), `global_step` the optimizer step it came after, and
/// the per-epoch lists have one value per validation.
#[derive(Serialize)]
struct Summary<'a, R> {
    epoch: usize,
    global_step: usize,
    epochs_run: usize,
    evaluated_at_steps: Vec<usize>,
    #[serde(flatten)]
    settings: std::collections::BTreeMap<&'static str, serde_json::Value>,
    valid: &'a R,
    valid_loss_per_epoch: &'a [Option<f64>],
    #[serde(flatten)]
    per_epoch: std::collections::BTreeMap<&'static str, Vec<Option<f64>>>,
}

/// A task of HF's heads, built as HF's example scripts build theirs from the data and the
/// checkpoint (`run_glue.py`'s label list, `run_ner.py`'s tag list, `run_qa.py`): what a
/// fine-tuning run from an HF folder needs beyond [`Task`].
pub trait HfTask: Task<Model: HfModel<Family = Bert>> + Sized {
    /// The task for fine-tuning a checkpoint whose config is `checkpoint` on `train`,
    /// validated on `valid`. The config the model is built with is then
    /// [`Task::config`]`(checkpoint)`.
    ///
    /// # Errors
    /// Labels the task cannot train (a validation label outside the training set's, real-valued
    /// targets), naming the file and line where there is one.
    fn from_data(
        checkpoint: &BertConfig,
        train: &[Self::Example],
        valid: &[Self::Example],
    ) -> Result<Self, TrainError>;
}

/// What a fine-tuning run gives back.
#[derive(Debug)]
pub struct Trained<T: Task> {
    /// The exported model (best epoch with `load_best_model_at_end`, else the last).
    pub model: T::Model,
    /// Its config, with the task's labels.
    pub config: BertConfig,
    /// The validation the exported model comes from (1-based; with `eval_strategy = "epoch"`,
    /// the epoch).
    pub epoch: usize,
    /// The optimizer step it came after.
    pub step: usize,
    /// That validation in words: `epoch 2` or `step 90`.
    pub chosen: String,
    /// Its scores on the validation examples.
    pub report: T::Report,
    /// The folder the model was saved to (`OUTPUT/model`).
    pub exported: PathBuf,
}

/// Writes an HF head as an HF folder `transformers` loads (`config.json`, `model.safetensors`,
/// the tokenizer files of `tokenizer_folder`): [`Task::save`] for the `BertFor*` heads.
///
/// # Errors
/// A file that cannot be written.
pub fn export_hf<M: HfModel<Family = Bert>>(
    model: &M,
    config: &BertConfig,
    tokenizer_folder: &Path,
    out: &Path,
) -> Result<(), TrainError> {
    Ok(save_folder(model, config, tokenizer_folder, out)?)
}

/// Fine-tunes `model` (the pretrained encoder under `task`'s head, on `device`) on `train`,
/// validating on `valid` after every epoch with `task`'s metrics, in the folder `run` names
/// (see [`RunDir`](crate::run_dir::RunDir)); then scores the chosen epoch's model on `valid`,
/// saves it ([`Task::save`]: an HF folder for an HF head) into `OUTPUT/model` and writes `OUTPUT/metrics.json`: the chosen
/// epoch, the epochs run, the report, and the validation loss and the task's scores per epoch.
///
/// # Errors
/// A recipe or metric the task does not take, an empty data set, a used output folder, an
/// example that cannot be encoded, a loss gone NaN, a file that cannot be written.
#[allow(clippy::too_many_arguments)]
pub fn fine_tune<T: Task>(
    mut task: T,
    args: &TrainingConfig,
    config: &BertConfig,
    model: T::Model,
    tokenizer: &BertTokenizer,
    train: &[T::Example],
    valid: &[T::Example],
    run: Run<'_>,
    device: &Device,
) -> Result<Trained<T>, TrainError>
where
    FineTuning<T::Model, T::Batch>: burn::module::Module + std::fmt::Display,
{
    // HF's Trainer reads `eval_f1` and `f1` alike (it adds the prefix itself).
    let mut args = args.clone();
    if let Some(name) = args.metric_for_best_model.strip_prefix("eval_") {
        args.metric_for_best_model = name.to_string();
    }
    let args = &args;
    check_metric(args, T::NAME, T::METRICS)?;
    check_sizes(args, train.len(), valid.len())?;
    // Encoded before the output folder is touched: a bad label or setting leaves it as it was.
    let train_items = task.encode_train(tokenizer, train, args)?;
    let valid_items = task.encode_valid(tokenizer, valid, args)?;
    let dir = RunDir::create(args, run.output, run.resume_from_epoch)?;
    let examples = train_items.len();
    let (loader_train, loader_valid) = loaders(
        train_items,
        valid_items.clone(),
        task.batcher(tokenizer),
        args,
        dir.resume_from_epoch(),
        device,
    );
    let training = task
        .metrics(SupervisedTraining::new(
            dir.path(),
            loader_train,
            loader_valid,
        ))
        .metric_train_numeric(LearningRateMetric::new());
    let watch = task.watch(&args.metric_for_best_model);
    // HF's names of the task's metrics, for the log history.
    let names = T::METRICS
        .iter()
        .map(|name| (task.watch(name).metric.to_string(), name.to_string()))
        .collect();
    let fitted = fit(args, &dir, training, watch, names, examples, model, device)?;
    let config = task.config(config);
    let epoch_loss = fitted.losses.get(fitted.epoch - 1).copied().flatten();
    let report = task.evaluate(
        &fitted.model,
        tokenizer,
        valid,
        &valid_items,
        args,
        epoch_loss,
        &device.clone().inner(),
    )?;
    let exported = dir.export_dir();
    task.save(&fitted.model, &config, run.tokenizer_folder, &exported)?;

    let summary = Summary {
        epoch: fitted.epoch,
        global_step: fitted.step,
        epochs_run: fitted.epochs_run,
        evaluated_at_steps: (1..=fitted.epochs_run)
            .map(|e| args.evaluation_step(examples, e))
            .collect(),
        settings: task.summary_fields(args).into_iter().collect(),
        valid: &report,
        valid_loss_per_epoch: &fitted.losses,
        per_epoch: task
            .epoch_metrics()
            .into_iter()
            .map(|(key, metric)| (key, dir.record().values(&metric)))
            .collect(),
    };
    dir.write_json("metrics.json", &summary)?;
    crate::report::write(dir.path())?;
    let chosen = match args.eval_strategy {
        crate::IntervalStrategy::Steps => format!("step {}", fitted.step),
        _ => format!("epoch {}", fitted.epoch),
    };
    Ok(Trained {
        model: fitted.model,
        config,
        epoch: fitted.epoch,
        step: fitted.step,
        chosen,
        report,
        exported,
    })
}
