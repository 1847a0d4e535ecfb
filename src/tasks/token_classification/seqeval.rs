//! Entity-level precision, recall and F1 as `seqeval` computes them by default (micro over
//! entities, non-strict IOB chunks: [`crate::tasks::token_classification::data::chunks`]), per
//! type, and token accuracy; and the same as Burn metrics for the dashboard. Written here
//! because Burn has no sequence-labelling metric.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use burn::tensor::TensorReadError;
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};
use crate::tasks::token_classification::data::chunks;
use serde::Serialize;

/// Precision, recall and F1 of one entity type, or of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct EntityScores {
    /// Correct predicted entities / predicted entities (0 when none is predicted).
    pub precision: f64,
    /// Correct predicted entities / true entities (0 when there is none).
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0).
    pub f1: f64,
    /// True entities.
    pub support: usize,
    /// Predicted entities.
    pub predicted: usize,
    /// Correctly predicted entities (same type, same words).
    pub correct: usize,
}

impl EntityScores {
    fn new(correct: usize, predicted: usize, support: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let (precision, recall) = (ratio(correct, predicted), ratio(correct, support));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            precision,
            recall,
            f1,
            support,
            predicted,
            correct,
        }
    }
}

/// What `seqeval.metrics.classification_report` and `accuracy_score` give.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeqevalReport {
    /// Micro average over all entities.
    pub overall: EntityScores,
    /// Per entity type, sorted by type.
    pub per_type: BTreeMap<String, EntityScores>,
    /// Words whose tag is right / words.
    pub token_accuracy: f64,
    /// Sentences scored.
    pub sentences: usize,
    /// Mean loss, when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
}

/// Entity counts, summed over sentences.
#[derive(Debug, Clone, Default)]
pub struct EntityCounts {
    per_type: BTreeMap<String, (usize, usize, usize)>,
    tokens: (usize, usize),
    sentences: usize,
}

impl EntityCounts {
    /// Adds a sentence's true and predicted tags (one per word).
    pub fn add<S: AsRef<str>, T: AsRef<str>>(&mut self, gold: &[S], predicted: &[T]) {
        let truth: BTreeSet<_> = chunks(gold).into_iter().collect();
        let guess: BTreeSet<_> = chunks(predicted).into_iter().collect();
        for c in &truth {
            let e = self.per_type.entry(c.kind.clone()).or_default();
            e.2 += 1;
            e.0 += guess.contains(c) as usize;
        }
        for c in &guess {
            self.per_type.entry(c.kind.clone()).or_default().1 += 1;
        }
        self.tokens.0 += gold
            .iter()
            .zip(predicted)
            .filter(|(a, b)| a.as_ref() == b.as_ref())
            .count();
        self.tokens.1 += gold.len();
        self.sentences += 1;
    }

    /// The scores of what was added.
    pub fn report(&self) -> SeqevalReport {
        let (mut c, mut p, mut s) = (0, 0, 0);
        let per_type = self
            .per_type
            .iter()
            .map(|(kind, &(correct, predicted, support))| {
                (c, p, s) = (c + correct, p + predicted, s + support);
                (kind.clone(), EntityScores::new(correct, predicted, support))
            })
            .collect();
        SeqevalReport {
            overall: EntityScores::new(c, p, s),
            per_type,
            token_accuracy: if self.tokens.1 == 0 {
                0.0
            } else {
                self.tokens.0 as f64 / self.tokens.1 as f64
            },
            sentences: self.sentences,
            loss: None,
        }
    }
}

/// seqeval's scores of `predicted` against `gold` tag sequences.
pub fn seqeval<S: AsRef<str>, T: AsRef<str>>(
    gold: &[Vec<S>],
    predicted: &[Vec<T>],
) -> SeqevalReport {
    let mut counts = EntityCounts::default();
    for (g, p) in gold.iter().zip(predicted) {
        counts.add(g, p);
    }
    counts.report()
}

/// True and predicted tag ids of the labelled tokens of a batch, one list per sequence.
#[derive(Debug, Clone)]
pub struct TagSequences {
    /// True tag ids.
    pub gold: Vec<Vec<usize>>,
    /// Predicted tag ids.
    pub predicted: Vec<Vec<usize>>,
}

/// Which number a [`SeqevalMetric`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqevalScore {
    /// Entity precision.
    Precision,
    /// Entity recall.
    Recall,
    /// Entity F1.
    F1,
    /// Token accuracy.
    TokenAccuracy,
}

impl SeqevalScore {
    /// The metric's name in the dashboard and in Burn's metric logs.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::Precision => "Entity Precision",
            Self::Recall => "Entity Recall",
            Self::F1 => "Entity F1",
            Self::TokenAccuracy => "Token Accuracy",
        }
    }
}

/// A seqeval score as a Burn metric: counts accumulate over the epoch, so the epoch value is
/// the corpus-level score (not a mean of batch scores). Sequences are scored per window.
#[derive(Clone)]
pub struct SeqevalMetric {
    tags: Arc<Vec<String>>,
    score: SeqevalScore,
    name: MetricName,
    epoch: EntityCounts,
    batch: f64,
    batch_count: usize,
}

impl SeqevalMetric {
    /// The metric of `score` for a model with tags `tags` (id order).
    pub fn new(tags: Vec<String>, score: SeqevalScore) -> Self {
        Self {
            tags: Arc::new(tags),
            score,
            name: Arc::new(score.metric_name().to_string()),
            epoch: EntityCounts::default(),
            batch: f64::NAN,
            batch_count: 0,
        }
    }

    fn pick(&self, report: &SeqevalReport) -> f64 {
        100.0
            * match self.score {
                SeqevalScore::Precision => report.overall.precision,
                SeqevalScore::Recall => report.overall.recall,
                SeqevalScore::F1 => report.overall.f1,
                SeqevalScore::TokenAccuracy => report.token_accuracy,
            }
    }

    fn entry(&self, serialized: NumericEntry) -> SerializedEntry {
        let epoch = self.pick(&self.epoch.report());
        SerializedEntry::new(
            format!("epoch {epoch:.2} % - batch {:.2} %", self.batch),
            serialized.serialize(),
        )
    }
}

impl Metric for SeqevalMetric {
    type Input = TagSequences;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: Some("%".into()),
            higher_is_better: true,
        }
        .into()
    }

    fn update(
        &mut self,
        item: &TagSequences,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let names = |ids: &Vec<usize>| {
            ids.iter()
                .map(|&i| self.tags[i].as_str())
                .collect::<Vec<_>>()
        };
        let mut batch = EntityCounts::default();
        for (gold, predicted) in item.gold.iter().zip(&item.predicted) {
            batch.add(&names(gold), &names(predicted));
            self.epoch.add(&names(gold), &names(predicted));
        }
        self.batch = self.pick(&batch.report());
        self.batch_count = item.gold.len();
        Ok(self.entry(NumericEntry::Aggregated {
            aggregated_value: self.batch,
            count: self.batch_count,
        }))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.entry(self.final_value()))
    }

    fn clear(&mut self) {
        self.epoch = EntityCounts::default();
        self.batch = f64::NAN;
        self.batch_count = 0;
    }
}

impl Numeric for SeqevalMetric {
    fn value(&self) -> Option<NumericEntry> {
        (!self.batch.is_nan()).then_some(NumericEntry::Aggregated {
            aggregated_value: self.batch,
            count: self.batch_count,
        })
    }

    fn running_value(&self) -> Option<NumericEntry> {
        (self.epoch.sentences > 0).then(|| NumericEntry::Aggregated {
            aggregated_value: self.pick(&self.epoch.report()),
            count: self.epoch.sentences,
        })
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.pick(&self.epoch.report()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(rows: &[&str]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.split_whitespace().map(String::from).collect())
            .collect()
    }

    #[test]
    fn scores_as_seqeval() {
        // seqeval's README example:
        // y_true = [['O','O','O','B-MISC','I-MISC','I-MISC','O'], ['B-PER','I-PER','O']]
        // y_pred = [['O','O','B-MISC','I-MISC','I-MISC','I-MISC','O'], ['B-PER','I-PER','O']]
        // f1_score = 0.50, precision 0.50, recall 0.50, accuracy_score = 0.8 (8 of 10 tokens).
        let gold = seqs(&["O O O B-MISC I-MISC I-MISC O", "B-PER I-PER O"]);
        let pred = seqs(&["O O B-MISC I-MISC I-MISC I-MISC O", "B-PER I-PER O"]);
        let r = seqeval(&gold, &pred);
        assert_eq!(
            (r.overall.precision, r.overall.recall, r.overall.f1),
            (0.5, 0.5, 0.5)
        );
        assert_eq!(r.token_accuracy, 0.8);
        assert_eq!(r.per_type["MISC"].f1, 0.0);
        assert_eq!(r.per_type["PER"].f1, 1.0);
        assert_eq!(
            (r.per_type["PER"].support, r.per_type["MISC"].predicted),
            (1, 1)
        );
    }

    #[test]
    fn hand_worked_precision_and_recall() {
        // Gold: PER(0-1), LOC(3). Predicted: PER(0-1), ORG(3), LOC(4): 1 correct of 3 predicted,
        // of 2 true. P = 1/3, R = 1/2, F1 = 2·(1/6)/(5/6) = 0.4.
        let r = seqeval(
            &seqs(&["B-PER I-PER O B-LOC O"]),
            &seqs(&["B-PER I-PER O B-ORG B-LOC"]),
        );
        assert!((r.overall.precision - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.overall.recall, 0.5);
        assert!((r.overall.f1 - 0.4).abs() < 1e-12);
        // Nothing predicted: 0, not NaN.
        let r = seqeval(&seqs(&["B-PER"]), &seqs(&["O"]));
        assert_eq!((r.overall.precision, r.overall.f1), (0.0, 0.0));
    }

    #[test]
    fn the_metric_accumulates_counts_over_the_epoch() {
        let tags: Vec<String> = ["B-PER", "I-PER", "O"].map(String::from).to_vec();
        let mut metric = SeqevalMetric::new(tags, SeqevalScore::F1);
        let meta = MetricMetadata {
            progress: burn::data::dataloader::Progress::new(1, 1, None),
            iteration: Some(0),
            lr: None,
        };
        // Batch 1: 1 of 1 right; batch 2: 0 of 1 predicted right, 1 missed.
        metric
            .update(
                &TagSequences {
                    gold: vec![vec![0, 1, 2]],
                    predicted: vec![vec![0, 1, 2]],
                },
                &meta,
            )
            .unwrap();
        assert_eq!(metric.value().unwrap().current(), 100.0);
        metric
            .update(
                &TagSequences {
                    gold: vec![vec![2, 0, 2]],
                    predicted: vec![vec![0, 2, 2]],
                },
                &meta,
            )
            .unwrap();
        assert_eq!(metric.value().unwrap().current(), 0.0);
        // Epoch: 1 correct, 2 predicted, 2 true: F1 50 (the mean of the batches would be 50 too;
        // with unequal batches it would not).
        assert_eq!(metric.final_value().current(), 50.0);
        metric.clear();
        assert!(metric.value().is_none());
    }
}
