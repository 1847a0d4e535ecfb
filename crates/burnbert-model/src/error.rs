use std::path::PathBuf;

/// Everything that can go wrong while configuring, loading or saving a BERT model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON or does not describe a BERT model.
    #[error("{path}: invalid config.json: {message}")]
    Config {
        /// The file (empty when parsed from a string).
        path: PathBuf,
        /// What is wrong, with line and column where serde gives them.
        message: String,
    },
    /// A config value is out of range or inconsistent with another.
    #[error("invalid BERT config: {field}: {message}")]
    InvalidConfig {
        /// The `config.json` field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A weight file could not be parsed (truncated, not safetensors, not a PyTorch archive).
    #[error("{path}: cannot read weights: {message}")]
    Weights {
        /// The weight file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// A tensor in the weight file has a different shape than the model expects.
    #[error(
        "{path}: tensor '{tensor}' has shape {found:?} in the file, the model expects {expected:?}"
    )]
    ShapeMismatch {
        /// The weight file.
        path: PathBuf,
        /// The tensor, named as in the file.
        tensor: String,
        /// Shape in the model, in the file's layout.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor the encoder cannot do without is absent from the weight file.
    #[error("{path}: missing tensors: {}", tensors.join(", "))]
    MissingTensors {
        /// The weight file.
        path: PathBuf,
        /// The missing tensors, named as HF names them.
        tensors: Vec<String>,
    },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
