#![warn(missing_docs)]
//! BERT in Burn, read like the paper (Devlin et al., 2019) and named like Hugging Face's tensors.
//!
//! - [`BertConfig`]: the serde form of an HF `config.json`.
//! - [`BertEmbeddings`], [`BertEncoder`] (of [`BertLayer`]s), [`BertPooler`]: the encoder,
//!   assembled as [`BertModel`].
//! - Task heads: [`BertForSequenceClassification`], [`BertForTokenClassification`],
//!   [`BertForQuestionAnswering`].
//! - [`weights`]: HF weight import (`model.safetensors`, `pytorch_model.bin`) and export.
//!
//! Modules take no backend type parameter: they run on the `Device` they are given.

mod activation;
mod attention;
mod config;
mod embeddings;
mod encoder;
mod error;
pub mod heads;
mod layer;
mod model;
mod ops;
mod pooler;
mod probe;
pub mod weights;

pub use activation::HiddenAct;
pub use attention::{BertAttention, BertSelfAttention, BertSelfOutput};
pub use config::{BertConfig, ProblemType};
pub use embeddings::BertEmbeddings;
pub use encoder::BertEncoder;
pub use error::ModelError;
pub use heads::{
    BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification,
    QuestionAnsweringOutput, SequenceClassifierOutput, SequenceLabels, TokenClassifierOutput,
};
pub use layer::{BertIntermediate, BertLayer, BertOutput};
pub use model::{BertInput, BertModel, BertModelOutput};
pub use pooler::BertPooler;
