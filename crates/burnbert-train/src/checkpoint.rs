//! Checkpoints written atomically. Burn's `FileCheckpointer` writes straight into
//! `NAME-EPOCH.bpk`, so a run killed (or a disk filled) mid-write leaves a half-written file
//! under the name a resume reads. This one writes `NAME-EPOCH.bpk.partial` and renames it, so a
//! checkpoint file is either whole or absent; the same file names, so Burn's learner resumes
//! from them as from its own.

use std::path::{Path, PathBuf};

use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
};
use burn::train::metric::store::EventStoreClient;

use crate::run_dir::EpochRecord;

/// Saves `DIRECTORY/NAME-EPOCH.bpk` through a temporary file and a rename.
#[derive(Debug, Clone)]
pub struct AtomicFileCheckpointer {
    directory: PathBuf,
    name: String,
}

impl AtomicFileCheckpointer {
    /// A checkpointer of `name` records in `directory` (created if missing).
    pub fn new(directory: &Path, name: &str) -> Result<Self, std::io::Error> {
        std::fs::create_dir_all(directory)?;
        Ok(Self {
            directory: directory.into(),
            name: name.into(),
        })
    }

    /// The file of `epoch`'s checkpoint.
    pub fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicFileCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        let partial = path.with_extension("bpk.partial");
        if let Err(error) = record.save(partial.clone()) {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
        std::fs::rename(&partial, &path).map_err(CheckpointerError::IOError)
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        R::load(self.path(epoch))
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match std::fs::remove_file(self.path(epoch)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CheckpointerError::IOError(e))
            }
            _ => Ok(()),
        }
    }
}

/// How long a decision after a validation waits for the validation's record.
pub(crate) const RECORD_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// When a run checkpoints, as HF's `Trainer` does with `save_strategy` / `save_steps`,
/// `save_total_limit` and `load_best_model_at_end`: after every `every`-th validation (Burn
/// epoch) and after the last one; of those, it keeps the last `limit` and the best by
/// `metric` in the run's [`EpochRecord`], once the record has the validation.
/// Burn's `KeepLastNCheckpoints` and `MetricCheckpointingStrategy` count every epoch and look
/// for the best among all, saved or not; this one counts the saved ones only.
#[derive(Clone)]
pub struct SaveRounds {
    every: Option<usize>,
    last: usize,
    limit: Option<usize>,
    record: EpochRecord,
    metric: String,
    highest: bool,
    saved: Vec<usize>,
}

impl SaveRounds {
    /// Saves every `every` validations (`None`: never) of `last`, keeping the last `limit`
    /// (`None`: all) and the best by `metric` (`highest` or lowest) in `record`.
    pub fn new(
        every: Option<usize>,
        last: usize,
        limit: Option<usize>,
        record: EpochRecord,
        metric: &str,
        highest: bool,
    ) -> Self {
        Self {
            every,
            last,
            limit,
            record,
            metric: metric.into(),
            highest,
            saved: Vec::new(),
        }
    }

    /// The checkpoints a resumed run finds (ascending), which the limit counts too.
    pub fn with_saved(mut self, saved: Vec<usize>) -> Self {
        self.saved = saved;
        self
    }

    /// Whether validation `round` (1-based) is checkpointed.
    pub fn saves(&self, round: usize) -> bool {
        self.every
            .is_some_and(|n| round.is_multiple_of(n.max(1)) || round == self.last)
    }

    /// The best checkpointed validation of those among the first `rounds`.
    pub fn best(&self, rounds: usize) -> Option<usize> {
        let saved: Vec<usize> = (1..=rounds).filter(|&r| self.saves(r)).collect();
        self.record.best_of(&self.metric, self.highest, &saved)
    }
}

impl CheckpointingStrategy for SaveRounds {
    fn checkpointing(&mut self, round: usize, _: &EventStoreClient) -> Vec<CheckpointingAction> {
        self.after(round)
    }
}

impl SaveRounds {
    /// What to do after validation `round`: save it or not, and which saved ones to delete.
    fn after(&mut self, round: usize) -> Vec<CheckpointingAction> {
        if !self.saves(round) {
            return Vec::new();
        }
        self.record.wait_for(round, RECORD_WAIT);
        self.saved.retain(|&r| r < round);
        self.saved.push(round);
        let mut actions = vec![CheckpointingAction::Save];
        // A limit of 0 is no limit, as in HF's checkpoint rotation.
        if let Some(limit) = self.limit.filter(|&l| l > 0) {
            let best = self.record.best_of(&self.metric, self.highest, &self.saved);
            let old = self.saved.len().saturating_sub(limit);
            let dropped: Vec<usize> = self.saved[..old]
                .iter()
                .copied()
                .filter(|&r| Some(r) != best)
                .collect();
            self.saved.retain(|r| !dropped.contains(r));
            actions.extend(dropped.into_iter().map(CheckpointingAction::Delete));
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::prelude::*;

    #[test]
    fn saves_every_nth_validation_and_keeps_the_last_and_the_best() {
        use CheckpointingAction::{Delete, Save};
        // Validation losses of 6 rounds: the best is round 2 (saved: 2, 4, 6).
        let record = EpochRecord::with_values(
            "Loss",
            &[
                Some(0.9),
                Some(0.5),
                Some(0.4),
                Some(0.6),
                Some(0.7),
                Some(0.8),
            ],
        );
        let mut rounds = SaveRounds::new(Some(2), 6, Some(1), record.clone(), "Loss", false);
        let actions: Vec<_> = (1..=6).map(|r| rounds.after(r)).collect();
        assert_eq!(
            actions,
            [
                vec![],
                vec![Save],
                vec![],
                vec![Save],
                vec![],
                vec![Save, Delete(4)]
            ]
        );
        // Round 3 has the lowest loss but no checkpoint: the best checkpoint is round 2's.
        assert_eq!(rounds.best(6), Some(2));
        // The last validation is saved whatever the interval; never saving saves nothing.
        let mut odd = SaveRounds::new(Some(4), 6, None, record.clone(), "Loss", false);
        assert_eq!(
            (1..=6)
                .filter(|&r| !odd.after(r).is_empty())
                .collect::<Vec<_>>(),
            [4, 6]
        );
        let mut never = SaveRounds::new(None, 6, None, record.clone(), "Loss", false);
        assert!((1..=6).all(|r| never.after(r).is_empty()));
        // A resumed run counts the checkpoints it found.
        let mut resumed =
            SaveRounds::new(Some(1), 6, Some(2), record, "Loss", true).with_saved(vec![1, 2, 3]);
        assert_eq!(resumed.after(4), [Save, Delete(2)]);
    }

    #[test]
    fn saves_through_a_rename_and_restores() {
        let dir = std::env::temp_dir().join(format!("burnbert-ckpt-{}", std::process::id()));
        let checkpointer = AtomicFileCheckpointer::new(&dir, "model").unwrap();
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let linear: Linear = LinearConfig::new(3, 2).init(&device);
        Checkpointer::save(&checkpointer, 2, linear.clone().into_record()).unwrap();
        assert!(dir.join("model-2.bpk").is_file());
        assert!(!dir.join("model-2.bpk.partial").exists());
        let record: burn::store::ModuleRecord = checkpointer.restore(2).unwrap();
        let restored = LinearConfig::new(3, 2).init(&device).load_record(record);
        assert_eq!(
            restored.weight.val().into_data(),
            linear.weight.val().into_data()
        );
        Checkpointer::<burn::store::ModuleRecord>::delete(&checkpointer, 2).unwrap();
        assert!(!dir.join("model-2.bpk").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
