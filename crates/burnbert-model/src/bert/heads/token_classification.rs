//! `BertForTokenClassification`: dropout → linear on every token (paper §4.3, Figure 4d).

use burn::nn::{Dropout, DropoutConfig, Linear};
use burn::prelude::*;

use crate::loss::{IGNORE_INDEX, cross_entropy};
use crate::{BertConfig, BertInput, BertModel};

/// A tagger (NER, POS) on the top hidden states. HF keys: `bert.*` (no pooler), `classifier.*`.
#[derive(Module, Debug)]
pub struct BertForTokenClassification {
    /// The encoder, without pooler.
    pub bert: BertModel,
    /// `classifier_dropout`, else `hidden_dropout_prob`.
    pub dropout: Dropout,
    /// `[hidden, num_labels]`.
    pub classifier: Linear,
}

/// Loss and logits, as HF's `TokenClassifierOutput`.
#[derive(Debug, Clone)]
pub struct TokenClassifierOutput {
    /// Mean cross-entropy over labels that are not -100, `[1]`.
    pub loss: Option<Tensor<1>>,
    /// `[batch, seq, num_labels]`.
    pub logits: Tensor<3>,
}

impl BertConfig {
    /// Initializes a token classifier with `num_labels()` outputs.
    pub fn init_token_classification(&self, device: &Device) -> BertForTokenClassification {
        BertForTokenClassification {
            bert: self.init_model(false, device),
            dropout: DropoutConfig::new(self.classifier_dropout_prob()).init(),
            classifier: self.init_linear(self.hidden_size, self.num_labels(), device),
        }
    }
}

impl BertForTokenClassification {
    /// Logits of each label at each token.
    ///
    /// # Shapes
    /// - input: `[batch, seq]` tensors
    /// - output: `[batch, seq, num_labels]`
    pub fn forward(&self, input: BertInput) -> Tensor<3> {
        let hidden = self.bert.forward(input).last_hidden_state;
        self.classifier.forward(self.dropout.forward(hidden))
    }

    /// Logits and the cross-entropy against `labels`, where -100 (special tokens, padding,
    /// non-first sub-tokens) is ignored.
    ///
    /// # Shapes
    /// - labels: `[batch, seq]`
    pub fn forward_with_labels(
        &self,
        input: BertInput,
        labels: Tensor<2, Int>,
    ) -> TokenClassifierOutput {
        let logits = self.forward(input);
        let [batch, seq, num_labels] = logits.dims();
        let loss = cross_entropy(
            logits.clone().reshape([batch * seq, num_labels]),
            labels.reshape([batch * seq]),
            IGNORE_INDEX,
        );
        TokenClassifierOutput {
            loss: Some(loss),
            logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_tokens_do_not_count() {
        let device = Device::flex();
        let config = BertConfig::new(20, 8, 1, 2, 16).with_num_labels(4);
        let model = config.init_token_classification(&device);
        assert!(model.bert.pooler.is_none());
        let input = BertInput::new(Tensor::from_data([[1, 4, 5, 2]], &device));
        let a = model.forward_with_labels(
            input.clone(),
            Tensor::from_data([[-100, 3, 1, -100]], &device),
        );
        let logits = a.logits.clone().slice([0..1, 1..3]).reshape([2, 4]);
        let expected = cross_entropy(logits, Tensor::from_data([3, 1], &device), IGNORE_INDEX);
        a.loss.unwrap().into_data().assert_approx_eq::<f32>(
            &expected.into_data(),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }
}
