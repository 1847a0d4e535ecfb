//! Checkpoints written atomically. Burn's `FileCheckpointer` writes straight into
//! `NAME-EPOCH.bpk`, so a run killed (or a disk filled) mid-write leaves a half-written file
//! under the name a resume reads. This one writes `NAME-EPOCH.bpk.partial` and renames it, so a
//! checkpoint file is either whole or absent; the same file names, so Burn's learner resumes
//! from them as from its own.

use std::path::{Path, PathBuf};

use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::prelude::*;

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
