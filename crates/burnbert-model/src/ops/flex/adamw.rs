//! One AdamW step of one parameter in a single parallel pass: the parameter, its gradient and
//! both moments read once and written once.
//!
//! Burn's `AdamW` (`burn-optim` `optim/adamw.rs`) runs the same step as about a dozen element-wise
//! ops, each a pass over the parameter on one thread of burn-flex; over bert-base's 110 M
//! parameters one core idled through them in about a fifth of a training step on the AVX2 EPYC.
//! Here each element goes through Burn's operations in Burn's order, in f32, so the results are
//! Burn's to the bit (the tests compare them exactly) and a state saved by either resumes in the
//! other.

use burn::backend::Flex;
use burn::backend::flex::{FlexTensor, Layout};
use burn::prelude::*;
use burn::tensor::{Bytes, DType};
use rayon::prelude::*;

use super::{CHUNK, kernel, own_storage};
use crate::ops::{AdamWStep, AdamWTensors};

/// One AdamW step (see [`AdamWStep`]) when the parameter, its gradient and its moments are f32
/// tensors of one shape on flex without autodiff: `Ok([parameter, moment_1, moment_2])` after
/// the step, else `Err` with the tensors unchanged.
pub(crate) fn adamw<const D: usize>(
    step: &AdamWStep,
    (param, grad, moments): AdamWTensors<D>,
) -> Result<[Tensor<D>; 3], AdamWTensors<D>> {
    let shape = param.shape();
    let mut tensors = vec![param.clone(), grad.clone()];
    tensors.extend(moments.iter().flatten().cloned());
    let taken = tensors
        .iter()
        .all(|t| t.dtype() == DType::F32 && !t.device().is_autodiff() && t.shape() == shape);
    let primitives: Option<Vec<FlexTensor>> = taken
        .then(|| {
            tensors
                .into_iter()
                .map(|t| t.try_into_primitive::<Flex>().ok())
                .collect()
        })
        .flatten();
    let Some(mut primitives) = primitives else {
        return Err((param, grad, moments));
    };
    // The clones above are now the only handles besides the caller's, which go here: a tensor
    // the caller alone held is written in place.
    drop((param, grad, moments));
    let first = primitives.len() == 2;
    let n = shape.num_elements();
    let (mut param, grad) = {
        let mut two = primitives.drain(..2);
        (owned(two.next().unwrap()), two.next().unwrap())
    };
    let [mut moment_1, mut moment_2] = if first {
        [zeros(&shape), zeros(&shape)]
    } else {
        let mut two = primitives.drain(..);
        [owned(two.next().unwrap()), owned(two.next().unwrap())]
    };
    let grad = super::contiguous(grad);
    {
        let g = grad.as_slice::<f32>().expect("contiguous");
        let w = own_storage(&mut param).expect("owned");
        let m = own_storage(&mut moment_1).expect("owned");
        let v = own_storage(&mut moment_2).expect("owned");
        // Without moments this is a first step, whatever `step.time` says (as Burn's).
        let time = if first { 1 } else { step.time };
        let constants = Constants::new(&AdamWStep { time, ..*step }, first);
        debug_assert_eq!((g.len(), w.len(), m.len(), v.len()), (n, n, n, n));
        w.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((w, m), v), g)| adamw_chunk(constants, w, m, v, g));
    }
    Ok([param, moment_1, moment_2].map(Tensor::from_primitive::<Flex>))
}

/// `x` if its storage is its own and row-major from the start (written in place), else a copy.
fn owned(mut x: FlexTensor) -> FlexTensor {
    if own_storage(&mut x).is_some() {
        return x;
    }
    let x = super::contiguous(x);
    let copy = x.as_slice::<f32>().expect("contiguous").to_vec();
    FlexTensor::new(
        Bytes::from_elems(copy),
        Layout::contiguous(x.layout().shape().clone()),
        DType::F32,
    )
}

fn zeros(shape: &burn::tensor::Shape) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(vec![0f32; shape.num_elements()]),
        Layout::contiguous(shape.clone()),
        DType::F32,
    )
}

/// The step's scalars, in f32 as burn-flex applies them (`scalar as f32`).
#[derive(Debug, Clone, Copy)]
struct Constants {
    /// No moments yet: `m = (1-β₁)·g`, `v = (1-β₂)·g²`.
    first: bool,
    beta_1: f32,
    beta_2: f32,
    /// `1 - β₁`, `1 - β₂`.
    factor_1: f32,
    factor_2: f32,
    /// The bias corrections `1 - β₁ᵗ`, `1 - β₂ᵗ`.
    correction_1: f32,
    correction_2: f32,
    epsilon: f32,
    /// `1 - lr·λ`, or `None` without decay (Burn skips the product then).
    keep: Option<f32>,
    lr: f32,
}

impl Constants {
    fn new(step: &AdamWStep, first: bool) -> Self {
        // As `burn-optim`'s `AdaptiveMomentumW::transform` and `AdamW::step` compute them.
        let time = step.time as i32;
        let decay_rate = step.lr * step.weight_decay as f64;
        Self {
            first,
            beta_1: step.beta_1,
            beta_2: step.beta_2,
            factor_1: 1.0 - step.beta_1,
            factor_2: 1.0 - step.beta_2,
            correction_1: 1f32 - step.beta_1.powi(time),
            correction_2: 1f32 - step.beta_2.powi(time),
            epsilon: step.epsilon,
            keep: (decay_rate != 0.0).then_some((1.0 - decay_rate) as f32),
            lr: step.lr as f32,
        }
    }
}

kernel! {
    /// The step over one chunk. Each element as Burn computes it: `m = m·β₁ + g·(1-β₁)`,
    /// `v = v·β₂ + (g·g)·(1-β₂)`, `Δ = (m / (1-β₁ᵗ)) / (sqrt(v / (1-β₂ᵗ)) + ε)`,
    /// `w = w·(1 - lr·λ) - Δ·lr`.
    fn adamw_chunk(c: Constants, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        // Each case a loop of its own, with its flags constant.
        match (c.first, c.keep) {
            (true, Some(keep)) => elements(c, keep, true, true, w, m, v, g),
            (true, None) => elements(c, 1.0, true, false, w, m, v, g),
            (false, Some(keep)) => elements(c, keep, false, true, w, m, v, g),
            (false, None) => elements(c, 1.0, false, false, w, m, v, g),
        }
    }
}

/// [`adamw_chunk`]'s loop for one case: `first` (no moments yet) and `decay` (`keep` applies).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn elements(
    c: Constants,
    keep: f32,
    first: bool,
    decay: bool,
    w: &mut [f32],
    m: &mut [f32],
    v: &mut [f32],
    g: &[f32],
) {
    let n = w.len();
    let (m, v, g) = (&mut m[..n], &mut v[..n], &g[..n]);
    for i in 0..n {
        let gi = g[i];
        let (mi, vi) = if first {
            (gi * c.factor_1, (gi * gi) * c.factor_2)
        } else {
            (
                m[i] * c.beta_1 + gi * c.factor_1,
                v[i] * c.beta_2 + (gi * gi) * c.factor_2,
            )
        };
        m[i] = mi;
        v[i] = vi;
        let delta = (mi / c.correction_1) / ((vi / c.correction_2).sqrt() + c.epsilon);
        let wi = if decay { w[i] * keep } else { w[i] };
        w[i] = wi - delta * c.lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: &[f32], device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len() / 7, 7]),
            device,
        )
    }

    /// Burn's AdamW step, spelled as `burn-optim` 0.22.1 spells it (`AdaptiveMomentumW` and
    /// `AdamW::step`), op by op on flex.
    fn burns(
        s: &AdamWStep,
        w: Tensor<2>,
        g: Tensor<2>,
        moments: Option<[Tensor<2>; 2]>,
    ) -> [Tensor<2>; 3] {
        let (f1, f2) = (1.0 - s.beta_1, 1.0 - s.beta_2);
        let (m, v) = match moments {
            Some([m, v]) => (
                m.mul_scalar(s.beta_1).add(g.clone().mul_scalar(f1)),
                v.mul_scalar(s.beta_2).add(g.square().mul_scalar(f2)),
            ),
            None => (g.clone().mul_scalar(f1), g.square().mul_scalar(f2)),
        };
        let t = s.time as i32;
        let m_hat = m.clone().div_scalar(1f32 - s.beta_1.powi(t));
        let v_hat = v.clone().div_scalar(1f32 - s.beta_2.powi(t));
        let delta = m_hat.div(v_hat.sqrt().add_scalar(s.epsilon));
        let decay_rate = s.lr * s.weight_decay as f64;
        let w = if decay_rate == 0.0 {
            w
        } else {
            w.mul_scalar(1.0 - decay_rate)
        };
        [w - delta.mul_scalar(s.lr), m, v]
    }

    fn bits(t: &Tensor<2>) -> Vec<u32> {
        let data = t.clone().into_data();
        data.iter::<f32>().map(f32::to_bits).collect()
    }

    #[test]
    fn steps_are_burns_to_the_bit() {
        let device = Device::flex();
        // 70,007 elements: five parallel chunks and a ragged end, not a multiple of the lanes.
        let n = 7 * 10_001;
        let value = |i: usize, k: u64| {
            let h = (i as u64 ^ k).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
            (h as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
        };
        for weight_decay in [0.0, 0.01] {
            let w0: Vec<f32> = (0..n).map(|i| value(i, 1)).collect();
            let (mut ours, mut reference) = (tensor(&w0, &device), tensor(&w0, &device));
            let mut our_moments: Option<[Tensor<2>; 2]> = None;
            let mut moments: Option<[Tensor<2>; 2]> = None;
            for time in 1..=4 {
                let step = AdamWStep {
                    lr: 5e-5 * time as f64 / 3.0,
                    time,
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-8,
                    weight_decay,
                };
                // Gradients with zeros (v = 0 rows) and a wide range of magnitudes.
                let g: Vec<f32> = (0..n)
                    .map(|i| {
                        if i % 11 == 0 {
                            0.0
                        } else {
                            value(i, time as u64 + 7) * 10f32.powi(i as i32 % 5 - 2)
                        }
                    })
                    .collect();
                let [w, m, v] = burns(&step, reference, tensor(&g, &device), moments);
                // The caller keeps a handle on the gradient on odd steps: the kernel must not write it.
                let grad = tensor(&g, &device);
                let kept = (time % 2 == 1).then(|| grad.clone());
                let [ow, om, ov] = adamw(&step, (ours, grad, our_moments))
                    .unwrap_or_else(|_| panic!("f32 on flex takes the kernel"));
                assert_eq!(
                    bits(&ow),
                    bits(&w),
                    "parameter at step {time}, λ {weight_decay}"
                );
                assert_eq!(bits(&om), bits(&m), "moment_1 at step {time}");
                assert_eq!(bits(&ov), bits(&v), "moment_2 at step {time}");
                if let Some(kept) = kept {
                    assert_eq!(
                        bits(&kept),
                        bits(&tensor(&g, &device)),
                        "the caller's gradient"
                    );
                }
                (reference, moments) = (w, Some([m, v]));
                (ours, our_moments) = (ow, Some([om, ov]));
            }
        }
    }

    /// A first step at lr 0.1, HF's betas and ε, no decay.
    const FIRST_STEP: AdamWStep = AdamWStep {
        lr: 0.1,
        time: 1,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
        weight_decay: 0.0,
    };

    #[test]
    fn a_shared_parameter_is_copied_not_written() {
        let device = Device::flex();
        let w = tensor(&[0.5; 14], &device);
        let held = w.clone();
        let step = FIRST_STEP;
        let [updated, _, _] = adamw(&step, (w, tensor(&[1.0; 14], &device), None))
            .ok()
            .unwrap();
        // The first step moves every weight by lr (m̂ = g, v̂ = g²).
        assert_eq!(
            updated.into_data().try_to_vec::<f32>().unwrap(),
            vec![0.4; 14]
        );
        assert_eq!(held.into_data().try_to_vec::<f32>().unwrap(), vec![0.5; 14]);
    }

    #[test]
    fn other_tensors_are_handed_back() {
        let step = FIRST_STEP;
        let device = Device::flex();
        // Autodiff tensors, a shape mismatch and f64 tensors are not taken.
        let ad = Device::flex().autodiff();
        assert!(
            adamw(
                &step,
                (tensor(&[1.0; 7], &ad), tensor(&[1.0; 7], &ad), None)
            )
            .is_err()
        );
        assert!(
            adamw(
                &step,
                (
                    tensor(&[1.0; 7], &device),
                    tensor(&[1.0; 14], &device),
                    None
                )
            )
            .is_err()
        );
        let f64s = |t: Tensor<2>| t.cast(burn::tensor::FloatDType::F64);
        let (w, g, m) = adamw(
            &step,
            (
                f64s(tensor(&[1.0; 7], &device)),
                f64s(tensor(&[1.0; 7], &device)),
                None,
            ),
        )
        .err()
        .unwrap();
        assert_eq!(
            (w.dtype(), g.dtype(), m.is_none()),
            (DType::F64, DType::F64, true)
        );
    }
}
