//! Softmax over the last dimension, forward and backward (the attention probabilities).

use burn::backend::flex::FlexTensor;
use burn::prelude::*;
use std::mem::MaybeUninit;

use super::math::exp;
use super::{CHUNK, Keep, kernel, map, map_grad, on_flex, tracked};

/// Softmax over the last dimension of an f32 tensor on flex (with or without autodiff): `Ok`
/// with the result, or `Err(x)` unchanged for any other tensor.
pub(crate) fn softmax<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    on_flex(x, softmax_forward, |x| {
        tracked(x, softmax_forward, Keep::Output, softmax_backward)
    })
}

/// The length of the last dimension, and a task length of whole rows of about [`CHUNK`].
fn rows(x: &FlexTensor) -> (usize, usize) {
    let shape = x.layout().shape();
    let row = shape[shape.num_dims() - 1].max(1);
    (row, (CHUNK / row).max(1) * row)
}

/// Softmax of each row of the last dimension.
fn softmax_forward(x: FlexTensor) -> FlexTensor {
    let (row, task) = rows(&x);
    map(
        x,
        task,
        |_, xs| xs.chunks_exact_mut(row).for_each(softmax_row_in_place),
        |_, xs, out| {
            for (x, out) in xs.chunks_exact(row).zip(out.chunks_exact_mut(row)) {
                softmax_row_into(x, out);
            }
        },
    )
}

/// The gradient of softmax with output `y`: `grad·y - y·Σ(grad·y)` per row.
fn softmax_backward(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
    let (row, task) = rows(&y);
    map_grad(
        y,
        grad,
        task,
        |ys, gs| {
            for (y, g) in ys.chunks_exact(row).zip(gs.chunks_exact_mut(row)) {
                softmax_grad_row_in_place(y, g);
            }
        },
        |ys, gs, out| {
            let rows = ys.chunks_exact(row).zip(gs.chunks_exact(row));
            for ((y, g), out) in rows.zip(out.chunks_exact_mut(row)) {
                softmax_grad_row_into(y, g, out);
            }
        },
    )
}

/// Lanes of the row reductions: 16 running maxima or sums, whatever the vector width, so that
/// every CPU adds in the same order.
const LANES: usize = 16;

#[inline(always)]
fn row_max(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = if x > *m { x } else { *m };
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    lanes.iter().fold(tail, |m, &x| m.max(x))
}

#[inline(always)]
pub(super) fn row_sum(xs: impl Fn(usize) -> f32, len: usize) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let full = len / LANES * LANES;
    for base in (0..full).step_by(LANES) {
        for (j, s) in lanes.iter_mut().enumerate() {
            *s += xs(base + j);
        }
    }
    let tail: f32 = (full..len).map(&xs).sum();
    lanes.iter().sum::<f32>() + tail
}

kernel! {
    /// `x ← softmax(x)` over one row.
    pub(super) fn softmax_row_in_place(xs: &mut [f32]) {
        let max = row_max(xs);
        // The exponentials and their sum in one pass, summed as `row_sum` sums.
        let mut lanes = [0.0f32; LANES];
        let mut chunks = xs.chunks_exact_mut(LANES);
        for chunk in &mut chunks {
            for (s, x) in lanes.iter_mut().zip(chunk) {
                *x = exp(*x - max);
                *s += *x;
            }
        }
        let mut tail = 0.0f32;
        for x in chunks.into_remainder() {
            *x = exp(*x - max);
            tail += *x;
        }
        let inv = 1.0 / (lanes.iter().sum::<f32>() + tail);
        for x in xs.iter_mut() {
            *x *= inv;
        }
    }
}

kernel! {
    /// `out ← softmax(x)` over one row.
    fn softmax_row_into(xs: &[f32], out: &mut [MaybeUninit<f32>]) {
        let max = row_max(xs);
        for (o, &x) in out.iter_mut().zip(xs) {
            o.write(exp(x - max));
        }
        // SAFETY: every element was written just above.
        let out = unsafe { &mut *(out as *mut [MaybeUninit<f32>] as *mut [f32]) };
        let inv = 1.0 / row_sum(|i| out[i], out.len());
        for o in out.iter_mut() {
            *o *= inv;
        }
    }
}

kernel! {
    /// `g ← g·y - y·Σ(g·y)` over one row.
    pub(super) fn softmax_grad_row_in_place(ys: &[f32], gs: &mut [f32]) {
        let dot = row_sum(|i| gs[i] * ys[i], ys.len());
        for (g, &y) in gs.iter_mut().zip(ys) {
            *g = *g * y - y * dot;
        }
    }
}

kernel! {
    /// `out ← g·y - y·Σ(g·y)` over one row.
    fn softmax_grad_row_into(ys: &[f32], gs: &[f32], out: &mut [MaybeUninit<f32>]) {
        let dot = row_sum(|i| gs[i] * ys[i], ys.len());
        for ((o, &y), &g) in out.iter_mut().zip(ys).zip(gs) {
            o.write(g * y - y * dot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::flex::tests::assert_is_burns;
    use burn::tensor::activation;

    #[test]
    fn in_place_and_into_give_the_same_bits() {
        // Every length up to 40 (tails of the 16 lanes), scores up to ±20, some masked.
        for len in 1..=40 {
            let mut row: Vec<f32> = (0..len)
                .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 25.0)
                .collect();
            row.iter_mut().step_by(7).for_each(|x| *x = f32::MIN);
            let mut out = vec![MaybeUninit::new(f32::NAN); len];
            softmax_row_into(&row, &mut out);
            softmax_row_in_place(&mut row);
            // SAFETY: every element was written.
            let out: Vec<f32> = out.iter().map(|x| unsafe { x.assume_init() }).collect();
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&row), bits(&out), "length {len}");
            let sum: f32 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5, "length {len}: sum {sum}");
        }
    }

    #[test]
    fn softmax_is_burns_forward_and_backward() {
        // Rows of 37 (not a multiple of the 16 lanes) and of 128; scores up to ±20, one key
        // masked as the attention masks it.
        for dims in [[3, 5, 37], [2, 4, 128]] {
            let n = dims.iter().product::<usize>();
            let mut values: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 25.0)
                .collect();
            values[dims[2] + 3] = f32::MIN;
            let probs = assert_is_burns(softmax, |x| activation::softmax(x, 2), &values, dims);
            assert_eq!(
                probs[dims[2] + 3],
                0.0,
                "a masked key gets a weight of exactly 0"
            );
        }
    }
}
