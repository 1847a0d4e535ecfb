//! Sentence embeddings from the encoder's hidden states.

use burn::prelude::*;

/// Mean of the hidden states over the tokens the mask keeps, then L2-normalised: the
/// sentence-transformers embedding of all-MiniLM-L6-v2 and its kin.
///
/// # Shapes
/// - last_hidden_state: `[batch, seq, hidden]`
/// - attention_mask: `[batch, seq]`
/// - output: `[batch, hidden]`
pub fn mean_pooled_normalized(
    last_hidden_state: Tensor<3>,
    attention_mask: Tensor<2, Int>,
) -> Tensor<2> {
    let mean = mean_pooled(last_hidden_state, attention_mask);
    // F.normalize: x / max(||x||, 1e-12).
    let norm = mean
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    mean / norm
}

/// Mean of the hidden states over the tokens the mask keeps.
///
/// # Shapes
/// - last_hidden_state: `[batch, seq, hidden]`
/// - attention_mask: `[batch, seq]`
/// - output: `[batch, hidden]`
pub fn mean_pooled(last_hidden_state: Tensor<3>, attention_mask: Tensor<2, Int>) -> Tensor<2> {
    let [batch, seq, hidden] = last_hidden_state.dims();
    let mask = attention_mask.float().reshape([batch, seq, 1]);
    let summed = (last_hidden_state * mask.clone())
        .sum_dim(1)
        .reshape([batch, hidden]);
    let count = mask.sum_dim(1).reshape([batch, 1]).clamp_min(1e-9);
    summed / count
}
