//! Multi-label classification of texts or text pairs (topics, tags): `run_classification.py`'s
//! task when the label column holds lists. A sigmoid output per label, `problem_type`
//! `multi_label_classification`, binary cross-entropy on the logits; a label is predicted when
//! its logit is above 0 (probability 0.5), and scored with scikit-learn's multi-label metrics
//! ([`burnbert_train::sklearn::multi_label_report`]).

use crate::batches::{Batch, Batches};
use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::train::SupervisedTraining;
use burn::train::metric::{LossMetric, Metric, MetricName};
use burnbert_train::epoch_metric::LabelSetPredictions;
use crate::tasks::sequence_classification::data::{LabelSet, TextExample};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::loss::binary_cross_entropy_with_logits;
use burnbert_model::{BertConfig, BertForSequenceClassification, ProblemType, SequenceLabels};

use super::{FineTuning, SequenceBatch, checkpoint_order};
use burnbert_train::sklearn::{MultiLabelReport, multi_label_report};
use burnbert_train::task::{HfTask, Task, Trained, export_hf};
use burnbert_train::loss::refuse_cross_entropy_options;
use burnbert_train::trainer::Watch;
use burnbert_train::{TrainError, TrainingConfig};

/// A tokenized example and its labels, multi-hot.
#[derive(Debug, Clone)]
pub struct MultiLabelItem {
    /// WordPiece ids with `[CLS]`/`[SEP]`.
    pub input_ids: Vec<u32>,
    /// Segment ids.
    pub token_type_ids: Vec<u32>,
    /// 1.0 at the id of each of its labels, `[num_labels]`.
    pub targets: Vec<f32>,
}

burnbert_data::impl_encoded!(MultiLabelItem);

/// Tokenizes `examples` (truncated to `max_length`) with their label lists as multi-hot rows
/// over `labels`; a label outside the set is an error naming its file and line.
pub fn encode_label_lists(
    tokenizer: &BertTokenizer,
    examples: &[TextExample],
    labels: &LabelSet,
    max_length: usize,
) -> Result<Vec<MultiLabelItem>, TrainError> {
    examples
        .iter()
        .map(|e| {
            let targets = labels.multi_hot(e)?;
            let encoding = e.encode(tokenizer, max_length)?;
            Ok(MultiLabelItem {
                input_ids: encoding.input_ids,
                token_type_ids: encoding.token_type_ids,
                targets,
            })
        })
        .collect()
}

/// Pads each batch to its own longest sequence; the targets as `[batch, num_labels]`.
#[derive(Debug, Clone)]
pub struct MultiLabelBatcher {
    /// Id of `[PAD]`.
    pub pad_id: u32,
}

impl Batcher<MultiLabelItem, SequenceBatch> for MultiLabelBatcher {
    fn batch(&self, items: Vec<MultiLabelItem>, device: &Device) -> SequenceBatch {
        let batch = PaddedBatch::of_items(&items, self.pad_id);
        let width = items.first().map_or(0, |e| e.targets.len());
        let targets: Vec<f32> = items.iter().flat_map(|e| e.targets.clone()).collect();
        SequenceBatch {
            input: batch.to_input(device),
            labels: SequenceLabels::Targets(Tensor::from_data(
                TensorData::new(targets, [items.len(), width]),
                device,
            )),
            cross_entropy: Default::default(),
        }
    }
}

/// What a training run gives back.
pub type TrainedMultiLabelClassifier = Trained<MultiLabelClassification>;

/// Multi-label classification with [`BertForSequenceClassification`] into the labels of
/// `labels`: the loss and scikit-learn's scores of the whole epoch (a label predicted at
/// probability above 0.5) in the dashboard: micro, macro and samples F1, subset accuracy, micro
/// and macro precision and recall; the best epoch by `loss` or any of them (`f1` is the micro
/// F1, `run_classification.py`'s metric; the others by their report names, `macro_f1`, ...).
#[derive(Debug, Clone)]
pub struct MultiLabelClassification {
    /// The label set, in id order.
    pub labels: LabelSet,
}

impl Task for MultiLabelClassification {
    const NAME: &'static str = "multi-label classification";
    const METRICS: &'static [&'static str] = &[
        "loss",
        "f1",
        "macro_f1",
        "samples_f1",
        "subset_accuracy",
        "micro_precision",
        "micro_recall",
        "macro_precision",
        "macro_recall",
    ];
    type Model = BertForSequenceClassification;
    type Batch = SequenceBatch;
    type Example = TextExample;
    type Item = MultiLabelItem;
    type Batcher = MultiLabelBatcher;
    type Report = MultiLabelReport;

    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<MultiLabelItem>, TrainError> {
        refuse_cross_entropy_options(args, Self::NAME)?;
        encode_label_lists(tokenizer, examples, &self.labels, args.max_length)
    }

    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<MultiLabelItem>, TrainError> {
        self.encode_train(tokenizer, examples, args)
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> MultiLabelBatcher {
        MultiLabelBatcher {
            pad_id: tokenizer.pad_id(),
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>> {
        let [a, b, c, d, e, f, g, h] = LabelSetPredictions::metrics().map(|(_, metric)| metric);
        training
            .metrics((LossMetric::new(), a, b, c, d))
            .metrics((e, f, g, h))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        match LabelSetPredictions::metrics()
            .into_iter()
            .find(|(name, _)| *name == metric_for_best_model)
        {
            Some((_, metric)) => Watch::highest(&metric),
            None => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        let mut config = config.clone().with_labels(self.labels.names());
        config.problem_type = Some(ProblemType::MultiLabelClassification);
        config
    }

    fn evaluate(
        &self,
        model: &BertForSequenceClassification,
        tokenizer: &BertTokenizer,
        _examples: &[TextExample],
        items: &[MultiLabelItem],
        args: &TrainingConfig,
        _epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<MultiLabelReport, TrainError> {
        Ok(evaluate_multi_label(
            model,
            &self.batcher(tokenizer),
            items,
            &self.labels,
            args.per_device_eval_batch_size,
            device,
        ))
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
        let [micro, macro_f1, samples, subset, ..] = LabelSetPredictions::metrics();
        vec![
            ("valid_micro_f1_per_epoch", micro.1.name()),
            ("valid_macro_f1_per_epoch", macro_f1.1.name()),
            ("valid_samples_f1_per_epoch", samples.1.name()),
            ("valid_subset_accuracy_per_epoch", subset.1.name()),
        ]
    }
}

impl HfTask for MultiLabelClassification {
    /// The labels of the training lists, sorted, or the checkpoint's `id2label` order when its
    /// names are the data's (as [`SequenceClassification`](crate::tasks::sequence_classification::train::SequenceClassification)
    /// keeps them). A label that is not a list is an error naming its file and line; a label of
    /// `valid` outside the set is one when `valid` is encoded.
    fn from_data(
        checkpoint: &BertConfig,
        train: &[TextExample],
        _valid: &[TextExample],
    ) -> Result<Self, TrainError> {
        let data = LabelSet::from_label_lists(train)?;
        if data.is_empty() {
            return Err(TrainError::Labels(
                "the training lists hold no label at all: nothing to learn".into(),
            ));
        }
        Ok(Self {
            labels: checkpoint_order(checkpoint, data),
        })
    }
}

/// Scores a multi-label classifier on encoded examples: a label predicted where its logit is
/// above 0 (`run_classification.py`'s rule), against the targets; the mean BCE as the loss.
pub fn evaluate_multi_label(
    model: &BertForSequenceClassification,
    batcher: &MultiLabelBatcher,
    items: &[MultiLabelItem],
    labels: &LabelSet,
    batch_size: usize,
    device: &Device,
) -> MultiLabelReport {
    let model = model.clone().fork(device);
    let (mut predictions, mut targets, mut loss_sum) = (Vec::new(), Vec::new(), 0.0);
    let batches = Batches::new("eval", items, batch_size, |e| e.input_ids.len());
    for Batch { items: chunk, .. } in batches {
        targets.extend(
            chunk
                .iter()
                .map(|e| e.targets.iter().map(|&t| t > 0.5).collect::<Vec<_>>()),
        );
        let n = chunk.len();
        let batch = batcher.batch(chunk, device);
        let SequenceLabels::Targets(batch_targets) = batch.labels else {
            unreachable!("the batcher gives targets")
        };
        let logits = model.forward(batch.input);
        let loss = binary_cross_entropy_with_logits(logits.clone(), batch_targets);
        loss_sum += loss.into_scalar::<f64>() * n as f64;
        let width = labels.len();
        let values = logits.into_data().convert::<f32>().try_to_vec::<f32>();
        let values = values.expect("f32 after convert");
        predictions.extend(
            values
                .chunks(width.max(1))
                .map(|row| row.iter().map(|&v| v > 0.0).collect::<Vec<_>>()),
        );
    }
    let loss = loss_sum / items.len().max(1) as f64;
    multi_label_report(&targets, &predictions, labels.names(), Some(loss))
}
