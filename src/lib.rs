#![warn(missing_docs)]
//! # burnbert
//!
//! Fine-tune BERT-family encoders on [Burn](https://burn.dev), the way `transformers` does it,
//! on CUDA, wgpu or the CPU, picked by a Cargo feature.
//!
//! ```no_run
//! use burnbert::{BertForSequenceClassification, device, from_pretrained, predict};
//!
//! let device = device::resolve(None)?; // --device / BURN_DEVICE / the build's default
//! let bert = from_pretrained::<BertForSequenceClassification>("path/to/hf-folder", &device)?;
//! let inputs = [("A great film".to_string(), None)];
//! let out = predict::classify(&bert.model, &bert.config, &bert.tokenizer, &inputs, bert.max_length(), &device)?;
//! println!("{} {:?}", out[0].label, out[0].probabilities);
//! burnbert::save_pretrained(&bert.model, &bert.config, &bert.folder, std::path::Path::new("exported"))?; // an HF folder
//! # Ok::<(), burnbert::Error>(())
//! ```

pub mod allocator;
pub mod device;
pub mod encode;
mod error;
pub mod predict;
mod pretrained;
pub mod source;
pub mod train;

pub use burnbert_data as data;
pub use burnbert_model as model;
pub use burnbert_model::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertInput, BertModel,
};
pub use error::{DataError, DeviceError, Error, ModelError};
pub use pretrained::{
    Pretrained, from_folder_with_config, from_pretrained, load_folder, save_pretrained,
};

/// Burn, as burnbert uses it.
pub use burn;
