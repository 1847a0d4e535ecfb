//! Single-precision matrix products for x86-64 CPUs with AVX2 and FMA but no AVX-512, BLIS's
//! way (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS
//! Functionality", ACM TOMS 41(3), 2015): `B` packed per block of at most [`KC`] rows into strips
//! of [`NR`] columns, blocks of [`MC`] rows of `A` shared between the threads, and a 6 × 16
//! microkernel that keeps its tile of `C` in twelve AVX registers (BLIS's `sgemm` shape for
//! Haswell and Zen) and fetches the tile's cache lines while it runs. `A` is read in place when
//! its rows are contiguous (a Linear layer's input and output gradient), else packed into strips
//! of [`MR`] rows.
//!
//! Written here because no maintained Rust crate is as fast on these CPUs for BERT's Linear
//! products: on the 2-core AVX2 EPYC (Zen 2 caches, about 93 GFLOP/s per core with FMA), best
//! of 15 on two threads, gemm 0.19 (which burn-flex uses, and [`super::matrix`] for small
//! products) gave 100–129 GFLOP/s on all-MiniLM-L6-v2's forward and input-gradient shapes
//! (`4096 × 384 × 384`, `4096 × 1536 × 384`, `4096 × 384 × 1536`) and this 124–150; 83–139 and
//! 96–136 on the weight-gradient shapes (`384 × 384 × 4096` and the like, `A` transposed);
//! PyTorch 2.9.0's MKL 95–124 on the forward ones. AVX-512 CPUs keep gemm's AVX-512 kernels.

use std::arch::x86_64::*;
use std::cell::Cell;

use rayon::prelude::*;

/// Rows of the microkernel's tile of `C`.
const MR: usize = 6;
/// Columns of the microkernel's tile of `C`: two AVX registers.
const NR: usize = 16;
/// Greatest depth of a packed block: one strip of packed `B` (`KC × NR`, 24 KiB) stays in L1
/// while the strips of `A` pass by.
const KC: usize = 384;
/// Rows of a block of `A` (`MC × KC`, 72 KiB, in L2), the unit of work of a thread.
const MC: usize = 48;
/// Greatest width of a packed block of `B` (`KC × NC`, 6 MiB, in L3).
const NC: usize = 4096;

/// Whether this CPU can run [`sgemm`]: AVX2 and FMA.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Whether [`super::matrix::product`] uses [`sgemm`] on this CPU: AVX2 and FMA without AVX-512,
/// for which gemm has kernels of its own (not measured against these).
pub(super) fn chosen() -> bool {
    available() && !is_x86_feature_detected!("avx512f")
}

/// What a product's result is added to.
#[derive(Clone, Copy)]
pub(super) enum Onto {
    /// Nothing: `C ← alpha·A·B`.
    Zero,
    /// `C`'s own values, which must be initialised: `C ← C + alpha·A·B`.
    C,
    /// `n` values, one per column, added to every row of the product as each tile is stored (a
    /// Linear layer's bias): `C ← alpha·A·B + 1·rowᵀ`. `C` is read neither before nor after.
    Row(*const f32),
}

impl Onto {
    /// What column `j`'s tiles are added to.
    fn at_column(self, j: usize) -> Self {
        match self {
            Self::Row(row) => Self::Row(row.wrapping_add(j)),
            other => other,
        }
    }
}

/// A pointer that may cross threads: the tasks it is sent to write disjoint elements.
#[derive(Clone, Copy)]
struct Shared<T>(T);
// SAFETY: see the type's doc; the buffers outlive the parallel loops that use them.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T: Copy> Shared<T> {
    /// The pointer. A closure that calls this captures the whole `Shared`, which may cross
    /// threads, not the bare pointer, which may not.
    fn get(self) -> T {
        self.0
    }
}

/// A cache line of packed values: packed buffers start on a line, so that no AVX load from a
/// strip straddles two lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// The first `len` values of `buffer`, grown to hold them.
fn packed(buffer: &mut Vec<Line>, len: usize) -> &mut [f32] {
    if buffer.len() * 16 < len {
        buffer.resize(len.div_ceil(16), Line([0.0; 16]));
    }
    // SAFETY: a `Line` is 16 `f32`s without padding, and the buffer holds at least `len`.
    unsafe { std::slice::from_raw_parts_mut(buffer.as_mut_ptr().cast::<f32>(), len) }
}

thread_local! {
    /// The thread's packed blocks of `B` and of `A`, kept between products: allocated afresh
    /// for each product, the 6 MiB block of `B` split the free space of the heap (burnbert's
    /// allocator settings never give it back), and bert-base's training peak grew by 210 MiB.
    /// Each is taken out while in use, so a product that starts on a thread whose buffer is out
    /// (rayon runs other tasks while a thread waits) gets a new one.
    static PACKED: Cell<[Vec<Line>; 2]> = const { Cell::new([Vec::new(), Vec::new()]) };
}

/// Runs `f` with the thread's buffer `which` (0: packed `B`, 1: packed `A`), then puts it back.
fn with_packed<R>(which: usize, f: impl FnOnce(&mut Vec<Line>) -> R) -> R {
    let mut buffer = PACKED.with(|packed| {
        let mut both = packed.take();
        let buffer = std::mem::take(&mut both[which]);
        packed.set(both);
        buffer
    });
    let result = f(&mut buffer);
    PACKED.with(|packed| {
        let mut both = packed.take();
        both[which] = buffer;
        packed.set(both);
    });
    result
}

/// `C ← alpha·A·B` added [`onto`](Onto) nothing, `C` or a row, for `[m, n, k]`: `A` `m × k`,
/// `B` `k × n`, `C` `m × n`, each given by its first element and its `[row, column]` strides in
/// elements. On rayon's threads when `parallel`, each task writing its own rows and columns of
/// `C`; the result does not depend on the number of threads. Added onto a row, the result is
/// the same to the bit as onto `C` holding that row in each of its rows.
///
/// # Safety
/// [`available`]; every element of the three matrices is in its buffer; `C` overlaps neither
/// operand nor the row and no two of its elements share an address; onto `C`, `C` is
/// initialised; onto a row, the row has `n` values.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn sgemm(
    [m, n, k]: [usize; 3],
    c: *mut f32,
    [rs_c, cs_c]: [isize; 2],
    a: *const f32,
    [rs_a, cs_a]: [isize; 2],
    b: *const f32,
    [rs_b, cs_b]: [isize; 2],
    alpha: f32,
    onto: Onto,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m as isize {
            for j in 0..n as isize {
                // SAFETY: (i, j) is in C, j in the row.
                unsafe {
                    let c = c.offset(i * rs_c + j * cs_c);
                    match onto {
                        Onto::Zero => *c = 0.0,
                        Onto::C => {}
                        Onto::Row(row) => *c = *row.offset(j),
                    }
                }
            }
        }
        return;
    }
    // Depth blocks of equal size, none deeper than KC.
    let kc_max = k.div_ceil(k.div_ceil(KC));
    let m_blocks = m.div_ceil(MC);
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    with_packed(0, |packed_b| {
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let strips = nc.div_ceil(NR);
            // Too few blocks of rows for the threads: split the columns too, by whole strips.
            let n_parts = (2 * threads).div_ceil(m_blocks).min(strips);
            let part_strips = strips.div_ceil(n_parts);
            let tasks = m_blocks * strips.div_ceil(part_strips);
            let packed_b = packed(packed_b, strips * NR * kc_max);
            for pc in (0..k).step_by(kc_max) {
                let kc = kc_max.min(k - pc);
                let packed_b = &mut packed_b[..strips * NR * kc];
                // SAFETY: row pc, column jc of B.
                let b = Shared(unsafe { b.offset(pc as isize * rs_b + jc as isize * cs_b) });
                let pack = |(strip, out): (usize, &mut [f32])| {
                    let j = strip * NR;
                    // SAFETY: columns j.. of the block, within B.
                    unsafe {
                        pack_b(
                            NR.min(nc - j),
                            b.get().offset(j as isize * cs_b),
                            [rs_b, cs_b],
                            out,
                        )
                    }
                };
                if parallel {
                    packed_b.par_chunks_mut(NR * kc).enumerate().for_each(pack);
                } else {
                    packed_b.chunks_mut(NR * kc).enumerate().for_each(pack);
                }
                let (packed_b, a, c) = (Shared(packed_b.as_ptr()), Shared(a), Shared(c));
                // The first depth block starts from `onto`, the next ones from its result.
                let onto = Shared(if pc == 0 { onto.at_column(jc) } else { Onto::C });
                let task = |task: usize| {
                    let (ic, part) = (task % m_blocks * MC, task / m_blocks);
                    let columns = part * part_strips * NR..nc.min((part + 1) * part_strips * NR);
                    // SAFETY: rows ic.. and columns pc.. of A, row ic and column jc of C; the
                    // block's tiles are this task's alone.
                    unsafe {
                        block(
                            kc,
                            a.get().offset(ic as isize * rs_a + pc as isize * cs_a),
                            [rs_a, cs_a],
                            MC.min(m - ic),
                            packed_b.get(),
                            columns,
                            c.get().offset(ic as isize * rs_c + jc as isize * cs_c),
                            [rs_c, cs_c],
                            alpha,
                            onto.get(),
                        )
                    }
                };
                if parallel && tasks > 1 {
                    (0..tasks).into_par_iter().for_each(task);
                } else {
                    (0..tasks).for_each(task);
                }
            }
        }
    });
}

/// One task: `C ← alpha·A·B̃` added onto `onto` for `rows` (≤ [`MC`]) rows of `A`, `kc` deep,
/// and the packed block `B̃`'s strips covering `columns` (whole strips but perhaps the last);
/// `a` and `c` point at the block's first row, a row of `onto` at its first column. `A`'s rows
/// are read in place when its columns are adjacent (a strip is then [`MR`] runs of `kc`
/// values), else packed; a last strip of fewer than `MR` rows is always packed, with zeros
/// below it.
///
/// # Safety
/// AVX2 and FMA; the block's elements of `A` are in its buffer, `B̃` holds the strips, and the
/// tiles written are in `C`'s buffer, initialised onto `C`, and no other task's; a row of
/// `onto` covers `columns`.
#[allow(clippy::too_many_arguments)]
unsafe fn block(
    kc: usize,
    a: *const f32,
    [rs_a, cs_a]: [isize; 2],
    rows: usize,
    packed_b: *const f32,
    columns: std::ops::Range<usize>,
    c: *mut f32,
    [rs_c, cs_c]: [isize; 2],
    alpha: f32,
    onto: Onto,
) {
    let full = if cs_a == 1 { rows / MR * MR } else { 0 };
    with_packed(1, |packed_a| {
        let packed_a = packed(packed_a, (rows - full).div_ceil(MR) * MR * kc);
        // SAFETY: the caller's.
        unsafe {
            if rows > full {
                pack_a(
                    rows - full,
                    a.offset(full as isize * rs_a),
                    [rs_a, cs_a],
                    kc,
                    packed_a,
                );
            }
            for jr in columns.clone().step_by(NR) {
                for ir in (0..rows).step_by(MR) {
                    let (strip, strides) = if ir < full {
                        (a.offset(ir as isize * rs_a), [rs_a, 1])
                    } else {
                        (packed_a.as_ptr().add((ir - full) * kc), [1, MR as isize])
                    };
                    kernel(
                        kc,
                        strip,
                        strides,
                        packed_b.add(jr * kc),
                        c.offset(ir as isize * rs_c + jr as isize * cs_c),
                        [rs_c, cs_c],
                        [MR.min(rows - ir), NR.min(columns.end - jr)],
                        alpha,
                        onto.at_column(jr),
                    );
                }
            }
        }
    });
}

/// Packs `rows × kc` of `A` into strips of [`MR`] rows: strip `s` holds, for each of the `kc`
/// columns, the column's values in rows `MR·s..MR·s + MR` (zero past `rows`).
///
/// # Safety
/// The elements read are in `A`'s buffer; `out` holds `rows.div_ceil(MR) · MR · kc` values.
unsafe fn pack_a(rows: usize, a: *const f32, [rs, cs]: [isize; 2], kc: usize, out: &mut [f32]) {
    for (strip, out) in out.chunks_exact_mut(MR * kc).enumerate() {
        let live = MR.min(rows - strip * MR);
        // SAFETY: the strip's first row, within the block.
        let first = unsafe { a.offset((strip * MR) as isize * rs) };
        if rs == 1 && live == MR {
            // A column's values in the strip's rows are adjacent: copied as runs of MR, a
            // length the compiler knows (a run of `live` was a call to `memcpy` per column, 3 %
            // of a training step).
            for (p, out) in out.chunks_exact_mut(MR).enumerate() {
                // SAFETY: MR adjacent values of column p.
                let column = unsafe { &*first.offset(p as isize * cs).cast::<[f32; MR]>() };
                out.copy_from_slice(column);
            }
            continue;
        }
        for i in 0..MR {
            if i < live {
                // SAFETY: row i of the strip.
                let row = unsafe { first.offset(i as isize * rs) };
                for p in 0..kc {
                    // SAFETY: column p of the row.
                    out[p * MR + i] = unsafe { *row.offset(p as isize * cs) };
                }
            } else {
                (0..kc).for_each(|p| out[p * MR + i] = 0.0);
            }
        }
    }
}

/// Packs `kc × cols` of `B` (`cols ≤ NR`), `kc` being `out.len() / NR`, into `kc` rows of
/// [`NR`] values (zero past `cols`).
///
/// # Safety
/// The elements read are in `B`'s buffer.
unsafe fn pack_b(cols: usize, b: *const f32, [rs, cs]: [isize; 2], out: &mut [f32]) {
    for (p, out) in out.chunks_exact_mut(NR).enumerate() {
        // SAFETY: row p of the block.
        let row = unsafe { b.offset(p as isize * rs) };
        if cs == 1 && cols == NR {
            // SAFETY: NR adjacent values of the row.
            out.copy_from_slice(unsafe { &*row.cast::<[f32; NR]>() });
        } else {
            for (j, v) in out.iter_mut().enumerate() {
                // SAFETY: column j < cols of the row.
                *v = if j < cols {
                    unsafe { *row.offset(j as isize * cs) }
                } else {
                    0.0
                };
            }
        }
    }
}

/// The microkernel: for one tile of `C`, `C ← alpha·Ã·B̃` added onto `onto` (its row from the
/// tile's first column), `Ã` a strip of [`MR`] rows of `A`, its element `(i, p)` at
/// `a + i·rs_a + p·cs_a` (`[1, MR]` when packed), and `B̃` a packed strip of [`NR`] columns,
/// both `kc` deep. Only the first `rows × cols` of the tile are read and written.
///
/// # Safety
/// AVX2 and FMA; the strips' `MR × kc` and `kc × NR` values are in their buffers; the tile's
/// first `rows × cols` elements are in `C`'s buffer, initialised onto `C`; a row of `onto` has
/// `cols` values.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn kernel(
    kc: usize,
    mut a: *const f32,
    [rs_a, cs_a]: [isize; 2],
    mut b: *const f32,
    c: *mut f32,
    [rs_c, cs_c]: [isize; 2],
    [rows, cols]: [usize; 2],
    alpha: f32,
    onto: Onto,
) {
    // The tile is read or written after the loop: its lines are fetched while the loop runs.
    if cs_c == 1 {
        for i in 0..rows {
            let row = c.wrapping_offset(i as isize * rs_c);
            _mm_prefetch::<_MM_HINT_T0>(row.cast());
            _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(cols - 1).cast());
        }
    }
    let mut acc = [[_mm256_setzero_ps(); 2]; MR];
    // Rows 0-2 from `a`, rows 3-5 from `a3`, at offsets 0, rs_a and 2·rs_a: two pointers to
    // advance per step instead of six.
    let mut a3 = a.wrapping_offset(3 * rs_a);
    for _ in 0..kc {
        // SAFETY: each step reads column p < kc of the strips.
        unsafe {
            let b0 = _mm256_loadu_ps(b);
            let b1 = _mm256_loadu_ps(b.add(8));
            for (i, row) in acc.iter_mut().enumerate() {
                let base = if i < 3 { a } else { a3 };
                let ai = _mm256_broadcast_ss(&*base.offset((i % 3) as isize * rs_a));
                row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
            }
            // Past the strip after the last step, never read: wrapping, not `offset`.
            a = a.wrapping_offset(cs_a);
            a3 = a3.wrapping_offset(cs_a);
            b = b.add(NR);
        }
    }
    let alpha = _mm256_set1_ps(alpha);
    if rows == MR && cols == NR && cs_c == 1 {
        for (i, row) in acc.iter().enumerate() {
            for (h, &v) in row.iter().enumerate() {
                // SAFETY: eight elements of row i of the tile.
                unsafe {
                    let dst = c.offset(i as isize * rs_c).add(8 * h);
                    let v = match onto {
                        Onto::Zero => _mm256_mul_ps(v, alpha),
                        Onto::C => _mm256_fmadd_ps(v, alpha, _mm256_loadu_ps(dst)),
                        Onto::Row(row) => {
                            _mm256_fmadd_ps(v, alpha, _mm256_loadu_ps(row.add(8 * h)))
                        }
                    };
                    _mm256_storeu_ps(dst, v);
                }
            }
        }
    } else {
        let mut tile = [[0f32; NR]; MR];
        for (row, out) in acc.iter().zip(&mut tile) {
            // SAFETY: NR values.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), _mm256_mul_ps(row[0], alpha));
                _mm256_storeu_ps(out.as_mut_ptr().add(8), _mm256_mul_ps(row[1], alpha));
            }
        }
        for (i, row) in tile.iter().enumerate().take(rows) {
            for (j, &v) in row.iter().enumerate().take(cols) {
                // SAFETY: (i, j) is in the tile's first rows × cols.
                unsafe {
                    let dst = c.offset(i as isize * rs_c + j as isize * cs_c);
                    *dst = match onto {
                        Onto::Zero => v,
                        Onto::C => *dst + v,
                        Onto::Row(row) => *row.add(j) + v,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values in [-1, 1), with a period (1999, a prime) longer than any row or column here,
    /// so that no two rows or columns of a test matrix are equal.
    fn values(n: usize, salt: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + salt * 104_729) % 1999) as f32 - 999.5) / 999.5)
            .collect()
    }

    /// `C0 + alpha·A·B` in f64, row-major, with `A` and `B` read through their strides.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        [m, n, k]: [usize; 3],
        c0: &[f32],
        a: &[f32],
        [rs_a, cs_a]: [usize; 2],
        b: &[f32],
        [rs_b, cs_b]: [usize; 2],
        alpha: f32,
    ) -> Vec<f32> {
        let mut c = Vec::with_capacity(m * n);
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| a[i * rs_a + p * cs_a] as f64 * b[p * rs_b + j * cs_b] as f64)
                    .sum();
                c.push((c0[i * n + j] as f64 + alpha as f64 * dot) as f32);
            }
        }
        c
    }

    #[test]
    fn products_are_the_f64_products_for_every_layout_tail_and_block() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX2 + FMA");
            return;
        }
        // Tails of MR and NR, several blocks of MC rows and of KC depth, one row, k = 1, two
        // blocks of NC columns (a masked-LM decoder's vocabulary is wider than NC).
        let shapes = [
            [1, 1, 1],
            [55, NC + 20, 400],
            [7, 19, 5],
            [100, 33, 300],
            [97, 129, 800],
            [1, 40, 3],
            [50, 17, 1],
            [4, 5, 0],
        ];
        for [m, n, k] in shapes {
            for (transposed_a, transposed_b) in [(false, false), (true, false), (false, true)] {
                let a = values(m * k, 1);
                let b = values(k * n, 2);
                // A is m × k read row-major, or stored k × m and read transposed; B likewise.
                let sa = if transposed_a { [1, m] } else { [k, 1] };
                let sb = if transposed_b { [1, k] } else { [n, 1] };
                // Onto nothing, onto C, onto a row (a bias).
                let row = values(n, 6);
                let c_row: Vec<f32> = (0..m).flat_map(|_| row.iter().copied()).collect();
                for (name, onto, c0) in [
                    ("zero", Onto::Zero, vec![f32::NAN; m * n]),
                    ("C", Onto::C, values(m * n, 3)),
                    ("row", Onto::Row(row.as_ptr()), vec![f32::NAN; m * n]),
                ] {
                    for parallel in [false, true] {
                        let mut c = c0.clone();
                        // SAFETY: AVX2 + FMA; the strides stay within the buffers.
                        unsafe {
                            sgemm(
                                [m, n, k],
                                c.as_mut_ptr(),
                                [n as isize, 1],
                                a.as_ptr(),
                                sa.map(|s| s as isize),
                                b.as_ptr(),
                                sb.map(|s| s as isize),
                                -0.5,
                                onto,
                                parallel,
                            );
                        }
                        let start = match onto {
                            Onto::Zero => vec![0.0; m * n],
                            Onto::C => c0.clone(),
                            Onto::Row(_) => c_row.clone(),
                        };
                        let want = reference([m, n, k], &start, &a, sa, &b, sb, -0.5);
                        for (index, (got, want)) in c.iter().zip(&want).enumerate() {
                            // Sums of up to 800 products below 1, in f32.
                            assert!(
                                (got - want).abs() <= 1e-4,
                                "[{m}, {n}, {k}] {transposed_a} {transposed_b} onto {name} \
                                 {parallel}: element {index} is {got}, not {want}"
                            );
                        }
                        if let Onto::Row(_) = onto {
                            // Onto a row is onto C holding it in every row, to the bit.
                            let mut onto_c = c_row.clone();
                            // SAFETY: as above.
                            unsafe {
                                sgemm(
                                    [m, n, k],
                                    onto_c.as_mut_ptr(),
                                    [n as isize, 1],
                                    a.as_ptr(),
                                    sa.map(|s| s as isize),
                                    b.as_ptr(),
                                    sb.map(|s| s as isize),
                                    -0.5,
                                    Onto::C,
                                    parallel,
                                );
                            }
                            let bits =
                                |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(&c), bits(&onto_c), "[{m}, {n}, {k}] onto a row");
                        }
                    }
                }
            }
        }
    }

    /// `[m, n, k]` with A, B and C views into wider buffers, as attention's heads are (A and C
    /// `[rows, hidden]` with the view's columns from 3 and 2, B read transposed from a
    /// `[n, hidden]` buffer from column 1), or C every other column of its buffer: checks the
    /// product and that the buffers' other elements keep their 7.
    fn check_views([m, n, k]: [usize; 3], every_other_column: bool) {
        let (a_width, b_width, c_width) =
            (k + 5, k + 4, if every_other_column { 2 * n } else { n + 6 });
        let a = values(m * a_width, 4);
        let b = values(n * b_width, 5);
        let (a_view, b_view) = (&a[3..], &b[1..]);
        let [rs_c, cs_c, c_first] = if every_other_column {
            [c_width, 2, 0]
        } else {
            [c_width, 1, 2]
        };
        let mut buffer = vec![7.0f32; m * c_width];
        // SAFETY: AVX2 + FMA; the views' elements are in their buffers.
        unsafe {
            sgemm(
                [m, n, k],
                buffer.as_mut_ptr().add(c_first),
                [rs_c as isize, cs_c as isize],
                a_view.as_ptr(),
                [a_width as isize, 1],
                b_view.as_ptr(),
                [1, b_width as isize],
                1.0,
                Onto::Zero,
                true,
            );
        }
        let want = reference(
            [m, n, k],
            &vec![0.0; m * n],
            a_view,
            [a_width, 1],
            b_view,
            [1, b_width],
            1.0,
        );
        for (index, &got) in buffer.iter().enumerate() {
            let (row, column) = (index / c_width, index % c_width);
            let in_view = column >= c_first
                && (column - c_first) % cs_c == 0
                && (column - c_first) / cs_c < n;
            let expected = if in_view {
                want[row * n + (column - c_first) / cs_c]
            } else {
                7.0
            };
            assert!(
                (got - expected).abs() <= 1e-4,
                "[{m}, {n}, {k}]: element ({row}, {column}) is {got}, not {expected}"
            );
        }
    }

    #[test]
    fn views_into_wider_buffers_get_only_their_elements() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX2 + FMA");
            return;
        }
        check_views([13, 20, 7], false);
        check_views([61, 45, 400], false);
        check_views([9, 20, 6], true);
    }

    #[test]
    fn products_inside_rayon_tasks_each_get_their_own_buffers() {
        if !available() {
            eprintln!("skipped: this CPU has no AVX2 + FMA");
            return;
        }
        // Eight parallel products at once, each from a rayon task: a waiting thread runs other
        // tasks, whose products find its packed buffers out and take new ones.
        let [m, n, k] = [60, 50, 400];
        let results: Vec<(Vec<f32>, Vec<f32>)> = (0..8)
            .into_par_iter()
            .map(|salt| {
                let (a, b) = (values(m * k, 10 + salt), values(k * n, 20 + salt));
                let mut c = vec![0.0f32; m * n];
                // SAFETY: AVX2 + FMA; row-major operands.
                unsafe {
                    sgemm(
                        [m, n, k],
                        c.as_mut_ptr(),
                        [n as isize, 1],
                        a.as_ptr(),
                        [k as isize, 1],
                        b.as_ptr(),
                        [n as isize, 1],
                        1.0,
                        Onto::Zero,
                        true,
                    );
                }
                (
                    c,
                    reference([m, n, k], &vec![0.0; m * n], &a, [k, 1], &b, [n, 1], 1.0),
                )
            })
            .collect();
        for (salt, (got, want)) in results.iter().enumerate() {
            for (index, (got, want)) in got.iter().zip(want).enumerate() {
                assert!(
                    (got - want).abs() <= 1e-4,
                    "product {salt}, element {index}: {got}, not {want}"
                );
            }
        }
    }
}
