//! `BertModel`: embeddings, encoder and pooler.

use burn::prelude::*;

use crate::{BertConfig, BertEmbeddings, BertEncoder, BertPooler};

/// A batch of encoded inputs, as the tokenizer gives them.
#[derive(Debug, Clone)]
pub struct BertInput {
    /// WordPiece ids, `[batch, seq]`.
    pub input_ids: Tensor<2, Int>,
    /// 1 for tokens to attend to, 0 for padding, `[batch, seq]`; all ones when `None`.
    pub attention_mask: Option<Tensor<2, Int>>,
    /// Segment ids (0 for the first text, 1 for the pair), `[batch, seq]`; zeros when `None`.
    pub token_type_ids: Option<Tensor<2, Int>>,
}

impl BertInput {
    /// Input ids only: no padding, one segment.
    pub fn new(input_ids: Tensor<2, Int>) -> Self {
        Self {
            input_ids,
            attention_mask: None,
            token_type_ids: None,
        }
    }

    /// Sets the attention mask.
    pub fn with_attention_mask(mut self, mask: Tensor<2, Int>) -> Self {
        self.attention_mask = Some(mask);
        self
    }

    /// Sets the token type ids.
    pub fn with_token_type_ids(mut self, ids: Tensor<2, Int>) -> Self {
        self.token_type_ids = Some(ids);
        self
    }
}

/// The outputs of [`BertModel`], named as in HF.
#[derive(Debug, Clone)]
pub struct BertModelOutput {
    /// The top layer's hidden states, `[batch, seq, hidden]`.
    pub last_hidden_state: Tensor<3>,
    /// `tanh(Dense(h_[CLS]))`, `[batch, hidden]`; `None` for a model built without pooler.
    pub pooler_output: Option<Tensor<2>>,
}

/// The BERT encoder: `embeddings`, `encoder`, `pooler` (HF's `BertModel`).
#[derive(Module, Debug)]
pub struct BertModel {
    /// Input representation.
    pub embeddings: BertEmbeddings,
    /// The `L` Transformer layers.
    pub encoder: BertEncoder,
    /// The `[CLS]` pooler (absent in HF's token-classification and QA models).
    pub pooler: Option<BertPooler>,
    /// Number of attention heads, to shape the mask.
    pub num_attention_heads: usize,
}

impl BertConfig {
    /// Initializes a BERT encoder, with pooler when `add_pooling_layer`.
    pub fn init_model(&self, add_pooling_layer: bool, device: &Device) -> BertModel {
        BertModel {
            embeddings: self.init_embeddings(device),
            encoder: self.init_encoder(device),
            pooler: add_pooling_layer.then(|| self.init_pooler(device)),
            num_attention_heads: self.num_attention_heads,
        }
    }

    /// Initializes a BERT encoder with its pooler.
    pub fn init(&self, device: &Device) -> BertModel {
        self.init_model(true, device)
    }
}

impl BertModel {
    /// Encodes a batch.
    ///
    /// The padding mask is built once here (`true` where `attention_mask` is 0) and shared by
    /// every layer. Without an `attention_mask` (a batch with no padding) no mask is built and
    /// attention runs unmasked, as `transformers` drops an all-ones mask for SDPA.
    ///
    /// # Shapes
    /// - input_ids, attention_mask, token_type_ids: `[batch, seq]`
    /// - last_hidden_state: `[batch, seq, hidden]`
    /// - pooler_output: `[batch, hidden]`
    pub fn forward(&self, input: BertInput) -> BertModelOutput {
        let (embeddings, mask) = self.embed(input);
        let last_hidden_state = self.encoder.forward(embeddings, mask);
        let pooler_output = self
            .pooler
            .as_ref()
            .map(|p| p.forward(last_hidden_state.clone()));
        BertModelOutput {
            last_hidden_state,
            pooler_output,
        }
    }

    /// [`forward`](Self::forward)'s `pooler_output` alone, `None` without a pooler. The top
    /// layer computes the `[CLS]` position only ([`BertEncoder::forward_first_token`]): the
    /// same numbers, up to the rounding of its smaller products, for less work (what a
    /// sequence classifier runs, training and predicting). When training with dropout, the top
    /// layer's dropout masks are drawn for the rows it computes, so they are other draws than
    /// `forward`'s, of the same distribution.
    ///
    /// # Shapes
    /// - input_ids, attention_mask, token_type_ids: `[batch, seq]`
    /// - output: `[batch, hidden]`
    pub fn pooled(&self, input: BertInput) -> Option<Tensor<2>> {
        let pooler = self.pooler.as_ref()?;
        let (embeddings, mask) = self.embed(input);
        Some(pooler.forward(self.encoder.forward_first_token(embeddings, mask)))
    }

    /// The embeddings and the padding mask the layers share.
    ///
    /// # Shapes
    /// - embeddings: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, seq, seq]`, `true` for keys to ignore
    fn embed(&self, input: BertInput) -> (Tensor<3>, Option<Tensor<4, Bool>>) {
        let [batch, seq] = input.input_ids.dims();
        let mask = input.attention_mask.map(|mask| {
            mask.equal_elem(0).reshape([batch, 1, 1, seq]).expand([
                batch,
                self.num_attention_heads,
                seq,
                seq,
            ])
        });
        let embeddings = self
            .embeddings
            .forward(input.input_ids, input.token_type_ids);
        (embeddings, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pooled` (the top layer on `[CLS]` alone) against `forward`'s pooler output on a batch
    /// with a padded row and a row whose every key is masked, with and without autodiff, and
    /// the gradients of both (dropout off). Weights of sd 0.3, not HF's 0.02, so that a wrong
    /// mask or row in the top layer moves the outputs and gradients far past the tolerance.
    #[test]
    fn pooled_is_forwards_pooler_output_and_gradients() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            let mut config = BertConfig::new(20, 8, 3, 2, 16);
            config.hidden_dropout_prob = 0.0;
            config.attention_probs_dropout_prob = 0.0;
            config.initializer_range = 0.3;
            let model = config.init(&device);
            let input = || {
                BertInput::new(Tensor::from_data(
                    [[1, 5, 7, 2, 0, 0], [1, 9, 3, 4, 6, 2], [1, 8, 8, 2, 0, 0]],
                    &device,
                ))
                .with_attention_mask(Tensor::from_data(
                    [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]],
                    &device,
                ))
                .with_token_type_ids(Tensor::from_data(
                    [[0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0]],
                    &device,
                ))
            };
            let full = model.forward(input()).pooler_output.unwrap();
            let first = model.pooled(input()).unwrap();
            assert_eq!(first.dims(), [3, 8]);
            let tolerance = burn::tensor::Tolerance::rel_abs(1e-4, 1e-6);
            first
                .clone()
                .into_data()
                .assert_approx_eq::<f32>(&full.clone().into_data(), tolerance);
            if !device.is_autodiff() {
                continue;
            }
            let weights = Tensor::<2>::from_data(
                TensorData::new((0..24).map(|i| (i % 5) as f32 - 2.0).collect(), [3, 8]),
                &device,
            );
            let full = (full * weights.clone()).sum().backward();
            let first = (first * weights).sum().backward();
            let grads = |g: &burn::tensor::Gradients| {
                let (bottom, top) = (&model.encoder.layer[0], &model.encoder.layer[2]);
                let top_attention = &top.attention.self_attention;
                let embeddings = &model.embeddings;
                [
                    &bottom.attention.self_attention.query.weight,
                    &top_attention.query.weight,
                    &top_attention.key.weight,
                    &top_attention.value.weight,
                    &top.intermediate.dense.weight,
                    &embeddings.position_embeddings.weight,
                ]
                .map(|w| w.grad(g).unwrap().into_data())
            };
            for (a, b) in grads(&first).iter().zip(grads(&full)) {
                a.assert_approx_eq::<f32>(&b, tolerance);
            }
        }
    }

    #[test]
    fn padding_does_not_change_unpadded_positions() {
        let device = Device::flex();
        let model = BertConfig::new(20, 8, 2, 2, 16).init(&device);
        let short = model.forward(BertInput::new(Tensor::from_data([[1, 5, 7, 2]], &device)));
        let padded = model.forward(
            BertInput::new(Tensor::from_data([[1, 5, 7, 2, 0, 0]], &device))
                .with_attention_mask(Tensor::from_data([[1, 1, 1, 1, 0, 0]], &device)),
        );
        padded
            .last_hidden_state
            .slice([0..1, 0..4])
            .into_data()
            .assert_approx_eq::<f32>(
                &short.last_hidden_state.into_data(),
                burn::tensor::Tolerance::absolute(1e-5),
            );
        padded
            .pooler_output
            .unwrap()
            .into_data()
            .assert_approx_eq::<f32>(
                &short.pooler_output.unwrap().into_data(),
                burn::tensor::Tolerance::absolute(1e-5),
            );
    }
}
