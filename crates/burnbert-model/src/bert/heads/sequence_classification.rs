//! `BertForSequenceClassification`: pooler → dropout → linear (paper §4.1, Figure 4a/b).

use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;

use crate::loss::{IGNORE_INDEX, binary_cross_entropy_with_logits, cross_entropy, mse};
use crate::{BertConfig, BertInput, BertModel, ProblemType};

/// A sentence (or sentence-pair) classifier on the pooled `[CLS]` state.
///
/// HF keys: `bert.*`, `classifier.{weight,bias}`.
#[derive(Module, Debug)]
pub struct BertForSequenceClassification {
    /// The encoder, with pooler.
    pub bert: BertModel,
    /// `classifier_dropout`, else `hidden_dropout_prob`.
    pub dropout: Dropout,
    /// `[hidden, num_labels]`.
    pub classifier: Linear,
    /// The loss, as `problem_type` sets it (inferred as HF does when `None`).
    #[module(skip)]
    pub problem_type: Option<ProblemType>,
}

/// Labels of a batch: class ids, or float targets for regression and multi-label.
#[derive(Debug, Clone)]
pub enum SequenceLabels {
    /// One class id per example, `[batch]`.
    Classes(Tensor<1, Int>),
    /// Float targets, `[batch, num_labels]` (multi-hot for multi-label).
    Targets(Tensor<2>),
}

/// Loss and logits, as HF's `SequenceClassifierOutput`.
#[derive(Debug, Clone)]
pub struct SequenceClassifierOutput {
    /// The loss, when labels were given, `[1]`.
    pub loss: Option<Tensor<1>>,
    /// `[batch, num_labels]`.
    pub logits: Tensor<2>,
}

impl BertConfig {
    /// Initializes a sequence classifier with `num_labels()` outputs.
    pub fn init_sequence_classification(&self, device: &Device) -> BertForSequenceClassification {
        BertForSequenceClassification {
            bert: self.init_model(true, device),
            dropout: DropoutConfig::new(self.classifier_dropout_prob()).init(),
            classifier: self.init_linear(self.hidden_size, self.num_labels(), device),
            problem_type: self.problem_type,
        }
    }
}

impl BertForSequenceClassification {
    /// Logits of each class.
    ///
    /// # Shapes
    /// - input: `[batch, seq]` tensors
    /// - output: `[batch, num_labels]`
    pub fn forward(&self, input: BertInput) -> Tensor<2> {
        let pooled = self
            .bert
            .pooled(input)
            .expect("sequence classification has a pooler");
        self.classifier.forward(self.dropout.forward(pooled))
    }

    /// Logits and, with labels, the loss HF's `problem_type` logic picks: MSE for regression
    /// (or one label), cross-entropy for class ids, BCE with logits for multi-label targets.
    ///
    /// # Shapes
    /// - labels: `[batch]` ids or `[batch, num_labels]` targets
    pub fn forward_with_labels(
        &self,
        input: BertInput,
        labels: SequenceLabels,
    ) -> SequenceClassifierOutput {
        let logits = self.forward(input);
        let loss = self.loss(logits.clone(), labels);
        SequenceClassifierOutput {
            loss: Some(loss),
            logits,
        }
    }

    /// The loss of `logits` against `labels` (see [`Self::forward_with_labels`]).
    pub fn loss(&self, logits: Tensor<2>, labels: SequenceLabels) -> Tensor<1> {
        let [batch, num_labels] = logits.dims();
        let problem = self.problem_type.unwrap_or(match (&labels, num_labels) {
            (_, 1) => ProblemType::Regression,
            (SequenceLabels::Classes(_), _) => ProblemType::SingleLabelClassification,
            (SequenceLabels::Targets(_), _) => ProblemType::MultiLabelClassification,
        });
        let targets = |labels| match labels {
            SequenceLabels::Targets(t) => t.reshape([batch, num_labels]),
            SequenceLabels::Classes(c) => c.float().reshape([batch, num_labels]),
        };
        match problem {
            ProblemType::Regression => mse(logits, targets(labels)),
            ProblemType::MultiLabelClassification => {
                binary_cross_entropy_with_logits(logits, targets(labels))
            }
            ProblemType::SingleLabelClassification => match labels {
                SequenceLabels::Classes(c) => cross_entropy(logits, c, IGNORE_INDEX),
                SequenceLabels::Targets(t) => {
                    cross_entropy(logits, t.argmax(1).reshape([batch]), IGNORE_INDEX)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_logit_per_label_and_loss_by_problem_type() {
        let device = Device::flex();
        let config = BertConfig::new(20, 8, 1, 2, 16).with_labels(&["a", "b", "c"]);
        let model = config.init_sequence_classification(&device);
        let input = BertInput::new(Tensor::from_data([[1, 4, 2], [1, 5, 2]], &device));
        let logits = model.forward(input.clone());
        assert_eq!(logits.dims(), [2, 3]);
        let labels = Tensor::<1, Int>::from_data([2, 0], &device);
        let out = model.forward_with_labels(input, SequenceLabels::Classes(labels.clone()));
        let expected = cross_entropy(logits, labels, IGNORE_INDEX);
        out.loss
            .unwrap()
            .into_data()
            .assert_eq(&expected.into_data(), true);
    }
}
