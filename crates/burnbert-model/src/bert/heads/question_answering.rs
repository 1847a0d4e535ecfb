//! `BertForQuestionAnswering`: a linear layer to start and end logits (paper §4.2, Figure 4c).

use burn::nn::Linear;
use burn::prelude::*;

use crate::loss::cross_entropy;
use crate::{BertConfig, BertInput, BertModel};

/// An extractive QA head. HF keys: `bert.*` (no pooler), `qa_outputs.{weight,bias}`.
#[derive(Module, Debug)]
pub struct BertForQuestionAnswering {
    /// The encoder, without pooler.
    pub bert: BertModel,
    /// `[hidden, 2]`: start and end scores.
    pub qa_outputs: Linear,
}

/// Loss and logits, as HF's `QuestionAnsweringModelOutput`.
#[derive(Debug, Clone)]
pub struct QuestionAnsweringOutput {
    /// `(CE(start) + CE(end)) / 2`, when positions were given, `[1]`.
    pub loss: Option<Tensor<1>>,
    /// `[batch, seq]`.
    pub start_logits: Tensor<2>,
    /// `[batch, seq]`.
    pub end_logits: Tensor<2>,
}

impl BertConfig {
    /// Initializes a QA model.
    pub fn init_question_answering(&self, device: &Device) -> BertForQuestionAnswering {
        BertForQuestionAnswering {
            bert: self.init_model(false, device),
            qa_outputs: self.init_linear(self.hidden_size, 2, device),
        }
    }
}

impl BertForQuestionAnswering {
    /// Start and end logits of every token.
    ///
    /// # Shapes
    /// - input: `[batch, seq]` tensors
    /// - output: `([batch, seq], [batch, seq])`
    pub fn forward(&self, input: BertInput) -> (Tensor<2>, Tensor<2>) {
        let hidden = self.bert.forward(input).last_hidden_state;
        let [batch, seq, _] = hidden.dims();
        let logits = self.qa_outputs.forward(hidden);
        let start = logits
            .clone()
            .slice([0..batch, 0..seq, 0..1])
            .reshape([batch, seq]);
        let end = logits.slice([0..batch, 0..seq, 1..2]).reshape([batch, seq]);
        (start, end)
    }

    /// Logits and HF's loss: positions outside the sequence are clamped to `seq` and ignored.
    ///
    /// # Shapes
    /// - start_positions, end_positions: `[batch]`
    pub fn forward_with_labels(
        &self,
        input: BertInput,
        start_positions: Tensor<1, Int>,
        end_positions: Tensor<1, Int>,
    ) -> QuestionAnsweringOutput {
        let (start_logits, end_logits) = self.forward(input);
        let [_, seq] = start_logits.dims();
        let ignored = seq as i64;
        let clamp = |p: Tensor<1, Int>| p.clamp(0, ignored);
        let loss = (cross_entropy(start_logits.clone(), clamp(start_positions), ignored)
            + cross_entropy(end_logits.clone(), clamp(end_positions), ignored))
            / 2.0;
        QuestionAnsweringOutput {
            loss: Some(loss),
            start_logits,
            end_logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_logits_per_token() {
        let device = Device::flex();
        let model = BertConfig::new(20, 8, 1, 2, 16).init_question_answering(&device);
        let (s, e) = model.forward(BertInput::new(Tensor::from_data(
            [[1, 4, 5, 2], [1, 6, 2, 0]],
            &device,
        )));
        assert_eq!(s.dims(), [2, 4]);
        assert_eq!(e.dims(), [2, 4]);
    }
}
