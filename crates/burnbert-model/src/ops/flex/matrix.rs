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
        let onto = if accumulate {
            super::sgemm::Onto::C
        } else {
            super::sgemm::Onto::Zero
        };
        // SAFETY: the caller's; `chosen` implies AVX2 and FMA.
        unsafe { on_sgemm([m, n, k], dst, lhs, rhs, scale, onto, parallel) };
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
/// # Panics
/// If `row` does not have `n` values.
///
/// # Safety
/// The matrices' elements are within their buffers; `dst` overlaps neither operand nor `row`,
/// and no two of its elements share an address (its rows are filled in parallel).
pub(super) unsafe fn product_plus_row(
    [m, n, k]: [usize; 3],
    dst: Matrix,
    lhs: Matrix,
    rhs: Matrix,
    row: &[f32],
) {
    assert_eq!(row.len(), n, "a row of the product's width");
    #[cfg(target_arch = "x86_64")]
    if m.saturating_mul(n).saturating_mul(k) >= PARALLEL && super::sgemm::chosen() {
        let onto = super::sgemm::Onto::Row(row.as_ptr());
        // SAFETY: the caller's; `chosen` implies AVX2 and FMA.
        unsafe { on_sgemm([m, n, k], dst, lhs, rhs, 1.0, onto, true) };
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

/// `dst ← scale·lhs·rhs` added onto `onto`, on [`sgemm`](super::sgemm).
///
/// # Safety
/// [`super::sgemm::sgemm`]'s.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn on_sgemm(
    dims: [usize; 3],
    dst: Matrix,
    lhs: Matrix,
    rhs: Matrix,
    scale: f32,
    onto: super::sgemm::Onto,
    parallel: bool,
) {
    // SAFETY: the caller's.
    unsafe {
        super::sgemm::sgemm(
            dims,
            dst.ptr,
            [dst.row_stride, dst.col_stride],
            lhs.ptr,
            [lhs.row_stride, lhs.col_stride],
            rhs.ptr,
            [rhs.row_stride, rhs.col_stride],
            scale,
            onto,
            parallel,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_onto_a_row_is_the_product_added_to_the_row_filled_in() {
        // Large enough for sgemm on AVX2 CPUs without AVX-512 (the row added as tiles are
        // stored) and a small one for gemm; both against filling the row in, then adding the
        // product, to the bit.
        for [m, n, k] in [[512, 392, 384], [7, 19, 5]] {
            let values = |len: usize, salt: usize| -> Vec<f32> {
                (0..len)
                    .map(|i| (((i * 7919 + salt * 104_729) % 1999) as f32 - 999.5) / 999.5)
                    .collect()
            };
            let (a, b, row) = (values(m * k, 1), values(k * n, 2), values(n, 3));
            let mut onto_row = vec![f32::NAN; m * n];
            let mut filled: Vec<f32> = (0..m).flat_map(|_| row.iter().copied()).collect();
            let (lhs, rhs) = (Matrix::rows(a.as_ptr(), k), Matrix::rows(b.as_ptr(), n));
            // SAFETY: row-major matrices within their buffers; `row` has n values.
            unsafe {
                product_plus_row(
                    [m, n, k],
                    Matrix::rows(onto_row.as_mut_ptr(), n),
                    lhs,
                    rhs,
                    &row,
                );
                product(
                    [m, n, k],
                    Matrix::rows(filled.as_mut_ptr(), n),
                    lhs,
                    rhs,
                    1.0,
                    true,
                    true,
                );
            }
            let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&onto_row), bits(&filled), "[{m}, {n}, {k}]");
            // And the values: the first element against an f64 dot product.
            let dot: f64 = (0..k).map(|p| a[p] as f64 * b[p * n] as f64).sum();
            assert!((onto_row[0] as f64 - (row[0] as f64 + dot)).abs() < 1e-4);
        }
    }
}
