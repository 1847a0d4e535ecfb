//! The input representation of BERT (paper §3, Figure 2): token + segment + position embeddings.

use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
};
use burn::prelude::*;

use crate::BertConfig;
use crate::ops::{dropout, layer_norm};

/// Word, position and token-type (segment) embeddings, summed, then LayerNorm and dropout.
///
/// HF keys: `embeddings.word_embeddings.weight`, `embeddings.position_embeddings.weight`,
/// `embeddings.token_type_embeddings.weight`, `embeddings.LayerNorm.{weight,bias}`.
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    /// WordPiece token embeddings, `[vocab_size, hidden_size]`.
    pub word_embeddings: Embedding,
    /// Learned absolute position embeddings, `[max_position_embeddings, hidden_size]`.
    pub position_embeddings: Embedding,
    /// Segment A/B embeddings, `[type_vocab_size, hidden_size]`.
    pub token_type_embeddings: Embedding,
    /// `LayerNorm` in HF's keys.
    pub layer_norm: LayerNorm,
    /// `layer_norm`'s epsilon (`layer_norm_eps`), which Burn's `LayerNorm` keeps private, for
    /// burnbert's LayerNorm kernel.
    pub layer_norm_eps: f64,
    /// Dropout with `hidden_dropout_prob`.
    pub dropout: Dropout,
}

impl BertConfig {
    /// Initializes the embeddings as HF does: N(0, initializer_range) weights, LayerNorm at 1/0.
    pub fn init_embeddings(&self, device: &Device) -> BertEmbeddings {
        let embedding = |n| {
            EmbeddingConfig::new(n, self.hidden_size)
                .with_initializer(self.initializer())
                .init(device)
        };
        BertEmbeddings {
            word_embeddings: embedding(self.vocab_size),
            position_embeddings: embedding(self.max_position_embeddings),
            token_type_embeddings: embedding(self.type_vocab_size),
            layer_norm: self.init_layer_norm(device),
            layer_norm_eps: self.layer_norm_eps,
            dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
        }
    }

    /// HF's `_init_weights`: a normal of std `initializer_range` for every Linear and Embedding.
    /// (HF truncates nothing here and zeroes the padding row; a from-scratch model differs from
    /// HF's only in that row.)
    pub(crate) fn initializer(&self) -> Initializer {
        Initializer::Normal {
            mean: 0.0,
            std: self.initializer_range,
        }
    }

    /// A LayerNorm over `hidden_size` with `layer_norm_eps` (Burn's default epsilon is 1e-5,
    /// BERT's is 1e-12).
    pub(crate) fn init_layer_norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.hidden_size)
            .with_epsilon(self.layer_norm_eps)
            .init(device)
    }
}

impl BertEmbeddings {
    /// Embeds a batch of token ids.
    ///
    /// # Shapes
    /// - input_ids: `[batch, seq]`
    /// - token_type_ids: `[batch, seq]` (all zeros when `None`, as in HF)
    /// - output: `[batch, seq, hidden]`
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        token_type_ids: Option<Tensor<2, Int>>,
    ) -> Tensor<3> {
        let [batch, seq] = input_ids.dims();
        let device = input_ids.device();
        let token_type_ids = token_type_ids.unwrap_or_else(|| Tensor::zeros([batch, seq], &device));
        let position_ids = Tensor::<1, Int>::arange(0..seq as i64, &device)
            .unsqueeze::<2>()
            .expand([batch, seq]);

        let embeddings = self.word_embeddings.forward(input_ids)
            + self.token_type_embeddings.forward(token_type_ids)
            + self.position_embeddings.forward(position_ids);
        dropout(
            &self.dropout,
            layer_norm(&self.layer_norm, self.layer_norm_eps, embeddings),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_three_embeddings_before_layer_norm() {
        let device = Device::flex();
        let config = BertConfig::new(10, 4, 1, 2, 8);
        let embeddings = config.init_embeddings(&device);
        let ids = Tensor::<2, Int>::from_data([[3, 1]], &device);
        let types = Tensor::<2, Int>::from_data([[0, 1]], &device);
        let out = embeddings.forward(ids.clone(), Some(types.clone()));
        let word = embeddings.word_embeddings.weight.val();
        let pos = embeddings.position_embeddings.weight.val();
        let typ = embeddings.token_type_embeddings.weight.val();
        // Second token: word 1 + position 1 + type 1, normalised.
        let sum = word.slice(1..2) + pos.slice(1..2) + typ.slice(1..2);
        let mean = sum.clone().mean_dim(1);
        let var = (sum.clone() - mean.clone()).powf_scalar(2.0).mean_dim(1);
        let expected = (sum - mean) / (var + 1e-12).sqrt();
        out.slice([0..1, 1..2])
            .reshape([1, 4])
            .into_data()
            .assert_approx_eq::<f32>(
                &expected.into_data(),
                burn::tensor::Tolerance::absolute(1e-5),
            );
    }
}
