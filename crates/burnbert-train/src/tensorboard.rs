//! `report_to = "tensorboard"`: TensorBoard event files under `OUTPUT/runs/`, as `Trainer`'s
//! `TensorBoardCallback` writes them, so that `tensorboard --logdir OUTPUT/runs` shows the run.
//! [`crate::history::HistoryLogger`] decides what is logged at which step:
//!
//! - `train/loss`, `train/<metric>` (each training metric's batch values, averaged over the
//!   batches since the last log, as `Trainer` logs its loss), `train/grad_norm` (before
//!   clipping), `train/learning_rate` and `train/learning_rate/<group>` (every parameter group:
//!   embeddings, each layer, pooler, head), every `logging_steps` optimizer steps (each step
//!   without it);
//! - `eval/loss`, `eval/<metric>` (each validation metric's value) at the step each validation
//!   comes after;
//! - the recipe as text (`args/text_summary`, the JSON of [`TrainingConfig`]).
//!
//! Tags are Burn's metric names in snake case (`Learning Rate` → `learning_rate`). The event
//! format (TFRecord framing, `Event` and `Summary` protocol buffers) is written with the
//! `tfrecord` crate, the maintained Rust writer of it (`tensorboard-rs`, the other, pins old
//! `protobuf` and `image` versions). A resumed run appends a new event file, whose steps
//! continue from the resumed validation; TensorBoard reads every file of the folder as one run.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use tfrecord::EventWriter;
use tfrecord::protobuf::summary::Value;
use tfrecord::protobuf::summary::value::Value as SummaryValue;
use tfrecord::protobuf::summary_metadata::PluginData;
use tfrecord::protobuf::{DataType, Summary, SummaryMetadata, TensorProto, TensorShapeProto};

use crate::{TrainError, TrainingConfig};

/// The folder of a run's event files.
pub const LOG_DIR: &str = "runs";

/// A TensorBoard event file being written (see the module's documentation).
pub struct TensorBoardWriter {
    writer: EventWriter<BufWriter<File>>,
    path: PathBuf,
}

impl std::fmt::Debug for TensorBoardWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TensorBoardWriter({})", self.path.display())
    }
}

/// A metric's tag: Burn's name in snake case.
pub fn tag(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

impl TensorBoardWriter {
    /// A new event file in `output/runs/` for a run of `args`, with the recipe as text at
    /// step `first_step`.
    ///
    /// # Errors
    /// [`TrainError::Io`] when the folder or the file cannot be made.
    pub fn new(
        output: &Path,
        args: &TrainingConfig,
        first_step: usize,
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
        Ok(Self { writer, path })
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `value` under `tag` at `step` (a non-finite value is left out).
    ///
    /// # Errors
    /// The file's path and what went wrong.
    pub fn scalar(&mut self, tag: &str, step: usize, value: f64) -> Result<(), String> {
        if !value.is_finite() {
            return Ok(());
        }
        self.writer
            .write_scalar(tag, step as i64, value as f32)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Flushes the file.
    ///
    /// # Errors
    /// The file's path and what went wrong.
    pub fn flush(&mut self) -> Result<(), String> {
        self.writer
            .flush()
            .map_err(|e| format!("{}: {e}", self.path.display()))
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
