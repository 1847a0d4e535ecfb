//! What every task's training run shares: the output folder, Burn's `SupervisedTraining` with
//! atomic checkpointers (every epoch; the last N and the best kept), early stopping, resume,
//! the dashboard or line log, the stop on a non-finite loss, and the model of the chosen epoch.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::train::checkpoint::{
    ComposedCheckpointingStrategy, KeepLastNCheckpoints, MetricCheckpointingStrategy,
};
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{ItemLazy, LossMetric, Metric};
use burn::train::{
    InferenceStep, Interrupter, Learner, LearnerModel, MetricEarlyStoppingStrategy,
    StoppingCondition, SupervisedTraining, TrainOutput, TrainStep,
};

use burnbert_data::Encoded;

use crate::checkpoint::AtomicFileCheckpointer;
use crate::loader::EpochLoader;
use crate::renderer::LineRenderer;
use crate::{TrainError, TrainingConfig, optim};

/// Where a run writes.
pub struct Run<'a> {
    /// Output folder: `checkpoint/`, metric logs, `training_config.json`, `metrics.json`, `model/`.
    pub output: &'a Path,
    /// The folder whose tokenizer files go with the export.
    pub tokenizer_folder: &'a Path,
    /// Resume from this epoch's checkpoint.
    pub resume_from_epoch: Option<usize>,
}

/// What a run writes in its output folder (Burn's learner: `checkpoint/`, `train/`, `valid/`,
/// `experiment.log`; burnbert: the recipe, the metrics, the export). `overwrite_output_dir`
/// removes these, and only these, before a new run.
const RUN_FILES: [&str; 7] = [
    "checkpoint",
    "train",
    "valid",
    "experiment.log",
    "training_config.json",
    "metrics.json",
    "model",
];

/// Checks the recipe and the data sizes, takes the output folder for this run and saves the
/// recipe in it.
///
/// The folder belongs to one run: a folder with files in it is refused, unless the run resumes
/// it (`resume_from_epoch`: its recipe must be this one and the epoch's checkpoint must be
/// there) or `overwrite_output_dir` is set (the earlier run's own
/// files are removed; nothing else is touched).
pub(crate) fn prepare(
    args: &TrainingConfig,
    run: &Run<'_>,
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
    let output = run.output;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TrainError::Io { path, source }
    };
    let args_path = output.join("training_config.json");
    match run.resume_from_epoch {
        Some(_) if args.overwrite_output_dir => {
            return Err(TrainError::Config {
                field: "overwrite_output_dir",
                message: "a run is either resumed (--resume-from-epoch) or replaced \
                          (--overwrite-output-dir), not both"
                    .into(),
            });
        }
        Some(epoch) => check_resume(args, output, epoch)?,
        None => {
            let used = std::fs::read_dir(output)
                .map(|mut entries| entries.next().is_some())
                .unwrap_or(false);
            if used && !args.overwrite_output_dir {
                return Err(TrainError::Config {
                    field: "output_dir",
                    message: format!(
                        "{} is not empty (an earlier run?): pass --overwrite-output-dir to \
                         replace that run, --resume-from-epoch N to continue it, or choose \
                         another --output",
                        output.display()
                    ),
                });
            }
            if used {
                for name in RUN_FILES {
                    let path = output.join(name);
                    if path.is_dir() {
                        std::fs::remove_dir_all(&path).map_err(io(&path))?;
                    } else if path.exists() {
                        std::fs::remove_file(&path).map_err(io(&path))?;
                    }
                }
            }
        }
    }
    std::fs::create_dir_all(output).map_err(io(output))?;
    write_json(args_path, args)
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

/// A resume continues the run in `output`: the same recipe, epochs included (the schedule
/// spans them: a resumed run ends with the weights of an uninterrupted one), and the
/// checkpoint of `epoch` present.
fn check_resume(args: &TrainingConfig, output: &Path, epoch: usize) -> Result<(), TrainError> {
    let args_path = output.join("training_config.json");
    let saved = TrainingConfig::from_file(&args_path)?;
    if saved != *args {
        let (a, b) = (
            serde_json::to_value(&saved).expect("serializable"),
            serde_json::to_value(args).expect("serializable"),
        );
        let fields: Vec<String> = a
            .as_object()
            .expect("an object")
            .iter()
            .filter(|(k, v)| b[k.as_str()] != **v)
            .map(|(k, v)| format!("{k} {v} there, {} now", b[k.as_str()]))
            .collect();
        return Err(TrainError::ConfigFile {
            path: args_path,
            message: format!(
                "the run being resumed had another recipe ({}): resume with the same settings",
                fields.join("; ")
            ),
        });
    }
    let checkpoints = output.join("checkpoint");
    let missing: Vec<String> = ["model", "optim", "scheduler"]
        .iter()
        .map(|kind| format!("{kind}-{epoch}.bpk"))
        .filter(|f| !checkpoints.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        let mut epochs: Vec<usize> = std::fs::read_dir(&checkpoints)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse()
                    .ok()
            })
            .collect();
        epochs.sort_unstable();
        return Err(TrainError::Config {
            field: "resume_from_epoch",
            message: format!(
                "no checkpoint of epoch {epoch} in {} (missing {}); epochs there: {:?}",
                checkpoints.display(),
                missing.join(", "),
                epochs
            ),
        });
    }
    Ok(())
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

/// Stops a run whose gradients stop being finite (a loss of NaN or infinity): the update is
/// skipped, so no non-finite weight reaches a checkpoint, and Burn's learner is interrupted
/// before it checkpoints the epoch, so the last good checkpoint stays the last one.
#[derive(Clone, Default)]
pub struct NonFiniteGuard {
    interrupter: Option<Interrupter>,
    tripped: Arc<Mutex<Option<(f64, usize)>>>,
    steps: Arc<AtomicUsize>,
}

impl std::fmt::Debug for NonFiniteGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NonFiniteGuard({:?})", self.tripped())
    }
}

impl NonFiniteGuard {
    fn new(interrupter: Interrupter) -> Self {
        Self {
            interrupter: Some(interrupter),
            ..Self::default()
        }
    }

    /// The non-finite gradient norm and the optimizer step it appeared at, if any.
    pub fn tripped(&self) -> Option<(f64, usize)> {
        *self.tripped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a step; false (and the run stopped) when `norm` is not finite.
    fn check(&self, norm: f64) -> bool {
        let step = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if norm.is_finite() {
            return true;
        }
        self.tripped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert((norm, step));
        if let Some(interrupter) = &self.interrupter {
            interrupter.stop(Some("the gradients are not finite"));
        }
        false
    }
}

/// A task model: how one of its batches becomes a loss and the item Burn's metrics read.
pub trait TaskModel: Module + burn::module::ModuleDisplay + 'static {
    /// A batch of the task's data.
    type Batch: Send + 'static;
    /// What the metrics read (loss included).
    type Output: ItemLazy + 'static;
    /// Regex of the head's parameter paths in [`FineTuning`] (`^model\.classifier\.`).
    const HEAD: &'static str;

    /// The encoder under the head.
    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel;

    /// The forward pass with labels: the mean loss and the metrics' item.
    fn loss(&self, batch: Self::Batch) -> (Tensor<1>, Self::Output);
}

/// A task model as Burn's learner trains it, with the recipe's optimizer step: HF's averaging
/// of accumulated gradients (Burn sums them), the stop on a non-finite gradient norm, and
/// global-norm clipping.
#[derive(Module, Debug)]
pub struct FineTuning<M: Module> {
    /// The task model.
    pub model: M,
    /// Global gradient-norm bound (0: off).
    #[module(skip)]
    pub max_grad_norm: f64,
    /// Forward passes per optimizer step.
    #[module(skip)]
    pub accumulation: usize,
    /// Watches the gradient norm.
    #[module(skip)]
    pub guard: NonFiniteGuard,
}

impl<M: Module> FineTuning<M> {
    /// `model` with the recipe's clipping and accumulation, its guard unset (for use outside
    /// Burn's learner, as the tests do).
    pub fn new(model: M, args: &TrainingConfig) -> Self {
        Self {
            model,
            max_grad_norm: args.max_grad_norm,
            accumulation: args.gradient_accumulation_steps,
            guard: NonFiniteGuard::default(),
        }
    }
}

impl<M: TaskModel> TrainStep for FineTuning<M> {
    type Input = M::Batch;
    type Output = M::Output;

    fn step(&self, batch: M::Batch) -> TrainOutput<M::Output> {
        let (loss, output) = self.model.loss(batch);
        let grads = (loss / self.accumulation as f32).backward();
        TrainOutput::new(self, grads, output)
    }

    fn optimize(
        self,
        optimizer: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        // One read-back per optimizer step: the norm, to catch a loss gone NaN or infinite and
        // to clip with.
        let norm = optim::global_norm(&self, &grads);
        if !self.guard.check(norm) {
            return self;
        }
        let grads = if self.max_grad_norm > 0.0 {
            optim::clip_to_global_norm(&self, grads, self.max_grad_norm, norm)
        } else {
            grads
        };
        optimizer.step(lr, self, grads)
    }
}

impl<M: TaskModel> InferenceStep for FineTuning<M> {
    type Input = M::Batch;
    type Output = M::Output;

    fn step(&self, batch: M::Batch) -> M::Output {
        self.model.loss(batch).1
    }
}

/// The validation metric that picks the best epoch (and stops early).
pub(crate) struct Watch<'a, Me> {
    /// The metric (`LossMetric`, or the task's score).
    pub metric: &'a Me,
    /// Whether higher is better.
    pub highest: bool,
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

/// Runs `training` (the task's loaders and metrics already set) on `model` (on `device`'s
/// autodiff side, frozen as the recipe says) for the recipe's epochs with the recipe's
/// optimizer and schedule, then loads the model of the chosen epoch.
pub(crate) fn fit<M: TaskModel, Me: Metric + 'static>(
    args: &TrainingConfig,
    run: &Run<'_>,
    mut training: SupervisedTraining<FineTuning<M>>,
    watch: Watch<'_, Me>,
    examples: usize,
    mut model: M,
    device: &Device,
) -> Result<Fitted<M>, TrainError>
where
    FineTuning<M>: LearnerModel,
{
    let output = run.output;
    let direction = || {
        if watch.highest {
            Direction::Highest
        } else {
            Direction::Lowest
        }
    };
    let strategy = ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(
            args.save_total_limit.unwrap_or(usize::MAX),
        ))
        .add(MetricCheckpointingStrategy::new(
            watch.metric,
            Aggregate::Mean,
            direction(),
            Split::Valid,
        ))
        .build();
    let checkpointer = |name: &str| {
        let directory = output.join("checkpoint");
        AtomicFileCheckpointer::new(&directory, name).map_err(|source| TrainError::Io {
            path: directory,
            source,
        })
    };
    training = training
        .with_custom_checkpointers(
            checkpointer("model")?,
            checkpointer("optim")?,
            checkpointer("scheduler")?,
        )
        .with_checkpointing_strategy(strategy)
        .num_epochs(args.epochs(examples))
        .summary();
    if args.gradient_accumulation_steps > 1 {
        training = training.grads_accumulation(args.gradient_accumulation_steps);
    }
    if let Some(n_epochs) = args.early_stopping_patience {
        training = training.early_stopping(MetricEarlyStoppingStrategy::new(
            watch.metric,
            Aggregate::Mean,
            direction(),
            Split::Valid,
            StoppingCondition::NoImprovementSince { n_epochs },
        ));
    }
    if let Some(epoch) = run.resume_from_epoch {
        training = training.checkpoint(epoch);
    }
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(LineRenderer::new(10)));
    }
    let guard = NonFiniteGuard::new(training.interrupter());
    let total_steps = args.total_steps(examples);
    optim::freeze(model.bert_mut(), args);
    let parts = optim::ModelParts {
        layers: model.bert_mut().encoder.layer.len(),
        head: M::HEAD,
    };
    let task = FineTuning {
        guard: guard.clone(),
        ..FineTuning::new(model.fork(&device.clone().autodiff()), args)
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
            checkpoints: output.join("checkpoint"),
        });
    }
    if let Some(error) = &result.error {
        return Err(TrainError::Learner(error.to_string()));
    }

    let losses = epoch_values(output, &LossMetric::new().name());
    let watched = epoch_values(output, &watch.metric.name());
    let epochs_run = losses.len().max(watched.len()).max(1);
    let best = best_epoch(&watched, watch.highest).unwrap_or(epochs_run);
    let epoch = if args.load_best_model_at_end {
        best
    } else {
        epochs_run
    };
    let mut model = result.model;
    if epoch != epochs_run {
        let path = output.join("checkpoint").join(format!("model-{epoch}.bpk"));
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

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json(path: PathBuf, value: &impl serde::Serialize) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).expect("serializable");
    burnbert_model::weights::write_atomic(&path, text.as_bytes())
        .map_err(|source| TrainError::Io { path, source })
}

/// A validation metric per epoch, from Burn's metric logs (`OUTPUT/valid/epoch-N/NAME.log`,
/// spaces in the name as `_`; one `value,count` line per batch and a last `value,final` line
/// with the epoch's value): the final value where logged, else the count-weighted mean.
pub(crate) fn epoch_values(output: &Path, metric: &str) -> Vec<Option<f64>> {
    let file = format!("{}.log", metric.replace(' ', "_"));
    let mut values = Vec::new();
    for epoch in 1.. {
        let path = output
            .join("valid")
            .join(format!("epoch-{epoch}"))
            .join(&file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            break;
        };
        let (mut sum, mut weight, mut last) = (0.0, 0.0, None);
        for line in text.lines() {
            let mut parts = line.split(',');
            let (Some(Ok(value)), count) = (parts.next().map(str::parse::<f64>), parts.next())
            else {
                continue;
            };
            if count == Some("final") {
                last = Some(value);
                continue;
            }
            let w = count.and_then(|c| c.parse::<f64>().ok()).unwrap_or(1.0);
            sum += value * w;
            weight += w;
        }
        values.push(last.or((weight > 0.0).then(|| sum / weight)));
    }
    values
}

fn best_epoch(values: &[Option<f64>], highest: bool) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i + 1, v)))
        .reduce(|a, b| {
            if (highest && b.1 > a.1) || (!highest && b.1 < a.1) {
                b
            } else {
                a
            }
        })
        .map(|(epoch, _)| epoch)
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

    #[test]
    fn best_epoch_by_direction() {
        let v = [Some(0.5), Some(0.3), None, Some(0.4)];
        assert_eq!(best_epoch(&v, false), Some(2));
        assert_eq!(best_epoch(&v, true), Some(1));
        assert_eq!(best_epoch(&[], true), None);
    }

    #[test]
    fn epoch_values_from_burns_metric_logs() {
        let dir = std::env::temp_dir().join(format!("burnbert-epochlog-{}", std::process::id()));
        for (epoch, text) in [(1, "0.5,2\n1.0,2\n"), (2, "0.5,2\n1.0,2\n0.8,final\n")] {
            let d = dir.join("valid").join(format!("epoch-{epoch}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("Entity_F1.log"), text).unwrap();
        }
        assert_eq!(epoch_values(&dir, "Entity F1"), [Some(0.75), Some(0.8)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
