//! The exact GELU, forward and backward.

use burn::backend::flex::FlexTensor;
use burn::prelude::*;
use std::f32::consts::FRAC_1_SQRT_2;
use std::mem::MaybeUninit;

use super::math::{erf, exp};
use super::{CHUNK, Keep, kernel, map, map_grad, on_flex, tracked};

/// The exact GELU, `x·Φ(x)`, of an f32 tensor on flex (with or without autodiff): `Ok` with the
/// result, or `Err(x)` unchanged for any other tensor.
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    on_flex(x, gelu_forward, |x| {
        tracked(x, gelu_forward, Keep::Input, gelu_backward)
    })
}

/// `x·Φ(x)` element-wise.
fn gelu_forward(x: FlexTensor) -> FlexTensor {
    map(
        x,
        CHUNK,
        |_, xs| gelu_in_place(xs),
        |_, xs, out| gelu_into(xs, out),
    )
}

/// `grad·(Φ(x) + x·φ(x))`, the gradient of [`gelu_forward`] at `x`.
fn gelu_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
    map_grad(x, grad, CHUNK, gelu_grad_in_place, gelu_grad_into)
}

kernel! {
    /// `x ← gelu(x)`.
    fn gelu_in_place(xs: &mut [f32]) {
        for x in xs {
            *x = gelu_f32(*x);
        }
    }
}

kernel! {
    /// `out ← gelu(x)`.
    fn gelu_into(xs: &[f32], out: &mut [MaybeUninit<f32>]) {
        for (o, &x) in out.iter_mut().zip(xs) {
            o.write(gelu_f32(x));
        }
    }
}

kernel! {
    /// `g ← g·gelu'(x)`.
    fn gelu_grad_in_place(xs: &[f32], gs: &mut [f32]) {
        for (g, &x) in gs.iter_mut().zip(xs) {
            *g *= gelu_grad_f32(x);
        }
    }
}

kernel! {
    /// `out ← g·gelu'(x)`.
    fn gelu_grad_into(xs: &[f32], gs: &[f32], out: &mut [MaybeUninit<f32>]) {
        for ((o, &x), &g) in out.iter_mut().zip(xs).zip(gs) {
            o.write(g * gelu_grad_f32(x));
        }
    }
}

/// `x·Φ(x) = x/2·(1 + erf(x/√2))`.
#[inline(always)]
fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// `Φ(x) + x·φ(x)`, with `φ(x) = exp(-x²/2)/√(2π)`.
#[inline(always)]
fn gelu_grad_f32(x: f32) -> f32 {
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    0.5 * (1.0 + erf(x * FRAC_1_SQRT_2)) + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::flex::tests::{assert_is_burns, grid};
    use burn::tensor::{DType, Tolerance, activation};

    #[test]
    fn gelu_is_burns_on_flex_forward_and_backward() {
        let xs = grid();
        let n = xs.len();
        assert_is_burns(gelu, activation::gelu, &xs, [1, 1, n]);
    }

    #[test]
    fn strided_and_shared_inputs_are_not_written() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data([[-1.0f32, 0.5, 2.0], [3.0, -0.25, 0.0]], &device);
        let transposed = x.clone().transpose();
        let expected = activation::gelu(transposed.clone()).into_data();
        let actual = gelu(transposed).unwrap().into_data();
        actual.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-6));
        // A contiguous input whose storage is shared is not written in place either.
        let expected = activation::gelu(x.clone()).into_data();
        let actual = gelu(x.clone()).unwrap().into_data();
        actual.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-6));
        let input = [[-1.0f32, 0.5, 2.0], [3.0, -0.25, 0.0]];
        x.into_data().assert_eq(&TensorData::from(input), true);
    }

    #[test]
    fn other_dtypes_are_handed_back() {
        let device = Device::flex();
        let x = Tensor::<1>::from_data([1.0f64, -1.0], (&device, DType::F64));
        assert!(gelu(x).is_err());
    }
}
