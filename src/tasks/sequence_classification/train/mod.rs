//! Fine-tuning a sequence classifier with Burn's `SupervisedTraining`: its data loader,
//! checkpointer (every epoch, the last N and the best kept), metrics, early stopping and
//! dashboard, with HF's recipe (see [`burnbert_train::optim`]), and the best model exported as an HF
//! folder.

use crate::batches::{Batch, Batches};
use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::train::SupervisedTraining;
use burn::train::metric::{
    AccuracyMetric, ClassReduction, FBetaScoreMetric, LossMetric, Metric, MetricName,
    PrecisionMetric, RecallMetric,
};
use burnbert_data::BertTokenizer;
use crate::tasks::sequence_classification::data::{LabelSet, TextExample, is_multi_label, is_regression};
use burnbert_model::loss::{CrossEntropyOptions, IGNORE_INDEX, cross_entropy};
use burnbert_train::epoch_metric::ClassPredictions;
use burnbert_train::loss::cross_entropy_options;
use burnbert_model::{BertConfig, BertForSequenceClassification, ProblemType};

use burnbert_train::sklearn::{ClassificationReport, classification_report};
pub use burnbert_train::step::{FineTuning, NonFiniteGuard};
use burnbert_train::task::{HfTask, Task, Trained, export_hf, fine_tune};
pub use burnbert_train::trainer::Run;
use burnbert_train::trainer::Watch;
use burnbert_train::{TrainError, TrainingConfig};

mod batch;
pub mod multi_label_classification;
pub mod regression;

pub use batch::{
    ClassificationBatch, ClassificationBatcher, EncodedExample, SequenceBatch,
    SequenceClassificationBatcher, SequenceOutput, encode_examples,
};

/// What a training run gives back.
pub type TrainedClassifier = Trained<SequenceClassification>;

/// Sequence classification (`run_glue.py`'s task) into the classes of `labels`: accuracy, the
/// loss and macro P/R/F1 in the dashboard; the best epoch by `loss`, `accuracy` or `f1`.
#[derive(Debug, Clone)]
pub struct SequenceClassification {
    /// The label set, in id order.
    pub labels: LabelSet,
    /// Class weights and label smoothing of the loss, set from the recipe and the training
    /// labels when they are encoded.
    pub cross_entropy: CrossEntropyOptions,
}

impl SequenceClassification {
    /// The task over `labels`, with the plain loss until the training data is encoded.
    pub fn new(labels: LabelSet) -> Self {
        Self {
            labels,
            cross_entropy: CrossEntropyOptions::default(),
        }
    }
}

impl Task for SequenceClassification {
    const NAME: &'static str = "sequence classification";
    const METRICS: &'static [&'static str] = &[
        "loss",
        "accuracy",
        "f1",
        "precision",
        "recall",
        "matthews_correlation",
    ];
    type Model = BertForSequenceClassification;
    type Batch = SequenceBatch;
    type Example = TextExample;
    type Item = EncodedExample;
    type Batcher = SequenceClassificationBatcher;
    type Report = ClassificationReport;

    /// Encodes the examples and sets the loss's class weights (from their labels) and label
    /// smoothing from `args`.
    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<EncodedExample>, TrainError> {
        let items = encode_examples(tokenizer, examples, &self.labels, args.max_length)?;
        let mut counts = vec![0; self.labels.len()];
        for item in &items {
            counts[item.label] += 1;
        }
        self.cross_entropy = cross_entropy_options(args, self.labels.names(), &counts)?;
        Ok(items)
    }

    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<EncodedExample>, TrainError> {
        encode_examples(tokenizer, examples, &self.labels, args.max_length)
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> SequenceClassificationBatcher {
        SequenceClassificationBatcher {
            pad_id: tokenizer.pad_id(),
            cross_entropy: self.cross_entropy.clone(),
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>> {
        training
            .metrics((
                AccuracyMetric::new(),
                LossMetric::new(),
                PrecisionMetric::multiclass(1, ClassReduction::Macro),
                RecallMetric::multiclass(1, ClassReduction::Macro),
                FBetaScoreMetric::multiclass(1.0, 1, ClassReduction::Macro),
            ))
            .metrics((ClassPredictions::matthews_metric(),))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        match metric_for_best_model {
            "accuracy" => Watch::highest(&AccuracyMetric::new()),
            "f1" => Watch::highest(&FBetaScoreMetric::multiclass(1.0, 1, ClassReduction::Macro)),
            "precision" => Watch::highest(&PrecisionMetric::multiclass(1, ClassReduction::Macro)),
            "recall" => Watch::highest(&RecallMetric::multiclass(1, ClassReduction::Macro)),
            "matthews_correlation" => Watch::highest(&ClassPredictions::matthews_metric()),
            _ => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        // Class labels: a single-label classifier, whatever problem type the checkpoint names.
        let mut config = config.clone().with_labels(self.labels.names());
        config.problem_type = Some(ProblemType::SingleLabelClassification);
        config
    }

    fn evaluate(
        &self,
        model: &BertForSequenceClassification,
        tokenizer: &BertTokenizer,
        _examples: &[TextExample],
        items: &[EncodedExample],
        args: &TrainingConfig,
        epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<ClassificationReport, TrainError> {
        let mut report = evaluate(
            model,
            &ClassificationBatcher {
                pad_id: tokenizer.pad_id(),
            },
            items,
            &self.labels,
            args.per_device_eval_batch_size,
            device,
        )?;
        if !self.cross_entropy.is_plain() {
            // The loss trained with (weighted, smoothed), as HF's `eval_loss` is after training.
            report.loss = epoch_loss.or(report.loss);
        }
        Ok(report)
    }

    fn save(
        &self,
        model: &BertForSequenceClassification,
        config: &BertConfig,
        tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError> {
        export_hf(model, config, tokenizer_folder, out)
    }

    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)> {
        vec![
            ("valid_accuracy_per_epoch", AccuracyMetric::new().name()),
            (
                "valid_matthews_correlation_per_epoch",
                ClassPredictions::matthews_metric().name(),
            ),
        ]
    }
}

impl HfTask for SequenceClassification {
    /// The labels as `run_glue.py` picks them: the checkpoint's own `id2label` order when its
    /// names are the data's (compared without case), so that a fine-tuned head keeps its rows;
    /// else the data's labels, sorted. Float labels (a regression set, which `run_glue.py`
    /// detects from the column's type) are an error. A label of `valid` outside the set is an
    /// error when `valid` is encoded.
    fn from_data(
        checkpoint: &BertConfig,
        train: &[TextExample],
        _valid: &[TextExample],
    ) -> Result<Self, TrainError> {
        if is_regression(train) {
            return Err(TrainError::Labels(format!(
                "the labels look like real numbers ({}, ...): a regression target, which \
                 `SequenceRegression` trains (the CLI picks it itself)",
                train[0].label
            )));
        }
        if is_multi_label(train) {
            return Err(TrainError::Labels(format!(
                "the labels are lists ({}, ...): a multi-label classification, which \
                 `MultiLabelClassification` trains (the CLI picks it itself)",
                train[0].label
            )));
        }
        let list = train.iter().find(|e| e.label_list().is_ok());
        if let (Some(list), Some(single)) = (list, train.iter().find(|e| e.label_list().is_err())) {
            return Err(TrainError::Labels(format!(
                "the labels mix lists ({}: {}) and single labels ({}: {}): give every example a \
                 list (multi-label) or every example one label",
                list.location, list.label, single.location, single.label
            )));
        }
        Ok(Self::new(checkpoint_order(
            checkpoint,
            LabelSet::from_examples(train),
        )))
    }
}

/// The label set as `run_glue.py` keeps a checkpoint's: the checkpoint's `id2label` order when
/// its names are the data's (compared without case, spelled as the data spells them), so that
/// a fine-tuned head keeps its rows; else the data's (with a warning when the checkpoint named
/// other labels than `LABEL_i`).
pub(crate) fn checkpoint_order(checkpoint: &BertConfig, data: LabelSet) -> LabelSet {
    let named = checkpoint.labels();
    let default = named
        .iter()
        .enumerate()
        .all(|(i, l)| *l == format!("LABEL_{i}"));
    if default || checkpoint.id2label.is_none() {
        return data;
    }
    let lower = |names: &[String]| {
        let mut names: Vec<String> = names.iter().map(|l| l.to_lowercase()).collect();
        names.sort();
        names
    };
    if lower(&named) == lower(data.names()) {
        let order = named
            .iter()
            .map(|m| {
                data.names()
                    .iter()
                    .find(|d| d.to_lowercase() == m.to_lowercase())
                    .cloned()
                    .expect("same names")
            })
            .collect();
        return LabelSet::from_names(order);
    }
    eprintln!(
        "warning: the model was trained with labels ({}) that are not the data's ({}): the \
         model's labels are ignored",
        named.join(", "),
        data.names().join(", ")
    );
    data
}

/// Fine-tunes `model` (already holding the pretrained encoder, its config's labels set to
/// `labels`) on `train`, validating on `valid` after every epoch: [`fine_tune`] with
/// [`SequenceClassification`].
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
    let task = SequenceClassification::new(labels.clone());
    fine_tune(
        task, args, config, model, tokenizer, train, valid, run, device,
    )
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
    let batches = Batches::new("eval", examples, batch_size, |e| e.input_ids.len());
    for Batch { items, .. } in batches {
        targets.extend(items.iter().map(|e| e.label));
        let n = items.len();
        let batch = batcher.batch(items, device);
        let logits = model.forward(batch.input);
        let loss = cross_entropy(logits.clone(), batch.labels, IGNORE_INDEX).into_scalar::<f64>();
        loss_sum += loss * n as f64;
        let predicted: Vec<i64> = softmax(logits, 1)
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .expect("ids");
        predictions.extend(predicted.iter().map(|&p| p as usize));
    }
    let loss = loss_sum / examples.len().max(1) as f64;
    Ok(classification_report(
        &targets,
        &predictions,
        labels.names(),
        Some(loss),
    ))
}
