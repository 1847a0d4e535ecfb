//! Layer normalisation over the last dimension (Ba et al. 2016, "Layer Normalization"), forward
//! and backward, for training.
//!
//! Burn 0.22.1's autodiff backend has no LayerNorm node: it records the default `layer_norm`
//! (`burn-backend` `ops/modules/base.rs`), a mean, a variance, a subtraction, a square root, a
//! division, a product and a sum, each a pass over the activations and most of them on one
//! thread, and about as many again in the backward pass. Here the forward pass is one parallel
//! pass over the rows that keeps each row's mean and `1/σ`, and the backward pass one more:
//! with `x̂ = (x - μ)/σ` and `g = dy·γ` per row,
//! `dx = (g - mean(g) - x̂·mean(g·x̂))/σ`, `dγ = Σ_rows dy·x̂`, `dβ = Σ_rows dy`.
//! The parameter gradients are summed per task of [`ROWS`] rows, then over the tasks in order,
//! so they do not depend on the number of threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::{Bytes, DType, Shape};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use super::softmax::row_sum;
use super::{contiguous, kernel};

/// Rows per parallel task.
const ROWS: usize = 64;

/// `(x - mean)/√(var + epsilon)·gamma + beta` over the last dimension of an f32 tensor on flex
/// with autodiff: `Ok` with the result, or `Err(x)` unchanged for any other tensor (without
/// autodiff, Burn's flex `layer_norm` is one parallel pass already).
///
/// # Shapes
/// - x, output: `[..., d]`
/// - gamma, beta: `[d]`
pub(crate) fn layer_norm<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
) -> Result<Tensor<D>, Tensor<D>> {
    let d = x.dims()[D - 1];
    if !x.device().is_autodiff()
        || [x.dtype(), gamma.dtype(), beta.dtype()]
            .iter()
            .any(|t| *t != DType::F32)
        || gamma.dims() != [d]
        || beta.dims() != [d]
        || d == 0
    {
        return Err(x);
    }
    let (Ok(xp), Ok(gp), Ok(bp)) = (
        x.clone().try_into_primitive::<Autodiff<Flex>>(),
        gamma.try_into_primitive::<Autodiff<Flex>>(),
        beta.try_into_primitive::<Autodiff<Flex>>(),
    ) else {
        return Err(x);
    };
    drop(x);
    let (x, x_node) = xp.into_parts();
    let (gamma, gamma_node) = gp.into_parts();
    let (beta, beta_node) = bp.into_parts();
    let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
    let epsilon = epsilon as f32;
    let output = match LayerNormBackward
        .prepare::<NoCheckpointing>([x_node, gamma_node, beta_node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (y, stats) = forward(&x, &gamma, &beta, epsilon);
            prep.finish(Saved { x, gamma, stats }, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(&x, &gamma, &beta, epsilon).0),
    };
    Ok(Tensor::from_primitive::<Autodiff<Flex>>(output))
}

/// The normalised rows, and each row's `[mean, 1/σ]`.
fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f32,
) -> (FlexTensor, Vec<[f32; 2]>) {
    let shape = x.layout().shape().clone();
    let d = shape[shape.num_dims() - 1];
    let xs = x.as_slice::<f32>().expect("contiguous f32");
    let (gamma, beta) = (
        gamma.as_slice::<f32>().expect("contiguous f32"),
        beta.as_slice::<f32>().expect("contiguous f32"),
    );
    let n = xs.len();
    let mut stats = vec![[0.0f32; 2]; n / d];
    let mut out = Vec::<f32>::with_capacity(n);
    out.spare_capacity_mut()[..n]
        .par_chunks_mut(ROWS * d)
        .zip(xs.par_chunks(ROWS * d))
        .zip(stats.par_chunks_mut(ROWS))
        .for_each(|((out, xs), stats)| {
            let rows = xs.chunks_exact(d).zip(out.chunks_exact_mut(d));
            for ((x, out), stat) in rows.zip(stats) {
                normalise_row(x, out, gamma, beta, epsilon, stat);
            }
        });
    // SAFETY: every row was written.
    unsafe { out.set_len(n) };
    let y = FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(shape),
        DType::F32,
    );
    (y, stats)
}

kernel! {
    /// `out ← (x - μ)·r·γ + β` with the row's mean `μ` and `r = 1/√(var + ε)`; `stat ← [μ, r]`.
    fn normalise_row(
        x: &[f32],
        out: &mut [MaybeUninit<f32>],
        gamma: &[f32],
        beta: &[f32],
        epsilon: f32,
        stat: &mut [f32; 2]
    ) {
        let d = x.len() as f32;
        let mean = row_sum(|j| x[j], x.len()) / d;
        let var = row_sum(|j| (x[j] - mean) * (x[j] - mean), x.len()) / d;
        let rstd = 1.0 / (var + epsilon).sqrt();
        for (j, o) in out.iter_mut().enumerate() {
            o.write((x[j] - mean) * rstd * gamma[j] + beta[j]);
        }
        *stat = [mean, rstd];
    }
}

kernel! {
    /// One row's `dx` (see the module's formula), and its `dy·x̂` and `dy` added to `dgamma` and
    /// `dbeta`.
    fn normalise_grad_row(
        x: &[f32],
        dy: &[f32],
        gamma: &[f32],
        stat: &[f32; 2],
        dx: &mut [MaybeUninit<f32>],
        dgamma: &mut [f32],
        dbeta: &mut [f32]
    ) {
        let [mean, rstd] = *stat;
        let len = x.len();
        let d = len as f32;
        let mean_g = row_sum(|j| dy[j] * gamma[j], len) / d;
        let mean_gx = row_sum(|j| dy[j] * gamma[j] * ((x[j] - mean) * rstd), len) / d;
        for j in 0..len {
            let normed = (x[j] - mean) * rstd;
            dx[j].write(rstd * (dy[j] * gamma[j] - mean_g - normed * mean_gx));
            dgamma[j] += dy[j] * normed;
            dbeta[j] += dy[j];
        }
    }
}

/// What the backward pass reads: the input, `γ`, and each row's `[mean, 1/σ]`.
#[derive(Debug, Clone)]
struct Saved {
    x: FlexTensor,
    gamma: FlexTensor,
    stats: Vec<[f32; 2]>,
}

#[derive(Debug)]
struct LayerNormBackward;

impl Backward<Flex, 3> for LayerNormBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [dx, dgamma, dbeta] = backward(&ops.state, grad);
        let [x, gamma, beta] = ops.parents;
        for (node, grad) in [(x, dx), (gamma, dgamma), (beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// The gradients of the input, `γ` and `β` from the output's.
fn backward(saved: &Saved, grad: FlexTensor) -> [FlexTensor; 3] {
    let shape = saved.x.layout().shape().clone();
    let d = shape[shape.num_dims() - 1];
    let grad = contiguous(grad);
    assert_eq!(
        grad.layout().shape(),
        &shape,
        "layer norm backward: the output's shape"
    );
    let dys = grad.as_slice::<f32>().expect("contiguous f32");
    let xs = saved.x.as_slice::<f32>().expect("contiguous f32");
    let gamma = saved.gamma.as_slice::<f32>().expect("contiguous f32");
    let n = xs.len();
    let mut dx = Vec::<f32>::with_capacity(n);
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx.spare_capacity_mut()[..n]
        .par_chunks_mut(ROWS * d)
        .zip(xs.par_chunks(ROWS * d))
        .zip(dys.par_chunks(ROWS * d))
        .zip(saved.stats.par_chunks(ROWS))
        .map(|(((dx, xs), dys), stats)| {
            let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
            let rows = xs.chunks_exact(d).zip(dys.chunks_exact(d));
            for (((x, dy), dx), stat) in rows.zip(dx.chunks_exact_mut(d)).zip(stats) {
                normalise_grad_row(x, dy, gamma, stat, dx, &mut dgamma, &mut dbeta);
            }
            (dgamma, dbeta)
        })
        .collect();
    // SAFETY: every row was written.
    unsafe { dx.set_len(n) };
    let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
    for (g, b) in &partials {
        dgamma.iter_mut().zip(g).for_each(|(s, x)| *s += x);
        dbeta.iter_mut().zip(b).for_each(|(s, x)| *s += x);
    }
    let vector = |v: Vec<f32>| {
        FlexTensor::new(
            Bytes::from_elems(v),
            Layout::contiguous(Shape::from(vec![d])),
            DType::F32,
        )
    };
    [
        FlexTensor::new(Bytes::from_elems(dx), Layout::contiguous(shape), DType::F32),
        vector(dgamma),
        vector(dbeta),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;
    use burn::tensor::module::layer_norm as burns;

    #[test]
    fn layer_norm_is_the_definition_forward_and_backward() {
        let device = Device::flex().autodiff();
        // 150 rows (two tasks and a part) of 37 (not a multiple of the 16 lanes), values up to
        // about ±60 with rows of different means and spreads.
        let (rows, d) = (150, 37);
        let values: Vec<f32> = (0..rows * d)
            .map(|i| {
                let (row, spread) = ((i / d) as f32, (1 + i / d % 3) as f32);
                ((i * 7919 % 1000) as f32 - 500.0) / 25.0 * spread + row
            })
            .collect();
        let gamma: Vec<f32> = (0..d).map(|j| 0.5 + j as f32 / 40.0).collect();
        let beta: Vec<f32> = (0..d).map(|j| j as f32 / 10.0 - 1.0).collect();
        let weights: Vec<f32> = (0..rows * d).map(|i| (i % 7) as f32 - 3.0).collect();
        let weights = Tensor::<2>::from_data(TensorData::new(weights, [rows, d]), &device);
        let leaves = || {
            [
                Tensor::<2>::from_data(TensorData::new(values.clone(), [rows, d]), &device),
                Tensor::<2>::from_data(TensorData::new(gamma.clone(), [1, d]), &device),
                Tensor::<2>::from_data(TensorData::new(beta.clone(), [1, d]), &device),
            ]
            .map(|t| t.require_grad())
        };
        let [x, g, b] = leaves();
        let vector = |t: &Tensor<2>| t.clone().reshape([d]);
        let ours = layer_norm(x.clone(), vector(&g), vector(&b), 1e-12).expect("f32 on flex");
        let [rx, rg, rb] = leaves();
        let theirs = burns(rx.clone(), vector(&rg), Some(vector(&rb)), 1e-12);
        // The forward pass against the definition in f64: inputs up to about 240, outputs up to
        // about 3.5 (within 5e-6: 1.2e-6 relative was seen).
        let expected: Vec<f32> = values
            .chunks(d)
            .flat_map(|row| {
                let mean = row.iter().map(|&x| x as f64).sum::<f64>() / d as f64;
                let var = row.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / d as f64;
                let rstd = 1.0 / (var + 1e-12).sqrt();
                let (gamma, beta) = (&gamma, &beta);
                row.iter().enumerate().map(move |(j, &x)| {
                    ((x as f64 - mean) * rstd * gamma[j] as f64 + beta[j] as f64) as f32
                })
            })
            .collect();
        let expected = TensorData::new(expected, [rows, d]);
        ours.clone()
            .into_data()
            .assert_approx_eq::<f32>(&expected, Tolerance::absolute(5e-6));
        // dx against Burn's autodiff of its own ops; dγ = Σ w·x̂ and dβ = Σ w against the
        // definition in f64. dγ sums 150 rows of terms up to about 10 in magnitude (|terms| add
        // up to about 600, an f32 ulp of 6e-5 there): within 1e-4.
        let ours_grads = (ours * weights.clone()).sum().backward();
        let theirs_grads = (theirs * weights).sum().backward();
        let dx = x.grad(&ours_grads).expect("a gradient").into_data();
        let burns_dx = rx.grad(&theirs_grads).expect("a gradient").into_data();
        dx.assert_approx_eq::<f32>(&burns_dx, Tolerance::rel_abs(2e-5, 2e-5));
        let (mut dgamma, mut dbeta) = (vec![0.0f64; d], vec![0.0f64; d]);
        for (i, &x) in values.iter().enumerate() {
            let row = &values[i / d * d..(i / d + 1) * d];
            let mean = row.iter().map(|&x| x as f64).sum::<f64>() / d as f64;
            let var = row.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            let w = (i % 7) as f64 - 3.0;
            dgamma[i % d] += w * (x as f64 - mean) / (var + 1e-12).sqrt();
            dbeta[i % d] += w;
        }
        for (param, expected) in [(g, dgamma), (b, dbeta)] {
            let expected: Vec<f32> = expected.into_iter().map(|v| v as f32).collect();
            param
                .grad(&ours_grads)
                .expect("a gradient")
                .into_data()
                .assert_approx_eq::<f32>(
                    &TensorData::new(expected, [1, d]),
                    Tolerance::absolute(1e-4),
                );
        }
    }

    #[test]
    fn without_autodiff_burns_op_is_used() {
        let device = Device::flex();
        let x = Tensor::<2>::ones([2, 3], &device);
        let (g, b) = (
            Tensor::<1>::ones([3], &device),
            Tensor::<1>::zeros([3], &device),
        );
        assert!(layer_norm(x, g, b, 1e-12).is_err());
    }
}
