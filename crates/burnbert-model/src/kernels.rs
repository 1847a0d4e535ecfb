//! burnbert's own CPU kernels for two element-wise ops that Burn 0.22.1's `flex` backend runs
//! slowly: the exact GELU and dropout, each forward and backward. Profiled on all-MiniLM-L6-v2
//! (batch 32, sequence 128) on this project's 2-core benchmark machine:
//!
//! - GELU: flex's `gelu` and `gelu_backward` (`burn-flex` `ops/activation.rs`) call `libm::erff`
//!   once per element on one thread: scalar, branchy code, 22 % of an inference pass's CPU time
//!   (and about twice that of its wall time, the other core idle).
//! - Softmax: Burn's `softmax` is `exp(x - max) / sum` in five element-wise and reduction ops,
//!   each recorded for the backward pass, most of them on one thread.
//! - Dropout: Burn's `Dropout` (`burn-nn` `modules/dropout.rs`) draws an f32 Bernoulli tensor
//!   (one ChaCha draw per element, on one thread), multiplies by it and by `1/(1-p)`, and keeps
//!   the mask for the backward pass: 15 % of a training step's CPU time.
//!
//! Here each runs over all cores in chunks, as straight-line code that the compiler vectorises
//! (AVX-512 or AVX2 chosen at run time; the versions do the same operations in the same order,
//! so every CPU gets the same bits).
//!
//! - [`gelu`]: an `erf` and an `exp` written as polynomials; within 1e-6 of Burn's GELU.
//! - [`softmax`]: one pass per row forward, one backward (`dy·y - y·Σ dy·y`), keeping `y`.
//! - [`dropout`]: the mask of element `i` is a hash of `i` and a key drawn from the device's
//!   generator, so it depends only on that generator's state, as Burn's does (a resumed run
//!   draws the same masks), and the backward pass recomputes it instead of keeping it.
//!
//! This is the only module of the model that names a backend: its functions hand every tensor
//! that is not an f32 tensor on flex back to their caller, which then uses Burn's own op.

// The kernels return `Err(x)` to hand a tensor they do not take back to the caller, which then
// uses Burn's op: the large `Err` is that tensor, moved, not an error value.
#![allow(clippy::result_large_err)]

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::{Bytes, DType, Distribution};
use rayon::prelude::*;
use std::f32::consts::{FRAC_1_SQRT_2, LOG2_E};
use std::mem::MaybeUninit;

/// Defines a slice kernel once and compiles it three times: for AVX-512, for AVX2 + FMA and for
/// the baseline, picked at run time. No `mul_add`: the versions do the same roundings.
macro_rules! kernel {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) { body($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) { body($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has AVX2 and FMA.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

/// The exact GELU, `x·Φ(x)`, of an f32 tensor on flex (with or without autodiff): `Ok` with the
/// result, or `Err(x)` unchanged for any other tensor.
pub(crate) fn gelu<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    on_flex(x, gelu_forward, |x| {
        tracked(x, gelu_forward, Keep::Input, gelu_backward)
    })
}

/// Softmax over the last dimension of an f32 tensor on flex (with or without autodiff): `Ok`
/// with the result, or `Err(x)` unchanged for any other tensor.
pub(crate) fn softmax<const D: usize>(x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    on_flex(x, softmax_forward, |x| {
        tracked(x, softmax_forward, Keep::Output, softmax_backward)
    })
}

/// `plain(x)` for an f32 tensor on flex, `autodiff(x)` for one on flex with autodiff; any other
/// tensor is handed back.
fn on_flex<const D: usize>(
    x: Tensor<D>,
    plain: impl FnOnce(FlexTensor) -> FlexTensor,
    autodiff: impl FnOnce(FloatTensor<Autodiff<Flex>>) -> FloatTensor<Autodiff<Flex>>,
) -> Result<Tensor<D>, Tensor<D>> {
    if x.dtype() != DType::F32 {
        return Err(x);
    }
    if x.device().is_autodiff() {
        let Ok(primitive) = x.clone().try_into_primitive::<Autodiff<Flex>>() else {
            return Err(x);
        };
        drop(x);
        Ok(Tensor::from_primitive::<Autodiff<Flex>>(autodiff(
            primitive,
        )))
    } else {
        let Ok(primitive) = x.clone().try_into_primitive::<Flex>() else {
            return Err(x);
        };
        // The clone is the only owner now: the kernel may write in place.
        drop(x);
        Ok(Tensor::from_primitive::<Flex>(plain(primitive)))
    }
}

/// Which tensor a [`tracked`] node keeps for its backward pass.
enum Keep {
    Input,
    Output,
}

/// `forward(x)` as an autodiff node whose backward pass is `backward(kept, grad)`, `kept` being
/// the input or the output. Burn's own nodes for these ops keep the same tensor.
fn tracked(
    x: FloatTensor<Autodiff<Flex>>,
    forward: fn(FlexTensor) -> FlexTensor,
    keep: Keep,
    backward: fn(FlexTensor, FlexTensor) -> FlexTensor,
) -> FloatTensor<Autodiff<Flex>> {
    #[derive(Debug)]
    struct Node(fn(FlexTensor, FlexTensor) -> FlexTensor);

    impl Backward<Flex, 1> for Node {
        type State = FlexTensor;

        fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let kept = ops.state;
            unary::<Flex, _>(ops.parents, ops.node, grads, |grad| (self.0)(kept, grad));
        }
    }

    let (primitive, node) = x.into_parts();
    match Node(backward)
        .prepare::<NoCheckpointing>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => match keep {
            Keep::Input => {
                let output = forward(primitive.clone());
                prep.finish(primitive, output)
            }
            Keep::Output => {
                let output = forward(primitive);
                prep.finish(output.clone(), output)
            }
        },
        OpsKind::UnTracked(prep) => prep.finish(forward(primitive)),
    }
}

/// Elements per parallel task: large enough to amortise scheduling, small enough to balance.
const CHUNK: usize = 1 << 14;

/// `x` mapped in parallel tasks of `task` (≥ 1) elements: `in_place(start, chunk)` on `x`'s own
/// storage when `x` is its only owner and it is contiguous, else `into(start, chunk, out)` into
/// a new tensor; `start` is the index of the chunk's first element.
fn map(
    mut x: FlexTensor,
    task: usize,
    in_place: impl Fn(usize, &mut [f32]) + Sync,
    into: impl Fn(usize, &[f32], &mut [MaybeUninit<f32>]) + Sync,
) -> FlexTensor {
    if let Some(storage) = own_storage(&mut x) {
        storage
            .par_chunks_mut(task)
            .enumerate()
            .for_each(|(c, xs)| in_place(c * task, xs));
        return x;
    }
    let x = contiguous(x);
    let xs = x.as_slice::<f32>().expect("contiguous");
    new_like(&x, |out| {
        xs.par_chunks(task)
            .zip(out.par_chunks_mut(task))
            .enumerate()
            .for_each(|(c, (xs, out))| into(c * task, xs, out))
    })
}

/// `grad` mapped with the tensor `kept` alongside (a backward pass), as [`map`] does.
fn map_grad(
    kept: FlexTensor,
    mut grad: FlexTensor,
    task: usize,
    in_place: impl Fn(&[f32], &mut [f32]) + Sync,
    into: impl Fn(&[f32], &[f32], &mut [MaybeUninit<f32>]) + Sync,
) -> FlexTensor {
    assert_eq!(
        kept.layout().shape(),
        grad.layout().shape(),
        "backward: shapes"
    );
    let kept = contiguous(kept);
    let ks = kept.as_slice::<f32>().expect("contiguous");
    if let Some(storage) = own_storage(&mut grad) {
        ks.par_chunks(task)
            .zip(storage.par_chunks_mut(task))
            .for_each(|(ks, gs)| in_place(ks, gs));
        return grad;
    }
    let grad = contiguous(grad);
    let gs = grad.as_slice::<f32>().expect("contiguous");
    new_like(&kept, |out| {
        ks.par_chunks(task)
            .zip(gs.par_chunks(task))
            .zip(out.par_chunks_mut(task))
            .for_each(|((ks, gs), out)| into(ks, gs, out))
    })
}

/// `x`'s elements, to write in place: when `x` is the only owner of its storage and its layout
/// is row-major from the storage's start.
fn own_storage(x: &mut FlexTensor) -> Option<&mut [f32]> {
    let n = x.layout().num_elements();
    if x.layout().contiguous_offsets() != Some((0, n)) {
        return None;
    }
    x.try_storage_mut::<f32>().map(|storage| &mut storage[..n])
}

/// `x` if its elements are row-major somewhere in its storage (read through `as_slice`, offset
/// included), else a row-major copy. Burn's `to_contiguous` also copies offset views.
fn contiguous(x: FlexTensor) -> FlexTensor {
    if x.layout().contiguous_offsets().is_some() {
        x
    } else {
        x.to_contiguous()
    }
}

/// A new contiguous f32 tensor of `like`'s shape, every element written by `fill`.
fn new_like(like: &FlexTensor, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> FlexTensor {
    let shape = like.layout().shape().clone();
    let n = shape.num_elements();
    let mut out = Vec::<f32>::with_capacity(n);
    fill(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: `fill` wrote all `n` elements (each kernel writes every element it is given).
    unsafe { out.set_len(n) };
    FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(shape),
        DType::F32,
    )
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
fn row_sum(xs: impl Fn(usize) -> f32, len: usize) -> f32 {
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
    fn softmax_row_in_place(xs: &mut [f32]) {
        let max = row_max(xs);
        for x in xs.iter_mut() {
            *x = exp(*x - max);
        }
        let inv = 1.0 / row_sum(|i| xs[i], xs.len());
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
    fn softmax_grad_row_in_place(ys: &[f32], gs: &mut [f32]) {
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

/// Inverted dropout with drop probability `prob` for an f32 tensor on flex: `Ok` with the
/// result (with autodiff, each element zeroed with probability `prob`, else scaled by
/// `1/(1-prob)`; without, `x` itself, as Burn's), or `Err(x)` unchanged for any other tensor.
pub(crate) fn dropout<const D: usize>(prob: f64, x: Tensor<D>) -> Result<Tensor<D>, Tensor<D>> {
    let device = x.device();
    on_flex(x, |x| x, |x| dropout_tracked(x, Mask::draw(prob, &device)))
}

/// Which elements dropout keeps: element `i` is kept when 24 bits of a hash of `(key, i)` fall
/// under `threshold = round((1-p)·2²⁴)`, so with probability `1-p` to within 3e-8.
#[derive(Debug, Clone, Copy)]
struct Mask {
    key: [u32; 2],
    threshold: u32,
    scale: f32,
}

impl Mask {
    /// A mask with a key of 62 bits from the device's generator: the state Burn's own dropout
    /// would draw from.
    fn draw(prob: f64, device: &Device) -> Self {
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

kernel! {
    /// `x ← x·factor(start + j)`.
    fn mask_in_place(xs: &mut [f32], start: u32, mask: Mask) {
        for (j, x) in xs.iter_mut().enumerate() {
            *x *= mask.factor(start.wrapping_add(j as u32));
        }
    }
}

kernel! {
    /// `out ← x·factor(start + j)`.
    fn mask_into(xs: &[f32], out: &mut [MaybeUninit<f32>], start: u32, mask: Mask) {
        for (j, (o, &x)) in out.iter_mut().zip(xs).enumerate() {
            o.write(x * mask.factor(start.wrapping_add(j as u32)));
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

/// `erf(x)`: the rational approximation Eigen and XLA use on [-4, 4] (odd numerator of degree
/// 13, even denominator of degree 8; |error| ≤ 4.2e-7), and ±1 beyond (`erf(4) = 1 - 1.5e-8`).
/// NaN stays NaN.
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08;
    p = x2 * p + -2.10102402082508e-06;
    p = x2 * p + -5.69250639462346e-05;
    p = x2 * p + -7.34990630326855e-04;
    p = x2 * p + -2.95459980854025e-03;
    p = x2 * p + -1.60960333262415e-02;
    let mut q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04;
    q = x2 * q + -1.68282697438203e-03;
    q = x2 * q + -7.37332916720468e-03;
    q = x2 * q + -1.42647390514189e-02;
    x * p / q
}

/// `exp(x)` for x ≤ 88 (Cephes' `expf`: `2ⁿ·exp(r)` with `n = round(x/ln 2)`, a degree-7
/// polynomial for `exp(r)`, relative error ≤ 2e-7); 0 at and below -87 (`exp(-87) = 1.6e-38`),
/// so that masked attention scores get a weight of exactly 0. NaN stays NaN.
#[inline(always)]
#[allow(clippy::excessive_precision)]
fn exp(x: f32) -> f32 {
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer, in any vector width.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons written so that NaN falls through to the result (`min`/`max` would drop it).
    let x = if x > 88.0 { 88.0 } else { x };
    let c = if x < -87.0 { -87.0 } else { x };
    let n = (c * LOG2_E + ROUND) - ROUND;
    // ln 2 in two parts, so that `x - n·ln 2` is exact to f32 precision.
    let r = c - n * 0.693359375 - n * -2.12194440e-4;
    let mut p = 1.9875691500e-4 * r + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 5.0000001201e-1;
    let y = p * r * r + r + 1.0;
    let e = y * f32::from_bits(((n as i32 + 127) as u32) << 23);
    if x <= -87.0 { 0.0 } else { e }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tolerance, activation};

    /// Points on [-8, 8] every 1/1024 (and the ends): 16,385 of them.
    fn grid() -> Vec<f32> {
        (-8192..=8192).map(|i| i as f32 / 1024.0).collect()
    }

    #[test]
    fn erf_is_within_4_2e_7_of_libm() {
        let worst = grid()
            .into_iter()
            .map(|x| (erf(x) as f64 - libm::erf(x as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 4.2e-7, "max |erf - libm::erf| = {worst:e}");
        assert!(erf(f32::NAN).is_nan());
        assert_eq!((erf(-9.0), erf(9.0)), (-1.0, 1.0));
    }

    #[test]
    fn exp_is_within_2e_7_relative_of_libm() {
        let worst = (-86_999..=88_000)
            .map(|i| i as f32 / 1000.0)
            .map(|x| ((exp(x) as f64 - libm::exp(x as f64)) / libm::exp(x as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst <= 2e-7, "max relative error {worst:e}");
        assert_eq!(
            (exp(-87.0), exp(f32::MIN), exp(f32::NEG_INFINITY)),
            (0.0, 0.0, 0.0)
        );
        assert!(exp(f32::NAN).is_nan());
    }

    type Op = fn(Tensor<3>) -> Tensor<3>;
    type Kernel = fn(Tensor<3>) -> Result<Tensor<3>, Tensor<3>>;

    /// `ours` against `burns` on `values` (of shape `dims`), on flex with and without autodiff:
    /// the outputs within 1e-6, and with autodiff the gradients of a weighted sum within 2e-6.
    /// Returns our output on autodiff.
    fn assert_is_burns(ours: Kernel, burns: Op, values: &[f32], dims: [usize; 3]) -> Vec<f32> {
        let mut output = vec![];
        for device in [Device::flex(), Device::flex().autodiff()] {
            let leaf = || {
                let x = Tensor::<3>::from_data(TensorData::new(values.to_vec(), dims), &device);
                if device.is_autodiff() {
                    x.require_grad()
                } else {
                    x
                }
            };
            let (reference, x) = (leaf(), leaf());
            let expected = burns(reference.clone());
            let actual = ours(x.clone()).expect("f32 on flex takes the kernel");
            let tolerance = Tolerance::absolute(1e-6);
            let data = actual.clone().into_data();
            data.assert_approx_eq::<f32>(&expected.clone().into_data(), tolerance);
            output = data.try_to_vec().unwrap();
            if device.is_autodiff() {
                let n = values.len();
                let weights: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
                let weights = Tensor::<3>::from_data(TensorData::new(weights, dims), &device);
                let expected = (expected * weights.clone()).sum().backward();
                let actual = (actual * weights).sum().backward();
                let expected = reference.grad(&expected).unwrap().into_data();
                let actual = x.grad(&actual).unwrap().into_data();
                actual.assert_approx_eq::<f32>(&expected, Tolerance::absolute(2e-6));
            }
        }
        output
    }

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
    fn other_dtypes_are_handed_back() {
        let device = Device::flex();
        let x = Tensor::<1>::from_data([1.0f64, -1.0], (&device, DType::F64));
        assert!(gelu(x).is_err());
        // Without autodiff, dropout is the identity, as Burn's.
        let x = Tensor::<1>::from_data([1.0f32, -1.0], &device);
        let y = dropout(0.5, x.clone()).expect("f32 on flex");
        y.into_data().assert_eq(&x.into_data(), true);
    }
}
