//! The run's log history, as `Trainer` keeps it in `state.log_history`: `OUTPUT/log_history.json`,
//! a list of entries, rewritten (atomically) after each epoch and each validation.
//!
//! - every `logging_steps` optimizer steps (each step without it): `step`, `epoch` (the
//!   fractional epoch, as HF logs it), `loss` and each training metric (averaged over the
//!   batches since the last entry, as `Trainer` logs its loss), `learning_rate` (the one the
//!   step used; HF logs the next step's),
//!   `grad_norm` (before clipping), `learning_rate/<group>` (every parameter group:
//!   embeddings, each layer, pooler, head) and `elapsed_s` (seconds of training so far);
//! - after each validation: `step`, `epoch`, `eval_loss`, `eval_<metric>`, `elapsed_s`.
//!
//! Keys are HF's names of the task's metrics (`accuracy`, `f1`, `exact_match`, ...: those
//! `metric_for_best_model` takes), else Burn's metric names in snake case (`Learning Rate` →
//! `learning_rate`); Burn's percentages (accuracy, precision, recall, F-scores) are fractions
//! here, as HF logs them. With
//! `report_to = "tensorboard"` the same values go to TensorBoard ([`crate::tensorboard`]). A
//! resumed run keeps the entries up to its checkpoint's step and goes on from there.
//! `burnbert report` draws its curves from this file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{
    MetricAttributes, MetricDefinition, MetricId, NumericAttributes, NumericEntry,
};
use serde_json::{Map, Value};

use crate::loader::StepPlan;
use crate::step::StepTelemetry;
use crate::tensorboard::{TensorBoardWriter, tag};
use crate::{TrainError, TrainingConfig};

/// The file of the log history in a run's folder.
pub const HISTORY: &str = "log_history.json";

/// One entry of the history: a JSON object (see the module's documentation).
pub type Entry = Map<String, Value>;

/// A Burn metric logger that keeps the log history (see the module's documentation). Clones
/// share one history.
#[derive(Clone)]
pub struct HistoryLogger {
    state: Arc<Mutex<State>>,
}

struct State {
    file: PathBuf,
    entries: Vec<Entry>,
    tensorboard: Option<TensorBoardWriter>,
    /// HF's name of each Burn metric that has one, by Burn's name.
    renames: HashMap<String, String>,
    /// Each metric's key and the factor to its logged value (0.01 for a percentage).
    names: HashMap<MetricId, (String, f64)>,
    telemetry: StepTelemetry,
    /// How the steps lie on the batches of each Burn epoch.
    plan: StepPlan,
    /// An entry every this many steps.
    logging_steps: usize,
    /// The Burn epoch (validation interval) being trained, which of its batches end a step,
    /// and its batches so far.
    round: usize,
    ends_step: Vec<bool>,
    round_batches: usize,
    /// Each training value's sum, count and last value since the last entry, by key.
    window: Vec<(String, f64, usize, f64)>,
    /// Optimizer steps done, the resumed ones included.
    step: usize,
    /// Validation entries of the validation running, per key.
    valid: HashMap<String, Vec<NumericEntry>>,
    started: Instant,
    /// Seconds of training before this process (a resumed run's).
    elapsed_before: f64,
    error: Option<String>,
}

impl std::fmt::Debug for HistoryLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HistoryLogger({})", self.lock().file.display())
    }
}

/// One scalar's value.
fn value(entry: &NumericEntry) -> f64 {
    match *entry {
        NumericEntry::Value(v) | NumericEntry::Final(v) => v,
        NumericEntry::Aggregated {
            aggregated_value, ..
        } => aggregated_value,
    }
}

/// The entries of the history file `path`.
///
/// # Errors
/// [`TrainError::Io`] when it cannot be read, [`TrainError::ConfigFile`] when it is not a list
/// of entries.
pub fn read(path: &Path) -> Result<Vec<Entry>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| TrainError::ConfigFile {
        path: path.into(),
        message: e.to_string(),
    })
}

impl HistoryLogger {
    /// The history of a run of `args` in `output` with the steps of `plan`, of which
    /// `completed_rounds` validation intervals ran already (a resumed run keeps the entries of
    /// its first steps), reading each step's gradient norm and learning rates from
    /// `telemetry`; with `report_to = "tensorboard"`, also a new event file.
    ///
    /// # Errors
    /// [`TrainError::Io`] when the event file cannot be made.
    pub fn new(
        output: &Path,
        args: &TrainingConfig,
        plan: StepPlan,
        completed_rounds: usize,
        telemetry: StepTelemetry,
    ) -> Result<Self, TrainError> {
        let first_step = plan.round_steps(completed_rounds + 1).start;
        let file = output.join(HISTORY);
        let entries: Vec<Entry> = if completed_rounds > 0 {
            read(&file)
                .unwrap_or_default()
                .into_iter()
                .filter(|e| {
                    e.get("step").and_then(Value::as_u64).unwrap_or(0) as usize <= first_step
                })
                .collect()
        } else {
            Vec::new()
        };
        let elapsed_before = entries
            .iter()
            .filter_map(|e| e.get("elapsed_s").and_then(Value::as_f64))
            .fold(0.0, f64::max);
        let tensorboard = if args.reports_to_tensorboard() {
            Some(TensorBoardWriter::new(output, args, first_step)?)
        } else {
            None
        };
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                file,
                entries,
                tensorboard,
                renames: HashMap::new(),
                names: HashMap::new(),
                telemetry,
                plan,
                logging_steps: args.logging_steps.unwrap_or(1).max(1),
                round: 0,
                ends_step: Vec::new(),
                round_batches: 0,
                window: Vec::new(),
                step: first_step,
                valid: HashMap::new(),
                started: Instant::now(),
                elapsed_before,
                error: None,
            })),
        })
    }

    /// Logs the metrics of `names` (`(Burn's name, HF's name)`) under HF's names.
    pub fn with_names(self, names: Vec<(String, String)>) -> Self {
        self.lock().renames = names.into_iter().collect();
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first error of writing, if any (the run goes on without its logs).
    pub fn error(&self) -> Option<String> {
        self.lock().error.clone()
    }
}

impl State {
    fn fail(&mut self, result: Result<(), String>) {
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    /// A new entry at the current step.
    fn entry(&self) -> Entry {
        let mut entry = Entry::new();
        entry.insert("step".into(), self.step.into());
        let epoch = self.step as f64 / self.plan.steps_per_epoch() as f64;
        entry.insert("epoch".into(), ((epoch * 1e4).round() / 1e4).into());
        let elapsed = self.elapsed_before + self.started.elapsed().as_secs_f64();
        entry.insert("elapsed_s".into(), ((elapsed * 1e3).round() / 1e3).into());
        entry
    }

    /// Writes `key = value` into `entry` and to TensorBoard under `prefix/key`.
    fn put(&mut self, entry: &mut Entry, prefix: &str, key: &str, value: f64) {
        if !value.is_finite() {
            return;
        }
        let json_key = match prefix {
            "eval" => format!("eval_{key}"),
            _ => key.to_string(),
        };
        entry.insert(json_key, value.into());
        if let Some(tensorboard) = &mut self.tensorboard {
            let result = tensorboard.scalar(&format!("{prefix}/{key}"), self.step, value);
            self.fail(result);
        }
    }

    /// Takes a training batch's entries into the window; after a batch that ends an optimizer
    /// step on the logging interval, logs the step: its gradient norm and learning rates, and
    /// the window's means.
    fn batch(&mut self, values: Vec<(String, NumericEntry)>, ends_step: bool) {
        for (name, point) in values {
            let v = value(&point);
            if !v.is_finite() {
                continue;
            }
            match self.window.iter_mut().find(|(n, ..)| *n == name) {
                Some((_, sum, count, last)) => {
                    *sum += v;
                    *count += 1;
                    *last = v;
                }
                None => self.window.push((name, v, 1, v)),
            }
        }
        if !ends_step {
            return;
        }
        self.step += 1;
        let record = self.telemetry.next();
        if !self.step.is_multiple_of(self.logging_steps) {
            return;
        }
        let mut entry = self.entry();
        for (name, sum, count, last) in std::mem::take(&mut self.window) {
            // The learning rate is the step's, as HF logs it; the others are averaged.
            let v = if name == "learning_rate" {
                last
            } else {
                sum / count as f64
            };
            self.put(&mut entry, "train", &name, v);
        }
        if let Some(record) = record {
            self.put(&mut entry, "train", "grad_norm", record.grad_norm);
            for (group, lr) in &record.learning_rates {
                self.put(&mut entry, "train", &format!("learning_rate/{group}"), *lr);
            }
        }
        self.entries.push(entry);
    }

    fn save(&mut self) {
        if let Some(tensorboard) = &mut self.tensorboard {
            let result = tensorboard.flush();
            self.fail(result);
        }
        let result =
            crate::run_dir::write_json(&self.file, &self.entries).map_err(|e| e.to_string());
        self.fail(result);
    }
}

impl MetricLogger for HistoryLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let mut state = self.lock();
        let values: Vec<(String, NumericEntry)> = update
            .entries_numeric
            .iter()
            .filter_map(|numeric| {
                let entry = &numeric.entry;
                let (key, scale) = state.names.get(&entry.metric_id)?;
                let point = NumericEntry::deserialize(&entry.serialized_entry.serialized).ok()?;
                let point = match point {
                    NumericEntry::Value(v) => NumericEntry::Value(v * scale),
                    NumericEntry::Final(v) => NumericEntry::Final(v * scale),
                    NumericEntry::Aggregated {
                        aggregated_value,
                        count,
                    } => NumericEntry::Aggregated {
                        aggregated_value: aggregated_value * scale,
                        count,
                    },
                };
                Some((key.clone(), point))
            })
            .collect();
        match split {
            Split::Train => {
                // The epoch's final values of epoch metrics come in an update of their own,
                // after its batches': not a batch.
                if !values.is_empty()
                    && values
                        .iter()
                        .all(|(_, p)| matches!(p, NumericEntry::Final(_)))
                {
                    return;
                }
                // The steps of each Burn epoch lie on its batches as the loader's plan says.
                if epoch != state.round {
                    state.round = epoch;
                    state.round_batches = 0;
                    state.ends_step = state
                        .plan
                        .round_batches(epoch)
                        .iter()
                        .map(|b| b.ends_step)
                        .collect();
                }
                let ends_step = state.ends_step.get(state.round_batches) != Some(&false);
                state.round_batches += 1;
                state.batch(values, ends_step);
            }
            _ => {
                for (name, point) in values {
                    state.valid.entry(name).or_default().push(point);
                }
            }
        }
    }

    fn read_numeric(&mut self, _: &str, _: usize, _: &Split) -> Result<Vec<NumericEntry>, String> {
        Err("the history logger writes only".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        let mut state = self.lock();
        let name = definition.name.to_string();
        let key = state
            .renames
            .get(&name)
            .cloned()
            .unwrap_or_else(|| tag(&name));
        let percent = matches!(
            &definition.attributes,
            MetricAttributes::Numeric(NumericAttributes { unit: Some(unit), .. }) if unit == "%"
        );
        let scale = if percent { 0.01 } else { 1.0 };
        state.names.insert(definition.metric_id, (key, scale));
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let mut state = self.lock();
        if summary.split == Split::Valid {
            let valid = std::mem::take(&mut state.valid);
            let mut valid: Vec<_> = valid.into_iter().collect();
            valid.sort_by(|a, b| a.0.cmp(&b.0));
            let mut entry = state.entry();
            for (name, points) in valid {
                if let Some(v) = crate::run_dir::epoch_value(&points) {
                    state.put(&mut entry, "eval", &name, v);
                }
            }
            state.entries.push(entry);
        }
        state.save();
    }
}
