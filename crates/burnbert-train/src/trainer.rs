//! The trainer every task's run goes through: the output folder, the loaders, Burn's
//! `SupervisedTraining` with atomic checkpointers (every epoch; the last N and the best kept),
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
use burn::tensor::TensorReadError;
use burn::train::checkpoint::{
    ComposedCheckpointingStrategy, KeepLastNCheckpoints, MetricCheckpointingStrategy,
};
use burn::train::logger::FileMetricLogger;
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{LossMetric, Metric, MetricMetadata, MetricName, SerializedEntry};
use burn::train::{
    Learner, LearnerModel, MetricEarlyStoppingStrategy, StoppingCondition, SupervisedTraining,
};

use burnbert_data::Encoded;

use crate::loader::EpochLoader;
use crate::renderer::LineRenderer;
use crate::run_dir::RunDir;
use crate::step::{FineTuning, NonFiniteGuard, StepTelemetry, TaskModel};
use crate::tensorboard::TensorBoardLogger;
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

/// The training loader, in an order that a resumed run replays (see [`EpochLoader`]), and the
/// validation loader, in file order. `group_by_length` groups the training items by length.
pub(crate) fn loaders<I, O, B>(
    train: Vec<I>,
    valid: Vec<I>,
    batcher: B,
    args: &TrainingConfig,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> (Arc<dyn DataLoader<O>>, Arc<dyn DataLoader<O>>)
where
    I: Encoded + Clone + Send + Sync + std::fmt::Debug + 'static,
    O: Clone + Send + Sync + std::fmt::Debug + 'static,
    B: Batcher<I, O> + Clone + 'static,
{
    let lengths: Vec<usize> = train.iter().map(|item| item.input_ids().len()).collect();
    let mut loader = EpochLoader::new(
        train,
        batcher.clone(),
        args.per_device_train_batch_size,
        args.seed,
        resume_from_epoch.unwrap_or(0),
        device,
    );
    if let Some(steps) = args.max_steps {
        loader = loader.max_batches(steps * args.gradient_accumulation_steps);
    }
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

/// A metric known by its name only. Burn's checkpointing and early-stopping strategies take a
/// metric but read nothing of it but its name; this lets [`fit`] build them from a [`Watch`]
/// (it is never registered, so never updated).
#[derive(Clone)]
struct Named(MetricName);

impl Metric for Named {
    type Input = ();

    fn name(&self) -> MetricName {
        self.0.clone()
    }

    fn update(&mut self, _: &(), _: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        self.compute()
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let na = SerializedEntry::NOT_AVAILABLE.to_string();
        Ok(SerializedEntry::new(na.clone(), na))
    }

    fn clear(&mut self) {}
}

/// What [`fit`] gives back.
pub(crate) struct Fitted<M> {
    /// The model of the chosen epoch (best with `load_best_model_at_end`, else the last).
    pub model: M,
    /// That epoch, 1-based.
    pub epoch: usize,
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
/// [`EpochRecord`](crate::run_dir::EpochRecord).
pub(crate) fn fit<M: TaskModel<B>, B: Clone + Send + Sync + std::fmt::Debug + 'static>(
    args: &TrainingConfig,
    dir: &RunDir,
    mut training: SupervisedTraining<FineTuning<M, B>>,
    watch: Watch,
    examples: usize,
    mut model: M,
    device: &Device,
) -> Result<Fitted<M>, TrainError>
where
    FineTuning<M, B>: LearnerModel,
{
    let direction = || {
        if watch.highest {
            Direction::Highest
        } else {
            Direction::Lowest
        }
    };
    let watched = Named(watch.metric.clone());
    let strategy = ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(
            args.save_total_limit.unwrap_or(usize::MAX),
        ))
        .add(MetricCheckpointingStrategy::new(
            &watched,
            Aggregate::Mean,
            direction(),
            Split::Valid,
        ))
        .build();
    optim::freeze(model.bert_mut(), args);
    let parts = optim::ModelParts {
        layers: model.bert_mut().encoder.layer.len(),
        head: M::HEAD,
    };
    // Kept only for a logger that reads it (each step's record waits there until read).
    let telemetry = if args.reports_to_tensorboard() {
        StepTelemetry::probing(parts.groups())
    } else {
        StepTelemetry::default()
    };
    // Burn's file logger first: its logs answer the strategies' queries.
    training = training
        .with_metric_logger(FileMetricLogger::new(dir.path()))
        .with_metric_logger(dir.record().clone())
        .with_custom_checkpointers(
            dir.checkpointer("model")?,
            dir.checkpointer("optim")?,
            dir.checkpointer("scheduler")?,
        )
        .with_checkpointing_strategy(strategy)
        .num_epochs(args.epochs(examples))
        .summary();
    let tensorboard = if args.reports_to_tensorboard() {
        let first_step = dir.resume_from_epoch().unwrap_or(0) * args.steps_per_epoch(examples);
        let logger = TensorBoardLogger::new(dir.path(), args, first_step, telemetry.clone())?;
        training = training.with_metric_logger(logger.clone());
        Some(logger)
    } else {
        None
    };
    if args.gradient_accumulation_steps > 1 {
        training = training.grads_accumulation(args.gradient_accumulation_steps);
    }
    if let Some(n_epochs) = args.early_stopping_patience {
        training = training.early_stopping(MetricEarlyStoppingStrategy::new(
            &watched,
            Aggregate::Mean,
            direction(),
            Split::Valid,
            StoppingCondition::NoImprovementSince { n_epochs },
        ));
    }
    if let Some(epoch) = dir.resume_from_epoch() {
        training = training.checkpoint(epoch);
    }
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(LineRenderer::new(10)));
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
    if let Some(error) = tensorboard.and_then(|t| t.error()) {
        return Err(TrainError::Learner(format!(
            "the TensorBoard events were not written: {error}"
        )));
    }
    let losses = dir.record().values(&LossMetric::new().name());
    let epochs_run = dir.record().epochs().max(1);
    let best = dir
        .record()
        .best_epoch(&watch.metric, watch.highest)
        .unwrap_or(epochs_run);
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
        epochs_run,
        losses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
