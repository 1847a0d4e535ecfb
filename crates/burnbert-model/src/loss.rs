//! The losses of HF's heads, written out so that they match `torch.nn.functional` exactly:
//! Burn's `CrossEntropyLoss` takes `usize` pad tokens and cannot ignore HF's `-100`, and it has
//! no BCE-with-logits of the numerically stable form.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// The label HF's losses ignore.
pub const IGNORE_INDEX: i64 = -100;

/// Mean cross-entropy over the targets that are not `ignore_index`
/// (`F.cross_entropy(logits, targets, ignore_index=...)`). NaN when every target is ignored,
/// as in PyTorch.
///
/// # Shapes
/// - logits: `[n, classes]`
/// - targets: `[n]`
/// - output: `[1]`
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>, ignore_index: i64) -> Tensor<1> {
    let [n, _] = logits.dims();
    let ignored = targets.clone().equal_elem(ignore_index);
    let kept = ignored.clone().bool_not().float();
    let safe_targets = targets.mask_fill(ignored, 0).reshape([n, 1]);
    let nll = log_softmax(logits, 1)
        .gather(1, safe_targets)
        .reshape([n])
        .neg()
        * kept.clone();
    nll.sum() / kept.sum()
}

/// Mean binary cross-entropy with logits (`F.binary_cross_entropy_with_logits`), in its stable
/// form `max(x, 0) - x·y + log(1 + exp(-|x|))`.
///
/// # Shapes
/// - logits, targets: `[n, classes]`
/// - output: `[1]`
pub fn binary_cross_entropy_with_logits(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let loss = logits.clone().clamp_min(0.0) - logits.clone() * targets
        + logits.abs().neg().exp().add_scalar(1.0).log();
    loss.mean()
}

/// Mean squared error (`F.mse_loss`).
///
/// # Shapes
/// - predictions, targets: `[n, k]`
/// - output: `[1]`
pub fn mse(predictions: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    (predictions - targets).powf_scalar(2.0).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;

    #[test]
    fn cross_entropy_ignores_minus_100() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            [[1.0, 2.0, 0.5], [0.0, 0.0, 0.0], [3.0, -1.0, 0.0]],
            &device,
        );
        let targets = Tensor::<1, Int>::from_data([1, -100, 0], &device);
        // torch: F.cross_entropy(logits, targets) = mean(0.4640, 0.0659) over the two kept rows.
        let a = -(2.0f32 - (1.0f32.exp() + 2.0f32.exp() + 0.5f32.exp()).ln());
        let b = -(3.0f32 - (3.0f32.exp() + (-1.0f32).exp() + 1.0).ln());
        cross_entropy(logits, targets, IGNORE_INDEX)
            .into_data()
            .assert_approx_eq::<f32>(
                &TensorData::from([(a + b) / 2.0]),
                Tolerance::absolute(1e-6),
            );
    }

    #[test]
    fn bce_matches_the_definition() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data([[2.0, -1.0]], &device);
        let targets = Tensor::<2>::from_data([[1.0, 0.0]], &device);
        let s = |x: f32| 1.0 / (1.0 + (-x).exp());
        let expected = -((s(2.0)).ln() + (1.0 - s(-1.0)).ln()) / 2.0;
        binary_cross_entropy_with_logits(logits, targets)
            .into_data()
            .assert_approx_eq::<f32>(&TensorData::from([expected]), Tolerance::absolute(1e-6));
    }
}
