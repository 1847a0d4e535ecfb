//! burnbert's own CPU kernels for ops that Burn 0.22.1's `flex` backend runs slowly: the exact
//! GELU, softmax and dropout, each forward and backward, and attention for inference. Profiled
//! on all-MiniLM-L6-v2 (batch 32, sequence 128) on this project's 2-core benchmark machines:
//!
//! - GELU: flex's `gelu` and `gelu_backward` (`burn-flex` `ops/activation.rs`) call `libm::erff`
//!   once per element on one thread: scalar, branchy code, 22 % of an inference pass's CPU time
//!   (and about twice that of its wall time, the other core idle).
//! - Softmax: Burn's `softmax` is `exp(x - max) / sum` in five element-wise and reduction ops,
//!   each recorded for the backward pass, most of them on one thread.
//! - Dropout: Burn's `Dropout` (`burn-nn` `modules/dropout.rs`) draws an f32 Bernoulli tensor
//!   (one ChaCha draw per element, on one thread), multiplies by it and by `1/(1-p)`, and keeps
//!   the mask for the backward pass: 15 % of a training step's CPU time.
//! - Attention (inference): copies of the query, key, value and context between the
//!   `[batch, seq, hidden]` and `[batch, heads, seq, head]` layouts, and a scalar softmax with
//!   libm's `expf`: 18 % of an inference pass's CPU time on an AVX2 EPYC.
//!
//! Here each runs over all cores in chunks, as straight-line code that the compiler vectorises
//! (AVX-512 or AVX2 chosen at run time; the versions do the same operations in the same order,
//! so every CPU gets the same bits).
//!
//! - [`gelu`](gelu::gelu): an `erf` and an `exp` written as polynomials; within 1e-6 of Burn's GELU.
//! - [`softmax`](softmax::softmax): one pass per row forward, one backward (`dy·y - y·Σ dy·y`), keeping `y`.
//! - [`attention`](attention::attention) (inference): each head's two matrix products read and
//!   write the `[batch, seq, hidden]` layout in place, with the softmax above between them.
//! - Matrix products ([`matrix`]): gemm, and on AVX2 CPUs without AVX-512 [`sgemm`] for the
//!   large ones (gemm 0.19 reached 54–80 GFLOP/s of the about 93 that a core of the AVX2 EPYC
//!   does, on BERT's shapes).
//! - [`adamw`](adamw::adamw): one optimizer step of one parameter in a single pass (Burn's
//!   `AdamW` is about a dozen element-wise passes on one thread), equal to Burn's to the bit.
//! - [`dropout`](dropout::dropout): the mask of element `i` is a hash of `i` and a key drawn from the device's
//!   generator, so it depends only on that generator's state, as Burn's does (a resumed run
//!   draws the same masks), and the backward pass recomputes it instead of keeping it.
//!
//! This is the only module of the model that names a backend: its functions hand every tensor
//! that is not an f32 tensor on flex back to their caller ([`super`]), which then uses Burn's
//! own op. The files: the shared plumbing here (a tensor in and out of flex, an autodiff node,
//! parallel maps), [`math`] (`erf`, `exp`), then one file per op.

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
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;
use std::mem::MaybeUninit;

mod adamw;
mod attention;
mod dropout;
mod gelu;
mod layer_norm;
mod linear;
mod math;
mod matrix;
#[cfg(target_arch = "x86_64")]
mod sgemm;
mod softmax;

pub(crate) use adamw::adamw;
pub(crate) use attention::attention;
pub(crate) use dropout::dropout;
pub(crate) use gelu::gelu;
pub(crate) use layer_norm::layer_norm;
pub(crate) use linear::linear;
pub(crate) use softmax::softmax;

/// Defines a slice kernel once and compiles it three times: for AVX-512, for AVX2 + FMA and for
/// the baseline, picked at run time. No `mul_add`: the versions do the same roundings.
macro_rules! kernel {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
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
use kernel;

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

#[cfg(test)]
pub(crate) mod tests {
    use burn::prelude::*;
    use burn::tensor::Tolerance;

    /// Points on [-8, 8] every 1/1024 (and the ends): 16,385 of them.
    pub(crate) fn grid() -> Vec<f32> {
        (-8192..=8192).map(|i| i as f32 / 1024.0).collect()
    }

    type Op = fn(Tensor<3>) -> Tensor<3>;
    type Kernel = fn(Tensor<3>) -> Result<Tensor<3>, Tensor<3>>;

    /// `ours` against `burns` on `values` (of shape `dims`), on flex with and without autodiff:
    /// the outputs within 1e-6, and with autodiff the gradients of a weighted sum within 2e-6.
    /// Returns our output on autodiff.
    pub(crate) fn assert_is_burns(
        ours: Kernel,
        burns: Op,
        values: &[f32],
        dims: [usize; 3],
    ) -> Vec<f32> {
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
}
