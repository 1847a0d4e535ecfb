//! The official SQuAD scores as Burn metrics of the validation set: the windows' logits kept
//! over an epoch, post-processed and scored at its end.

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::TensorReadError;
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};
use crate::tasks::question_answering::data::{QaFeature, SquadExample};

use super::{Postprocess, postprocess, squad_scores};

/// The official score a [`SquadMetric`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SquadScore {
    /// Exact match, in percent (`exact_match`).
    ExactMatch,
    /// Token F1, in percent (`f1`).
    F1,
}

impl SquadScore {
    /// The metric's name in the dashboard and in Burn's metric logs.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::ExactMatch => "Exact Match",
            Self::F1 => "F1",
        }
    }
}

/// The start and end logits of a batch of windows, and which validation features they are.
#[derive(Debug, Clone)]
pub struct WindowLogits {
    /// `[batch, seq]`.
    pub start_logits: Tensor<2>,
    /// `[batch, seq]`.
    pub end_logits: Tensor<2>,
    /// Index of each row's feature in the validation features.
    pub features: Vec<usize>,
}

/// The official SQuAD exact match or F1 of the validation questions as a Burn metric: the
/// logits of every window are kept over the epoch, and at its end the answers are
/// post-processed over all windows of each question ([`postprocess`]) and scored
/// ([`squad_scores`]), as `run_qa.py` evaluates after each epoch. No value mid-epoch: a
/// question's answer needs all of its windows.
#[derive(Clone)]
pub struct SquadMetric {
    score: SquadScore,
    name: MetricName,
    examples: Arc<Vec<SquadExample>>,
    features: Arc<Vec<QaFeature>>,
    options: Postprocess,
    logits: Vec<Option<(Vec<f32>, Vec<f32>)>>,
    value: Option<f64>,
}

impl SquadMetric {
    /// `score` of the answers to `examples`, whose windows are `features`.
    pub fn new(
        score: SquadScore,
        examples: Arc<Vec<SquadExample>>,
        features: Arc<Vec<QaFeature>>,
        options: Postprocess,
    ) -> Self {
        Self {
            score,
            name: Arc::new(score.metric_name().to_string()),
            logits: vec![None; features.len()],
            examples,
            features,
            options,
            value: None,
        }
    }

    /// The score over the windows seen, once every window has been; `None` before.
    fn epoch_value(&self) -> Option<f64> {
        let logits: Option<Vec<_>> = self.logits.iter().cloned().collect();
        let predictions = postprocess(&self.examples, &self.features, &logits?, self.options);
        let scores = squad_scores(&self.examples, &predictions);
        Some(match self.score {
            SquadScore::ExactMatch => scores.exact_match,
            SquadScore::F1 => scores.f1,
        })
    }
}

impl Metric for SquadMetric {
    type Input = WindowLogits;

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
        item: &WindowLogits,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let [batch, seq] = item.start_logits.dims();
        let read = |t: &Tensor<2>| -> Result<Vec<f32>, TensorReadError> {
            Ok(t.clone()
                .try_into_data()?
                .convert::<f32>()
                .try_into_vec::<f32>()?)
        };
        let (start, end) = (read(&item.start_logits)?, read(&item.end_logits)?);
        for (row, &feature) in item.features.iter().enumerate().take(batch) {
            let span = row * seq..(row + 1) * seq;
            if let Some(slot) = self.logits.get_mut(feature) {
                *slot = Some((start[span.clone()].to_vec(), end[span].to_vec()));
            }
        }
        Ok(SerializedEntry::not_available(Some("%")))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        self.value = self.epoch_value();
        Ok(match self.value {
            Some(v) => SerializedEntry::new(
                format!("epoch {v:.2} %"),
                NumericEntry::Final(v).serialize(),
            ),
            None => SerializedEntry::not_available(Some("%")),
        })
    }

    fn clear(&mut self) {
        self.logits = vec![None; self.features.len()];
        self.value = None;
    }
}

impl Numeric for SquadMetric {
    fn value(&self) -> Option<NumericEntry> {
        None
    }

    fn running_value(&self) -> Option<NumericEntry> {
        None
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.value.unwrap_or(f64::NAN))
    }
}
