//! [`EpochRecord`]: the validation metrics of a run per epoch, as Burn's learner reports them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use burn::train::Interrupter;
use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, MetricName, NumericEntry};

use super::write_json;
use crate::TrainError;

/// Each validation metric's value per epoch (`None` for an epoch that did not report it), by
/// Burn's metric name, kept as Burn's learner reports them: the epoch's final value where the
/// metric gives one (computed over the whole epoch, as seqeval and SQuAD scores are), else the
/// mean of its batch values weighted by their sizes, which is what Burn's checkpointing and
/// early stopping compare. Saved to `epochs.json` after every epoch.
///
/// Cloning shares the record: the learner logs into one clone while the run reads another.
#[derive(Debug, Clone, Default)]
pub struct EpochRecord {
    state: Arc<Mutex<RecordState>>,
    /// Signalled when an epoch is recorded.
    recorded: Arc<Condvar>,
}

#[derive(Default)]
struct RecordState {
    names: HashMap<MetricId, MetricName>,
    /// The current epoch's entries per metric.
    points: HashMap<String, Vec<NumericEntry>>,
    epochs: BTreeMap<String, Vec<Option<f64>>>,
    file: Option<PathBuf>,
    save_error: Option<TrainError>,
    interrupter: Option<Interrupter>,
}

impl std::fmt::Debug for RecordState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordState")
            .field("epochs", &self.epochs)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl EpochRecord {
    /// `metric`'s value per epoch, epoch 1 first (empty for a metric never reported).
    pub fn values(&self, metric: &str) -> Vec<Option<f64>> {
        let state = self.lock();
        let mut values = state.epochs.get(metric).cloned().unwrap_or_default();
        values.resize(Self::epochs_in(&state), None);
        values
    }

    /// Epochs recorded.
    pub fn epochs(&self) -> usize {
        Self::epochs_in(&self.lock())
    }

    /// Waits until `epochs` epochs are recorded, at most `timeout`; whether they are. Burn's
    /// learner hands the metrics to its loggers on a thread of their own, so a checkpointing or
    /// early-stopping decision right after a validation waits for the validation's record.
    pub fn wait_for(&self, epochs: usize, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .recorded
            .wait_timeout_while(state, timeout, |s| Self::epochs_in(s) < epochs)
            .unwrap_or_else(|e| e.into_inner());
        Self::epochs_in(&state) >= epochs
    }

    /// The epoch (1-based) with the highest (or lowest) value of `metric`; the first on a tie.
    pub fn best_epoch(&self, metric: &str, highest: bool) -> Option<usize> {
        best_epoch(&self.values(metric), highest)
    }

    /// A record of one metric's values (tests).
    #[cfg(test)]
    pub(crate) fn with_values(metric: &str, values: &[Option<f64>]) -> Self {
        let record = Self::default();
        record.lock().epochs.insert(metric.into(), values.to_vec());
        record
    }

    /// Among `epochs` (1-based), the one with the highest (or lowest) value of `metric`; the
    /// first on a tie.
    pub fn best_of(&self, metric: &str, highest: bool, epochs: &[usize]) -> Option<usize> {
        let values: Vec<Option<f64>> = self
            .values(metric)
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.filter(|_| epochs.contains(&(i + 1))))
            .collect();
        best_epoch(&values, highest)
    }

    /// The error of the last failed save of `epochs.json`, if any (a logger cannot return one).
    pub fn save_error(&self) -> Option<TrainError> {
        self.lock().save_error.take()
    }

    fn epochs_in(state: &RecordState) -> usize {
        state.epochs.values().map(Vec::len).max().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecordState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves the record to `file` from now on.
    pub(super) fn save_to(&self, file: PathBuf) {
        self.lock().file = Some(file);
    }

    /// Stops the run through `interrupter` when a save of `epochs.json` fails (the error is
    /// then [`Self::save_error`]), so that no epoch trains without its record.
    pub fn stop_on_save_error(&self, interrupter: Interrupter) {
        self.lock().interrupter = Some(interrupter);
    }

    /// The first `epochs` epochs of the record in `file`: a resumed run's. The record is
    /// written before each epoch's checkpoint, so a run resumable from `epochs` has them all.
    ///
    /// # Errors
    /// [`TrainError::ConfigFile`] when the file is missing (a run of a burnbert before the
    /// record), unreadable, or holds fewer epochs: the best epoch could not be chosen.
    pub(super) fn load(&self, file: &Path, epochs: usize) -> Result<(), TrainError> {
        let refuse = |message: String| TrainError::ConfigFile {
            path: file.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| {
            refuse(format!(
                "{e}: the run's record of its validation metrics is needed to resume it (a run \
                 of an older burnbert cannot be resumed: start it again)"
            ))
        })?;
        let mut saved: BTreeMap<String, Vec<Option<f64>>> =
            serde_json::from_str(&text).map_err(|e| refuse(e.to_string()))?;
        let recorded = saved.values().map(Vec::len).max().unwrap_or(0);
        if recorded < epochs {
            return Err(refuse(format!(
                "it records {recorded} epochs, the resume from epoch {epochs} needs {epochs}"
            )));
        }
        for values in saved.values_mut() {
            values.truncate(epochs);
        }
        self.lock().epochs = saved;
        Ok(())
    }
}

impl MetricLogger for EpochRecord {
    fn log(&mut self, update: MetricsUpdate, _epoch: usize, split: &Split) {
        if *split != Split::Valid {
            return;
        }
        let mut state = self.lock();
        for numeric in update.entries_numeric {
            let entry = numeric.entry;
            let (Some(name), Ok(point)) = (
                state.names.get(&entry.metric_id).map(|n| n.to_string()),
                NumericEntry::deserialize(&entry.serialized_entry.serialized),
            ) else {
                continue;
            };
            state.points.entry(name).or_default().push(point);
        }
    }

    fn read_numeric(&mut self, _: &str, _: usize, _: &Split) -> Result<Vec<NumericEntry>, String> {
        Err("burnbert's epoch record keeps epoch values only".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.lock()
            .names
            .insert(definition.metric_id, definition.name);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        if summary.split != Split::Valid {
            return;
        }
        let mut state = self.lock();
        let epoch = summary.epoch_number;
        let points = std::mem::take(&mut state.points);
        for (name, points) in points {
            let values = state.epochs.entry(name).or_default();
            values.resize(epoch.saturating_sub(1), None);
            values.push(epoch_value(&points));
        }
        self.recorded.notify_all();
        if let Some(file) = state.file.clone()
            && let Err(error) = write_json(&file, &state.epochs)
        {
            if let Some(interrupter) = &state.interrupter {
                interrupter.stop(Some(&format!("the epoch record was not saved: {error}")));
            }
            state.save_error = Some(error);
        }
    }
}

/// An epoch's value from its entries, as Burn's learner aggregates them: the last entry when
/// it is the epoch's final value, else the mean of the batch values weighted by their counts.
pub(crate) fn epoch_value(points: &[NumericEntry]) -> Option<f64> {
    if let Some(NumericEntry::Final(value)) = points.last() {
        return Some(*value);
    }
    let (sum, count) = points.iter().fold((0.0, 0.0), |(sum, count), point| {
        let (value, weight) = match *point {
            NumericEntry::Value(v) | NumericEntry::Final(v) => (v, 1.0),
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => (aggregated_value, count as f64),
        };
        (sum + value * weight, count + weight)
    });
    (count > 0.0).then(|| sum / count)
}

/// The epoch (1-based) of the highest (or lowest) value; the first on a tie.
pub(crate) fn best_epoch(values: &[Option<f64>], highest: bool) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i + 1, v)))
        .reduce(|a, b| {
            if (highest && b.1 > a.1) || (!highest && b.1 < a.1) {
                b
            } else {
                a
            }
        })
        .map(|(epoch, _)| epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::train::metric::store::NumericMetricUpdate;
    use burn::train::metric::{MetricEntry, SerializedEntry};

    use crate::run_dir::RunDir;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("burnbert-record-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn update(id: &MetricId, serialized: &str) -> MetricsUpdate {
        let entry = MetricEntry::new(
            id.clone(),
            SerializedEntry::new(serialized.into(), serialized.into()),
        );
        MetricsUpdate::new(vec![], vec![NumericMetricUpdate::new(entry, None, None)])
    }

    #[test]
    fn best_epoch_by_direction() {
        let v = [Some(0.5), Some(0.3), None, Some(0.4)];
        assert_eq!(best_epoch(&v, false), Some(2));
        assert_eq!(best_epoch(&v, true), Some(1));
        assert_eq!(best_epoch(&[], true), None);
    }

    #[test]
    fn the_record_keeps_burns_epoch_values_and_saves_them() {
        let dir = scratch("record");
        std::fs::create_dir_all(&dir).unwrap();
        let mut record = EpochRecord::default();
        record.save_to(dir.join(RunDir::RECORD));
        let id = MetricId::new(Arc::new("Entity F1".into()));
        record.log_metric_definition(MetricDefinition {
            metric_id: id.clone(),
            name: Arc::new("Entity F1".into()),
            description: None,
            attributes: burn::train::metric::MetricAttributes::None,
        });
        // Epoch 1: batch values only (count-weighted mean); epoch 2: a final value; training
        // entries ignored.
        for (epoch, lines) in [
            (1, ["0.5,2", "1.0,2", ""]),
            (2, ["0.5,2", "1.0,2", "0.8,final"]),
        ] {
            for line in lines.iter().filter(|l| !l.is_empty()) {
                record.log(update(&id, line), epoch, &Split::Valid);
                record.log(update(&id, "9.0,1"), epoch, &Split::Train);
            }
            record.log_epoch_summary(EpochSummary::new(epoch, Split::Train));
            record.log_epoch_summary(EpochSummary::new(epoch, Split::Valid));
        }
        assert_eq!(record.values("Entity F1"), [Some(0.75), Some(0.8)]);
        assert_eq!(record.best_epoch("Entity F1", true), Some(2));
        assert!(record.save_error().is_none());
        // A resume from epoch 1 keeps epoch 1 of the saved record.
        let resumed = EpochRecord::default();
        resumed.load(&dir.join(RunDir::RECORD), 1).unwrap();
        assert_eq!(resumed.values("Entity F1"), [Some(0.75)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
