//! A plain line-per-step progress log for when stdout is not a terminal (CI, pipes), where
//! Burn's TUI dashboard cannot draw and its CLI renderer prints no metric values.

use std::collections::HashMap;

use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `[epoch e/E train step s i/N] Loss: ... | Accuracy: ...` every `every` batches and
/// the epoch's final value of each metric (`interval` for "epoch" when a Burn epoch is a
/// validation interval of steps).
pub(crate) struct LineRenderer {
    every: usize,
    unit: &'static str,
    names: HashMap<MetricId, String>,
    latest: Vec<(MetricId, String)>,
    split: String,
    step: usize,
    total_items: usize,
    epoch: usize,
    total_epochs: usize,
}

impl LineRenderer {
    pub(crate) fn new(every: usize, unit: &'static str) -> Self {
        Self {
            every: every.max(1),
            unit,
            names: HashMap::new(),
            latest: Vec::new(),
            split: String::new(),
            step: 0,
            total_items: 0,
            epoch: 0,
            total_epochs: 0,
        }
    }

    fn name(&self, id: &MetricId) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("{id:?}"))
    }

    fn on_state(&mut self, split: &str, state: MetricState) {
        match state {
            MetricState::Numeric(entry, Some(NumericEntry::Final(value))) => {
                println!(
                    "[{} {}/{} {split}] {} = {value:.4}",
                    self.unit,
                    self.epoch,
                    self.total_epochs,
                    self.name(&entry.metric_id)
                )
            }
            MetricState::Numeric(entry, _) | MetricState::Generic(entry) => {
                let text = entry.serialized_entry.formatted;
                match self
                    .latest
                    .iter()
                    .position(|(id, _)| *id == entry.metric_id)
                {
                    Some(i) => self.latest[i].1 = text,
                    None => self.latest.push((entry.metric_id, text)),
                }
            }
        }
    }
}

impl MetricsRendererTraining for LineRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.on_state("train", state)
    }
    fn update_valid(&mut self, state: MetricState) {
        self.on_state("valid", state)
    }
}

impl MetricsRendererEvaluation for LineRenderer {
    fn update_test(&mut self, name: EvaluationName, state: MetricState) {
        self.on_state(name.as_str(), state)
    }
}

impl TrainingProgressLogger for LineRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _items: Option<usize>,
        label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch;
        println!(
            "{}: {}s {starting_epoch}..={total_epochs}",
            label.unwrap_or("training"),
            self.unit
        );
    }
    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }
    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = split.to_string();
        self.total_items = total_items;
        self.step = 0;
        self.latest.clear();
    }
    fn update_split(&mut self, items_processed: usize) {
        self.step += 1;
        if self.step.is_multiple_of(self.every) || items_processed >= self.total_items {
            let metrics: Vec<String> = self
                .latest
                .iter()
                .map(|(id, t)| format!("{}: {t}", self.name(id)))
                .collect();
            println!(
                "[{} {}/{} {} step {} {}/{}] {}",
                self.unit,
                self.epoch,
                self.total_epochs,
                self.split,
                self.step,
                items_processed,
                self.total_items,
                metrics.join(" | ")
            );
        }
    }
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for LineRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, name: &str, total_items: usize) {
        self.start_split(name, total_items)
    }
    fn update_test_progress(&mut self, items_processed: usize) {
        self.update_split(items_processed)
    }
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for LineRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id, definition.name.to_string());
    }
}
