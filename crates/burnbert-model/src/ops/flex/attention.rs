//! Scaled dot-product attention for inference, read from the projections' `[batch, seq, hidden]`
//! layout and written to the context's: `softmax(Q·Kᵀ/√d + mask)·V` per head.
//!
//! Burn's path (`split_heads`, flex's fused `attention`, merging the heads) copies the query,
//! key and value into `[batch, heads, seq, head]` (`to_contiguous`), applies the scale, mask and
//! softmax one element at a time with libm's `expf`, and copies the context back: on the
//! 2-core AVX2 EPYC 18 % of an all-MiniLM-L6-v2 inference pass's CPU time went to those steps
//! (`perf`: flex's `attention_naive_impl` 8.6 %, `expf` 4.4 %, `copy_2d_tiled` 5.1 %). Here
//! each (batch, head) is one task that reads its head's columns in place through gemm's
//! strides, softmaxes its rows with [`softmax_row_in_place`], and writes its columns of the
//! output; nothing is copied.

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::{BoolStore, DType};
use rayon::prelude::*;

use super::softmax::softmax_row_in_place;
use super::{contiguous, new_like};

/// The attention context of one layer, for f32 tensors on flex without autodiff; `None` for
/// any other tensor (the caller then uses Burn's ops).
///
/// `mask` is `true` where a key must be ignored; those scores are set to `f32::MIN`, as the
/// model's explicit path does, which gives them a weight of exactly 0.
///
/// # Shapes
/// - query, key, value: `[batch, seq, hidden]`, `hidden = heads · head_dim`
/// - mask: `[batch, heads, seq, seq]` (any strides: the model's is an expanded
///   `[batch, 1, 1, seq]`)
/// - output: `[batch, seq, hidden]`, head `h` in columns `h·head_dim..(h+1)·head_dim`
pub(crate) fn attention(
    query: &Tensor<3>,
    key: &Tensor<3>,
    value: &Tensor<3>,
    heads: usize,
    mask: Option<&Tensor<4, Bool>>,
) -> Option<Tensor<3>> {
    if query.dtype() != DType::F32 || query.device().is_autodiff() {
        return None;
    }
    let [batch, seq, hidden] = query.dims();
    if key.dims() != [batch, seq, hidden]
        || value.dims() != [batch, seq, hidden]
        || heads == 0
        || !hidden.is_multiple_of(heads)
    {
        return None;
    }
    let primitive = |x: &Tensor<3>| x.clone().try_into_primitive::<Flex>().ok();
    let (q, k, v) = (
        contiguous(primitive(query)?),
        contiguous(primitive(key)?),
        contiguous(primitive(value)?),
    );
    if [&q, &k, &v].iter().any(|x| x.dtype() != DType::F32) {
        return None;
    }
    let mask = match mask {
        Some(mask) => {
            let mask = mask.clone().try_into_primitive::<Flex>().ok()?;
            match mask.dtype() {
                DType::Bool(BoolStore::Native | BoolStore::U8) => Some(mask),
                _ => return None,
            }
        }
        None => None,
    };
    let head_dim = hidden / heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let (qs, ks, vs) = (
        q.as_slice::<f32>()?,
        k.as_slice::<f32>()?,
        v.as_slice::<f32>()?,
    );
    let mask = mask.as_ref().map(|m| {
        let strides = m.layout().strides();
        (
            &m.bytes()[m.layout().start_offset()..],
            [strides[0], strides[1], strides[2], strides[3]],
        )
    });
    Some(Tensor::from_primitive::<Flex>(new_like(&q, |out| {
        let out = Shared(out.as_mut_ptr().cast::<f32>());
        (0..batch * heads).into_par_iter().for_each_init(
            || vec![0.0f32; seq * seq],
            |scores, task| {
                let (b, h) = (task / heads, task % heads);
                let at = b * seq * hidden + h * head_dim;
                // SAFETY: gemm reads `seq` rows of `head_dim` columns from `at`, `hidden` apart,
                // within the `[batch, seq, hidden]` inputs; the scores are `seq × seq`.
                unsafe {
                    gemm::gemm(
                        seq,
                        seq,
                        head_dim,
                        scores.as_mut_ptr(),
                        1,
                        seq as isize,
                        false,
                        qs.as_ptr().add(at),
                        1,
                        hidden as isize,
                        // Kᵀ: element (d, j) of the head is key row j's column d.
                        ks.as_ptr().add(at),
                        hidden as isize,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                for (i, row) in scores.chunks_exact_mut(seq).enumerate() {
                    if let Some((bytes, [s0, s1, s2, s3])) = mask {
                        let base = b as isize * s0 + h as isize * s1 + i as isize * s2;
                        for (j, score) in row.iter_mut().enumerate() {
                            if bytes[(base + j as isize * s3) as usize] != 0 {
                                *score = f32::MIN;
                            }
                        }
                    }
                    softmax_row_in_place(row);
                }
                // SAFETY: this task alone writes the head's columns of batch `b` (every one of
                // them: gemm without reading the destination); V is read as Q and K are.
                unsafe {
                    gemm::gemm(
                        seq,
                        head_dim,
                        seq,
                        out.at(at),
                        1,
                        hidden as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        seq as isize,
                        vs.as_ptr().add(at),
                        1,
                        hidden as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
            },
        );
    })))
}

/// The output's base pointer, shared by the tasks that each write their own columns of it.
#[derive(Clone, Copy)]
struct Shared(*mut f32);

impl Shared {
    /// The pointer to element `offset`.
    ///
    /// # Safety
    /// `offset` is within the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller's.
        unsafe { self.0.add(offset) }
    }
}
// SAFETY: the tasks write disjoint elements (see `attention`), and the buffer outlives them.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;
    use burn::tensor::module::attention as burns_attention;
    use burn::tensor::ops::AttentionModuleOptions;

    /// The model's path without this kernel: heads split, Burn's fused op, heads merged.
    fn burns(
        q: Tensor<3>,
        k: Tensor<3>,
        v: Tensor<3>,
        heads: usize,
        mask: Option<Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let [batch, seq, hidden] = q.dims();
        let split = |x: Tensor<3>| {
            x.reshape([batch, seq, heads, hidden / heads])
                .swap_dims(1, 2)
        };
        burns_attention(
            split(q),
            split(k),
            split(v),
            mask,
            None,
            AttentionModuleOptions::default(),
        )
        .swap_dims(1, 2)
        .reshape([batch, seq, hidden])
    }

    #[test]
    fn attention_is_burns_with_and_without_a_padding_mask() {
        let device = Device::flex();
        let (batch, seq, heads, hidden) = (3, 37, 4, 24);
        let values = |salt: usize| {
            let n = batch * seq * hidden;
            let v: Vec<f32> = (0..n)
                .map(|i| (((i * 7919 + salt * 104_729) % 2000) as f32 - 1000.0) / 300.0)
                .collect();
            Tensor::<3>::from_data(TensorData::new(v, [batch, seq, hidden]), &device)
        };
        let (q, k, v) = (values(1), values(2), values(3));
        // Batch 1 pads its last 10 keys, batch 2 its last 30; batch 0 none.
        let keep: Vec<bool> = (0..batch * seq)
            .map(|i| (i / seq == 1 && i % seq >= 27) || (i / seq == 2 && i % seq >= 7))
            .collect();
        let mask = Tensor::<2, Bool>::from_data(TensorData::new(keep, [batch, seq]), &device)
            .reshape([batch, 1, 1, seq])
            .expand([batch, heads, seq, seq]);
        // Outputs up to 3.4 in magnitude, within 2e-6: the exp and the sums round differently.
        for mask in [None, Some(mask)] {
            let ours = attention(&q, &k, &v, heads, mask.as_ref()).expect("f32 on flex");
            let expected = burns(q.clone(), k.clone(), v.clone(), heads, mask);
            ours.into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(2e-6));
        }
    }

    #[test]
    fn attention_leaves_autodiff_tensors_to_burn() {
        let device = Device::flex().autodiff();
        let x = Tensor::<3>::zeros([1, 2, 4], &device);
        assert!(attention(&x, &x, &x, 2, None).is_none());
    }
}
