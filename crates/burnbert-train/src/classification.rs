//! Fine-tuning a sequence classifier with Burn's `SupervisedTraining`: its data loader,
//! checkpointer (every epoch, the last N and the best kept), metrics, early stopping and
//! dashboard, with HF's recipe (see [`crate::optim`]), and the best model exported as an HF
//! folder.

use std::path::PathBuf;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::train::metric::{
    AccuracyMetric, ClassReduction, FBetaScoreMetric, LearningRateMetric, LossMetric, Metric,
    PrecisionMetric, RecallMetric,
};
use burn::train::{ClassificationOutput, SupervisedTraining};
use burnbert_data::classification::{LabelSet, TextExample};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::loss::{IGNORE_INDEX, cross_entropy};
use burnbert_model::weights::save_folder;
use burnbert_model::{BertConfig, BertForSequenceClassification, BertInput, SequenceLabels};
use serde::Serialize;

use crate::evaluate::{ClassificationReport, classification_report};
pub use crate::run::{FineTuning, NonFiniteGuard, Run};
use crate::run::{TaskModel, Watch, check_metric, fit, loaders, prepare};
use crate::{TrainError, TrainingConfig};

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

burnbert_data::impl_encoded!(EncodedExample);

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
        let batch = PaddedBatch::of_items(&items, self.pad_id);
        let labels: Vec<i64> = items.iter().map(|e| e.label as i64).collect();
        ClassificationBatch {
            input: batch.to_input(device),
            labels: Tensor::from_data(TensorData::new(labels, [items.len()]), device),
        }
    }
}

impl TaskModel for BertForSequenceClassification {
    type Batch = ClassificationBatch;
    type Output = ClassificationOutput;
    const HEAD: &'static str = r"^model\.classifier\.";

    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel {
        &mut self.bert
    }

    fn loss(&self, batch: ClassificationBatch) -> (Tensor<1>, ClassificationOutput) {
        let out =
            self.forward_with_labels(batch.input, SequenceLabels::Classes(batch.labels.clone()));
        let loss = out.loss.expect("labels were given");
        (
            loss.clone(),
            ClassificationOutput::new(loss, out.logits, batch.labels),
        )
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
    check_metric(args, "sequence classification", &["loss", "accuracy", "f1"])?;
    let dir = prepare(args, &run, train.len(), valid.len())?;
    let train_encoded = encode_examples(tokenizer, train, labels, args.max_length)?;
    let valid_encoded = encode_examples(tokenizer, valid, labels, args.max_length)?;
    let batcher = ClassificationBatcher {
        pad_id: tokenizer.pad_id(),
    };
    let (loader_train, loader_valid) = loaders(
        train_encoded,
        valid_encoded.clone(),
        batcher.clone(),
        args,
        dir.resume_from_epoch(),
        device,
    );

    let training = SupervisedTraining::new(dir.path(), loader_train, loader_valid)
        .metrics((
            AccuracyMetric::new(),
            LossMetric::new(),
            PrecisionMetric::multiclass(1, ClassReduction::Macro),
            RecallMetric::multiclass(1, ClassReduction::Macro),
            FBetaScoreMetric::multiclass(1.0, 1, ClassReduction::Macro),
        ))
        .metric_train_numeric(LearningRateMetric::new());
    let watch = match args.metric_for_best_model.as_str() {
        "accuracy" => Watch::highest(&AccuracyMetric::new()),
        "f1" => Watch::highest(&FBetaScoreMetric::multiclass(1.0, 1, ClassReduction::Macro)),
        _ => Watch::loss(),
    };
    let fitted = fit(args, &dir, training, watch, train.len(), model, device)?;
    let model = fitted.model;
    let config = config.clone().with_labels(labels.names());
    let report = evaluate(
        &model,
        &batcher,
        &valid_encoded,
        labels,
        args.per_device_eval_batch_size,
        &device.clone().inner(),
    )?;
    let exported = dir.export_dir();
    save_folder(&model, &config, run.tokenizer_folder, &exported)?;
    let accuracies = dir.record().values(&AccuracyMetric::new().name());
    let summary = Summary {
        epoch: fitted.epoch,
        epochs_run: fitted.epochs_run,
        valid: &report,
        valid_loss_per_epoch: fitted.losses,
        valid_accuracy_per_epoch: accuracies,
    };
    dir.write_json("metrics.json", &summary)?;
    Ok(TrainedClassifier {
        model,
        config,
        epoch: fitted.epoch,
        report,
        exported,
    })
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
