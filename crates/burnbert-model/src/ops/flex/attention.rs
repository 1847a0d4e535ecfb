//! Scaled dot-product attention, `dropout(softmax(Q·Kᵀ/√d + mask))·V` per head, read from the
//! projections' `[batch, seq, hidden]` layout and written to the context's, forward and
//! backward.
//!
//! Burn's path (`split_heads`, flex's fused `attention` or, when training, the products, scale,
//! mask, softmax and dropout spelled out, then merging the heads) copies the query, key, value
//! and context between layouts and, in inference, applies the scale, mask and softmax one
//! element at a time with libm's `expf`: on the 2-core AVX2 EPYC 18 % of an all-MiniLM-L6-v2
//! inference pass's CPU time went to those steps (`perf`: flex's `attention_naive_impl` 8.6 %,
//! `expf` 4.4 %, `copy_2d_tiled` 5.1 %). Here each (batch, head) is one task that reads its
//! head's columns in place through gemm's strides, runs the row softmax and dropout kernels of
//! this module's siblings between its products, and writes its columns of the output; nothing is
//! copied. Training keeps the probabilities (before dropout) for the backward pass, as Burn's
//! softmax node does; the dropout mask is the dropout kernel's, recomputed.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::{BoolStore, Bytes, DType, Shape};
use rayon::prelude::*;
use std::mem::MaybeUninit;

use super::contiguous;
use super::dropout::{Mask, mask_in_place, mask_into};
use super::matrix::{Matrix, product};
use super::softmax::{softmax_grad_row_in_place, softmax_row_in_place};

/// The attention context of one layer for f32 tensors on flex, with autodiff (training, with
/// inverted dropout of probability `dropout` on the probabilities when given) or without
/// (inference; `dropout` is then ignored, as Burn's dropout is the identity there); `None` for
/// any other tensor (the caller then uses Burn's ops).
///
/// `mask` is `true` where a key must be ignored; those scores are set to `f32::MIN`, as the
/// model's explicit path does, which gives them a weight of exactly 0.
///
/// # Shapes
/// - query: `[batch, queries, hidden]`, `hidden = heads · head_dim` (`queries` may be fewer than
///   `seq`: the first positions' queries alone)
/// - key, value: `[batch, seq, hidden]`
/// - mask: `[batch, heads, queries, seq]` (any strides: the model's is an expanded
///   `[batch, 1, 1, seq]`)
/// - output: `[batch, queries, hidden]`, head `h` in columns `h·head_dim..(h+1)·head_dim`
pub(crate) fn attention(
    query: &Tensor<3>,
    key: &Tensor<3>,
    value: &Tensor<3>,
    heads: usize,
    mask: Option<&Tensor<4, Bool>>,
    dropout: Option<f64>,
) -> Option<Tensor<3>> {
    if [query, key, value].iter().any(|x| x.dtype() != DType::F32) {
        return None;
    }
    let geometry = Geometry::of(query.dims(), key.dims(), value.dims(), heads)?;
    let device = query.device();
    if !device.is_autodiff() {
        let primitive = |x: &Tensor<3>| x.clone().try_into_primitive::<Flex>().ok();
        let mask = match mask {
            Some(mask) => Some(flex_mask(
                mask.clone().try_into_primitive::<Flex>().ok()?,
                &geometry,
            )?),
            None => None,
        };
        let (q, k, v) = (primitive(query)?, primitive(key)?, primitive(value)?);
        let (context, _) = forward(&q, &k, &v, geometry, mask.as_ref(), None, false)?;
        return Some(Tensor::from_primitive::<Flex>(context));
    }
    let primitive = |x: &Tensor<3>| x.clone().try_into_primitive::<Autodiff<Flex>>().ok();
    let mask = match mask {
        Some(mask) => Some(flex_mask(
            mask.clone().try_into_primitive::<Autodiff<Flex>>().ok()?,
            &geometry,
        )?),
        None => None,
    };
    let (q, k, v) = (primitive(query)?, primitive(key)?, primitive(value)?);
    let elements = geometry.tasks() * geometry.square();
    if dropout.is_some() && u32::try_from(elements).is_err() {
        // The dropout mask indexes the probabilities with a u32, as the dropout kernel does.
        return None;
    }
    let dropout = dropout.map(|prob| Mask::draw(prob, &device));
    let (q, q_node) = q.into_parts();
    let (k, k_node) = k.into_parts();
    let (v, v_node) = v.into_parts();
    let (q, k, v) = (contiguous(q), contiguous(k), contiguous(v));
    let context = match AttentionBackward
        .prepare::<NoCheckpointing>([q_node, k_node, v_node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (context, probs) = forward(&q, &k, &v, geometry, mask.as_ref(), dropout, true)?;
            let saved = Saved {
                query: q,
                key: k,
                value: v,
                probs: probs.expect("kept"),
                mask,
                geometry,
                dropout,
            };
            prep.finish(saved, context)
        }
        OpsKind::UnTracked(prep) => {
            let (context, _) = forward(&q, &k, &v, geometry, mask.as_ref(), dropout, false)?;
            prep.finish(context)
        }
    };
    Some(Tensor::from_primitive::<Autodiff<Flex>>(context))
}

/// The sizes of one layer's attention: `queries` query rows attend to `seq` keys (fewer queries
/// than keys where only the first positions' outputs are needed, as a pooler's `[CLS]`).
#[derive(Debug, Clone, Copy)]
struct Geometry {
    batch: usize,
    queries: usize,
    seq: usize,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    /// `1/√head_dim`.
    scale: f32,
}

impl Geometry {
    /// The sizes of query, key and value of the given dims, if they agree: key and value of
    /// the same dims, the query of their batch and hidden size and of any length.
    fn of(query: [usize; 3], key: [usize; 3], value: [usize; 3], heads: usize) -> Option<Self> {
        let [batch, seq, hidden] = key;
        let queries = query[1];
        if value != key
            || [query[0], query[2]] != [batch, hidden]
            || seq == 0
            || queries == 0
            || heads == 0
            || !hidden.is_multiple_of(heads)
        {
            return None;
        }
        let head_dim = hidden / heads;
        Some(Self {
            batch,
            queries,
            seq,
            heads,
            head_dim,
            hidden,
            scale: 1.0 / (head_dim as f32).sqrt(),
        })
    }

    /// One task per (batch, head).
    fn tasks(&self) -> usize {
        self.batch * self.heads
    }

    /// Elements of one task's scores: `queries × seq`.
    fn square(&self) -> usize {
        self.queries * self.seq
    }

    /// A task's head in a `[batch, rows, hidden]` tensor whose elements start at `base`.
    fn head(&self, base: *const f32, task: usize, rows: usize) -> Matrix {
        let at = task / self.heads * rows * self.hidden + task % self.heads * self.head_dim;
        // SAFETY (of the later reads): `at` is within a `[batch, rows, hidden]` tensor.
        Matrix::rows(base.wrapping_add(at), self.hidden)
    }

    /// A task's head in a `[batch, queries, hidden]` tensor (the query, the context and their
    /// gradients).
    fn query_head(&self, base: *const f32, task: usize) -> Matrix {
        self.head(base, task, self.queries)
    }

    /// A task's head in a `[batch, seq, hidden]` tensor (the key, the value and their gradients).
    fn key_head(&self, base: *const f32, task: usize) -> Matrix {
        self.head(base, task, self.seq)
    }
}

/// A `[batch, heads, seq, seq]` padding mask: its bytes from its first element, and its strides.
#[derive(Debug, Clone)]
struct KeyMask {
    tensor: FlexTensor,
    strides: [isize; 4],
}

impl KeyMask {
    fn bytes(&self) -> &[u8] {
        &self.tensor.bytes()[self.tensor.layout().start_offset()..]
    }

    /// Sets, in each row `i` of `rows` (`seq` wide: query `i`'s scores or their gradients), the
    /// keys masked for query `i` of head `h` of batch `b` to `value`. A padding mask (expanded
    /// from `[batch, 1, 1, seq]`, so the same for every query) is read once, and only its
    /// masked keys are written: nothing for a batch without padding.
    fn fill_rows(&self, [b, h]: [usize; 2], rows: &mut [f32], seq: usize, value: f32) {
        if self.strides[2] != 0 {
            for (i, row) in rows.chunks_exact_mut(seq).enumerate() {
                self.fill([b, h, i], row, value);
            }
            return;
        }
        let mut first = vec![0.0; seq];
        self.fill([b, h, 0], &mut first, 1.0);
        let keys: Vec<usize> = (0..seq).filter(|&j| first[j] != 0.0).collect();
        if keys.is_empty() {
            return;
        }
        for row in rows.chunks_exact_mut(seq) {
            for &j in &keys {
                row[j] = value;
            }
        }
    }

    /// Sets `row[j]` to `value` where key `j` of query `i` of head `h` of batch `b` is masked.
    fn fill(&self, [b, h, i]: [usize; 3], row: &mut [f32], value: f32) {
        let [s0, s1, s2, s3] = self.strides;
        let base = b as isize * s0 + h as isize * s1 + i as isize * s2;
        let bytes = self.bytes();
        for (j, x) in row.iter_mut().enumerate() {
            if bytes[(base + j as isize * s3) as usize] != 0 {
                *x = value;
            }
        }
    }
}

/// The mask, when flex stores it one byte per element and its shape is `[batch, heads, seq, seq]`.
fn flex_mask(mask: FlexTensor, g: &Geometry) -> Option<KeyMask> {
    if !matches!(mask.dtype(), DType::Bool(BoolStore::Native | BoolStore::U8))
        || mask.layout().shape().num_dims() != 4
        || mask.layout().shape().dims::<4>() != [g.batch, g.heads, g.queries, g.seq]
    {
        return None;
    }
    let strides = mask.layout().strides();
    if strides.len() != 4 || strides.iter().any(|&s| s < 0) {
        return None;
    }
    let strides = [strides[0], strides[1], strides[2], strides[3]];
    Some(KeyMask {
        tensor: mask,
        strides,
    })
}

/// The forward pass over all heads: the context, and the probabilities (before dropout) when
/// `keep_probs`. `None` when a tensor's elements are not readable as f32.
fn forward(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    g: Geometry,
    mask: Option<&KeyMask>,
    dropout: Option<Mask>,
    keep_probs: bool,
) -> Option<(FlexTensor, Option<FlexTensor>)> {
    let (q, k, v) = (
        contiguous(q.clone()),
        contiguous(k.clone()),
        contiguous(v.clone()),
    );
    let (qs, ks, vs) = (
        q.as_slice::<f32>()?.as_ptr(),
        k.as_slice::<f32>()?.as_ptr(),
        v.as_slice::<f32>()?.as_ptr(),
    );
    let (qs, ks, vs) = (
        Shared(qs.cast_mut()),
        Shared(ks.cast_mut()),
        Shared(vs.cast_mut()),
    );
    let square = g.square();
    let mut probs = keep_probs.then(|| Vec::<f32>::with_capacity(g.tasks() * square));
    let probs_at = probs.as_mut().map(|p| Shared(p.as_mut_ptr()));
    let mut context = Vec::<f32>::with_capacity(g.batch * g.queries * g.hidden);
    let out = Shared(context.as_mut_ptr());
    (0..g.tasks()).into_par_iter().for_each_init(
        || (Vec::new(), Vec::new()),
        |(scratch, dropped): &mut (Vec<f32>, Vec<f32>), task| {
            let probs = match probs_at {
                Some(base) => base.at(task * square),
                None => {
                    scratch.resize(square, 0.0);
                    Shared(scratch.as_mut_ptr())
                }
            };
            // SAFETY: `probs` has `seq²` elements of its own (this task's part of the kept
            // probabilities, or the scratch); of `out`, the context's buffer, this task alone
            // writes its head's columns.
            unsafe { head_forward(&g, task, [qs, ks, vs], mask, dropout, probs, dropped, out) };
        },
    );
    // SAFETY: the tasks wrote every column of every row of the context, and all their
    // probabilities.
    let context = unsafe { written(context, Shape::from(vec![g.batch, g.queries, g.hidden])) };
    let probs =
        probs.map(|p| unsafe { written(p, Shape::from(vec![g.batch, g.heads, g.queries, g.seq])) });
    Some((context, probs))
}

/// One head's forward pass: `probs ← softmax(scale·Q·Kᵀ, masked)` (`queries × seq` elements),
/// then its columns of `out ← dropout(probs)·V`; `dropped` is scratch for the dropped
/// probabilities.
///
/// # Safety
/// `q` and `out` point at `[batch, queries, hidden]` buffers of `g`'s sizes, `k` and `v` at
/// `[batch, seq, hidden]` ones, `probs` at `queries × seq` elements this call alone uses; no
/// other task writes this task's columns of `out`.
#[allow(clippy::too_many_arguments)]
unsafe fn head_forward(
    g: &Geometry,
    task: usize,
    [q, k, v]: [Shared; 3],
    mask: Option<&KeyMask>,
    dropout: Option<Mask>,
    probs: Shared,
    dropped: &mut Vec<f32>,
    out: Shared,
) {
    let (queries, seq, d) = (g.queries, g.seq, g.head_dim);
    let square = Matrix::rows(probs.0, seq);
    let (q, k, v) = (
        g.query_head(q.0, task),
        g.key_head(k.0, task),
        g.key_head(v.0, task),
    );
    // SAFETY: the caller's buffers, read and written within their sizes.
    unsafe {
        product(
            [queries, seq, d],
            square,
            q,
            k.transposed(),
            g.scale,
            false,
            false,
        )
    };
    let probs = unsafe { std::slice::from_raw_parts_mut(probs.0, g.square()) };
    if let Some(mask) = mask {
        mask.fill_rows([task / g.heads, task % g.heads], probs, seq, f32::MIN);
    }
    probs.chunks_exact_mut(seq).for_each(softmax_row_in_place);
    let weights = match dropout {
        Some(mask) => {
            dropped.resize(g.square(), 0.0);
            mask_into(probs, as_uninit(dropped), (task * g.square()) as u32, mask);
            Matrix::rows(dropped.as_mut_ptr(), seq)
        }
        None => square,
    };
    let out = g.query_head(out.0, task);
    // SAFETY: as above; this task's columns of `out`.
    unsafe { product([queries, d, seq], out, weights, v, 1.0, false, false) };
}

/// What the backward pass reads: the inputs, the probabilities before dropout, the mask's key.
#[derive(Debug, Clone)]
struct Saved {
    query: FlexTensor,
    key: FlexTensor,
    value: FlexTensor,
    probs: FlexTensor,
    /// The padding mask: the masked scores' gradient is 0 (as `mask_fill`'s), which the softmax
    /// gradient alone does not give in a row whose keys are all masked.
    mask: Option<KeyMask>,
    geometry: Geometry,
    dropout: Option<Mask>,
}

#[derive(Debug)]
struct AttentionBackward;

impl Backward<Flex, 3> for AttentionBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [dq, dk, dv] = backward(&ops.state, grad);
        let [q, k, v] = ops.parents;
        for (node, grad) in [(q, dq), (k, dk), (v, dv)] {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// The gradients of the query, key and value from the context's.
///
/// Per head, with `P` the probabilities, `D` the dropout factors and `dC` the context's
/// gradient: `dV = (D∘P)ᵀ·dC`, `dP = D∘(dC·Vᵀ)`, `dS = P∘(dP - Σ_row dP∘P)` (0 where masked),
/// `dQ = scale·dS·K`, `dK = scale·dSᵀ·Q`.
fn backward(saved: &Saved, grad: FlexTensor) -> [FlexTensor; 3] {
    let g = saved.geometry;
    let grad = contiguous(grad);
    assert_eq!(
        grad.layout().shape(),
        saved.query.layout().shape(),
        "attention backward: the context's gradient has the context's shape"
    );
    let ptr = |x: &FlexTensor| Shared(x.as_slice::<f32>().expect("f32").as_ptr().cast_mut());
    let (q, k, v, dc) = (
        ptr(&saved.query),
        ptr(&saved.key),
        ptr(&saved.value),
        ptr(&grad),
    );
    let probs = saved.probs.as_slice::<f32>().expect("f32");
    let square = g.square();
    let rows = [g.queries, g.seq, g.seq];
    let mut buffers: [Vec<f32>; 3] = rows.map(|r| Vec::with_capacity(g.batch * r * g.hidden));
    let [dq, dk, dv] = buffers.each_mut().map(|b| Shared(b.as_mut_ptr()));
    (0..g.tasks()).into_par_iter().for_each_init(
        || (Vec::new(), Vec::new()),
        |(dropped, dprobs): &mut (Vec<f32>, Vec<f32>), task| {
            let probs = &probs[task * square..(task + 1) * square];
            // SAFETY: the saved `[batch, queries or seq, hidden]` buffers and the gradients'
            // new ones, of which this task alone writes its head's columns.
            unsafe {
                head_backward(
                    &g,
                    task,
                    [q, k, v, dc],
                    probs,
                    (saved.mask.as_ref(), saved.dropout),
                    [dq, dk, dv],
                    (dropped, dprobs),
                );
            }
        },
    );
    // SAFETY: the tasks wrote every column of every row of the three.
    let mut rows = rows.into_iter();
    buffers.map(|b| {
        let shape = Shape::from(vec![g.batch, rows.next().expect("three"), g.hidden]);
        unsafe { written(b, shape) }
    })
}

/// One head's backward pass (see [`backward`]).
///
/// # Safety
/// The query, the context's gradient and `dq` point at `[batch, queries, hidden]` buffers of
/// `g`'s sizes, the key, the value, `dk` and `dv` at `[batch, seq, hidden]` ones; no other task
/// writes this task's columns of the gradients.
unsafe fn head_backward(
    g: &Geometry,
    task: usize,
    [q, k, v, dc]: [Shared; 4],
    probs: &[f32],
    (mask, dropout): (Option<&KeyMask>, Option<Mask>),
    [dq, dk, dv]: [Shared; 3],
    (dropped, dprobs): (&mut Vec<f32>, &mut Vec<f32>),
) {
    let (queries, seq, d) = (g.queries, g.seq, g.head_dim);
    let start = (task * g.square()) as u32;
    let weights = match dropout {
        Some(mask) => {
            dropped.resize(g.square(), 0.0);
            mask_into(probs, as_uninit(dropped), start, mask);
            Matrix::rows(dropped.as_mut_ptr(), seq)
        }
        None => Matrix::rows(probs.as_ptr().cast_mut(), seq),
    };
    let (q, k, v, dc) = (
        g.query_head(q.0, task),
        g.key_head(k.0, task),
        g.key_head(v.0, task),
        g.query_head(dc.0, task),
    );
    dprobs.resize(g.square(), 0.0);
    let dp = Matrix::rows(dprobs.as_mut_ptr(), seq);
    // SAFETY: the caller's buffers, within their sizes; this task's columns of the gradients.
    unsafe {
        product(
            [seq, d, queries],
            g.key_head(dv.0, task),
            weights.transposed(),
            dc,
            1.0,
            false,
            false,
        );
        product([queries, seq, d], dp, dc, v.transposed(), 1.0, false, false);
    }
    if let Some(mask) = dropout {
        mask_in_place(dprobs, start, mask);
    }
    let rows = probs.chunks_exact(seq).zip(dprobs.chunks_exact_mut(seq));
    for (y, dy) in rows {
        softmax_grad_row_in_place(y, dy);
    }
    if let Some(mask) = mask {
        mask.fill_rows([task / g.heads, task % g.heads], dprobs, seq, 0.0);
    }
    let ds = Matrix::rows(dprobs.as_mut_ptr(), seq);
    unsafe {
        product(
            [queries, d, seq],
            g.query_head(dq.0, task),
            ds,
            k,
            g.scale,
            false,
            false,
        );
        product(
            [seq, d, queries],
            g.key_head(dk.0, task),
            ds.transposed(),
            q,
            g.scale,
            false,
            false,
        );
    }
}

/// The contiguous f32 tensor of `shape` over `buffer`'s allocation.
///
/// # Safety
/// The first `shape.num_elements()` elements of the allocation (within its capacity) are
/// written.
unsafe fn written(mut buffer: Vec<f32>, shape: Shape) -> FlexTensor {
    let n = shape.num_elements();
    assert!(n <= buffer.capacity());
    // SAFETY: the caller's.
    unsafe { buffer.set_len(n) };
    FlexTensor::new(
        Bytes::from_elems(buffer),
        Layout::contiguous(shape),
        DType::F32,
    )
}

/// Scratch of initialised floats seen as the kernels' write-only output.
fn as_uninit(xs: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: `MaybeUninit<f32>` has `f32`'s layout, and every `f32` is a valid one.
    unsafe { &mut *(xs as *mut [f32] as *mut [MaybeUninit<f32>]) }
}

/// A buffer's base pointer, shared by the tasks that each read it or write their own part.
#[derive(Clone, Copy)]
struct Shared(*mut f32);

impl Shared {
    /// The pointer `offset` elements further.
    fn at(self, offset: usize) -> Self {
        Shared(self.0.wrapping_add(offset))
    }
}

// SAFETY: the tasks write disjoint elements (see each use), and the buffers outlive them.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tolerance;
    use burn::tensor::activation;
    use burn::tensor::module::attention as fused;
    use burn::tensor::ops::AttentionModuleOptions;

    const BATCH: usize = 3;
    const SEQ: usize = 37;
    const HEADS: usize = 4;
    const HIDDEN: usize = 24;

    fn split(x: Tensor<3>) -> Tensor<4> {
        let len = x.dims()[1];
        x.reshape([BATCH, len, HEADS, HIDDEN / HEADS])
            .swap_dims(1, 2)
    }

    fn merge(x: Tensor<4>) -> Tensor<3> {
        let len = x.dims()[2];
        x.swap_dims(1, 2).reshape([BATCH, len, HIDDEN])
    }

    /// The first `n` queries: the query's first rows, the mask's first query rows.
    fn first(
        n: usize,
        q: &Tensor<3>,
        mask: Option<Tensor<4, Bool>>,
    ) -> (Tensor<3>, Option<Tensor<4, Bool>>) {
        let q = q.clone().slice([0..BATCH, 0..n, 0..HIDDEN]);
        (q, mask.map(|m| m.slice([0..BATCH, 0..HEADS, 0..n, 0..SEQ])))
    }

    /// The model's path without this kernel when training: the products, scale, mask, softmax
    /// and dropout in Burn's ops (the dropout through burnbert's kernel, for the same masks).
    fn spelled_out(
        [q, k, v]: [Tensor<3>; 3],
        mask: Option<Tensor<4, Bool>>,
        dropout: Option<f64>,
    ) -> Tensor<3> {
        let scale = 1.0 / ((HIDDEN / HEADS) as f64).sqrt();
        let scores = split(q).matmul(split(k).swap_dims(2, 3)).mul_scalar(scale);
        let scores = match mask {
            Some(mask) => scores.mask_fill(mask, f32::MIN),
            None => scores,
        };
        let probs = activation::softmax(scores, 3);
        let probs = match dropout {
            Some(p) => crate::ops::flex::dropout(p, probs).expect("f32 on flex"),
            None => probs,
        };
        merge(probs.matmul(split(v)))
    }

    /// `[batch, heads, seq, seq]` mask of the keys `padded(batch, key)`.
    fn padding(device: &Device, padded: impl Fn(usize, usize) -> bool) -> Tensor<4, Bool> {
        let padded: Vec<bool> = (0..BATCH * SEQ).map(|i| padded(i / SEQ, i % SEQ)).collect();
        Tensor::<2, Bool>::from_data(TensorData::new(padded, [BATCH, SEQ]), device)
            .reshape([BATCH, 1, 1, SEQ])
            .expand([BATCH, HEADS, SEQ, SEQ])
    }

    /// A mask that differs between queries, stored whole (`[batch, heads, seq, seq]`, no stride
    /// 0): query `i` of head `h` of batch `b` ignores the keys past `i + b + h`.
    fn per_query(device: &Device) -> Tensor<4, Bool> {
        let n = BATCH * HEADS * SEQ * SEQ;
        let masked: Vec<bool> = (0..n)
            .map(|x| {
                let (b, h, i, j) = (
                    x / (HEADS * SEQ * SEQ),
                    x / (SEQ * SEQ) % HEADS,
                    x / SEQ % SEQ,
                    x % SEQ,
                );
                j > i + b + h
            })
            .collect();
        Tensor::<4, Bool>::from_data(TensorData::new(masked, [BATCH, HEADS, SEQ, SEQ]), device)
    }

    /// Query, key and value of distinct values up to ±3.3, and a padding mask: batch 1 pads
    /// its last 10 keys, batch 2 its last 30, batch 0 none.
    fn inputs(device: &Device) -> ([Tensor<3>; 3], Tensor<4, Bool>) {
        let values = |salt: usize| {
            let n = BATCH * SEQ * HIDDEN;
            let v: Vec<f32> = (0..n)
                .map(|i| (((i * 7919 + salt * 104_729) % 2000) as f32 - 1000.0) / 300.0)
                .collect();
            Tensor::<3>::from_data(TensorData::new(v, [BATCH, SEQ, HIDDEN]), device)
        };
        let mask = padding(device, |b, key| {
            (b == 1 && key >= 27) || (b == 2 && key >= 7)
        });
        ([values(1), values(2), values(3)], mask)
    }

    #[test]
    fn inference_is_burns_fused_attention_with_and_without_padding_or_a_per_query_mask() {
        let device = Device::flex();
        let ([q, k, v], mask) = inputs(&device);
        // Outputs up to 3.4 in magnitude, within 2e-6: the exp and the sums round differently.
        // A mask per head, the same for every query (stride 0 over queries, not over heads):
        // head h of batch b ignores the keys past 30 - 2h - b.
        let per_head: Vec<bool> = (0..BATCH * HEADS * SEQ)
            .map(|x| x % SEQ + x / (HEADS * SEQ) + 2 * (x / SEQ % HEADS) > 30)
            .collect();
        let per_head =
            Tensor::<3, Bool>::from_data(TensorData::new(per_head, [BATCH, HEADS, SEQ]), &device)
                .reshape([BATCH, HEADS, 1, SEQ])
                .expand([BATCH, HEADS, SEQ, SEQ]);
        let masks = [None, Some(mask), Some(per_query(&device)), Some(per_head)];
        // All the queries, and the first 1 or 5 of them (a pooler's `[CLS]`).
        for (mask, queries) in masks
            .into_iter()
            .flat_map(|m| [SEQ, 1, 5].map(|n| (m.clone(), n)))
        {
            let (q, mask) = first(queries, &q, mask);
            let ours = attention(&q, &k, &v, HEADS, mask.as_ref(), None).expect("f32 on flex");
            assert_eq!(ours.dims(), [BATCH, queries, HIDDEN]);
            let options = AttentionModuleOptions::default();
            let expected = merge(fused(
                split(q),
                split(k.clone()),
                split(v.clone()),
                mask,
                None,
                options,
            ));
            ours.into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(2e-6));
        }
    }

    #[test]
    fn training_is_the_spelled_out_path_forward_and_backward_with_the_same_dropout() {
        let device = Device::flex().autodiff();
        let ([q, k, v], mask) = inputs(&device);
        let n = BATCH * SEQ * HIDDEN;
        let weights: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
        let weights =
            Tensor::<3>::from_data(TensorData::new(weights, [BATCH, SEQ, HIDDEN]), &device);
        // Batch 1 all padding: its rows' scores are all masked, their probabilities uniform and
        // their gradient 0, as mask_fill's.
        let all_padded = padding(&device, |b, _| b == 1);
        let cases = [
            (None, None, SEQ),
            (Some(mask.clone()), None, SEQ),
            (Some(mask.clone()), Some(0.3), SEQ),
            (Some(all_padded.clone()), Some(0.1), SEQ),
            (Some(per_query(&device)), Some(0.2), SEQ),
            // The first queries alone (a pooler's `[CLS]`).
            (Some(mask.clone()), None, 1),
            (Some(mask), Some(0.3), 5),
            (Some(all_padded), Some(0.1), 1),
            (Some(per_query(&device)), Some(0.2), 3),
        ];
        for (mask, dropout, queries) in cases {
            let (q, mask) = first(queries, &q, mask);
            let weights = weights.clone().slice([0..BATCH, 0..queries, 0..HIDDEN]);
            let leaves = || [&q, &k, &v].map(|x| x.clone().detach().require_grad());
            let (ours_in, theirs_in) = (leaves(), leaves());
            device.seed(7);
            let [qo, ko, vo] = &ours_in;
            let ours = attention(qo, ko, vo, HEADS, mask.as_ref(), dropout).expect("f32 on flex");
            device.seed(7);
            let theirs = spelled_out(theirs_in.clone(), mask, dropout);
            ours.clone()
                .into_data()
                .assert_approx_eq::<f32>(&theirs.clone().into_data(), Tolerance::absolute(2e-6));
            let ours_grads = (ours * weights.clone()).sum().backward();
            let theirs_grads = (theirs * weights.clone()).sum().backward();
            for (o, t) in ours_in.iter().zip(&theirs_in) {
                let o = o.grad(&ours_grads).expect("a gradient").into_data();
                let t = t.grad(&theirs_grads).expect("a gradient").into_data();
                o.assert_approx_eq::<f32>(&t, Tolerance::absolute(2e-5));
            }
        }
    }

    #[test]
    fn other_tensors_are_left_to_burn() {
        let device = Device::flex();
        let x = Tensor::<3>::zeros([1, 2, 4], &device);
        // Heads that do not divide the hidden size.
        assert!(attention(&x, &x, &x, 3, None, None).is_none());
        // An empty sequence.
        let empty = Tensor::<3>::zeros([1, 0, 4], &device);
        assert!(attention(&empty, &empty, &empty, 2, None, None).is_none());
        // A query of another batch or hidden size than the key's.
        let other = Tensor::<3>::zeros([2, 1, 4], &device);
        assert!(attention(&other, &x, &x, 2, None, None).is_none());
        let other = Tensor::<3>::zeros([1, 1, 2], &device);
        assert!(attention(&other, &x, &x, 2, None, None).is_none());
        // A mask that is not `[batch, heads, queries, seq]`.
        let mask = Tensor::<4, Bool>::empty([1, 1, 1, 2], &device);
        assert!(attention(&x, &x, &x, 2, Some(&mask), None).is_none());
        // An f64 tensor.
        let x = Tensor::<3>::zeros([1, 2, 4], (&device, DType::F64));
        assert!(attention(&x, &x, &x, 2, None, None).is_none());
    }
}
