//! Classification metrics as scikit-learn computes them: accuracy, precision / recall / F1 per
//! class and macro-averaged (0 where undefined, `zero_division=0`), and the confusion matrix.
//! The macro average is over the labels that occur in the targets or the predictions, as
//! `sklearn.metrics.precision_recall_fscore_support(average="macro")` takes them
//! (`unique_labels(y_true, y_pred)`): a label of the model that is in neither adds no 0.
//! Multi-label scores ([`multi_label_report`]) are those of label-indicator arrays: subset
//! accuracy, micro / macro / samples averages, per label.

use serde::Serialize;

/// Scores of a classifier on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Fraction of examples predicted right.
    pub accuracy: f64,
    /// Mean of the per-class precisions, over the labels in the targets or the predictions.
    pub macro_precision: f64,
    /// Mean of the per-class recalls, over the labels in the targets or the predictions.
    pub macro_recall: f64,
    /// Mean of the per-class F1 scores, over the labels in the targets or the predictions.
    pub macro_f1: f64,
    /// Matthews correlation coefficient (`matthews_corrcoef`, its multiclass form; GLUE's
    /// CoLA score), in [-1, 1]; 0 where undefined.
    pub matthews_correlation: f64,
    /// Per class, in label order.
    pub per_class: Vec<ClassScores>,
    /// `confusion[true][predicted]`.
    pub confusion_matrix: Vec<Vec<usize>>,
    /// Mean loss, when computed.
    pub loss: Option<f64>,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores {
    /// The label.
    pub label: String,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Examples of this class.
    pub support: usize,
}

/// Scores predictions against targets (class ids into `labels`).
pub fn classification_report(
    targets: &[usize],
    predictions: &[usize],
    labels: &[String],
    loss: Option<f64>,
) -> ClassificationReport {
    let n = labels.len();
    let mut confusion = vec![vec![0usize; n]; n];
    for (&t, &p) in targets.iter().zip(predictions) {
        confusion[t][p] += 1;
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_class: Vec<ClassScores> = (0..n)
        .map(|c| {
            let tp = confusion[c][c];
            let predicted: usize = (0..n).map(|t| confusion[t][c]).sum();
            let support: usize = confusion[c].iter().sum();
            let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassScores {
                label: labels[c].clone(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    // scikit-learn's `unique_labels(y_true, y_pred)`: the classes that occur at all.
    let present: Vec<&ClassScores> = (0..n)
        .filter(|&c| per_class[c].support > 0 || (0..n).any(|t| confusion[t][c] > 0))
        .map(|c| &per_class[c])
        .collect();
    let mean = |f: fn(&ClassScores) -> f64| {
        if present.is_empty() {
            0.0
        } else {
            present.iter().map(|c| f(c)).sum::<f64>() / present.len() as f64
        }
    };
    ClassificationReport {
        accuracy: ratio((0..n).map(|c| confusion[c][c]).sum(), targets.len()),
        macro_precision: mean(|c| c.precision),
        macro_recall: mean(|c| c.recall),
        macro_f1: mean(|c| c.f1),
        matthews_correlation: matthews_corrcoef(&confusion),
        per_class,
        confusion_matrix: confusion,
        loss,
    }
}

/// The Matthews correlation coefficient of a confusion matrix (`confusion[true][predicted]`),
/// as scikit-learn's `matthews_corrcoef` computes it for any number of classes:
/// `(c·s − Σ t_k·p_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))` with `t_k`, `p_k` the true and
/// predicted counts of class `k`, `c` the correct ones and `s` all; 0 when the denominator is.
pub fn matthews_corrcoef(confusion: &[Vec<usize>]) -> f64 {
    let n = confusion.len();
    let t: Vec<f64> = (0..n)
        .map(|k| confusion[k].iter().sum::<usize>() as f64)
        .collect();
    let p: Vec<f64> = (0..n)
        .map(|k| (0..n).map(|i| confusion[i][k]).sum::<usize>() as f64)
        .collect();
    let c = (0..n).map(|k| confusion[k][k]).sum::<usize>() as f64;
    let s: f64 = t.iter().sum();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cov_ytyp = c * s - dot(&t, &p);
    let cov_ypyp = s * s - dot(&p, &p);
    let cov_ytyt = s * s - dot(&t, &t);
    if cov_ypyp * cov_ytyt == 0.0 {
        return 0.0;
    }
    cov_ytyp / (cov_ytyt * cov_ypyp).sqrt()
}

/// Scores of a multi-label classifier, as scikit-learn computes them on label-indicator
/// arrays (`zero_division=0`): the macro average is over every label (each is a column).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiLabelReport {
    /// Fraction of examples whose predicted label set is exactly the true one
    /// (`accuracy_score`, subset accuracy).
    pub subset_accuracy: f64,
    /// Precision of all (example, label) decisions pooled (`average="micro"`).
    pub micro_precision: f64,
    /// Recall, pooled.
    pub micro_recall: f64,
    /// F1, pooled: `run_classification.py`'s multi-label metric.
    pub micro_f1: f64,
    /// Mean of the per-label precisions (`average="macro"`).
    pub macro_precision: f64,
    /// Mean of the per-label recalls.
    pub macro_recall: f64,
    /// Mean of the per-label F1 scores.
    pub macro_f1: f64,
    /// Mean of the per-example F1 scores (`average="samples"`).
    pub samples_f1: f64,
    /// Per label, in label order (support: examples with the label).
    pub per_label: Vec<ClassScores>,
    /// Mean loss, when computed.
    pub loss: Option<f64>,
}

/// Precision, recall and F1 of counts (0 where undefined).
fn scores(tp: usize, predicted: usize, actual: usize) -> (f64, f64, f64) {
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
    let f1 = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (p, r, f1)
}

/// Scores multi-label predictions against targets: one row per example, a column per label of
/// `labels`.
pub fn multi_label_report(
    targets: &[Vec<bool>],
    predictions: &[Vec<bool>],
    labels: &[String],
    loss: Option<f64>,
) -> MultiLabelReport {
    // One pass: (true positives, predicted, actual) per label and per example.
    let mut columns = vec![(0, 0, 0); labels.len()];
    let mut rows = Vec::with_capacity(targets.len());
    for (t, p) in targets.iter().zip(predictions) {
        let mut row = (0, 0, 0);
        for (c, (&t, &p)) in t.iter().zip(p).enumerate() {
            let cell = (usize::from(t && p), usize::from(p), usize::from(t));
            row = (row.0 + cell.0, row.1 + cell.1, row.2 + cell.2);
            if let Some(column) = columns.get_mut(c) {
                *column = (column.0 + cell.0, column.1 + cell.1, column.2 + cell.2);
            }
        }
        rows.push(row);
    }
    let per_label: Vec<ClassScores> = labels
        .iter()
        .zip(&columns)
        .map(|(label, &(tp, predicted, support))| {
            let (precision, recall, f1) = scores(tp, predicted, support);
            ClassScores {
                label: label.clone(),
                precision,
                recall,
                f1,
                support,
            }
        })
        .collect();
    let mean = |values: Vec<f64>| {
        if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    let (tp, predicted, actual) = rows
        .iter()
        .fold((0, 0, 0), |a, r| (a.0 + r.0, a.1 + r.1, a.2 + r.2));
    let (micro_precision, micro_recall, micro_f1) = scores(tp, predicted, actual);
    let samples = rows
        .iter()
        .map(|&(tp, predicted, actual)| scores(tp, predicted, actual).2)
        .collect();
    let exact = targets
        .iter()
        .zip(predictions)
        .filter(|(t, p)| t == p)
        .count();
    MultiLabelReport {
        subset_accuracy: if targets.is_empty() {
            0.0
        } else {
            exact as f64 / targets.len() as f64
        },
        micro_precision,
        micro_recall,
        micro_f1,
        macro_precision: mean(per_label.iter().map(|c| c.precision).collect()),
        macro_recall: mean(per_label.iter().map(|c| c.recall).collect()),
        macro_f1: mean(per_label.iter().map(|c| c.f1).collect()),
        samples_f1: mean(samples),
        per_label,
        loss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn() {
        // sklearn.metrics.classification_report(y, p) for
        // y = [0, 0, 1, 1, 2, 2], p = [0, 1, 1, 1, 0, 2]:
        // precision 0.5 / 0.6667 / 1.0, recall 0.5 / 1.0 / 0.5, f1 0.5 / 0.8 / 0.6667, accuracy 0.6667.
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let r = classification_report(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 0, 2], &labels, None);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let p: Vec<f64> = r.per_class.iter().map(|c| c.precision).collect();
        assert!((p[0] - 0.5).abs() < 1e-12 && (p[1] - 2.0 / 3.0).abs() < 1e-12 && p[2] == 1.0);
        assert!((r.per_class[1].f1 - 0.8).abs() < 1e-12);
        assert!((r.macro_f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(
            r.confusion_matrix,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]
        );
        // A class never predicted: precision 0 (zero_division=0), not NaN.
        let r = classification_report(&[0, 1], &[0, 0], &labels[..2], None);
        assert_eq!(r.per_class[1].precision, 0.0);
    }

    #[test]
    fn matthews_correlation_is_scikit_learn_s() {
        // sklearn 1.9.1 matthews_corrcoef(y, p) for each (y, p) below.
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mcc = |y: &[usize], p: &[usize]| {
            classification_report(y, p, &labels, None).matthews_correlation
        };
        assert!((mcc(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 0, 2]) - 0.5222329678670935).abs() < 1e-15);
        assert!((mcc(&[0, 1, 1, 0, 1, 1, 0, 0], &[0, 1, 0, 0, 1, 1, 1, 0]) - 0.5).abs() < 1e-15);
        // Undefined (one class only, or one prediction only): 0.
        assert_eq!(mcc(&[0, 0, 0], &[0, 0, 0]), 0.0);
        assert_eq!(mcc(&[0, 1, 2, 0], &[1, 1, 1, 1]), 0.0);
    }

    #[test]
    fn macro_averages_over_the_labels_that_occur() {
        // shared case 04: sklearn's precision_recall_fscore_support(y, p, average="macro").
        let labels: Vec<String> = ["negative", "neutral", "positive"]
            .map(String::from)
            .to_vec();
        let r = classification_report(&[0, 0, 2, 2], &[0, 0, 2, 2], &labels, None);
        assert_eq!(
            (r.macro_precision, r.macro_recall, r.macro_f1),
            (1.0, 1.0, 1.0)
        );
        let r = classification_report(&[0, 2, 2], &[0, 2, 0], &labels, None);
        assert!((r.macro_precision - 0.75).abs() < 1e-12);
        assert!((r.macro_recall - 0.75).abs() < 1e-12);
        assert!((r.macro_f1 - 2.0 / 3.0).abs() < 1e-12);
        // The case's six rows: gold 3 negative + 3 positive; predicted 5 negative, 1 positive.
        let r = classification_report(&[0, 0, 0, 2, 2, 2], &[0, 0, 0, 0, 0, 2], &labels, None);
        assert!((r.macro_precision - 0.8).abs() < 1e-12);
        assert!((r.macro_recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.macro_f1 - 0.625).abs() < 1e-12);
        // A label only predicted counts (sklearn: P 0 for it).
        let r = classification_report(&[0, 0], &[0, 1], &labels, None);
        assert!((r.macro_recall - 0.25).abs() < 1e-12, "{}", r.macro_recall);
    }

    #[test]
    fn multi_label_scores_match_scikit_learn() {
        // scikit-learn 1.9.1 on label-indicator arrays:
        //   yt = [[1,0,1,0],[0,1,0,0],[1,1,0,0],[0,0,0,0],[1,0,0,0]]
        //   yp = [[1,0,0,0],[0,1,1,0],[1,0,0,0],[0,0,0,0],[0,1,0,0]]
        //   f1_score(average=micro / macro / samples) = 0.5454545454545454 / 0.325 / 0.4,
        //   precision_score(micro) 0.6, recall_score(micro) 0.5, precision / recall (macro)
        //   0.375 / 0.29166666666666663, accuracy_score 0.2, per-label F1 [0.8, 0.5, 0, 0].
        let rows = |rows: [[u8; 4]; 5]| -> Vec<Vec<bool>> {
            rows.iter()
                .map(|r| r.iter().map(|&v| v == 1).collect())
                .collect()
        };
        let yt = rows([
            [1, 0, 1, 0],
            [0, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 0, 0],
            [1, 0, 0, 0],
        ]);
        let yp = rows([
            [1, 0, 0, 0],
            [0, 1, 1, 0],
            [1, 0, 0, 0],
            [0, 0, 0, 0],
            [0, 1, 0, 0],
        ]);
        let labels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let r = multi_label_report(&yt, &yp, &labels, None);
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} != {b}");
        close(r.micro_f1, 0.5454545454545454);
        close(r.macro_f1, 0.325);
        close(r.samples_f1, 0.4);
        close(r.micro_precision, 0.6);
        close(r.micro_recall, 0.5);
        close(r.macro_precision, 0.375);
        close(r.macro_recall, 0.29166666666666663);
        close(r.subset_accuracy, 0.2);
        let f1: Vec<f64> = r.per_label.iter().map(|c| c.f1).collect();
        assert_eq!(f1, [0.8, 0.5, 0.0, 0.0]);
        let support: Vec<usize> = r.per_label.iter().map(|c| c.support).collect();
        assert_eq!(support, [3, 2, 1, 0]);
    }
}
