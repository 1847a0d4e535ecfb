//! The encoding and batches of a sequence classifier: examples tokenized with their label ids,
//! padded per batch, and what Burn's metrics read of [`BertForSequenceClassification`]'s
//! forward pass, for class ids ([`SequenceClassification`](super::SequenceClassification)) and
//! float targets ([`SequenceRegression`](super::regression::SequenceRegression),
//! [`MultiLabelClassification`](super::multi_label_classification::MultiLabelClassification))
//! alike.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::tensor::activation::sigmoid;
use burn::train::ClassificationOutput;
use burn::train::metric::{AccuracyInput, Adaptor, ConfusionStatsInput, ItemLazy, LossInput};
use crate::tasks::sequence_classification::data::{LabelSet, TextExample};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::loss::{CrossEntropyOptions, IGNORE_INDEX, cross_entropy_with};
use burnbert_model::{BertForSequenceClassification, BertInput, SequenceLabels};

use burnbert_train::TrainError;
use burnbert_train::epoch_metric::{ClassPredictions, LabelSetPredictions, ValuePredictions};
use burnbert_train::step::{TaskModel, loss_input};

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
            let encoding = e.encode(tokenizer, max_length)?;
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

/// [`ClassificationBatcher`]'s batches as [`BertForSequenceClassification`] trains on them,
/// with the recipe's cross-entropy settings.
#[derive(Debug, Clone)]
pub struct SequenceClassificationBatcher {
    /// Id of `[PAD]`.
    pub pad_id: u32,
    /// Class weights and label smoothing of the loss.
    pub cross_entropy: CrossEntropyOptions,
}

impl Batcher<EncodedExample, SequenceBatch> for SequenceClassificationBatcher {
    fn batch(&self, items: Vec<EncodedExample>, device: &Device) -> SequenceBatch {
        let batcher = ClassificationBatcher {
            pad_id: self.pad_id,
        };
        let batch = batcher.batch(items, device);
        SequenceBatch {
            input: batch.input,
            labels: SequenceLabels::Classes(batch.labels),
            cross_entropy: self.cross_entropy.clone(),
        }
    }
}

/// A padded batch and its labels, class ids or float targets: what
/// [`BertForSequenceClassification`] trains on, whatever its `problem_type`.
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// Model input, padded to the batch's longest sequence.
    pub input: BertInput,
    /// Class ids `[batch]`, or targets `[batch, num_labels]`.
    pub labels: SequenceLabels,
    /// Class weights and label smoothing of class ids' cross-entropy (the head's plain loss
    /// when they are the defaults).
    pub cross_entropy: CrossEntropyOptions,
}

/// The loss, logits and labels of a batch, as Burn's metrics read them: the loss for any
/// labels; accuracy, precision, recall and F1 (Burn's [`ClassificationOutput`]) for class ids;
/// precision, recall and F1 of the sigmoid probabilities for multi-hot targets.
#[derive(Debug, Clone)]
pub struct SequenceOutput {
    /// The mean loss, `[1]`.
    pub loss: Tensor<1>,
    /// `[batch, num_labels]`.
    pub logits: Tensor<2>,
    /// The batch's labels.
    pub labels: SequenceLabels,
}

impl SequenceOutput {
    /// As Burn's classification output; the class metrics are registered only for class ids.
    fn classes(&self) -> ClassificationOutput {
        match &self.labels {
            SequenceLabels::Classes(classes) => {
                ClassificationOutput::new(self.loss.clone(), self.logits.clone(), classes.clone())
            }
            SequenceLabels::Targets(_) => {
                unreachable!("class metrics are registered for class labels only")
            }
        }
    }
}

impl ItemLazy for SequenceOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            logits: self.logits.without_autodiff(),
            labels: match self.labels {
                SequenceLabels::Classes(c) => SequenceLabels::Classes(c.without_autodiff()),
                SequenceLabels::Targets(t) => SequenceLabels::Targets(t.without_autodiff()),
            },
        })
    }
}

impl Adaptor<LossInput> for SequenceOutput {
    fn adapt(&self) -> LossInput {
        loss_input(&self.loss, self.logits.dims()[0])
    }
}

impl Adaptor<AccuracyInput> for SequenceOutput {
    fn adapt(&self) -> AccuracyInput {
        self.classes().adapt()
    }
}

impl Adaptor<ConfusionStatsInput> for SequenceOutput {
    fn adapt(&self) -> ConfusionStatsInput {
        match &self.labels {
            SequenceLabels::Classes(_) => self.classes().adapt(),
            // Multi-label: each label's probability against its target.
            SequenceLabels::Targets(targets) => ConfusionStatsInput::new(
                sigmoid(self.logits.clone()),
                targets.clone().greater_elem(0.5),
            ),
        }
    }
}

impl Adaptor<ClassPredictions> for SequenceOutput {
    /// The class ids, true and predicted (argmax); class metrics are registered for class
    /// labels only.
    fn adapt(&self) -> ClassPredictions {
        let SequenceLabels::Classes(classes) = &self.labels else {
            unreachable!("class metrics are registered for class labels only")
        };
        let ids = |t: Tensor<1, Int>| -> Vec<usize> {
            t.into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .expect("integer data")
                .into_iter()
                .map(|i| i as usize)
                .collect()
        };
        let [batch, _] = self.logits.dims();
        ClassPredictions {
            targets: ids(classes.clone()),
            predictions: ids(self.logits.clone().argmax(1).reshape([batch])),
        }
    }
}

impl Adaptor<LabelSetPredictions> for SequenceOutput {
    /// Each example's labels, true (target above 0.5) and predicted (logit above 0, the
    /// probability above 0.5); multi-label metrics are registered for label lists only.
    fn adapt(&self) -> LabelSetPredictions {
        let SequenceLabels::Targets(targets) = &self.labels else {
            unreachable!("multi-label metrics are registered for label lists only")
        };
        let rows = |t: Tensor<2>, above: f32| -> Vec<Vec<bool>> {
            let [_, width] = t.dims();
            let values = t
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("float data");
            values
                .chunks(width.max(1))
                .map(|row| row.iter().map(|&v| v > above).collect())
                .collect()
        };
        LabelSetPredictions {
            targets: rows(targets.clone(), 0.5),
            predictions: rows(self.logits.clone(), 0.0),
        }
    }
}

impl Adaptor<ValuePredictions> for SequenceOutput {
    /// The outputs and targets of each example (regression), row-major.
    fn adapt(&self) -> ValuePredictions {
        let SequenceLabels::Targets(targets) = &self.labels else {
            unreachable!("regression metrics are registered for float targets only")
        };
        let values = |t: Tensor<2>| -> Vec<f64> {
            t.into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .expect("float data")
        };
        ValuePredictions {
            predictions: values(self.logits.clone()),
            targets: values(targets.clone()),
            outputs: targets.dims()[1],
        }
    }
}

impl TaskModel<SequenceBatch> for BertForSequenceClassification {
    type Output = SequenceOutput;
    const HEAD: &'static str = r"^model\.classifier\.";

    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel {
        &mut self.bert
    }

    fn loss(&self, batch: SequenceBatch) -> (Tensor<1>, SequenceOutput) {
        let (loss, logits) = match &batch.labels {
            SequenceLabels::Classes(classes) if !batch.cross_entropy.is_plain() => {
                let logits = self.forward(batch.input);
                let loss = cross_entropy_with(
                    logits.clone(),
                    classes.clone(),
                    IGNORE_INDEX,
                    &batch.cross_entropy,
                );
                (loss, logits)
            }
            _ => {
                let out = self.forward_with_labels(batch.input, batch.labels.clone());
                (out.loss.expect("labels were given"), out.logits)
            }
        };
        (
            loss.clone(),
            SequenceOutput {
                loss,
                logits,
                labels: batch.labels,
            },
        )
    }
}
