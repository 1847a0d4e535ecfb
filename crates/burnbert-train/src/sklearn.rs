//! Classification metrics as scikit-learn computes them: accuracy, precision / recall / F1 per
//! class and macro-averaged (0 where undefined, `zero_division=0`), and the confusion matrix.
//! The macro average is over the labels that occur in the targets or the predictions, as
//! `sklearn.metrics.precision_recall_fscore_support(average="macro")` takes them
//! (`unique_labels(y_true, y_pred)`): a label of the model that is in neither adds no 0.

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
        per_class,
        confusion_matrix: confusion,
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
}
