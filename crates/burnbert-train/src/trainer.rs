//! The trainer every task's run goes through: the output folder, the loaders, Burn's
//! `SupervisedTraining` with atomic checkpointers (at validations, every epoch or every N
//! steps: one Burn epoch per validation interval; the last N and the best kept),
//! early stopping, resume, the dashboard or line log, the stop on a non-finite loss, and the
//! model of the chosen epoch. The training step itself is in [`crate::step`].

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::prelude::*;
use burn::train::logger::FileMetricLogger;
use burn::train::metric::store::EventStoreClient;
use burn::train::metric::{LossMetric, Metric, MetricName};
use burn::train::{EarlyStoppingStrategy, Learner, LearnerModel, SupervisedTraining};

use burnbert_data::Encoded;

use crate::checkpoint::SaveRounds;
use crate::history::HistoryLogger;
use crate::loader::{EpochLoader, StepPlan};
use crate::renderer::LineRenderer;
use crate::run_dir::RunDir;
use crate::step::{FineTuning, NonFiniteGuard, StepTelemetry, TaskModel};
use crate::{TrainError, TrainingConfig, optim};

/// Where a run writes.
pub struct Run<'a> {
    /// Output folder ([`RunDir`]): `checkpoint/`, metric logs, `training_config.json`,
    /// `epochs.json`, `metrics.json`, `model/`.
    pub output: &'a Path,
    /// The folder whose tokenizer files go with the export.
    pub tokenizer_folder: &'a Path,
    /// Resume from this epoch's checkpoint.
    pub resume_from_epoch: Option<usize>,
}

/// Checks the recipe, and that both sets have examples.
pub(crate) fn check_sizes(
    args: &TrainingConfig,
    train: usize,
    valid: usize,
) -> Result<(), TrainError> {
    args.validate()?;
    if train == 0 || valid == 0 {
        return Err(TrainError::Config {
            field: "data",
            message: format!(
                "the training and validation sets need examples (training on {train}, \
                 validating on {valid}): give more data or a --validation file"
            ),
        });
    }
    Ok(())
}

/// Refuses a `metric_for_best_model` that `task` does not report (`metrics`, loss included).
pub(crate) fn check_metric(
    args: &TrainingConfig,
    task: &str,
    metrics: &[&str],
) -> Result<(), TrainError> {
    if metrics.contains(&args.metric_for_best_model.as_str()) {
        return Ok(());
    }
    Err(TrainError::Config {
        field: "metric_for_best_model",
        message: format!(
            "{task} picks its best epoch by {}, not '{}'",
            metrics
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", "),
            args.metric_for_best_model
        ),
    })
}

/// The training loader, one validation interval per Burn epoch, in an order that a resumed run
/// replays (see [`EpochLoader`]), and the validation loader, in file order. `group_by_length`
/// groups the training items by length.
pub(crate) fn loaders<I, O, B>(
    train: Vec<I>,
    valid: Vec<I>,
    batcher: B,
    args: &TrainingConfig,
    resume_from: Option<usize>,
    device: &Device,
) -> (Arc<dyn DataLoader<O>>, Arc<dyn DataLoader<O>>)
where
    I: Encoded + Clone + Send + Sync + std::fmt::Debug + 'static,
    O: Clone + Send + Sync + std::fmt::Debug + 'static,
    B: Batcher<I, O> + Clone + 'static,
{
    let lengths: Vec<usize> = train.iter().map(|item| item.input_ids().len()).collect();
    let plan = StepPlan::new(args, train.len());
    let mut loader = EpochLoader::new(
        train,
        batcher.clone(),
        args.per_device_train_batch_size,
        args.seed,
        resume_from.unwrap_or(0),
        device,
    )
    .plan(plan);
    if args.group_by_length {
        loader = loader.group_by_length(lengths);
    }
    let valid = DataLoaderBuilder::new(batcher)
        .batch_size(args.per_device_eval_batch_size)
        .num_workers(args.dataloader_num_workers)
        .build(InMemDataset::new(valid));
    (Arc::new(loader), valid)
}

/// The validation metric that picks the best epoch (and stops early): Burn's name of one of the
/// task's metrics (`Loss`, `Accuracy`, `Entity F1`, ...).
pub struct Watch {
    /// The metric's name, as Burn's learner logs it.
    pub metric: MetricName,
    /// Whether higher is better.
    pub highest: bool,
}

impl Watch {
    /// The lowest validation loss.
    pub fn loss() -> Self {
        Self {
            metric: LossMetric::new().name(),
            highest: false,
        }
    }

    /// The highest value of `metric`.
    pub fn highest(metric: &impl Metric) -> Self {
        Self {
            metric: metric.name(),
            highest: true,
        }
    }

    /// The lowest value of `metric`.
    pub fn lowest(metric: &impl Metric) -> Self {
        Self {
            metric: metric.name(),
            highest: false,
        }
    }
}

/// HF's `EarlyStoppingCallback`: stops after `patience` validations without improvement of
/// `metric` over the best so far, as the run's [`EpochRecord`](crate::run_dir::EpochRecord)
/// has them. Burn's `MetricEarlyStoppingStrategy` keeps its best in memory, so a resumed run
/// would start counting afresh; this one reads the whole record (a resume loads it) each time.
#[derive(Clone)]
struct EarlyStopping {
    record: crate::run_dir::EpochRecord,
    metric: String,
    highest: bool,
    patience: usize,
}

impl EarlyStopping {
    /// Whether the run stops after validation `round` (1-based).
    fn stops_after(&self, round: usize) -> bool {
        self.record.wait_for(round, crate::checkpoint::RECORD_WAIT);
        let mut values = self.record.values(&self.metric);
        values.truncate(round);
        crate::run_dir::best_epoch(&values, self.highest)
            .is_some_and(|best| round.saturating_sub(best) >= self.patience)
    }
}

impl EarlyStoppingStrategy for EarlyStopping {
    fn should_stop(&mut self, round: usize, _: &EventStoreClient) -> bool {
        self.stops_after(round)
    }
}

/// What [`fit`] gives back.
pub(crate) struct Fitted<M> {
    /// The model of the chosen epoch (best with `load_best_model_at_end`, else the last).
    pub model: M,
    /// That validation, 1-based (with `eval_strategy = "epoch"`, the epoch).
    pub epoch: usize,
    /// The optimizer step it came after.
    pub step: usize,
    /// Epochs run (fewer than asked after an early stop).
    pub epochs_run: usize,
    /// Validation loss per epoch.
    pub losses: Vec<Option<f64>>,
}

/// Runs `training` (the task's loaders and metrics already set) on `model` (built on any side
/// of `device`; moved to its autodiff side and frozen as the recipe says) for the recipe's
/// epochs with the recipe's optimizer and schedule, writing into `dir`, then loads the model of
/// the chosen epoch: the
/// last, or with `load_best_model_at_end` the best by `watch` in the run's
/// [`EpochRecord`](crate::run_dir::EpochRecord). `names` are HF's names of the task's metrics
/// (`(Burn's name, HF's name)`), which the log history uses.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit<M: TaskModel<B>, B: Clone + Send + Sync + std::fmt::Debug + 'static>(
    args: &TrainingConfig,
    dir: &RunDir,
    mut training: SupervisedTraining<FineTuning<M, B>>,
    watch: Watch,
    names: Vec<(String, String)>,
    examples: usize,
    mut model: M,
    device: &Device,
) -> Result<Fitted<M>, TrainError>
where
    FineTuning<M, B>: LearnerModel,
{
    let evaluations = args.evaluations(examples);
    let saving = SaveRounds::new(
        args.evaluations_per_save(examples),
        evaluations,
        args.save_total_limit,
        dir.record().clone(),
        &watch.metric.to_string(),
        watch.highest,
    )
    .with_saved(dir.checkpoint_epochs());
    optim::freeze(model.bert_mut(), args);
    let parts = optim::ModelParts {
        layers: model.bert_mut().encoder.layer.len(),
        head: M::HEAD,
    };
    // Each step's gradient norm and learning rates, for the log history.
    let telemetry = StepTelemetry::probing(parts.groups());
    // Burn's file logger first: its logs answer the strategies' queries.
    training = training
        .with_metric_logger(FileMetricLogger::new(dir.path()))
        .with_metric_logger(dir.record().clone())
        .with_custom_checkpointers(
            dir.checkpointer("model")?,
            dir.checkpointer("optim")?,
            dir.checkpointer("scheduler")?,
        )
        .with_checkpointing_strategy(saving.clone())
        .num_epochs(evaluations);
    let history = HistoryLogger::new(
        dir.path(),
        args,
        StepPlan::new(args, examples),
        dir.resume_from_epoch().unwrap_or(0),
        telemetry.clone(),
    )?
    .with_names(names);
    training = training.with_metric_logger(history.clone());
    if args.gradient_accumulation_steps > 1 {
        training = training.grads_accumulation(args.gradient_accumulation_steps);
    }
    if let Some(patience) = args.early_stopping_patience {
        training = training.early_stopping(EarlyStopping {
            record: dir.record().clone(),
            metric: watch.metric.to_string(),
            highest: watch.highest,
            patience,
        });
    }
    if let Some(epoch) = dir.resume_from_epoch() {
        training = training.checkpoint(epoch);
    }
    if !std::io::stdout().is_terminal() {
        let every = args
            .logging_steps
            .map_or(10, |n| n * args.gradient_accumulation_steps);
        let unit = match args.eval_strategy {
            crate::IntervalStrategy::Steps => "interval",
            _ => "epoch",
        };
        training = training.renderer(Box::new(LineRenderer::new(every, unit)));
    }
    let guard = NonFiniteGuard::new(training.interrupter());
    dir.record().stop_on_save_error(training.interrupter());
    let total_steps = args.total_steps(examples);
    // On the autodiff side with each parameter's training state (frozen parts stay frozen),
    // wherever the model was built: forking a model built on a plain device would leave every
    // parameter untracked.
    let valid = model.valid();
    drop(model);
    let model = valid.train().fork(&device.clone().autodiff());
    let task = FineTuning {
        guard: guard.clone(),
        telemetry,
        ..FineTuning::new(model, args)
    };
    let learner = Learner::new(
        task,
        optim::optimizer(args),
        optim::scheduler(args, total_steps, args.steps_per_epoch(examples), parts),
    );
    let result = training.launch(learner);
    if let Some((value, step)) = guard.tripped() {
        return Err(TrainError::NonFiniteLoss {
            value,
            step,
            checkpoints: dir.checkpoints(),
        });
    }
    if let Some(error) = &result.error {
        return Err(TrainError::Learner(error.to_string()));
    }

    if let Some(error) = dir.record().save_error() {
        return Err(error);
    }
    if let Some(error) = history.error() {
        return Err(TrainError::Learner(format!(
            "the log history or the TensorBoard events were not written: {error}"
        )));
    }
    let losses = dir.record().values(&LossMetric::new().name());
    let epochs_run = dir.record().epochs().max(1);
    let best = saving.best(epochs_run).unwrap_or(epochs_run);
    let epoch = if args.load_best_model_at_end {
        best
    } else {
        epochs_run
    };
    let mut model = result.model;
    if epoch != epochs_run {
        let path = dir.checkpoint("model", epoch);
        model = model
            .try_load_file(&path)
            .map_err(|e| TrainError::Learner(format!("{}: {e}", path.display())))?;
    }
    Ok(Fitted {
        model: model.model,
        epoch,
        step: args.evaluation_step(examples, epoch),
        epochs_run,
        losses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_stopping_counts_validations_since_the_best_whatever_the_process() {
        // Losses of 5 validations: the best is the second.
        let record = crate::run_dir::EpochRecord::with_values(
            "Loss",
            &[Some(0.9), Some(0.5), Some(0.6), Some(0.5), Some(0.7)],
        );
        let stopping = EarlyStopping {
            record,
            metric: "Loss".into(),
            highest: false,
            patience: 2,
        };
        // A tie does not improve (HF's and Burn's strict comparison): stop after the fourth.
        let stops: Vec<bool> = (1..=5).map(|r| stopping.stops_after(r)).collect();
        assert_eq!(stops, [false, false, false, true, true]);
        // A resumed run's strategy is new, and decides the same from the record.
        let resumed = stopping.clone();
        assert!(resumed.stops_after(4));
    }

    #[test]
    fn a_metric_the_task_does_not_report_is_refused() {
        let args = TrainingConfig {
            metric_for_best_model: "exact_match".into(),
            ..TrainingConfig::default()
        };
        assert!(check_metric(&args, "question answering", &["loss", "exact_match"]).is_ok());
        let error = check_metric(&args, "token classification", &["loss", "accuracy", "f1"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("token classification picks its best epoch by 'loss', 'accuracy', 'f1', not 'exact_match'"),
            "{error}"
        );
    }
}
