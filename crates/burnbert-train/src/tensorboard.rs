//! `report_to = "tensorboard"`: TensorBoard event files under `OUTPUT/runs/`, as `Trainer`'s
//! `TensorBoardCallback` writes them, so that `tensorboard --logdir OUTPUT/runs` shows the run.
//!
//! - `train/loss`, `train/<metric>` (each training metric's batch value), `train/grad_norm`
//!   (before clipping), `train/learning_rate` and `train/learning_rate/<group>` (every
//!   parameter group: embeddings, each layer, pooler, head), at each optimizer step;
//! - `eval/loss`, `eval/<metric>` (each validation metric's epoch value) at the step that ends
//!   the epoch;
//! - the recipe as text (`args/text_summary`, the JSON of [`TrainingConfig`]).
//!
//! Tags are Burn's metric names in snake case (`Learning Rate` → `learning_rate`). The event
//! format (TFRecord framing, `Event` and `Summary` protocol buffers) is written with the
//! `tfrecord` crate, the maintained Rust writer of it (`tensorboard-rs`, the other, pins old
//! `protobuf` and `image` versions). A resumed run appends a new event file, whose steps
//! continue from the resumed epoch; TensorBoard reads every file of the folder as one run.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use tfrecord::EventWriter;
use tfrecord::protobuf::summary::Value;
use tfrecord::protobuf::summary::value::Value as SummaryValue;
use tfrecord::protobuf::summary_metadata::PluginData;
use tfrecord::protobuf::{DataType, Summary, SummaryMetadata, TensorProto, TensorShapeProto};

use crate::step::StepTelemetry;
use crate::{TrainError, TrainingConfig};

/// The folder of a run's event files.
pub const LOG_DIR: &str = "runs";

/// A Burn metric logger that writes TensorBoard event files (see the module's documentation).
/// Clones share one file.
#[derive(Clone)]
pub struct TensorBoardLogger {
    state: Arc<Mutex<State>>,
}

struct State {
    writer: EventWriter<BufWriter<File>>,
    path: PathBuf,
    names: HashMap<MetricId, String>,
    telemetry: StepTelemetry,
    /// Forward passes per optimizer step.
    accumulation: usize,
    /// The epoch being trained and its batches so far.
    epoch: usize,
    epoch_batches: usize,
    /// The training entries of a batch that ended no optimizer step yet (accumulating).
    pending: Option<Vec<(String, NumericEntry)>>,
    /// Optimizer steps done, the resumed ones included.
    step: usize,
    /// Validation entries of the epoch being validated, per tag.
    valid: HashMap<String, Vec<NumericEntry>>,
    error: Option<String>,
}

impl std::fmt::Debug for TensorBoardLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TensorBoardLogger({})", self.lock().path.display())
    }
}

/// A metric's tag: Burn's name in snake case.
fn tag(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
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

impl TensorBoardLogger {
    /// A new event file in `output/runs/` for a run of `args` whose first optimizer step is
    /// `first_step + 1` (a resumed run's steps continue), reading each step's gradient norm and
    /// learning rates from `telemetry`. Writes the recipe as text.
    ///
    /// # Errors
    /// [`TrainError::Io`] when the folder or the file cannot be made.
    pub fn new(
        output: &Path,
        args: &TrainingConfig,
        first_step: usize,
        telemetry: StepTelemetry,
    ) -> Result<Self, TrainError> {
        let dir = output.join(LOG_DIR);
        let io = |source| TrainError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        // TensorBoard finds event files by `tfevents` in their names.
        let path = dir.join(format!(
            "events.out.tfevents.{}.{host}.{}",
            now.as_secs(),
            std::process::id()
        ));
        let file = File::create(&path).map_err(|source| TrainError::Io {
            path: path.clone(),
            source,
        })?;
        let failed = |e: tfrecord::Error| TrainError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        };
        let mut writer = EventWriter::from_writer(
            BufWriter::new(file),
            tfrecord::EventWriterConfig { auto_flush: false },
        )
        .map_err(failed)?;
        let version = tfrecord::protobuf::Event {
            wall_time: now.as_secs_f64(),
            step: 0,
            what: Some(tfrecord::protobuf::event::What::FileVersion(
                "brain.Event:2".into(),
            )),
            source_metadata: None,
        };
        writer.write_event(version).map_err(failed)?;
        let recipe = serde_json::to_string_pretty(args).unwrap_or_default();
        writer
            .write_event(text_event("args/text_summary", &recipe, first_step))
            .map_err(failed)?;
        writer.flush().map_err(failed)?;
        Ok(Self {
            state: Arc::new(Mutex::new(State {
                writer,
                path,
                names: HashMap::new(),
                telemetry,
                accumulation: args.gradient_accumulation_steps.max(1),
                epoch: 0,
                epoch_batches: 0,
                pending: None,
                step: first_step,
                valid: HashMap::new(),
                error: None,
            })),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The event file.
    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    /// The first error of writing, if any (the run goes on without its events).
    pub fn error(&self) -> Option<String> {
        self.lock().error.clone()
    }
}

/// A text summary event (TensorBoard's text plugin: a string tensor).
fn text_event(tag: &str, text: &str, step: usize) -> tfrecord::protobuf::Event {
    let value = Value {
        node_name: String::new(),
        tag: tag.into(),
        metadata: Some(SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "text".into(),
                content: Vec::new(),
            }),
            ..Default::default()
        }),
        value: Some(SummaryValue::Tensor(TensorProto {
            dtype: DataType::DtString as i32,
            tensor_shape: Some(TensorShapeProto {
                dim: Vec::new(),
                unknown_rank: false,
            }),
            string_val: vec![format!("```json\n{text}\n```").into_bytes()],
            ..Default::default()
        })),
    };
    tfrecord::EventMeta::with_step(step as i64).build_with_summary(Summary { value: vec![value] })
}

impl State {
    fn scalar(&mut self, tag: &str, value: f64) {
        if !value.is_finite() || self.error.is_some() {
            return;
        }
        if let Err(e) = self
            .writer
            .write_scalar(tag, self.step as i64, value as f32)
        {
            self.error = Some(format!("{}: {e}", self.path.display()));
        }
    }

    /// Logs an optimizer step: its gradient norm and learning rates, and the training entries
    /// of its last batch.
    fn log_step(&mut self, entries: Vec<(String, NumericEntry)>) {
        self.step += 1;
        if let Some(record) = self.telemetry.next() {
            self.scalar("train/grad_norm", record.grad_norm);
            for (group, lr) in &record.learning_rates {
                self.scalar(&format!("train/learning_rate/{group}"), *lr);
            }
        }
        for (name, point) in entries {
            self.scalar(&format!("train/{name}"), value(&point));
        }
    }

    fn flush(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.writer.flush()
        {
            self.error = Some(format!("{}: {e}", self.path.display()));
        }
    }
}

impl MetricLogger for TensorBoardLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let mut state = self.lock();
        let entries: Vec<(String, NumericEntry)> = update
            .entries_numeric
            .iter()
            .filter_map(|numeric| {
                let entry = &numeric.entry;
                let name = state.names.get(&entry.metric_id)?;
                let point = NumericEntry::deserialize(&entry.serialized_entry.serialized).ok()?;
                Some((tag(name), point))
            })
            .collect();
        match split {
            Split::Train => {
                // The epoch's final values of epoch metrics come in an update of their own,
                // after its batches': not a batch.
                if !entries.is_empty()
                    && entries
                        .iter()
                        .all(|(_, p)| matches!(p, NumericEntry::Final(_)))
                {
                    return;
                }
                // Burn's learner steps the optimizer after every `accumulation` batches of an
                // epoch and after its last one; a batch that ends no step waits.
                if epoch != state.epoch {
                    state.epoch = epoch;
                    state.epoch_batches = 0;
                }
                state.epoch_batches += 1;
                if state.epoch_batches.is_multiple_of(state.accumulation) {
                    state.pending = None;
                    state.log_step(entries);
                } else {
                    state.pending = Some(entries);
                }
            }
            _ => {
                for (name, point) in entries {
                    state.valid.entry(name).or_default().push(point);
                }
            }
        }
    }

    fn read_numeric(&mut self, _: &str, _: usize, _: &Split) -> Result<Vec<NumericEntry>, String> {
        Err("the TensorBoard logger writes only".into())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.lock()
            .names
            .insert(definition.metric_id, definition.name.to_string());
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let mut state = self.lock();
        // The epoch's last batches, fewer than `accumulation`, ended a step too.
        if summary.split == Split::Train
            && let Some(entries) = state.pending.take()
        {
            state.log_step(entries);
        }
        if summary.split == Split::Valid {
            let valid = std::mem::take(&mut state.valid);
            let mut valid: Vec<_> = valid.into_iter().collect();
            valid.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, points) in valid {
                if let Some(v) = crate::run_dir::epoch_value(&points) {
                    state.scalar(&format!("eval/{name}"), v);
                }
            }
        }
        state.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_snake_case() {
        assert_eq!(tag("Learning Rate"), "learning_rate");
        assert_eq!(tag("Entity F1"), "entity_f1");
        assert_eq!(tag("Loss"), "loss");
        assert_eq!(tag("Micro F1 (samples)"), "micro_f1_samples");
    }
}
