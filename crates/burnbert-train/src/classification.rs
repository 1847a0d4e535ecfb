//! Fine-tuning a sequence classifier with Burn's `SupervisedTraining`: its data loader,
//! checkpointer (every epoch, the last N and the best kept), metrics, early stopping and
//! dashboard, with HF's recipe (see [`crate::optim`]), and the best model exported as an HF
//! folder.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::train::checkpoint::{
    ComposedCheckpointingStrategy, KeepLastNCheckpoints, MetricCheckpointingStrategy,
};
use burn::train::metric::store::{Aggregate, Direction, Split};
use burn::train::metric::{
    AccuracyMetric, ClassReduction, FBetaScoreMetric, LearningRateMetric, LossMetric, Metric,
    PrecisionMetric, RecallMetric,
};
use burn::train::{
    ClassificationOutput, InferenceStep, Interrupter, Learner, MetricEarlyStoppingStrategy,
    StoppingCondition, SupervisedTraining, TrainOutput, TrainStep,
};
use burnbert_data::classification::{LabelSet, TextExample};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::heads::loss::{IGNORE_INDEX, cross_entropy};
use burnbert_model::weights::save_folder;
use burnbert_model::{BertConfig, BertForSequenceClassification, BertInput, SequenceLabels};
use serde::Serialize;

use crate::checkpoint::AtomicFileCheckpointer;
use crate::evaluate::{ClassificationReport, classification_report};
use crate::loader::EpochLoader;
use crate::renderer::LineRenderer;
use crate::{TrainError, TrainingConfig, optim};

/// A tokenized, labelled example.
#[derive(Debug, Clone)]
pub struct EncodedExample {
    /// WordPiece ids with `[CLS]`/`[SEP]`.
    pub input_ids: Vec<u32>,
    /// Segment ids.
    pub token_type_ids: Vec<u32>,
    /// The label id.
    pub label: usize,
}

/// Tokenizes `examples` (truncated to `max_length`) with label ids from `labels`; a label not
/// in the set is an error naming its file and line.
pub fn encode_examples(
    tokenizer: &BertTokenizer,
    examples: &[TextExample],
    labels: &LabelSet,
    max_length: usize,
) -> Result<Vec<EncodedExample>, TrainError> {
    examples
        .iter()
        .map(|e| {
            let label = labels.id(e)?;
            let encoding = tokenizer
                .encode(&e.text, e.text_pair.as_deref(), max_length)
                .map_err(|err| burnbert_data::DataError::Invalid {
                    file: e.location.file.clone(),
                    line: e.location.line,
                    message: err.to_string(),
                })?;
            Ok(EncodedExample {
                input_ids: encoding.input_ids,
                token_type_ids: encoding.token_type_ids,
                label,
            })
        })
        .collect()
}

/// A padded batch and its labels.
#[derive(Debug, Clone)]
pub struct ClassificationBatch {
    /// Model input, padded to the batch's longest sequence.
    pub input: BertInput,
    /// Label ids, `[batch]`.
    pub labels: Tensor<1, Int>,
}

/// Pads each batch to its own longest sequence (dynamic padding).
#[derive(Debug, Clone)]
pub struct ClassificationBatcher {
    /// Id of `[PAD]`.
    pub pad_id: u32,
}

impl Batcher<EncodedExample, ClassificationBatch> for ClassificationBatcher {
    fn batch(&self, items: Vec<EncodedExample>, device: &Device) -> ClassificationBatch {
        let rows: Vec<(&[u32], &[u32])> = items
            .iter()
            .map(|e| (e.input_ids.as_slice(), e.token_type_ids.as_slice()))
            .collect();
        let batch = PaddedBatch::from_ids(&rows, self.pad_id)
            .expect("the data loader never makes an empty batch");
        let labels: Vec<i64> = items.iter().map(|e| e.label as i64).collect();
        ClassificationBatch {
            input: batch.to_input(device),
            labels: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
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

/// The model as Burn's learner trains it: the classifier, plus the recipe's global-norm
/// clipping, gradient averaging over accumulation steps, and the stop on a non-finite loss.
#[derive(Module, Debug)]
pub struct SequenceClassificationTask {
    /// The classifier.
    pub model: BertForSequenceClassification,
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

impl SequenceClassificationTask {
    fn forward_classification(&self, batch: ClassificationBatch) -> ClassificationOutput {
        let out = self
            .model
            .forward_with_labels(batch.input, SequenceLabels::Classes(batch.labels.clone()));
        ClassificationOutput::new(
            out.loss.expect("labels were given"),
            out.logits,
            batch.labels,
        )
    }
}

impl TrainStep for SequenceClassificationTask {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> TrainOutput<ClassificationOutput> {
        let out = self.forward_classification(batch);
        // Burn's accumulation sums the gradients; HF averages them (the loss is divided by the
        // accumulation steps), so the backward pass runs on loss / steps.
        let grads = (out.loss.clone() / self.accumulation as f32).backward();
        TrainOutput::new(self, grads, out)
    }

    fn optimize(
        self,
        optim: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        // One read-back per optimizer step: the norm, to catch a loss gone NaN or infinite.
        if !self.guard.check(optim::global_norm(&self, &grads)) {
            return self;
        }
        let grads = if self.max_grad_norm > 0.0 {
            optim::clip_global_norm(&self, grads, self.max_grad_norm)
        } else {
            grads
        };
        optim.step(lr, self, grads)
    }
}

impl InferenceStep for SequenceClassificationTask {
    type Input = ClassificationBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: ClassificationBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}

/// What a training run gives back.
#[derive(Debug)]
pub struct TrainedClassifier {
    /// The exported model (best epoch with `load_best_model_at_end`, else the last).
    pub model: BertForSequenceClassification,
    /// Its config, with the label set as `id2label`.
    pub config: BertConfig,
    /// The epoch the exported model comes from (1-based).
    pub epoch: usize,
    /// Its scores on the validation set.
    pub report: ClassificationReport,
    /// The HF folder written.
    pub exported: PathBuf,
}

/// The summary written to `OUTPUT/metrics.json`.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    epoch: usize,
    epochs_run: usize,
    valid: &'a ClassificationReport,
    valid_loss_per_epoch: Vec<Option<f64>>,
    valid_accuracy_per_epoch: Vec<Option<f64>>,
}

/// Where a run writes.
pub struct Run<'a> {
    /// Output folder: `checkpoint/`, metric logs, `training_config.json`, `metrics.json`, `model/`.
    pub output: &'a Path,
    /// The folder whose tokenizer files go with the export.
    pub tokenizer_folder: &'a Path,
    /// Resume from this epoch's checkpoint.
    pub resume_from_epoch: Option<usize>,
}

/// Fine-tunes `model` (already holding the pretrained encoder, its config's labels set to
/// `labels`) on `train`, validating on `valid` after every epoch.
#[allow(clippy::too_many_arguments)]
pub fn train_sequence_classification(
    args: &TrainingConfig,
    config: &BertConfig,
    model: BertForSequenceClassification,
    tokenizer: &BertTokenizer,
    labels: &LabelSet,
    train: &[TextExample],
    valid: &[TextExample],
    run: Run<'_>,
    device: &Device,
) -> Result<TrainedClassifier, TrainError> {
    args.validate()?;
    if train.is_empty() || valid.is_empty() {
        return Err(TrainError::Config {
            field: "data",
            message: "the training and validation sets need examples".into(),
        });
    }
    let output = run.output;
    std::fs::create_dir_all(output).map_err(|source| TrainError::Io {
        path: output.into(),
        source,
    })?;
    let args_path = output.join("training_config.json");
    std::fs::write(
        &args_path,
        serde_json::to_string_pretty(args).expect("serializable"),
    )
    .map_err(|source| TrainError::Io {
        path: args_path.clone(),
        source,
    })?;

    let train_encoded = encode_examples(tokenizer, train, labels, args.max_length)?;
    let valid_encoded = encode_examples(tokenizer, valid, labels, args.max_length)?;
    let batcher = ClassificationBatcher {
        pad_id: tokenizer.pad_id(),
    };
    let lengths = args
        .group_by_length
        .then(|| train_encoded.iter().map(|e| e.input_ids.len()).collect());
    let loader_train = train_loader(
        train_encoded,
        batcher.clone(),
        args,
        lengths,
        run.resume_from_epoch,
        device,
    );
    let loader_valid = DataLoaderBuilder::new(batcher)
        .batch_size(args.per_device_eval_batch_size)
        .num_workers(args.dataloader_num_workers)
        .build(InMemDataset::new(valid_encoded.clone()));

    let total_steps = args.total_steps(train.len());
    let epochs = args.epochs(train.len());
    let mut model = model;
    optim::freeze(&mut model.bert, args);
    let parts = optim::ModelParts {
        layers: model.bert.encoder.layer.len(),
        head: r"^model\.classifier\.",
    };

    let highest = args.metric_for_best_model == "accuracy";
    let keep_last = args.save_total_limit.unwrap_or(usize::MAX);
    let patience = args.early_stopping_patience;
    let (strategy, early_stopping) = if highest {
        watch_best(&AccuracyMetric::new(), true, keep_last, patience)
    } else {
        watch_best(&LossMetric::new(), false, keep_last, patience)
    };
    let mut training = SupervisedTraining::new(output, loader_train, loader_valid)
        .metrics((
            AccuracyMetric::new(),
            LossMetric::new(),
            PrecisionMetric::multiclass(1, ClassReduction::Macro),
            RecallMetric::multiclass(1, ClassReduction::Macro),
            FBetaScoreMetric::multiclass(1.0, 1, ClassReduction::Macro),
        ))
        .metric_train_numeric(LearningRateMetric::new())
        .with_custom_checkpointers(
            checkpointer(output, "model")?,
            checkpointer(output, "optim")?,
            checkpointer(output, "scheduler")?,
        )
        .with_checkpointing_strategy(strategy)
        .num_epochs(epochs)
        .summary();
    if args.gradient_accumulation_steps > 1 {
        training = training.grads_accumulation(args.gradient_accumulation_steps);
    }
    if let Some(early_stopping) = early_stopping {
        training = training.early_stopping(early_stopping);
    }
    if let Some(epoch) = run.resume_from_epoch {
        training = training.checkpoint(epoch);
    }
    if !std::io::stdout().is_terminal() {
        training = training.renderer(Box::new(LineRenderer::new(10)));
    }
    let guard = NonFiniteGuard::new(training.interrupter());
    let task = SequenceClassificationTask {
        model: model.fork(&device.clone().autodiff()),
        max_grad_norm: args.max_grad_norm,
        accumulation: args.gradient_accumulation_steps,
        guard: guard.clone(),
    };
    let learner = Learner::new(
        task,
        optim::optimizer(args),
        optim::scheduler(args, total_steps, args.steps_per_epoch(train.len()), parts),
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

    let losses = epoch_means(output, "Loss");
    let accuracies = epoch_means(output, "Accuracy");
    let epochs_run = losses.len().max(accuracies.len());
    let last = epochs_run.max(1);
    let per_epoch = if args.metric_for_best_model == "accuracy" {
        &accuracies
    } else {
        &losses
    };
    let best = best_epoch(per_epoch, highest).unwrap_or(last);
    let epoch = if args.load_best_model_at_end {
        best
    } else {
        last
    };
    let mut task = result.model;
    if epoch != last {
        let path = output.join("checkpoint").join(format!("model-{epoch}.bpk"));
        task = task
            .try_load_file(&path)
            .map_err(|e| TrainError::Learner(format!("{}: {e}", path.display())))?;
    }
    let model = task.model;
    let config = config.clone().with_labels(labels.names());
    let report = evaluate(
        &model,
        &ClassificationBatcher {
            pad_id: tokenizer.pad_id(),
        },
        &valid_encoded,
        labels,
        args.per_device_eval_batch_size,
        &device.clone().inner(),
    )?;
    let exported = output.join("model");
    save_folder(&model, &config, run.tokenizer_folder, &exported)?;
    let summary = Summary {
        epoch,
        epochs_run,
        valid: &report,
        valid_loss_per_epoch: losses,
        valid_accuracy_per_epoch: accuracies,
    };
    let metrics_path = output.join("metrics.json");
    std::fs::write(
        &metrics_path,
        serde_json::to_string_pretty(&summary).expect("serializable"),
    )
    .map_err(|source| TrainError::Io {
        path: metrics_path,
        source,
    })?;
    Ok(TrainedClassifier {
        model,
        config,
        epoch,
        report,
        exported,
    })
}

/// The training batches, in an order that a resumed run replays (see [`EpochLoader`]).
pub(crate) fn train_loader<I: Clone + Send + Sync + 'static, O: Send + 'static>(
    items: Vec<I>,
    batcher: impl Batcher<I, O> + 'static,
    args: &TrainingConfig,
    lengths: Option<Vec<usize>>,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Arc<dyn DataLoader<O>> {
    let loader = EpochLoader::new(
        items,
        batcher,
        args.per_device_train_batch_size,
        args.seed,
        resume_from_epoch.unwrap_or(0),
        device,
    );
    Arc::new(match lengths {
        Some(lengths) => loader.group_by_length(lengths),
        None => loader,
    })
}

/// `OUTPUT/checkpoint/NAME-EPOCH.bpk`, written atomically.
pub(crate) fn checkpointer(
    output: &Path,
    name: &str,
) -> Result<AtomicFileCheckpointer, TrainError> {
    let directory = output.join("checkpoint");
    AtomicFileCheckpointer::new(&directory, name).map_err(|source| TrainError::Io {
        path: directory,
        source,
    })
}

/// Checkpoints to keep (the last `keep_last` and the best by `metric` on validation) and, with
/// a patience, early stopping on the same metric.
fn watch_best<M: Metric>(
    metric: &M,
    highest: bool,
    keep_last: usize,
    patience: Option<usize>,
) -> (
    ComposedCheckpointingStrategy,
    Option<MetricEarlyStoppingStrategy>,
) {
    let direction = || {
        if highest {
            Direction::Highest
        } else {
            Direction::Lowest
        }
    };
    let strategy = ComposedCheckpointingStrategy::builder()
        .add(KeepLastNCheckpoints::new(keep_last))
        .add(MetricCheckpointingStrategy::new(
            metric,
            Aggregate::Mean,
            direction(),
            Split::Valid,
        ))
        .build();
    let early_stopping = patience.map(|n_epochs| {
        MetricEarlyStoppingStrategy::new(
            metric,
            Aggregate::Mean,
            direction(),
            Split::Valid,
            StoppingCondition::NoImprovementSince { n_epochs },
        )
    });
    (strategy, early_stopping)
}

/// Scores a classifier on encoded examples: accuracy, P/R/F1, confusion matrix and mean loss.
pub fn evaluate(
    model: &BertForSequenceClassification,
    batcher: &ClassificationBatcher,
    examples: &[EncodedExample],
    labels: &LabelSet,
    batch_size: usize,
    device: &Device,
) -> Result<ClassificationReport, TrainError> {
    let model = model.clone().fork(device);
    let (mut targets, mut predictions, mut loss_sum) = (Vec::new(), Vec::new(), 0.0);
    for chunk in examples.chunks(batch_size.max(1)) {
        let batch = batcher.batch(chunk.to_vec(), device);
        let logits = model.forward(batch.input);
        let loss = cross_entropy(logits.clone(), batch.labels, IGNORE_INDEX).into_scalar::<f64>();
        loss_sum += loss * chunk.len() as f64;
        let predicted: Vec<i64> = softmax(logits, 1)
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("ids");
        predictions.extend(predicted.iter().map(|&p| p as usize));
        targets.extend(chunk.iter().map(|e| e.label));
    }
    let loss = loss_sum / examples.len().max(1) as f64;
    Ok(classification_report(
        &targets,
        &predictions,
        labels.names(),
        Some(loss),
    ))
}

/// A validation metric per epoch, from Burn's metric logs (`OUTPUT/valid/epoch-N/NAME.log`,
/// one `value,count` line per batch and a last `value,final` line with the epoch's value): the
/// final value where logged, else the count-weighted mean of the batches.
pub(crate) fn epoch_means(output: &Path, metric: &str) -> Vec<Option<f64>> {
    let mut means = Vec::new();
    for epoch in 1.. {
        let path = output.join("valid").join(format!("epoch-{epoch}")).join(format!("{metric}.log"));
        let Ok(text) = std::fs::read_to_string(&path) else { break };
        let (mut sum, mut weight, mut last) = (0.0, 0.0, None);
        for line in text.lines() {
            let mut parts = line.split(',');
            let (Some(Ok(value)), count) = (parts.next().map(str::parse::<f64>), parts.next()) else { continue };
            if count == Some("final") {
                last = Some(value);
                continue;
            }
            let w = count.and_then(|c| c.parse::<f64>().ok()).unwrap_or(1.0);
            sum += value * w;
            weight += w;
        }
        means.push(last.or((weight > 0.0).then(|| sum / weight)));
    }
    means
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
    fn epoch_values_from_burns_metric_logs() {
        let dir = std::env::temp_dir().join(format!("burnbert-epochlog-{}", std::process::id()));
        for (epoch, text) in [(1, "0.5,2\n1.0,2\n"), (2, "0.5,2\n1.0,2\n0.8,final\n")] {
            let d = dir.join("valid").join(format!("epoch-{epoch}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("Accuracy.log"), text).unwrap();
        }
        assert_eq!(epoch_means(&dir, "Accuracy"), [Some(0.75), Some(0.8)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn best_epoch_by_direction() {
        let v = [Some(0.5), Some(0.3), None, Some(0.4)];
        assert_eq!(best_epoch(&v, false), Some(2));
        assert_eq!(best_epoch(&v, true), Some(1));
        assert_eq!(best_epoch(&[], true), None);
    }
}
