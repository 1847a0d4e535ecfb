pub use crate::device::DeviceError;
pub use burnbert_data::DataError;
pub use burnbert_model::ModelError;

/// Any burnbert error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Config, weights, shapes.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Tokenizer and inputs.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Training.
    #[error(transparent)]
    Train(#[from] burnbert_train::TrainError),
    /// Device selection.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A file the model needs is not where it was looked for.
    #[error("missing {file}: looked in {looked_in}")]
    MissingFile {
        /// The file (or alternatives).
        file: String,
        /// Where it was looked for.
        looked_in: String,
    },
    /// The hub could not give a file.
    #[error("cannot fetch {file} of '{model_id}' from the Hugging Face hub: {message}")]
    Hub {
        /// The model id.
        model_id: String,
        /// The file.
        file: String,
        /// The client's message.
        message: String,
    },
    /// A pipeline setting out of its range (HF's pipelines raise the same).
    #[error("{setting} = {value}: {requirement}")]
    Setting {
        /// The setting, as HF's pipeline names it.
        setting: &'static str,
        /// The value given.
        value: usize,
        /// What it must be.
        requirement: String,
    },
    /// A model gave a NaN or an infinity.
    #[error(
        "the model's {what} is not finite ({value} at index {index}): its weights or inputs overflow"
    )]
    NonFinite {
        /// Which output.
        what: String,
        /// The value.
        value: f32,
        /// Its index in the flattened output.
        index: usize,
    },
    /// A file or folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
