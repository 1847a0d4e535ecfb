//! The model's ops whose best implementation depends on the backend, behind one entry point:
//! each takes burnbert's kernel where it has one ([`flex`]: f32 tensors on Burn's flex CPU
//! backend), else Burn's op, with the workarounds a backend needs. The model's parts call these
//! and name no backend.

use burn::nn::{Dropout, LayerNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation;

#[cfg(feature = "flex")]
mod flex;

/// The exact GELU: burnbert's kernel where it has one (f32 on flex), else Burn's `gelu` where
/// its gradient is exact, else `x·Φ(x)` spelled out, whose gradient is exact wherever erf's is.
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    let x = match flex::gelu(x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    if exact_gelu_gradient(&x.device()) {
        activation::gelu(x)
    } else {
        x.clone()
            * (x / std::f64::consts::SQRT_2)
                .erf()
                .add_scalar(1.0)
                .mul_scalar(0.5)
    }
}

/// Whether the gradient of Burn's `gelu` on this device is that of the exact GELU it computes.
/// Burn 0.22.1's default `gelu_backward` (`burn-backend` `ops/activation.rs`) is the derivative of
/// the tanh approximation: backends that do not override it (NdArray among them) get gradients
/// off by up to 1.7e-4 per element (at x = -4), which reached 3.4e-4 in a layer-0 query weight.
/// Only autodiff devices are affected.
fn exact_gelu_gradient(device: &Device) -> bool {
    if !device.is_autodiff() {
        return true;
    }
    crate::probe::once_per_device("gelu gradient", device, |device| {
        let x = Tensor::<1>::from_data([-4.0f32], device).require_grad();
        let grads = activation::gelu(x.clone()).sum().backward();
        let grad = x.grad(&grads).map_or(f32::NAN, |g| g.into_scalar::<f32>());
        // Φ(-4) - 4·φ(-4) = -5.0363e-4 (PyTorch's gradient); the tanh form gives -3.35e-4.
        (grad - -5.036_3e-4).abs() < 1e-6
    })
}

/// Scaled dot-product attention of a layer's query, key and value projections, the heads split
/// from and merged back into the hidden dimension, with Burn's [`Dropout`] on the probabilities
/// (when it is training on an autodiff device with `prob > 0`, as Burn's `Dropout::forward`):
/// burnbert's kernel where it has one (f32 on flex), else `None` (the caller spells it out with
/// Burn's ops).
///
/// # Shapes
/// - query, output: `[batch, queries, hidden]` (`queries ≤ seq`)
/// - key, value: `[batch, seq, hidden]`
/// - mask: `[batch, heads, queries, seq]`, `true` for keys to ignore
#[cfg_attr(not(feature = "flex"), allow(unused_variables))]
pub(crate) fn attention(
    query: &Tensor<3>,
    key: &Tensor<3>,
    value: &Tensor<3>,
    heads: usize,
    mask: Option<&Tensor<4, Bool>>,
    dropout: &Dropout,
) -> Option<Tensor<3>> {
    let active =
        dropout.training.is_enabled() && query.device().is_autodiff() && dropout.prob > 0.0;
    #[cfg(feature = "flex")]
    return flex::attention(
        query,
        key,
        value,
        heads,
        mask,
        active.then_some(dropout.prob),
    );
    #[cfg(not(feature = "flex"))]
    None
}

/// Burn's [`Linear`] forward pass, `x·W + b`, through burnbert's kernel where it has one (f32
/// on flex).
///
/// # Shapes
/// - x: `[..., d_input]`; output: `[..., d_output]`
pub(crate) fn linear<const D: usize>(layer: &Linear, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    let x = match flex::linear(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val())) {
        Ok(y) => return y,
        Err(x) => x,
    };
    layer.forward(x)
}

/// Burn's [`LayerNorm`] forward pass, through burnbert's kernel where it has one (f32 on flex
/// with autodiff, with a `beta`). `epsilon` is the one `norm` was built with (Burn keeps it
/// private).
///
/// # Shapes
/// - x, output: `[..., d_model]`
#[cfg_attr(not(feature = "flex"), allow(unused_variables))]
pub(crate) fn layer_norm<const D: usize>(
    norm: &LayerNorm,
    epsilon: f64,
    x: Tensor<D>,
) -> Tensor<D> {
    #[cfg(feature = "flex")]
    let x = match &norm.beta {
        Some(beta) => match flex::layer_norm(x, norm.gamma.val(), beta.val(), epsilon) {
            Ok(y) => return y,
            Err(x) => x,
        },
        None => x,
    };
    norm.forward(x)
}

/// One AdamW step of one parameter: the settings of `burn-optim`'s `AdamW` (amsgrad and cautious
/// weight decay off, as burnbert builds it) and of the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWStep {
    /// The learning rate of this step, for this parameter.
    pub lr: f64,
    /// The step's number for this parameter, from 1 (Burn's `AdaptiveMomentumState::time` after
    /// the step): the bias corrections are `1 - βᵗ`.
    pub time: usize,
    /// β₁, the first moment's decay.
    pub beta_1: f32,
    /// β₂, the second moment's decay.
    pub beta_2: f32,
    /// ε, added to `sqrt(v̂)`.
    pub epsilon: f32,
    /// λ, the decoupled weight decay: `w ← w·(1 - lr·λ)`.
    pub weight_decay: f32,
}

/// The tensors of one AdamW step: the parameter, its gradient and its moments `[m, v]` (none
/// before the first step, which is then step 1 whatever [`AdamWStep::time`] says).
pub type AdamWTensors<const D: usize> = (Tensor<D>, Tensor<D>, Option<[Tensor<D>; 2]>);

/// One step of Burn's AdamW (`burn-optim` 0.22.1 `AdamW::step`) through burnbert's fused kernel
/// where it has one (f32 on flex, without autodiff: the tensors an optimizer is handed): `Ok`
/// with the parameter and `[m, v]` after the step, equal to Burn's to the bit; else `Err` with
/// the tensors unchanged, for Burn's optimizer.
///
/// # Shapes
/// - parameter, gradient, moments, outputs: one shape, any rank
#[allow(clippy::result_large_err)]
pub fn adamw<const D: usize>(
    step: &AdamWStep,
    tensors: AdamWTensors<D>,
) -> Result<[Tensor<D>; 3], AdamWTensors<D>> {
    #[cfg(feature = "flex")]
    return flex::adamw(step, tensors);
    #[cfg(not(feature = "flex"))]
    {
        let _ = step;
        Err(tensors)
    }
}

/// Softmax over the keys: burnbert's kernel where it has one (f32 on flex), else Burn's.
///
/// # Shapes
/// - scores, output: `[batch, heads, seq, seq]`
pub(crate) fn softmax(scores: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    let scores = match flex::softmax(scores) {
        Ok(probs) => return probs,
        Err(scores) => scores,
    };
    activation::softmax(scores, 3)
}

/// Burn's [`Dropout`] forward pass, through burnbert's kernel where it has one (f32 on flex):
/// identity unless the layer is training on an autodiff device with `prob > 0`.
///
/// # Shapes
/// - x: any; output: the same
pub(crate) fn dropout<const D: usize>(dropout: &Dropout, x: Tensor<D>) -> Tensor<D> {
    // Burn's own conditions (`burn-nn` `Dropout::forward`).
    if !dropout.training.is_enabled() || !x.device().is_autodiff() || dropout.prob == 0.0 {
        return x;
    }
    #[cfg(feature = "flex")]
    let x = match flex::dropout(dropout.prob, x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    dropout.forward(x)
}
