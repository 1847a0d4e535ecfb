//! The output folder of one training run, and the record of its validation metrics per epoch.
//!
//! [`RunDir`] owns the folder: it creates it, refuses one that an earlier run left (unless that
//! run is resumed or `overwrite_output_dir` replaces it), checks a resume against the saved
//! recipe and checkpoints, names the checkpoint files and writes every file of its own
//! atomically. [`EpochRecord`] is a Burn `MetricLogger` that keeps each validation metric's
//! epoch value in memory as the learner reports it and saves them in `epochs.json`, so the best
//! epoch is read from the run's own record, not parsed back from Burn's log files.

use std::path::{Path, PathBuf};

use crate::checkpoint::AtomicFileCheckpointer;
use crate::{TrainError, TrainingConfig};

mod record;

pub use record::EpochRecord;
pub(crate) use record::{best_epoch, epoch_value};

/// What a run writes in its output folder (Burn's learner: `checkpoint/`, `train/`, `valid/`,
/// `experiment.log`; burnbert: the recipe, the epoch record, the metrics, the export, the log
/// history, the report, the TensorBoard events in `runs/`).
/// `overwrite_output_dir` removes these, and only these, before a new run.
const RUN_FILES: [&str; 11] = [
    "checkpoint",
    crate::tensorboard::LOG_DIR,
    crate::history::HISTORY,
    crate::report::REPORT,
    "train",
    "valid",
    "experiment.log",
    RunDir::RECIPE,
    RunDir::RECORD,
    "metrics.json",
    RunDir::EXPORT,
];

/// The checkpoint kinds Burn's learner saves each epoch and a resume needs.
const CHECKPOINT_KINDS: [&str; 3] = ["model", "optim", "scheduler"];

/// An output folder owned by one training run.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    resume_from_epoch: Option<usize>,
    record: EpochRecord,
}

impl RunDir {
    /// The recipe, saved when the run starts (`TrainingConfig` as JSON).
    pub const RECIPE: &'static str = "training_config.json";
    /// The validation metrics per epoch ([`EpochRecord`]).
    pub const RECORD: &'static str = "epochs.json";
    /// The exported HF folder.
    pub const EXPORT: &'static str = "model";

    /// Takes `path` for a run of `args` and saves the recipe in it.
    ///
    /// A folder with files in it is refused, unless the run resumes it (`resume_from_epoch`:
    /// its recipe must be this one and that epoch's checkpoints must be there; the record keeps
    /// the epochs up to it) or `args.overwrite_output_dir` is set (the earlier run's own files,
    /// `checkpoint/`, `train/`, `valid/`, `experiment.log`, the recipe, the record, `metrics.json`
    /// and `model/`, are removed; nothing else is touched).
    ///
    /// # Errors
    /// [`TrainError::Config`] for a refused folder or a missing checkpoint,
    /// [`TrainError::ConfigFile`] for another recipe or a resumed run's missing or short record,
    /// [`TrainError::Io`] naming the path.
    pub fn create(
        args: &TrainingConfig,
        path: &Path,
        resume_from_epoch: Option<usize>,
    ) -> Result<Self, TrainError> {
        let dir = Self {
            path: path.to_path_buf(),
            resume_from_epoch,
            record: EpochRecord::default(),
        };
        match resume_from_epoch {
            Some(_) if args.overwrite_output_dir => {
                return Err(TrainError::Config {
                    field: "overwrite_output_dir",
                    message: "a run is either resumed (--resume-from-epoch) or replaced \
                              (--overwrite-output-dir), not both"
                        .into(),
                });
            }
            Some(epoch) => {
                dir.check_resume(args, epoch)?;
                dir.record.load(&dir.path.join(Self::RECORD), epoch)?;
            }
            None => {
                let used = std::fs::read_dir(path)
                    .map(|mut entries| entries.next().is_some())
                    .unwrap_or(false);
                if used && !args.overwrite_output_dir {
                    return Err(TrainError::Config {
                        field: "output_dir",
                        message: format!(
                            "{} is not empty (an earlier run?): pass --overwrite-output-dir to \
                             replace that run, --resume-from-epoch N to continue it, or choose \
                             another --output",
                            path.display()
                        ),
                    });
                }
                if used {
                    for name in RUN_FILES {
                        let file = path.join(name);
                        let removed = if file.is_dir() {
                            std::fs::remove_dir_all(&file)
                        } else if file.exists() {
                            std::fs::remove_file(&file)
                        } else {
                            Ok(())
                        };
                        removed.map_err(io(&file))?;
                    }
                }
            }
        }
        std::fs::create_dir_all(path).map_err(io(path))?;
        dir.record.save_to(dir.path.join(Self::RECORD));
        dir.write_json(Self::RECIPE, args)?;
        Ok(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The epoch whose checkpoints the run resumes from.
    pub fn resume_from_epoch(&self) -> Option<usize> {
        self.resume_from_epoch
    }

    /// Where the exported HF folder goes: `OUTPUT/model`.
    pub fn export_dir(&self) -> PathBuf {
        self.path.join(Self::EXPORT)
    }

    /// The checkpoints' folder: `OUTPUT/checkpoint`.
    pub fn checkpoints(&self) -> PathBuf {
        self.path.join("checkpoint")
    }

    /// The file of `kind`'s (`model`, `optim`, `scheduler`) checkpoint of `epoch`.
    pub fn checkpoint(&self, kind: &str, epoch: usize) -> PathBuf {
        self.checkpoints().join(format!("{kind}-{epoch}.bpk"))
    }

    /// An atomic checkpointer of `kind` into [`Self::checkpoints`].
    pub fn checkpointer(&self, kind: &str) -> Result<AtomicFileCheckpointer, TrainError> {
        let directory = self.checkpoints();
        AtomicFileCheckpointer::new(&directory, kind).map_err(io(&directory))
    }

    /// The epochs with a whole set of checkpoints (model, optimizer, scheduler), ascending:
    /// those a run can resume from.
    pub fn checkpoint_epochs(&self) -> Vec<usize> {
        let mut epochs: Vec<usize> = std::fs::read_dir(self.checkpoints())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse()
                    .ok()
            })
            .filter(|&epoch| {
                CHECKPOINT_KINDS
                    .iter()
                    .all(|kind| self.checkpoint(kind, epoch).is_file())
            })
            .collect();
        epochs.sort_unstable();
        epochs
    }

    /// Writes `value` as pretty JSON to `OUTPUT/name`, atomically.
    pub fn write_json(&self, name: &str, value: &impl serde::Serialize) -> Result<(), TrainError> {
        write_json(&self.path.join(name), value)
    }

    /// The record of the validation metrics per epoch, which the learner fills.
    pub fn record(&self) -> &EpochRecord {
        &self.record
    }

    /// A resume continues the run in this folder: the same recipe, epochs included (the
    /// schedule spans them: a resumed run ends with the weights of an uninterrupted one), and
    /// the checkpoints of `epoch` present.
    fn check_resume(&self, args: &TrainingConfig, epoch: usize) -> Result<(), TrainError> {
        let args_path = self.path.join(Self::RECIPE);
        let saved = TrainingConfig::from_file(&args_path)?;
        if saved != *args {
            let (a, b) = (
                serde_json::to_value(&saved).expect("serializable"),
                serde_json::to_value(args).expect("serializable"),
            );
            let fields: Vec<String> = a
                .as_object()
                .expect("an object")
                .iter()
                .filter(|(k, v)| b[k.as_str()] != **v)
                .map(|(k, v)| format!("{k} {v} there, {} now", b[k.as_str()]))
                .collect();
            return Err(TrainError::ConfigFile {
                path: args_path,
                message: format!(
                    "the run being resumed had another recipe ({}): resume with the same settings",
                    fields.join("; ")
                ),
            });
        }
        let missing: Vec<String> = CHECKPOINT_KINDS
            .iter()
            .filter(|kind| !self.checkpoint(kind, epoch).is_file())
            .map(|kind| format!("{kind}-{epoch}.bpk"))
            .collect();
        if !missing.is_empty() {
            return Err(TrainError::Config {
                field: "resume_from_epoch",
                message: format!(
                    "no checkpoint of epoch {epoch} in {} (missing {}); epochs there: {:?}",
                    self.checkpoints().display(),
                    missing.join(", "),
                    self.checkpoint_epochs()
                ),
            });
        }
        Ok(())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + use<> {
    let path = path.to_path_buf();
    move |source| TrainError::Io { path, source }
}

/// Writes `value` as pretty JSON to `path`, atomically.
pub(crate) fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).expect("serializable");
    burnbert_model::weights::write_atomic(path, text.as_bytes()).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("burnbert-rundir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_used_folder_is_refused_and_overwriting_removes_only_run_files() {
        let dir = scratch("reuse");
        std::fs::create_dir_all(dir.join("checkpoint")).unwrap();
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let args = TrainingConfig::default();
        let error = RunDir::create(&args, &dir, None).unwrap_err().to_string();
        assert!(error.contains("is not empty"), "{error}");
        let args = TrainingConfig {
            overwrite_output_dir: true,
            ..TrainingConfig::default()
        };
        let run = RunDir::create(&args, &dir, None).unwrap();
        assert!(!dir.join("checkpoint").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
            "mine"
        );
        assert_eq!(
            TrainingConfig::from_file(&dir.join(RunDir::RECIPE)).unwrap(),
            args
        );
        assert!(run.checkpoint_epochs().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_resume_needs_the_epochs_checkpoints() {
        let dir = scratch("resume");
        let args = TrainingConfig::default();
        let run = RunDir::create(&args, &dir, None).unwrap();
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        for kind in CHECKPOINT_KINDS {
            std::fs::write(run.checkpoint(kind, 1), "").unwrap();
        }
        std::fs::write(run.checkpoint("model", 2), "").unwrap();
        std::fs::write(dir.join(RunDir::RECORD), r#"{"Loss": [0.5, 0.4]}"#).unwrap();
        assert_eq!(run.checkpoint_epochs(), [1]);
        let error = RunDir::create(&args, &dir, Some(2))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("missing optim-2.bpk, scheduler-2.bpk); epochs there: [1]"),
            "{error}"
        );
        let resumed = RunDir::create(&args, &dir, Some(1)).unwrap();
        assert_eq!(resumed.record().values("Loss"), [Some(0.5)]);
        // Without the record of the epochs before it, the best epoch could not be chosen.
        std::fs::write(dir.join(RunDir::RECORD), r#"{"Loss": []}"#).unwrap();
        let error = RunDir::create(&args, &dir, Some(1))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("records 0 epochs, the resume from epoch 1 needs 1"),
            "{error}"
        );
        std::fs::remove_file(dir.join(RunDir::RECORD)).unwrap();
        let error = RunDir::create(&args, &dir, Some(1))
            .unwrap_err()
            .to_string();
        assert!(error.contains("is needed to resume it"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
