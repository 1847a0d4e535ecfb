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

/// The settings of `torch.nn.CrossEntropyLoss` beyond `ignore_index`: a weight per class
/// (`weight`) and label smoothing (`label_smoothing`, which HF's `label_smoothing_factor` sets).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrossEntropyOptions {
    /// A weight per class, in class-id order; `None`: all 1.
    pub weight: Option<Vec<f32>>,
    /// ε in `[0, 1)`: the target is `1 - ε` on the label and `ε / classes` spread over all.
    pub label_smoothing: f32,
}

impl CrossEntropyOptions {
    /// Whether these are the plain loss's settings (no weights, no smoothing).
    pub fn is_plain(&self) -> bool {
        self.weight.is_none() && self.label_smoothing == 0.0
    }
}

/// Cross-entropy as `torch.nn.CrossEntropyLoss(weight, ignore_index, label_smoothing)` computes
/// it with the mean reduction: each kept target's loss weighted by its class's weight and the
/// sum divided by the sum of those weights; with smoothing `ε`,
/// `(1 - ε) · nll + ε / classes · Σ_c weight_c · (-log p_c)` (the second term divided by the
/// same sum). Without weights and smoothing it is [`cross_entropy`]. With `ε` and no weights it
/// is also HF's `LabelSmoother` (`trainer_pt_utils.py`).
///
/// # Shapes
/// - logits: `[n, classes]`
/// - targets: `[n]`
/// - output: `[1]`
pub fn cross_entropy_with(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    ignore_index: i64,
    options: &CrossEntropyOptions,
) -> Tensor<1> {
    if options.is_plain() {
        return cross_entropy(logits, targets, ignore_index);
    }
    let [n, classes] = logits.dims();
    let device = logits.device();
    let ignored = targets.clone().equal_elem(ignore_index);
    let kept = ignored.clone().bool_not().float();
    let safe_targets = targets.mask_fill(ignored, 0);
    let log_probs = log_softmax(logits, 1);
    let nll = log_probs
        .clone()
        .gather(1, safe_targets.clone().reshape([n, 1]))
        .reshape([n])
        .neg();
    let class_weight = options
        .weight
        .as_ref()
        .map(|w| Tensor::<1>::from_data(TensorData::new(w.clone(), [w.len()]), &device));
    let row_weight = match &class_weight {
        Some(w) => w.clone().gather(0, safe_targets) * kept.clone(),
        None => kept.clone(),
    };
    let total = row_weight.clone().sum();
    let nll_loss = (nll * row_weight).sum() / total.clone();
    let epsilon = options.label_smoothing;
    if epsilon == 0.0 {
        return nll_loss;
    }
    let weighted = match class_weight {
        Some(w) => log_probs * w.reshape([1, classes]),
        None => log_probs,
    };
    let smooth = weighted.sum_dim(1).reshape([n]).neg() * kept;
    let smooth_loss = smooth.sum() / total;
    nll_loss * (1.0 - epsilon) + smooth_loss * (epsilon / classes as f32)
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
    fn weighted_and_smoothed_cross_entropy_is_torch_s() {
        // torch 2.9.0: F.cross_entropy(logits, targets, weight=w, ignore_index=-100,
        // label_smoothing=s) for these inputs, printed by tests/reference/cross_entropy.py (the first
        // is also HF's LabelSmoother(0.1)).
        let device = Device::flex();
        let logits = || {
            Tensor::<2>::from_data(
                [
                    [1.0, 2.0, 0.5],
                    [0.0, 0.0, 0.0],
                    [3.0, -1.0, 0.0],
                    [0.2, 0.1, -0.4],
                ],
                &device,
            )
        };
        let targets = || Tensor::<1, Int>::from_data([1, -100, 0, 2], &device);
        let cases = [
            (None, 0.1, 0.76928_f32),
            (Some(vec![0.5, 2.0, 1.0]), 0.0, 0.70264),
            (Some(vec![0.5, 2.0, 1.0]), 0.2, 0.92016),
        ];
        for (weight, label_smoothing, expected) in cases {
            let options = CrossEntropyOptions {
                weight,
                label_smoothing,
            };
            cross_entropy_with(logits(), targets(), IGNORE_INDEX, &options)
                .into_data()
                .assert_approx_eq::<f32>(&TensorData::from([expected]), Tolerance::absolute(1e-5));
        }
        // The plain settings are the plain loss.
        let plain = cross_entropy(logits(), targets(), IGNORE_INDEX).into_scalar::<f32>();
        let same = cross_entropy_with(logits(), targets(), IGNORE_INDEX, &Default::default());
        assert_eq!(same.into_scalar::<f32>(), plain);
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
