//! `erf` and `exp` as polynomials that the compiler vectorises, with the same roundings in
//! every vector width.

use std::f32::consts::LOG2_E;

/// `erf(x)`: the rational approximation Eigen and XLA use on [-4, 4] (odd numerator of degree
/// 13, even denominator of degree 8; |error| ≤ 4.2e-7), and ±1 beyond (`erf(4) = 1 - 1.5e-8`).
/// NaN stays NaN.
#[inline(always)]
#[allow(clippy::excessive_precision)]
pub(super) fn erf(x: f32) -> f32 {
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
pub(super) fn exp(x: f32) -> f32 {
    // 1.5·2²³: adding and subtracting it rounds to the nearest integer, in any vector width.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons written so that NaN falls through to the result (`min`/`max` would drop it).
    let x = if x > 88.0 { 88.0 } else { x };
    let c = if x < -87.0 { -87.0 } else { x };
    let t = c * LOG2_E + ROUND;
    let n = t - ROUND;
    // ln 2 in two parts, so that `x - n·ln 2` is exact to f32 precision.
    let r = c - n * 0.693359375 - n * -2.12194440e-4;
    let mut p = 1.9875691500e-4 * r + 1.3981999507e-3;
    p = p * r + 8.3334519073e-3;
    p = p * r + 4.1665795894e-2;
    p = p * r + 1.6666665459e-1;
    p = p * r + 5.0000001201e-1;
    let y = p * r * r + r + 1.0;
    // 2ⁿ from `t`'s bits, which are ROUND's plus n (|n| ≤ 127 is far below 2²²): integer
    // arithmetic that vectorises, where `n as i32` (a saturating conversion) ran one element at
    // a time and made the softmax 3 to 4 times slower. For NaN the bits are garbage, and `y` is
    // NaN.
    let two_n = t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23;
    let e = y * f32::from_bits(two_n);
    if x <= -87.0 { 0.0 } else { e }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::flex::tests::grid;

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
}
