//! The affine map of a Linear layer, `y = x·W + b` over the last dimension, forward and backward.
//!
//! Burn 0.22.1's flex backend multiplies into `FlexTensor::empty`, which fills a `Vec<u8>` with
//! zeros and then copies it into an aligned buffer, so every product's output is written three
//! times; the bias is then added by a broadcast `add` on one thread, and its gradient summed by
//! a reduction on one thread. Here the output buffer is allocated and not initialised, and the
//! product is written onto the bias ([`product_plus_row`]: on sgemm the bias is added as each
//! tile is stored, else the buffer is filled with it in parallel and gemm adds the product);
//! backwards, `dx = dy·Wᵀ` and `dW = xᵀ·dy` are gemm products that read the operands through their
//! strides into new buffers, and `db = Σ_rows dy` is summed per task of [`ROWS`] rows, then over
//! the tasks in order (independent of the thread count).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::{Bytes, DType, Shape};
use rayon::prelude::*;

use super::contiguous;
use super::matrix::{Matrix, product, product_plus_row};

/// Rows per parallel task of the bias gradient's sum.
const ROWS: usize = 64;

/// `x·weight + bias` over the last dimension for f32 tensors on flex, with or without autodiff:
/// `Ok` with the result, or `Err(x)` unchanged for any other tensor.
///
/// # Shapes
/// - x: `[..., d_input]`; output: `[..., d_output]`
/// - weight: `[d_input, d_output]` (Burn's `Linear` layout); bias: `[d_output]`
pub(crate) fn linear<const D: usize>(
    x: Tensor<D>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
) -> Result<Tensor<D>, Tensor<D>> {
    let [d_input, d_output] = weight.dims();
    let f32s = x.dtype() == DType::F32
        && weight.dtype() == DType::F32
        && bias.as_ref().is_none_or(|b| b.dtype() == DType::F32);
    if !f32s
        || x.dims()[D - 1] != d_input
        || bias.as_ref().is_some_and(|b| b.dims() != [d_output])
        || d_input == 0
        || d_output == 0
    {
        return Err(x);
    }
    if !x.device().is_autodiff() {
        let primitives = (
            x.clone().try_into_primitive::<Flex>(),
            weight.try_into_primitive::<Flex>(),
            bias.map(|b| b.try_into_primitive::<Flex>()).transpose(),
        );
        let (Ok(xp), Ok(w), Ok(b)) = primitives else {
            return Err(x);
        };
        drop(x);
        let y = forward(&contiguous(xp), &contiguous(w), b.map(contiguous).as_ref());
        return Ok(Tensor::from_primitive::<Flex>(y));
    }
    let primitives = (
        x.clone().try_into_primitive::<Autodiff<Flex>>(),
        weight.try_into_primitive::<Autodiff<Flex>>(),
        bias.map(|b| b.try_into_primitive::<Autodiff<Flex>>())
            .transpose(),
    );
    let (Ok(xp), Ok(w), Ok(b)) = primitives else {
        return Err(x);
    };
    drop(x);
    let (xp, x_node) = xp.into_parts();
    let (w, w_node) = w.into_parts();
    let (xp, w) = (contiguous(xp), contiguous(w));
    let output = match b {
        Some(b) => {
            let (b, b_node) = b.into_parts();
            let b = contiguous(b);
            match LinearBackward::<3>
                .prepare::<NoCheckpointing>([x_node, w_node, b_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let y = forward(&xp, &w, Some(&b));
                    prep.finish(Saved { x: xp, weight: w }, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(forward(&xp, &w, Some(&b))),
            }
        }
        None => match LinearBackward::<2>
            .prepare::<NoCheckpointing>([x_node, w_node])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = forward(&xp, &w, None);
                prep.finish(Saved { x: xp, weight: w }, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(&xp, &w, None)),
        },
    };
    Ok(Tensor::from_primitive::<Autodiff<Flex>>(output))
}

/// `x·w + b` for contiguous tensors.
fn forward(x: &FlexTensor, w: &FlexTensor, b: Option<&FlexTensor>) -> FlexTensor {
    let xs = x.as_slice::<f32>().expect("contiguous f32");
    let ws = w.as_slice::<f32>().expect("contiguous f32");
    let [d_input, d_output] = w.layout().shape().dims::<2>();
    let rows = xs.len() / d_input;
    let mut out = Vec::<f32>::with_capacity(rows * d_output);
    let bias = b.map(|b| b.as_slice::<f32>().expect("contiguous f32"));
    let (dst, lhs, rhs) = (
        Matrix::rows(out.as_mut_ptr(), d_output),
        Matrix::rows(xs.as_ptr(), d_input),
        Matrix::rows(ws.as_ptr(), d_output),
    );
    // SAFETY: `out` has room for `rows × d_output`, which the product writes; the operands
    // are contiguous `[rows, d_input]` and `[d_input, d_output]`, the bias `[d_output]`.
    unsafe {
        match bias {
            Some(bias) => product_plus_row([rows, d_output, d_input], dst, lhs, rhs, bias),
            None => product([rows, d_output, d_input], dst, lhs, rhs, 1.0, false, true),
        }
        out.set_len(rows * d_output);
    }
    let mut dims = x.layout().shape().clone();
    let last = dims.num_dims() - 1;
    dims[last] = d_output;
    FlexTensor::new(Bytes::from_elems(out), Layout::contiguous(dims), DType::F32)
}

/// The input and weight, for the gradients.
#[derive(Debug, Clone)]
struct Saved {
    x: FlexTensor,
    weight: FlexTensor,
}

/// The node of `x·W (+ b)`, with `N` = 3 parents with a bias, 2 without.
#[derive(Debug)]
struct LinearBackward<const N: usize>;

impl<const N: usize> Backward<Flex, N> for LinearBackward<N> {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, N>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let Saved { x, weight } = &ops.state;
        let [d_input, d_output] = weight.layout().shape().dims::<2>();
        let dys = grad.as_slice::<f32>().expect("contiguous f32");
        let xs = x.as_slice::<f32>().expect("contiguous f32");
        let ws = weight.as_slice::<f32>().expect("contiguous f32");
        let rows = dys.len() / d_output;
        assert_eq!(
            rows * d_input,
            xs.len(),
            "linear backward: the output's rows"
        );
        let mut parents = ops.parents.into_iter();
        let (x_node, w_node, b_node) = (
            parents.next().flatten(),
            parents.next().flatten(),
            parents.next().flatten(),
        );
        if let Some(node) = x_node {
            // dx = dy·Wᵀ: `[rows, d_output]·[d_output, d_input]`.
            let mut dx = Vec::<f32>::with_capacity(rows * d_input);
            // SAFETY: gemm writes all `rows × d_input`; Wᵀ is W read with swapped strides.
            unsafe {
                product(
                    [rows, d_input, d_output],
                    Matrix::rows(dx.as_mut_ptr(), d_input),
                    Matrix::rows(dys.as_ptr(), d_output),
                    Matrix::rows(ws.as_ptr(), d_output).transposed(),
                    1.0,
                    false,
                    true,
                );
                dx.set_len(rows * d_input);
            }
            let shape = x.layout().shape().clone();
            let dx = FlexTensor::new(Bytes::from_elems(dx), Layout::contiguous(shape), DType::F32);
            grads.register::<Flex>(node.id, dx);
        }
        if let Some(node) = w_node {
            // dW = xᵀ·dy: `[d_input, rows]·[rows, d_output]`.
            let mut dw = Vec::<f32>::with_capacity(d_input * d_output);
            // SAFETY: gemm writes all `d_input × d_output`; xᵀ is x read with swapped strides.
            unsafe {
                product(
                    [d_input, d_output, rows],
                    Matrix::rows(dw.as_mut_ptr(), d_output),
                    Matrix::rows(xs.as_ptr(), d_input).transposed(),
                    Matrix::rows(dys.as_ptr(), d_output),
                    1.0,
                    false,
                    true,
                );
                dw.set_len(d_input * d_output);
            }
            let shape = Shape::from(vec![d_input, d_output]);
            let dw = FlexTensor::new(Bytes::from_elems(dw), Layout::contiguous(shape), DType::F32);
            grads.register::<Flex>(node.id, dw);
        }
        if let Some(node) = b_node {
            let partials: Vec<Vec<f32>> = dys
                .par_chunks(ROWS * d_output)
                .map(|chunk| {
                    let mut sum = vec![0.0f32; d_output];
                    for row in chunk.chunks_exact(d_output) {
                        sum.iter_mut().zip(row).for_each(|(s, &dy)| *s += dy);
                    }
                    sum
                })
                .collect();
            let mut db = vec![0.0f32; d_output];
            for partial in &partials {
                db.iter_mut().zip(partial).for_each(|(s, &p)| *s += p);
            }
            let shape = Shape::from(vec![d_output]);
            let db = FlexTensor::new(Bytes::from_elems(db), Layout::contiguous(shape), DType::F32);
            grads.register::<Flex>(node.id, db);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;
    use burn::tensor::module::linear as burns;

    /// `n` values up to ±1.4.
    fn values(n: usize, salt: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + salt * 104_729) % 2000) as f32 - 1000.0) / 700.0)
            .collect()
    }

    #[test]
    fn linear_is_burns_forward_and_backward_with_and_without_a_bias() {
        // 150 rows in a [3, 50, 37] input (two 64-row tasks and a part), 37 → 23.
        let (dims, d_output) = ([3, 50, 37], 23);
        for device in [Device::flex(), Device::flex().autodiff()] {
            for with_bias in [true, false] {
                let leaves = || {
                    let x = Tensor::<3>::from_data(
                        TensorData::new(values(3 * 50 * 37, 1), dims),
                        &device,
                    );
                    let w = Tensor::<2>::from_data(
                        TensorData::new(values(37 * d_output, 2), [37, d_output]),
                        &device,
                    );
                    let b = Tensor::<1>::from_data(
                        TensorData::new(values(d_output, 3), [d_output]),
                        &device,
                    );
                    if device.is_autodiff() {
                        (x.require_grad(), w.require_grad(), b.require_grad())
                    } else {
                        (x, w, b)
                    }
                };
                let (x, w, b) = leaves();
                let (rx, rw, rb) = leaves();
                let ours = linear(x.clone(), w.clone(), with_bias.then(|| b.clone()))
                    .expect("f32 on flex");
                let theirs = burns(rx.clone(), rw.clone(), with_bias.then(|| rb.clone()));
                // Outputs up to about 2, sums of 37 products.
                ours.clone().into_data().assert_approx_eq::<f32>(
                    &theirs.clone().into_data(),
                    Tolerance::absolute(1e-6),
                );
                if !device.is_autodiff() {
                    continue;
                }
                let weights: Vec<f32> = (0..3 * 50 * d_output)
                    .map(|i| (i % 7) as f32 - 3.0)
                    .collect();
                let weights =
                    Tensor::<3>::from_data(TensorData::new(weights, [3, 50, d_output]), &device);
                let ours_grads = (ours * weights.clone()).sum().backward();
                let theirs_grads = (theirs * weights).sum().backward();
                // dW and db sum 150 rows of terms up to about 4.
                let grad = |o: &Tensor<3>, t: &Tensor<3>| {
                    let o = o.grad(&ours_grads).expect("a gradient").into_data();
                    o.assert_approx_eq::<f32>(
                        &t.grad(&theirs_grads).expect("a gradient").into_data(),
                        Tolerance::absolute(1e-4),
                    );
                };
                grad(&x, &rx);
                let o = w.grad(&ours_grads).expect("a gradient").into_data();
                let t = rw.grad(&theirs_grads).expect("a gradient").into_data();
                o.assert_approx_eq::<f32>(&t, Tolerance::absolute(1e-4));
                if with_bias {
                    let o = b.grad(&ours_grads).expect("a gradient").into_data();
                    let t = rb.grad(&theirs_grads).expect("a gradient").into_data();
                    o.assert_approx_eq::<f32>(&t, Tolerance::absolute(1e-4));
                } else {
                    assert!(b.grad(&ours_grads).is_none());
                }
            }
        }
    }

    #[test]
    fn a_frozen_weight_gets_no_gradient() {
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::ones([4, 3], &device).require_grad();
        let w = Tensor::<2>::ones([3, 2], &device);
        let y = linear(x.clone(), w, None).expect("f32 on flex");
        let grads = y.sum().backward();
        // dx = 1·Wᵀ summed: each element 2.
        x.grad(&grads)
            .expect("a gradient")
            .into_data()
            .assert_eq(&TensorData::new(vec![2.0f32; 12], [4, 3]), true);
    }
}
