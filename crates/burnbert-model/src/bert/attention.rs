//! Multi-head self-attention (paper §3 / Vaswani et al. §3.2) with HF's mask semantics.

use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use crate::BertConfig;
use crate::ops::{self, dropout, layer_norm, linear, softmax};

/// The query/key/value projections and scaled dot-product attention over all heads.
///
/// HF keys: `attention.self.{query,key,value}.{weight,bias}` (`self` is `self_attention` here:
/// a Rust field cannot be named `self`; [`crate::weights`] maps the names).
#[derive(Module, Debug)]
pub struct BertSelfAttention {
    /// Query projection, `[hidden, hidden]`.
    pub query: Linear,
    /// Key projection, `[hidden, hidden]`.
    pub key: Linear,
    /// Value projection, `[hidden, hidden]`.
    pub value: Linear,
    /// Dropout on the attention probabilities.
    pub dropout: Dropout,
    /// Number of heads `A`.
    pub num_attention_heads: usize,
}

/// The attention output projection, dropout, residual and LayerNorm (post-LN, as in BERT).
///
/// HF keys: `attention.output.dense`, `attention.output.LayerNorm`.
#[derive(Module, Debug)]
pub struct BertSelfOutput {
    /// Output projection, `[hidden, hidden]`.
    pub dense: Linear,
    /// `LayerNorm` in HF's keys.
    pub layer_norm: LayerNorm,
    /// `layer_norm`'s epsilon (`layer_norm_eps`), which Burn's `LayerNorm` keeps private, for
    /// burnbert's LayerNorm kernel.
    pub layer_norm_eps: f64,
    /// Dropout with `hidden_dropout_prob`.
    pub dropout: Dropout,
}

/// Self-attention followed by its output sub-layer.
#[derive(Module, Debug)]
pub struct BertAttention {
    /// `attention.self` in HF's keys.
    pub self_attention: BertSelfAttention,
    /// `attention.output` in HF's keys.
    pub output: BertSelfOutput,
}

impl BertConfig {
    /// A Linear of the given size initialised as HF does (normal weights, zero bias).
    pub(crate) fn init_linear(&self, d_input: usize, d_output: usize, device: &Device) -> Linear {
        LinearConfig::new(d_input, d_output)
            .with_initializer(self.initializer())
            .init(device)
            .zero_bias()
    }

    /// Initializes one attention block.
    pub fn init_attention(&self, device: &Device) -> BertAttention {
        let h = self.hidden_size;
        BertAttention {
            self_attention: BertSelfAttention {
                query: self.init_linear(h, h, device),
                key: self.init_linear(h, h, device),
                value: self.init_linear(h, h, device),
                dropout: DropoutConfig::new(self.attention_probs_dropout_prob).init(),
                num_attention_heads: self.num_attention_heads,
            },
            output: BertSelfOutput {
                dense: self.init_linear(h, h, device),
                layer_norm: self.init_layer_norm(device),
                layer_norm_eps: self.layer_norm_eps,
                dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
            },
        }
    }
}

/// Zeroes a Linear's bias (HF initialises biases to 0; Burn's Linear draws them).
trait ZeroBias {
    fn zero_bias(self) -> Self;
}

impl ZeroBias for Linear {
    fn zero_bias(mut self) -> Self {
        self.bias = self.bias.map(|b| b.map(|t| t.zeros_like()));
        self
    }
}

impl BertSelfAttention {
    /// Attends every position to every unmasked position.
    ///
    /// `mask` is `true` where a key must be ignored (padding). HF adds `finfo.min` to those
    /// scores (eager) or passes a boolean mask (SDPA); both give those keys a weight of exactly 0
    /// after softmax, as Burn's fused `attention` op does with its `-inf` fill.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, seq, seq]`; `None`: every key is attended to
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let query = linear(&self.query, hidden_states.clone());
        self.attend(query, hidden_states, mask)
    }

    /// The output of the first `queries` positions only: their queries attend to every
    /// position's key and value, so each is [`forward`](Self::forward)'s row for that position
    /// (the same numbers up to the rounding of the smaller products). A model whose head reads
    /// only the `[CLS]` state needs no more of its top layer.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`, `1 ≤ queries ≤ seq`
    /// - mask: `[batch, heads, queries, seq]`; `None`: every key is attended to
    /// - output: `[batch, queries, hidden]`
    pub fn forward_first(
        &self,
        hidden_states: Tensor<3>,
        queries: usize,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let first = first_positions(&hidden_states, queries);
        self.attend(linear(&self.query, first), hidden_states, mask)
    }

    /// Scaled dot-product attention of the projected `query` over the keys and values of
    /// `hidden_states`.
    ///
    /// # Shapes
    /// - query: `[batch, queries, hidden]`; hidden_states: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, queries, seq]`
    /// - output: `[batch, queries, hidden]`
    fn attend(
        &self,
        query: Tensor<3>,
        hidden_states: Tensor<3>,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let [batch, seq, hidden] = hidden_states.dims();
        let queries = query.dims()[1];
        let heads = self.num_attention_heads;
        let key = linear(&self.key, hidden_states.clone());
        let value = linear(&self.value, hidden_states);
        let device = query.device();
        if let Some(context) =
            ops::attention(&query, &key, &value, heads, mask.as_ref(), &self.dropout)
        {
            return context;
        }
        let split_heads = |x: Tensor<3>, len: usize| {
            x.reshape([batch, len, heads, hidden / heads])
                .swap_dims(1, 2)
        };
        let (query, key, value) = (
            split_heads(query, queries),
            split_heads(key, seq),
            split_heads(value, seq),
        );

        let dropout_active = self.dropout.prob > 0.0 && device.is_autodiff();
        let mask_read_backwards = mask.is_some() && !fused_attention_masks_true_keys(&device);
        let context = if dropout_active || mask_read_backwards {
            // Burn's fused op has no dropout on the probabilities: spell it out when training
            // (and where the fused op reads the mask the other way round, see below).
            let scale = 1.0 / ((hidden / heads) as f64).sqrt();
            let scores = query.matmul(key.swap_dims(2, 3)).mul_scalar(scale);
            let scores = match mask {
                Some(mask) => scores.mask_fill(mask, f32::MIN),
                None => scores,
            };
            let probs = softmax(scores);
            dropout(&self.dropout, probs).matmul(value)
        } else {
            attention(
                query,
                key,
                value,
                mask,
                None,
                AttentionModuleOptions::default(),
            )
        };
        context.swap_dims(1, 2).reshape([batch, queries, hidden])
    }
}

/// The first `n` positions of a batch of hidden states.
///
/// # Shapes
/// - hidden_states: `[batch, seq, hidden]`, `n ≤ seq`
/// - output: `[batch, n, hidden]`
pub(crate) fn first_positions(hidden_states: &Tensor<3>, n: usize) -> Tensor<3> {
    let [batch, _, hidden] = hidden_states.dims();
    hidden_states.clone().slice([0..batch, 0..n, 0..hidden])
}

/// Whether the device's fused `attention` op ignores the keys whose mask is `true`, as Burn
/// documents it. Burn 0.22.1's LibTorch backend (`burn-tch` `ops/module.rs`, `fn attention`)
/// hands Burn's mask straight to torch's `scaled_dot_product_attention`, where `true` means
/// "attend": padding would be attended to and the words ignored.
fn fused_attention_masks_true_keys(device: &Device) -> bool {
    crate::probe::once_per_device("attention mask", device, |device| {
        let query = Tensor::<4>::from_data([[[[1.0f32]]]], device);
        let key = Tensor::<4>::from_data([[[[1.0f32], [1.0]]]], device);
        let value = Tensor::<4>::from_data([[[[0.0f32], [1.0]]]], device);
        let mask = Tensor::<4, Bool>::from_data([[[[false, true]]]], device);
        let out = attention(
            query,
            key,
            value,
            Some(mask),
            None,
            AttentionModuleOptions::default(),
        );
        // Key 1 masked: the output is value 0 (0.0); with the mask read the other way, value 1.
        out.into_scalar::<f32>() < 0.5
    })
}

impl BertSelfOutput {
    /// `LayerNorm(input + Dropout(Dense(hidden_states)))`.
    ///
    /// # Shapes
    /// - hidden_states, input: `[batch, seq, hidden]`
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>, input: Tensor<3>) -> Tensor<3> {
        let x = dropout(&self.dropout, linear(&self.dense, hidden_states));
        layer_norm(&self.layer_norm, self.layer_norm_eps, x + input)
    }
}

impl BertAttention {
    /// Self-attention with its residual sub-layer.
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`
    /// - mask: `[batch, heads, seq, seq]`; `None`: every key is attended to
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, hidden_states: Tensor<3>, mask: Option<Tensor<4, Bool>>) -> Tensor<3> {
        let context = self.self_attention.forward(hidden_states.clone(), mask);
        self.output.forward(context, hidden_states)
    }

    /// [`forward`](Self::forward)'s output at the first `queries` positions only (see
    /// [`BertSelfAttention::forward_first`]).
    ///
    /// # Shapes
    /// - hidden_states: `[batch, seq, hidden]`, `1 ≤ queries ≤ seq`
    /// - mask: `[batch, heads, queries, seq]`; `None`: every key is attended to
    /// - output: `[batch, queries, hidden]`
    pub fn forward_first(
        &self,
        hidden_states: Tensor<3>,
        queries: usize,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let residual = first_positions(&hidden_states, queries);
        let context = self
            .self_attention
            .forward_first(hidden_states, queries, mask);
        self.output.forward(context, residual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_keys_get_no_weight() {
        let device = Device::flex();
        let config = BertConfig::new(10, 6, 1, 3, 8);
        let attention = config.init_attention(&device).self_attention;
        let x = Tensor::<3>::random([1, 3, 6], burn::tensor::Distribution::Default, &device);
        // Mask the last key: changing its input must not change positions 0 and 1's output
        // through attention (only position 2's own query changes).
        let mask = Tensor::<4, Bool>::from_data([[[[false, false, true]; 3]; 3]], &device);
        let a = attention.forward(x.clone(), Some(mask.clone()));
        let y = x
            .clone()
            .slice_assign([0..1, 2..3, 0..6], Tensor::ones([1, 1, 6], &device) * 7.0);
        let b = attention.forward(y, Some(mask));
        a.slice([0..1, 0..2]).into_data().assert_approx_eq::<f32>(
            &b.slice([0..1, 0..2]).into_data(),
            burn::tensor::Tolerance::absolute(1e-6),
        );
    }
}
