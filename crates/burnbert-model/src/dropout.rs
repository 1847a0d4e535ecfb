use burn::nn::Dropout;
use burn::prelude::*;

/// Burn's [`Dropout`] forward pass, through burnbert's kernel where it has one (f32 on flex, see
/// `kernels.rs`): identity unless the layer is training on an autodiff device with `prob > 0`.
///
/// # Shapes
/// - x: any; output: the same
pub(crate) fn dropout<const D: usize>(dropout: &Dropout, x: Tensor<D>) -> Tensor<D> {
    // Burn's own conditions (`burn-nn` `Dropout::forward`).
    if !dropout.training.is_enabled() || !x.device().is_autodiff() || dropout.prob == 0.0 {
        return x;
    }
    #[cfg(feature = "flex")]
    let x = match crate::kernels::dropout(dropout.prob, x) {
        Ok(y) => return y,
        Err(x) => x,
    };
    dropout.forward(x)
}
