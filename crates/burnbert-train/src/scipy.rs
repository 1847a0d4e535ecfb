//! Regression metrics as SciPy (`scipy.stats.pearsonr`, `spearmanr`) and scikit-learn
//! (`mean_squared_error`, `mean_absolute_error`) compute them, in f64: what GLUE's STS-B
//! reports. Written here: no Rust crate computes these as SciPy does (average ranks of ties).

/// Mean squared error: `mean((y_pred - y_true)²)`; `None` for no values.
pub fn mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Option<f64> {
    mean(y_true.iter().zip(y_pred).map(|(t, p)| (p - t).powi(2)))
}

/// Mean absolute error: `mean(|y_pred - y_true|)`; `None` for no values.
pub fn mean_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Option<f64> {
    mean(y_true.iter().zip(y_pred).map(|(t, p)| (p - t).abs()))
}

/// Pearson's r, as `scipy.stats.pearsonr(x, y).statistic`; `None` where SciPy gives NaN (fewer
/// than two values, or a constant input).
pub fn pearsonr(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let (mx, my) = (mean(x.iter().copied())?, mean(y.iter().copied())?);
    let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        xy += dx * dy;
        xx += dx * dx;
        yy += dy * dy;
    }
    if xx == 0.0 || yy == 0.0 {
        return None;
    }
    // SciPy clips the rounding error of a perfect correlation into [-1, 1].
    Some((xy / (xx.sqrt() * yy.sqrt())).clamp(-1.0, 1.0))
}

/// Spearman's rho, as `scipy.stats.spearmanr(x, y).statistic`: Pearson's r of the ranks, tied
/// values given their average rank (`rankdata(method="average")`).
pub fn spearmanr(x: &[f64], y: &[f64]) -> Option<f64> {
    pearsonr(&rankdata(x), &rankdata(y))
}

/// 1-based ranks, ties averaged, as `scipy.stats.rankdata(values)`.
pub fn rankdata(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) share the mean of the ranks start+1..=end.
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from scipy 1.17.1 / scikit-learn 1.9.1:
    //   x = [4.8, 1.2, 2.5, 4.0, 2.5, 0.0, 3.3]; y = [4.1, 1.9, 2.5, 3.2, 2.8, 0.4, 3.3]
    //   pearsonr(x, y)[0], spearmanr(x, y)[0], mean_squared_error(x, y), mean_absolute_error(x, y)
    const X: [f64; 7] = [4.8, 1.2, 2.5, 4.0, 2.5, 0.0, 3.3];
    const Y: [f64; 7] = [4.1, 1.9, 2.5, 3.2, 2.8, 0.4, 3.3];

    #[test]
    fn equal_to_scipy_and_scikit_learn() {
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} != {b}");
        close(pearsonr(&X, &Y).unwrap(), 0.9709594485342207);
        close(spearmanr(&X, &Y).unwrap(), 0.9549937104572924);
        close(mean_squared_error(&X, &Y).unwrap(), 0.26714285714285707);
        close(mean_absolute_error(&X, &Y).unwrap(), 0.41428571428571426);
    }

    #[test]
    fn ties_share_their_average_rank_and_constant_inputs_have_no_correlation() {
        // scipy.stats.rankdata([2, 1, 2, 3, 1, 2]) = [4, 1.5, 4, 6, 1.5, 4]
        assert_eq!(
            rankdata(&[2.0, 1.0, 2.0, 3.0, 1.0, 2.0]),
            [4.0, 1.5, 4.0, 6.0, 1.5, 4.0]
        );
        assert_eq!(pearsonr(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(spearmanr(&[1.0], &[2.0]), None);
        assert_eq!(mean_squared_error(&[], &[]), None);
    }
}
