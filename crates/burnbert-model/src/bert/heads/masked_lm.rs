//! `BertForMaskedLM`: the masked-language-model head of BERT's pre-training (paper §3.1,
//! "Task #1: Masked LM"), as HF's `BertOnlyMLMHead`: dense → activation → LayerNorm, then a
//! decoder onto the vocabulary whose weight is the word-embedding table (tied, HF's
//! `tie_word_embeddings`) plus a bias of its own.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

use crate::activation::HiddenAct;
use crate::loss::{IGNORE_INDEX, cross_entropy};
use crate::{BertConfig, BertInput, BertModel};

/// `cls.predictions.transform`: `[hidden] → [hidden]` before the decoder.
#[derive(Module, Debug)]
pub struct BertPredictionHeadTransform {
    /// `[hidden, hidden]`.
    pub dense: Linear,
    /// `hidden_act`.
    #[module(skip)]
    pub transform_act_fn: HiddenAct,
    /// HF's `LayerNorm`.
    pub layer_norm: LayerNorm,
}

/// `cls.predictions`: the transform, then the tied decoder and its bias.
#[derive(Module, Debug)]
pub struct BertLMPredictionHead {
    /// Dense, activation, LayerNorm.
    pub transform: BertPredictionHeadTransform,
    /// `cls.predictions.bias`, `[vocab]` (HF's `decoder.bias` is the same tensor).
    pub bias: Param<Tensor<1>>,
}

/// `cls`: HF's `BertOnlyMLMHead`.
#[derive(Module, Debug)]
pub struct BertOnlyMLMHead {
    /// The prediction head.
    pub predictions: BertLMPredictionHead,
}

/// BERT with its masked-language-model head. HF keys: `bert.*` (no pooler),
/// `cls.predictions.transform.{dense,LayerNorm}.*`, `cls.predictions.bias`; the decoder weight
/// is `bert.embeddings.word_embeddings.weight` (a checkpoint's `cls.predictions.decoder.*`, a
/// copy of the tied tensors, is not read).
#[derive(Module, Debug)]
pub struct BertForMaskedLM {
    /// The encoder, without pooler.
    pub bert: BertModel,
    /// The head.
    pub cls: BertOnlyMLMHead,
}

/// Loss and logits, as HF's `MaskedLMOutput`.
#[derive(Debug, Clone)]
pub struct MaskedLMOutput {
    /// Mean cross-entropy over the tokens whose label is not -100, `[1]`.
    pub loss: Option<Tensor<1>>,
    /// `[batch, seq, vocab]`.
    pub logits: Tensor<3>,
}

impl BertConfig {
    /// Whether the MLM decoder shares the word embeddings (`tie_word_embeddings`, true unless
    /// `config.json` says otherwise).
    pub fn tie_word_embeddings(&self) -> bool {
        self.extra
            .get("tie_word_embeddings")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true)
    }

    /// Initializes a masked language model as HF does: the transform's dense layer drawn from
    /// N(0, `initializer_range`), LayerNorm at 1 / 0, the decoder's bias at 0.
    pub fn init_masked_lm(&self, device: &Device) -> BertForMaskedLM {
        BertForMaskedLM {
            bert: self.init_model(false, device),
            cls: BertOnlyMLMHead {
                predictions: BertLMPredictionHead {
                    transform: BertPredictionHeadTransform {
                        dense: self.init_linear(self.hidden_size, self.hidden_size, device),
                        transform_act_fn: self.hidden_act,
                        layer_norm: self.init_layer_norm(device),
                    },
                    bias: Param::from_tensor(Tensor::zeros([self.vocab_size], device)),
                },
            },
        }
    }
}

impl BertLMPredictionHead {
    /// Vocabulary logits of hidden states, through the decoder `word_embeddings` (`[vocab,
    /// hidden]`, the tied table).
    ///
    /// # Shapes
    /// - hidden: `[n, hidden]`
    /// - word_embeddings: `[vocab, hidden]`
    /// - output: `[n, vocab]`
    pub fn forward(&self, hidden: Tensor<2>, word_embeddings: Tensor<2>) -> Tensor<2> {
        let t = &self.transform;
        let x = t
            .layer_norm
            .forward(t.transform_act_fn.forward(t.dense.forward(hidden)));
        x.matmul(word_embeddings.transpose()) + self.bias.val().unsqueeze_dim(0)
    }
}

impl BertForMaskedLM {
    /// The tied decoder weight, `[vocab, hidden]`.
    fn decoder_weight(&self) -> Tensor<2> {
        self.bert.embeddings.word_embeddings.weight.val()
    }

    /// Vocabulary logits at every position.
    ///
    /// # Shapes
    /// - input: `[batch, seq]` tensors
    /// - output: `[batch, seq, vocab]`
    pub fn forward(&self, input: BertInput) -> Tensor<3> {
        let hidden = self.bert.forward(input).last_hidden_state;
        let [batch, seq, h] = hidden.dims();
        let logits = self
            .cls
            .predictions
            .forward(hidden.reshape([batch * seq, h]), self.decoder_weight());
        let vocab = logits.dims()[1];
        logits.reshape([batch, seq, vocab])
    }

    /// Logits and the cross-entropy against `labels`, -100 (tokens not masked, padding)
    /// ignored: HF's `BertForMaskedLM.forward(labels=...)`.
    ///
    /// # Shapes
    /// - labels: `[batch, seq]`
    pub fn forward_with_labels(&self, input: BertInput, labels: Tensor<2, Int>) -> MaskedLMOutput {
        let logits = self.forward(input);
        let [batch, seq, vocab] = logits.dims();
        let loss = cross_entropy(
            logits.clone().reshape([batch * seq, vocab]),
            labels.reshape([batch * seq]),
            IGNORE_INDEX,
        );
        MaskedLMOutput {
            loss: Some(loss),
            logits,
        }
    }

    /// The loss of [`Self::forward_with_labels`], with the decoder run at the masked positions
    /// only (the rest of the logits are never read): the same value, a fraction of the cost
    /// for a vocabulary of 30k.
    ///
    /// # Shapes
    /// - positions: `[n]`, flat indices `row · seq + column` of the masked tokens (n ≥ 1)
    /// - labels: `[n]`, their original ids
    /// - output: loss `[1]`, logits `[n, vocab]`
    pub fn forward_masked(
        &self,
        input: BertInput,
        positions: Tensor<1, Int>,
        labels: Tensor<1, Int>,
    ) -> (Tensor<1>, Tensor<2>) {
        let logits = self.forward_at(input, positions);
        (cross_entropy(logits.clone(), labels, IGNORE_INDEX), logits)
    }

    /// Vocabulary logits at some positions only (the `[MASK]` tokens of a fill-mask input).
    ///
    /// # Shapes
    /// - positions: `[n]`, flat indices `row · seq + column`
    /// - output: `[n, vocab]`
    pub fn forward_at(&self, input: BertInput, positions: Tensor<1, Int>) -> Tensor<2> {
        let hidden = self.bert.forward(input).last_hidden_state;
        let [batch, seq, h] = hidden.dims();
        let masked = hidden.reshape([batch * seq, h]).select(0, positions);
        self.cls.predictions.forward(masked, self.decoder_weight())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masked_positions_loss_is_the_full_loss() {
        let device = Device::flex();
        let config = BertConfig::new(20, 8, 1, 2, 16);
        let model = config.init_masked_lm(&device);
        let input = BertInput::new(Tensor::from_data([[1, 4, 5, 2], [1, 7, 2, 0]], &device));
        let full = model.forward_with_labels(
            input.clone(),
            Tensor::from_data([[-100, 9, -100, -100], [-100, -100, 3, -100]], &device),
        );
        let (loss, logits) = model.forward_masked(
            input,
            Tensor::from_data([1, 6], &device),
            Tensor::from_data([9, 3], &device),
        );
        let tolerance = burn::tensor::Tolerance::absolute(1e-6);
        loss.into_data()
            .assert_approx_eq::<f32>(&full.loss.unwrap().into_data(), tolerance);
        let expected = full
            .logits
            .reshape([8, 20])
            .select(0, Tensor::from_data([1, 6], &device));
        logits
            .into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), tolerance);
    }

    #[test]
    fn the_decoder_is_the_word_embedding_table() {
        let device = Device::flex();
        let config = BertConfig::new(20, 8, 1, 2, 16);
        let model = config.init_masked_lm(&device);
        assert!(model.bert.pooler.is_none());
        // A parameter count with the decoder tied: the encoder, dense 8·8+8, LayerNorm 2·8,
        // the bias 20 — no second [20, 8] table.
        let encoder = config.init_model(false, &device).num_params();
        assert_eq!(model.num_params(), encoder + 72 + 16 + 20);
    }
}
