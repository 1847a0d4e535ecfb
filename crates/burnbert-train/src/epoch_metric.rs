//! A score of the whole epoch as a Burn metric: what each batch gives is accumulated, and the
//! epoch's value is the score of all of it, as scikit-learn or SciPy would compute it on the
//! epoch's predictions (a Matthews correlation or a Pearson coefficient is not the mean of the
//! batches'). Burn's metrics are means of batch values; this is the kind it lacks, written here.

use std::sync::Arc;

use burn::tensor::TensorReadError;
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

/// What an [`EpochMetric`] accumulates over an epoch.
pub trait EpochScore: Default + Clone + Send + Sync + 'static {
    /// What a batch gives it.
    type Input;

    /// Adds a batch.
    fn add(&mut self, input: &Self::Input);

    /// The examples added.
    fn count(&self) -> usize;
}

/// A score (`score`) of the accumulated `S` as a Burn metric: the batch's own score while the
/// epoch runs, the whole epoch's at its end (what the learner logs, checkpoints and stops by).
#[derive(Clone)]
pub struct EpochMetric<S: EpochScore> {
    name: MetricName,
    higher_is_better: bool,
    score: fn(&S) -> f64,
    epoch: S,
    batch: f64,
    batch_count: usize,
}

impl<S: EpochScore> EpochMetric<S> {
    /// The metric `name` (as the dashboard and the logs show it) of `score`.
    pub fn new(name: &str, higher_is_better: bool, score: fn(&S) -> f64) -> Self {
        Self {
            name: Arc::new(name.to_string()),
            higher_is_better,
            score,
            epoch: S::default(),
            batch: f64::NAN,
            batch_count: 0,
        }
    }

    /// Whether a higher value is better.
    pub fn higher_is_better(&self) -> bool {
        self.higher_is_better
    }

    fn entry(&self, serialized: NumericEntry) -> SerializedEntry {
        let epoch = (self.score)(&self.epoch);
        SerializedEntry::new(
            format!("epoch {epoch:.4} - batch {:.4}", self.batch),
            serialized.serialize(),
        )
    }
}

impl<S: EpochScore> Metric for EpochMetric<S> {
    type Input = S::Input;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: self.higher_is_better,
        }
        .into()
    }

    fn update(
        &mut self,
        item: &S::Input,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let mut batch = S::default();
        batch.add(item);
        self.epoch.add(item);
        self.batch = (self.score)(&batch);
        self.batch_count = batch.count();
        Ok(self.entry(NumericEntry::Aggregated {
            aggregated_value: self.batch,
            count: self.batch_count,
        }))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.entry(self.final_value()))
    }

    fn clear(&mut self) {
        self.epoch = S::default();
        self.batch = f64::NAN;
        self.batch_count = 0;
    }
}

impl<S: EpochScore> Numeric for EpochMetric<S> {
    fn value(&self) -> Option<NumericEntry> {
        (!self.batch.is_nan()).then_some(NumericEntry::Aggregated {
            aggregated_value: self.batch,
            count: self.batch_count,
        })
    }

    fn running_value(&self) -> Option<NumericEntry> {
        (self.epoch.count() > 0).then(|| NumericEntry::Aggregated {
            aggregated_value: (self.score)(&self.epoch),
            count: self.epoch.count(),
        })
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final((self.score)(&self.epoch))
    }
}

/// Class ids, true and predicted, of a batch's examples (sequence classification).
#[derive(Debug, Clone, Default)]
pub struct ClassPredictions {
    /// True class ids.
    pub targets: Vec<usize>,
    /// Predicted class ids.
    pub predictions: Vec<usize>,
}

impl EpochScore for ClassPredictions {
    type Input = ClassPredictions;

    fn add(&mut self, input: &ClassPredictions) {
        self.targets.extend(&input.targets);
        self.predictions.extend(&input.predictions);
    }

    fn count(&self) -> usize {
        self.targets.len()
    }
}

impl ClassPredictions {
    /// scikit-learn's `matthews_corrcoef` of the predictions.
    pub fn matthews_correlation(&self) -> f64 {
        let classes = self
            .targets
            .iter()
            .chain(&self.predictions)
            .max()
            .map_or(0, |m| m + 1);
        let mut confusion = vec![vec![0; classes]; classes];
        for (&t, &p) in self.targets.iter().zip(&self.predictions) {
            confusion[t][p] += 1;
        }
        crate::sklearn::matthews_corrcoef(&confusion)
    }

    /// The Matthews correlation as a Burn metric (`Matthews Correlation`).
    pub fn matthews_metric() -> EpochMetric<Self> {
        EpochMetric::new("Matthews Correlation", true, Self::matthews_correlation)
    }
}

/// Predicted and true values of a batch's examples (regression): `outputs` per example,
/// row-major.
#[derive(Debug, Clone)]
pub struct ValuePredictions {
    /// Predicted values.
    pub predictions: Vec<f64>,
    /// True values.
    pub targets: Vec<f64>,
    /// Values per example (targets of the regression).
    pub outputs: usize,
}

impl Default for ValuePredictions {
    fn default() -> Self {
        Self {
            predictions: Vec::new(),
            targets: Vec::new(),
            outputs: 1,
        }
    }
}

impl EpochScore for ValuePredictions {
    type Input = ValuePredictions;

    fn add(&mut self, input: &ValuePredictions) {
        self.predictions.extend(&input.predictions);
        self.targets.extend(&input.targets);
        self.outputs = input.outputs;
    }

    fn count(&self) -> usize {
        self.targets.len() / self.outputs.max(1)
    }
}

impl ValuePredictions {
    /// Each output's (predictions, targets).
    fn columns(&self) -> Vec<(Vec<f64>, Vec<f64>)> {
        let width = self.outputs.max(1);
        (0..width)
            .map(|c| {
                let column = |values: &[f64]| -> Vec<f64> {
                    values.iter().skip(c).step_by(width).copied().collect()
                };
                (column(&self.predictions), column(&self.targets))
            })
            .collect()
    }

    /// Mean of a score over the outputs (NaN when one is undefined).
    fn mean_over_outputs(&self, score: fn(&[f64], &[f64]) -> Option<f64>) -> f64 {
        let columns = self.columns();
        let sum: f64 = columns
            .iter()
            .map(|(p, t)| score(p, t).unwrap_or(f64::NAN))
            .sum();
        sum / columns.len() as f64
    }

    /// Mean squared error over every output (scikit-learn's `uniform_average`).
    pub fn mse(&self) -> f64 {
        crate::scipy::mean_squared_error(&self.predictions, &self.targets).unwrap_or(f64::NAN)
    }

    /// Mean absolute error over every output.
    pub fn mae(&self) -> f64 {
        crate::scipy::mean_absolute_error(&self.predictions, &self.targets).unwrap_or(f64::NAN)
    }

    /// SciPy's Pearson r, the mean of each output's.
    pub fn pearson(&self) -> f64 {
        self.mean_over_outputs(crate::scipy::pearsonr)
    }

    /// SciPy's Spearman rho, the mean of each output's.
    pub fn spearmanr(&self) -> f64 {
        self.mean_over_outputs(crate::scipy::spearmanr)
    }

    /// The metrics of a regression: `(name in metric_for_best_model, Burn metric)`; MSE and MAE
    /// lower is better, Pearson and Spearman higher, as SciPy computes them (NaN where
    /// undefined).
    pub fn metrics() -> [(&'static str, EpochMetric<Self>); 4] {
        [
            ("mse", EpochMetric::new("MSE", false, Self::mse)),
            ("mae", EpochMetric::new("MAE", false, Self::mae)),
            ("pearson", EpochMetric::new("Pearson", true, Self::pearson)),
            (
                "spearmanr",
                EpochMetric::new("Spearman", true, Self::spearmanr),
            ),
        ]
    }
}

/// Label sets, true and predicted, of a batch's examples (multi-label classification): a row
/// per example, a column per label.
#[derive(Debug, Clone, Default)]
pub struct LabelSetPredictions {
    /// True label sets.
    pub targets: Vec<Vec<bool>>,
    /// Predicted label sets (probability above 0.5).
    pub predictions: Vec<Vec<bool>>,
}

impl EpochScore for LabelSetPredictions {
    type Input = LabelSetPredictions;

    fn add(&mut self, input: &LabelSetPredictions) {
        self.targets.extend(input.targets.iter().cloned());
        self.predictions.extend(input.predictions.iter().cloned());
    }

    fn count(&self) -> usize {
        self.targets.len()
    }
}

impl LabelSetPredictions {
    fn report(&self) -> crate::sklearn::MultiLabelReport {
        let width = self.targets.first().map_or(0, Vec::len);
        crate::sklearn::multi_label_report(
            &self.targets,
            &self.predictions,
            &vec![String::new(); width],
            None,
        )
    }

    /// The metrics of a multi-label classification, each a field of
    /// [`MultiLabelReport`](crate::sklearn::MultiLabelReport) as scikit-learn computes it over the
    /// whole epoch: `(name in metric_for_best_model, Burn metric)`, all higher-is-better; `f1`
    /// is the micro F1 (`run_classification.py`'s metric).
    pub fn metrics() -> [(&'static str, EpochMetric<Self>); 8] {
        [
            (
                "f1",
                EpochMetric::new("Micro F1", true, |s| s.report().micro_f1),
            ),
            (
                "macro_f1",
                EpochMetric::new("Macro F1", true, |s| s.report().macro_f1),
            ),
            (
                "samples_f1",
                EpochMetric::new("Samples F1", true, |s| s.report().samples_f1),
            ),
            (
                "subset_accuracy",
                EpochMetric::new("Subset Accuracy", true, |s| s.report().subset_accuracy),
            ),
            (
                "micro_precision",
                EpochMetric::new("Micro Precision", true, |s| s.report().micro_precision),
            ),
            (
                "micro_recall",
                EpochMetric::new("Micro Recall", true, |s| s.report().micro_recall),
            ),
            (
                "macro_precision",
                EpochMetric::new("Macro Precision", true, |s| s.report().macro_precision),
            ),
            (
                "macro_recall",
                EpochMetric::new("Macro Recall", true, |s| s.report().macro_recall),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_value_is_the_score_of_all_batches_not_their_mean() {
        let mut metric = ClassPredictions::matthews_metric();
        let metadata = MetricMetadata {
            progress: burn::data::dataloader::Progress::new(1, 1, None),
            iteration: Some(0),
            lr: None,
        };
        let batches = [
            ClassPredictions {
                targets: vec![0, 0, 1],
                predictions: vec![0, 1, 1],
            },
            ClassPredictions {
                targets: vec![1, 2, 2],
                predictions: vec![1, 0, 2],
            },
        ];
        for batch in &batches {
            metric.update(batch, &metadata).unwrap();
        }
        // sklearn: matthews_corrcoef([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 0, 2])
        let NumericEntry::Final(value) = metric.final_value() else {
            panic!("a final value")
        };
        assert!((value - 0.5222329678670935).abs() < 1e-15, "{value}");
        metric.clear();
        assert!(metric.value().is_none() && metric.running_value().is_none());
    }

    #[test]
    fn multi_label_scores_are_scikit_learn_s_over_the_epoch() {
        // The case of sklearn::tests::multi_label_scores_match_scikit_learn (scikit-learn
        // 1.9.1: micro / macro / samples F1 0.5454545454545454 / 0.325 / 0.4, subset accuracy
        // 0.2, micro P / R 0.6 / 0.5, macro P / R 0.375 / 0.29166666666666663), in two batches.
        let rows = |rows: &[[u8; 4]]| -> Vec<Vec<bool>> {
            rows.iter()
                .map(|r| r.iter().map(|&v| v == 1).collect())
                .collect()
        };
        let yt = [
            [1, 0, 1, 0],
            [0, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 0, 0],
            [1, 0, 0, 0],
        ];
        let yp = [
            [1, 0, 0, 0],
            [0, 1, 1, 0],
            [1, 0, 0, 0],
            [0, 0, 0, 0],
            [0, 1, 0, 0],
        ];
        let metadata = MetricMetadata {
            progress: burn::data::dataloader::Progress::new(1, 1, None),
            iteration: Some(0),
            lr: None,
        };
        let expected = [
            ("f1", 0.5454545454545454),
            ("macro_f1", 0.325),
            ("samples_f1", 0.4),
            ("subset_accuracy", 0.2),
            ("micro_precision", 0.6),
            ("micro_recall", 0.5),
            ("macro_precision", 0.375),
            ("macro_recall", 0.29166666666666663),
        ];
        for ((name, mut metric), (expected_name, value)) in
            LabelSetPredictions::metrics().into_iter().zip(expected)
        {
            assert_eq!(name, expected_name);
            for range in [0..2, 2..5] {
                let batch = LabelSetPredictions {
                    targets: rows(&yt[range.clone()]),
                    predictions: rows(&yp[range]),
                };
                metric.update(&batch, &metadata).unwrap();
            }
            let NumericEntry::Final(epoch) = metric.final_value() else {
                panic!("a final value")
            };
            assert!((epoch - value).abs() < 1e-12, "{name}: {epoch} != {value}");
        }
    }

    #[test]
    fn several_regression_targets_average_over_their_outputs() {
        // Two outputs, row-major: output 0 predicts [1, 2, 3] for [1, 2, 4], output 1
        // [0, 0, 1] for [0, 1, 1]. MSE over the six cells (0 + 0 + 1 + 0 + 1 + 0) / 6; MAE the
        // same; Pearson the mean of scipy.stats.pearsonr([1,2,3],[1,2,4]) = 0.9819805060619655
        // and pearsonr([0,0,1],[0,1,1]) = 0.5.
        let v = ValuePredictions {
            predictions: vec![1.0, 0.0, 2.0, 0.0, 3.0, 1.0],
            targets: vec![1.0, 0.0, 2.0, 1.0, 4.0, 1.0],
            outputs: 2,
        };
        assert_eq!(v.count(), 3);
        assert!((v.mse() - 2.0 / 6.0).abs() < 1e-12);
        assert!((v.mae() - 2.0 / 6.0).abs() < 1e-12);
        assert!(
            (v.pearson() - (0.9819805060619655 + 0.5) / 2.0).abs() < 1e-12,
            "{}",
            v.pearson()
        );
    }
}
