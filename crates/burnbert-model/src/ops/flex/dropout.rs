//! Inverted dropout whose mask is a hash of each element's index and a drawn key: recomputed in
//! the backward pass, never stored.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::Distribution;
use std::mem::MaybeUninit;

use super::{CHUNK, kernel, map, on_flex};

/// Inverted dropout with drop probability `prob` for an f32 tensor on flex of at most 2³²
/// elements: `Ok` with the result (with autodiff, each element zeroed with probability `prob`, else scaled by
/// `1/(1-prob)`; without, `x` itself, as Burn's), or `Err(x)` unchanged for any other tensor.
pub(crate) fn dropout<const D: usize>(prob: f64, x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    if u32::try_from(x.shape().num_elements()).is_err() {
        // The mask indexes elements with a u32: Burn's dropout takes larger tensors.
        return Err(x);
    }
    let device = x.device();
    on_flex(x, |x| x, |x| dropout_tracked(x, Mask::draw(prob, &device)))
}

/// Which elements dropout keeps: element `i` is kept when 24 bits of a hash of `(key, i)` fall
/// under `threshold = round((1-p)·2²⁴)`, so with probability `1-p` to within 3e-8.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mask {
    key: [u32; 2],
    threshold: u32,
    scale: f32,
}

impl Mask {
    /// A mask with a key of 62 bits from the device's generator: the state Burn's own dropout
    /// would draw from.
    pub(super) fn draw(prob: f64, device: &Device) -> Self {
        let bound = Distribution::Uniform(0.0, i32::MAX as f64);
        let key: Vec<i64> = Tensor::<1, Int>::random([2], bound, device)
            .into_data()
            .iter::<i64>()
            .collect();
        Self::new(prob, [key[0] as u32, key[1] as u32])
    }

    fn new(prob: f64, key: [u32; 2]) -> Self {
        let keep = 1.0 - prob;
        Self {
            key,
            threshold: (keep * (1u32 << 24) as f64).round() as u32,
            scale: (1.0 / keep) as f32,
        }
    }

    /// `scale` where element `i` is kept, else 0.
    #[inline(always)]
    fn factor(self, i: u32) -> f32 {
        // Two rounds of MurmurHash3's finaliser: each a bijection of u32, so no two indices
        // below 2³² share a hash.
        let h = fmix32((i.wrapping_mul(0x9E37_79B9)) ^ self.key[0]);
        let h = fmix32(h ^ self.key[1]);
        if (h >> 8) < self.threshold {
            self.scale
        } else {
            0.0
        }
    }
}

#[inline(always)]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// Dropout as an autodiff node that keeps only its [`Mask`]: the backward pass multiplies the
/// gradient by the same factors.
fn dropout_tracked(x: FloatTensor<Autodiff<Flex>>, mask: Mask) -> FloatTensor<Autodiff<Flex>> {
    #[derive(Debug)]
    struct DropoutBackward;

    impl Backward<Flex, 1> for DropoutBackward {
        type State = Mask;

        fn backward(self, ops: Ops<Mask, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let mask = ops.state;
            unary::<Flex, _>(ops.parents, ops.node, grads, |grad| apply_mask(grad, mask));
        }
    }

    let (primitive, node) = x.into_parts();
    match DropoutBackward
        .prepare::<NoCheckpointing>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(mask, apply_mask(primitive, mask)),
        OpsKind::UnTracked(prep) => prep.finish(apply_mask(primitive, mask)),
    }
}

/// `x·factor(i)` element-wise, `i` the row-major index.
fn apply_mask(x: FlexTensor, mask: Mask) -> FlexTensor {
    let n = x.layout().num_elements();
    assert!(u32::try_from(n).is_ok(), "dropout: more than 2^32 elements");
    map(
        x,
        CHUNK,
        |start, xs| mask_in_place(xs, start as u32, mask),
        |start, xs, out| mask_into(xs, out, start as u32, mask),
    )
}

kernel! {
    /// `x ← x·factor(start + j)`.
    pub(super) fn mask_in_place(xs: &mut [f32], start: u32, mask: Mask) {
        for (j, x) in xs.iter_mut().enumerate() {
            *x *= mask.factor(start.wrapping_add(j as u32));
        }
    }
}

kernel! {
    /// `out ← x·factor(start + j)`.
    pub(super) fn mask_into(xs: &[f32], out: &mut [MaybeUninit<f32>], start: u32, mask: Mask) {
        for (j, (o, &x)) in out.iter_mut().zip(xs).enumerate() {
            o.write(x * mask.factor(start.wrapping_add(j as u32)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_drops_p_and_scales_the_rest_forward_and_backward() {
        let n = 1 << 20;
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::ones([n], &device).require_grad();
        let y = dropout(0.1, x.clone()).expect("f32 on flex with autodiff takes the kernel");
        let grads = y.clone().sum().backward();
        let y: Vec<f32> = y.into_data().try_to_vec().unwrap();
        let scale = (1.0 / 0.9f64) as f32;
        assert!(y.iter().all(|&v| v == 0.0 || v == scale));
        // Kept: 0.9·n ± 5σ, σ = √(n·0.9·0.1).
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f64;
        let sigma = (n as f64 * 0.09).sqrt();
        assert!(
            (kept - 0.9 * n as f64).abs() < 5.0 * sigma,
            "kept {kept} of {n}"
        );
        // Neighbours (also across the 16,384-element chunks) are dropped independently.
        let both = y.windows(2).filter(|w| w[0] == 0.0 && w[1] == 0.0).count() as f64;
        let expected = 0.01 * (n - 1) as f64;
        assert!(
            (both - expected).abs() < 5.0 * expected.sqrt(),
            "{both} pairs dropped"
        );
        // d(sum y)/dx is the same factor: the backward pass recomputes the same mask.
        let grad: Vec<f32> = x.grad(&grads).unwrap().into_data().try_to_vec().unwrap();
        assert_eq!(grad, y);
    }

    #[test]
    fn each_call_draws_a_new_mask() {
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::ones([4096], &device);
        let first = dropout(0.5, x.clone()).unwrap().into_data();
        let second = dropout(0.5, x).unwrap().into_data();
        assert_ne!(first, second);
    }

    #[test]
    fn a_mask_is_a_function_of_its_key() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(
            TensorData::new((0..6000).map(|i| i as f32).collect(), [60, 100]),
            &device,
        );
        let run = |key: [u32; 2], x: Tensor<2>| {
            let x = x.try_into_primitive::<Flex>().unwrap();
            Tensor::<2>::from_primitive::<Flex>(apply_mask(x, Mask::new(0.5, key))).into_data()
        };
        // In place (unique storage) and out of place (shared storage) agree.
        let first = run([1, 2], x.clone());
        assert_eq!(first, run([1, 2], x.clone() + 0.0));
        assert_ne!(first, run([1, 3], x.clone()));
        assert_ne!(first, run([2, 2], x.clone()));
        // A transposed view is masked in its row-major order.
        let transposed = run([1, 2], x.clone().transpose());
        let reference = run(
            [1, 2],
            Tensor::from_data(x.transpose().into_data(), &device),
        );
        assert_eq!(transposed, reference);
    }

    #[test]
    fn without_autodiff_it_is_the_identity() {
        // As Burn's.
        let device = Device::flex();
        let x = Tensor::<1>::from_data([1.0f32, -1.0], &device);
        let y = dropout(0.5, x.clone()).expect("f32 on flex");
        y.into_data().assert_eq(&x.into_data(), true);
    }
}
