#![warn(missing_docs)]
//! # burnbert
//!
//! Fine-tune BERT-family encoders on [Burn](https://burn.dev), the way `transformers` does it,
//! on CUDA, wgpu or the CPU, picked by a Cargo feature.
//!
//! ```no_run
//! use burnbert::{BertForSequenceClassification, device, from_pretrained};
//! use burnbert::pipeline::TextClassificationPipeline;
//!
//! let device = device::resolve(None)?; // --device / BURN_DEVICE / the build's default
//! let classifier = TextClassificationPipeline::from_pretrained("path/to/hf-folder", &device)?;
//! let out = classifier.predict(&["A great film"])?;
//! println!("{} {:?}", out[0].label, out[0].probabilities);
//!
//! let bert = from_pretrained::<BertForSequenceClassification>("path/to/hf-folder", &device)?;
//! burnbert::save_pretrained(&bert.model, &bert.config, &bert.folder, std::path::Path::new("exported"))?; // an HF folder
//! # Ok::<(), burnbert::Error>(())
//! ```

pub mod allocator;
pub mod batches;
#[cfg(feature = "cli")]
pub mod cli;
pub mod device;
mod error;
mod fine_tune;
pub mod pipeline;
mod pretrained;
pub mod source;
pub mod tasks;

/// Training: the training crate (the recipe, the `Task` seam, the trainer) and fine-tuning
/// from an HF folder or hub id ([`fine_tune`](train::fine_tune)); each task's shorthand
/// (`fine_tune_classifier`, ...) is in its module of [`tasks`].
pub mod train {
    pub use crate::fine_tune::fine_tune;
    pub use burnbert_train::*;
}

pub use burnbert_data as data;
pub use burnbert_model as model;
pub use burnbert_model::{
    BertConfig, BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertInput, BertModel,
};
pub use error::{DataError, DeviceError, Error, ModelError};
pub use pretrained::{
    Pretrained, from_folder_with_config, from_pretrained, load_folder, save_pretrained,
};

/// Burn, as burnbert uses it.
pub use burn;
