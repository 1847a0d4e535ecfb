use std::path::PathBuf;

/// What can stop a training run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Data could not be read or encoded.
    #[error(transparent)]
    Data(#[from] burnbert_data::DataError),
    /// The model could not be built, loaded or saved.
    #[error(transparent)]
    Model(#[from] burnbert_model::ModelError),
    /// A training setting is out of range.
    #[error("invalid training setting {field} (--{}): {message}", field.replace('_', "-"))]
    Config {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A settings file could not be read.
    #[error("{}: {message}", path.display())]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The output folder cannot be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The loss is not a number: the run stops and the last good checkpoint stays.
    #[error("the gradients became {value} at optimizer step {step} (the loss is not finite: lower the learning rate?); training stopped, the last good checkpoint is kept in {}", checkpoints.display())]
    NonFiniteLoss {
        /// The global gradient norm (NaN or infinite).
        value: f64,
        /// The optimizer step.
        step: usize,
        /// The checkpoint folder.
        checkpoints: PathBuf,
    },
    /// Burn's learner failed.
    #[error("training failed: {0}")]
    Learner(String),
    /// The data's labels do not fit the model's head (another count, real-valued targets).
    #[error("{0}")]
    Labels(String),
}
