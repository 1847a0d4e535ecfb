//! A matrix as gemm reads it (a pointer and two strides) and one gemm product, shared by the
//! attention and Linear kernels.

use rayon::prelude::*;

/// Products of at least this many multiply-adds may run on all cores (burn-flex's threshold).
const PARALLEL: usize = 192 * 192 * 192;
/// Rows per parallel task of filling a product's output with a row.
const ROWS: usize = 64;

/// A matrix in memory: its first element and its row and column strides, in elements.
#[derive(Clone, Copy)]
pub(super) struct Matrix {
    ptr: *mut f32,
    row_stride: isize,
    col_stride: isize,
}

// SAFETY: a `Matrix` is only a view; the kernels that send one between tasks give each task
// disjoint elements to write.
unsafe impl Send for Matrix {}
// SAFETY: as above.
unsafe impl Sync for Matrix {}

impl Matrix {
    /// Rows `row_stride` apart, columns adjacent.
    pub(super) fn rows(ptr: *const f32, row_stride: usize) -> Self {
        Self {
            ptr: ptr.cast_mut(),
            row_stride: row_stride as isize,
            col_stride: 1,
        }
    }

    /// The address of element `(i, j)` (a method, so that a closure that calls it captures the
    /// whole `Matrix`, which may be shared between threads, not its bare pointer).
    fn at(self, i: usize, j: usize) -> *mut f32 {
        self.ptr
            .wrapping_offset(i as isize * self.row_stride + j as isize * self.col_stride)
    }

    /// The transpose, the same elements.
    pub(super) fn transposed(self) -> Self {
        Self {
            ptr: self.ptr,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// `dst ← scale·lhs·rhs` (`dst ← dst + scale·lhs·rhs` when `accumulate`) for `[m, n, k]`: `lhs`
/// `m × k`, `rhs` `k × n`. On all cores when `parallel` and the product is large, else on this
/// thread (where the caller's tasks are the parallelism). Large products run on
/// [`sgemm`](super::sgemm) on x86-64 CPUs with AVX2 and FMA and no AVX-512, the rest on gemm.
///
/// # Safety
/// The matrices' elements are within their buffers; `dst` overlaps neither operand; when
/// `accumulate`, `dst` is initialised.
pub(super) unsafe fn product(
    [m, n, k]: [usize; 3],
    dst: Matrix,
    lhs: Matrix,
    rhs: Matrix,
    scale: f32,
    accumulate: bool,
    parallel: bool,
) {
    let large = m.saturating_mul(n).saturating_mul(k) >= PARALLEL;
    #[cfg(target_arch = "x86_64")]
    if large && super::sgemm::chosen() {
        // SAFETY: the caller's; `chosen` implies AVX2 and FMA.
        unsafe {
            super::sgemm::sgemm(
                [m, n, k],
                dst.ptr,
                [dst.row_stride, dst.col_stride],
                lhs.ptr,
                [lhs.row_stride, lhs.col_stride],
                rhs.ptr,
                [rhs.row_stride, rhs.col_stride],
                scale,
                if accumulate {
                    super::sgemm::Onto::C
                } else {
                    super::sgemm::Onto::Zero
                },
                parallel,
            );
        }
        return;
    }
    let parallelism = if parallel && large {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the caller's.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.ptr,
            dst.col_stride,
            dst.row_stride,
            accumulate,
            lhs.ptr,
            lhs.col_stride,
            lhs.row_stride,
            rhs.ptr,
            rhs.col_stride,
            rhs.row_stride,
            if accumulate { 1.0 } else { 0.0 },
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `dst ← lhs·rhs + 1·rowᵀ` for `[m, n, k]`, `row` (a Linear layer's bias, `n` values) added to
/// every row of the product, on all cores when the product is large. On [`sgemm`](super::sgemm)
/// the row is added as each tile of `dst` is stored; elsewhere `dst` is filled with it and the
/// product added. The same bits either way.
///
/// # Safety
/// As [`product`]'s; `row` has `n` values.
pub(super) unsafe fn product_plus_row(
    [m, n, k]: [usize; 3],
    dst: Matrix,
    lhs: Matrix,
    rhs: Matrix,
    row: &[f32],
) {
    debug_assert_eq!(row.len(), n);
    #[cfg(target_arch = "x86_64")]
    if m.saturating_mul(n).saturating_mul(k) >= PARALLEL && super::sgemm::chosen() {
        // SAFETY: the caller's; `chosen` implies AVX2 and FMA.
        unsafe {
            super::sgemm::sgemm(
                [m, n, k],
                dst.ptr,
                [dst.row_stride, dst.col_stride],
                lhs.ptr,
                [lhs.row_stride, lhs.col_stride],
                rhs.ptr,
                [rhs.row_stride, rhs.col_stride],
                1.0,
                super::sgemm::Onto::Row(row.as_ptr()),
                true,
            );
        }
        return;
    }
    (0..m).into_par_iter().with_min_len(ROWS).for_each(|i| {
        for (j, &value) in row.iter().enumerate() {
            // SAFETY: (i, j) is in `dst`, each row written by one task.
            unsafe { dst.at(i, j).write(value) };
        }
    });
    // SAFETY: the caller's; `dst` now holds the row in each of its rows.
    unsafe { product([m, n, k], dst, lhs, rhs, 1.0, true, true) };
}
