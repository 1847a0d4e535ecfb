//! One Transformer layer of BERT: attention, then the position-wise feed-forward network.

use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear};
use burn::prelude::*;

use crate::ops::{dropout, layer_norm, linear};
use crate::{BertAttention, BertConfig, HiddenAct};

/// The first feed-forward projection and its activation. HF key: `intermediate.dense`.
#[derive(Module, Debug)]
pub struct BertIntermediate {
    /// `[hidden, intermediate]`.
    pub dense: Linear,
    /// `hidden_act`.
    #[module(skip)]
    pub intermediate_act_fn: HiddenAct,
}

/// The second feed-forward projection, dropout, residual and LayerNorm.
/// HF keys: `output.dense`, `output.LayerNorm`.
#[derive(Module, Debug)]
pub struct BertOutput {
    /// `[intermediate, hidden]`.
    pub dense: Linear,
    /// `LayerNorm` in HF's keys.
    pub layer_norm: LayerNorm,
    /// `layer_norm`'s epsilon (`layer_norm_eps`), which Burn's `LayerNorm` keeps private, for
    /// burnbert's LayerNorm kernel.
    pub layer_norm_eps: f64,
    /// Dropout with `hidden_dropout_prob`.
    pub dropout: Dropout,
}

/// A Transformer encoder layer: `encoder.layer.N` in HF's keys.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// Self-attention sub-layer.
    pub attention: BertAttention,
    /// Feed-forward up-projection.
    pub intermediate: BertIntermediate,
    /// Feed-forward down-projection and residual.
    pub output: BertOutput,
}

impl BertConfig {
    /// Initializes one encoder layer.
    pub fn init_layer(&self, device: &Device) -> BertLayer {
        BertLayer {
            attention: self.init_attention(device),
            intermediate: BertIntermediate {
                dense: self.init_linear(self.hidden_size, self.intermediate_size, device),
                intermediate_act_fn: self.hidden_act,
            },
            output: BertOutput {
                dense: self.init_linear(self.intermediate_size, self.hidden_size, device),
                layer_norm: self.init_layer_norm(device),
                layer_norm_eps: self.layer_norm_eps,
                dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
            },
        }
    }
}

impl BertIntermediate {
    /// `act(Dense(x))`.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - output: `[batch, seq, intermediate]`
    pub fn forward(&self, hidden_states: Tensor<3>) -> Tensor<3> {
        self.intermediate_act_fn
            .forward(linear(&self.dense, hidden_states))
    }
}

impl BertOutput {
    /// `LayerNorm(input + Dropout(Dense(hidden_states)))`.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, intermediate]`
    /// - input: `[batch, seq, hidden]`
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>, input: Tensor<3>) -> Tensor<3> {
        let x = dropout(&self.dropout, linear(&self.dense, hidden_states));
        layer_norm(&self.layer_norm, self.layer_norm_eps, x + input)
    }
}

impl BertLayer {
    /// Attention then feed-forward, each with residual and post-LayerNorm.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, seq, seq]`, `true` for keys to ignore
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let attention_output = self.attention.forward(hidden_states, mask);
        self.feed_forward(attention_output)
    }

    /// [`forward`](Self::forward)'s output at the first `queries` positions only: their
    /// queries attend to every position, and the rest of the layer works on their rows alone.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`, `1 ≤ queries ≤ seq`
    /// - mask: `[batch, heads, queries, seq]`, `true` for keys to ignore
    /// - output: `[batch, queries, hidden]`
    pub fn forward_first(
        &self,
        hidden_states: Tensor<3>,
        queries: usize,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let attention_output = self.attention.forward_first(hidden_states, queries, mask);
        self.feed_forward(attention_output)
    }

    /// The feed-forward sub-layer on the attention's output.
    fn feed_forward(&self, attention_output: Tensor<3>) -> Tensor<3> {
        let intermediate = self.intermediate.forward(attention_output.clone());
        self.output.forward(intermediate, attention_output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_shape_and_normalises_output() {
        let device = Device::flex();
        let config = BertConfig::new(10, 6, 1, 3, 10);
        let layer = config.init_layer(&device);
        let x = Tensor::<3>::random([2, 4, 6], burn::tensor::Distribution::Default, &device);
        let mask = Tensor::<4, Bool>::from_data([[[[false; 4]; 4]; 3]; 2], &device);
        let y = layer.forward(x, Some(mask));
        assert_eq!(y.dims(), [2, 4, 6]);
        // Post-LN with gamma 1, beta 0: each position has mean 0.
        let means = y.mean_dim(2).abs().max().into_scalar::<f32>();
        assert!(means < 1e-5, "{means}");
    }
}
