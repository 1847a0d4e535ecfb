#![warn(missing_docs)]
//! # burnbert
//!
//! Fine-tune BERT-family encoders on [Burn](https://burn.dev), the way `transformers` does it,
//! on CUDA, wgpu or the CPU, picked by a Cargo feature.
//!
//! ```no_run
//! use burnbert::{BertForSequenceClassification, device, from_pretrained};
//!
//! let device = device::resolve(None)?; // --device / BURN_DEVICE / the compiled default
//! let bert = from_pretrained::<BertForSequenceClassification>("path/to/hf-folder", &device)?;
//! let encoding = bert.tokenizer.encode("A great film", None, bert.max_length())?;
//! let batch = burnbert::data::PaddedBatch::new(&[encoding], bert.tokenizer.pad_id())?;
//! let logits = bert.model.forward(batch.to_input(&device));
//! # Ok::<(), burnbert::Error>(())
//! ```

pub mod device;
pub mod encode;
pub mod predict;
mod error;
mod pretrained;
pub mod source;

pub use burnbert_data as data;
pub use burnbert_model as model;
pub use burnbert_model::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, BertInput,
    BertModel,
};
pub use error::{DataError, DeviceError, Error, ModelError};
pub use pretrained::{Pretrained, from_folder_with_config, from_pretrained, save_pretrained};

/// Burn, as burnbert uses it.
pub use burn;
