#![warn(missing_docs)]
//! BERT in Burn, read like the paper (Devlin et al., 2019) and named like Hugging Face's tensors.
//!
//! - [`family`]: the contract a model family implements (config, weights, tokenizer limits);
//!   BERT's parts in [`bert`].
//! - [`BertConfig`]: the serde form of an HF `config.json`.
//! - [`BertEmbeddings`], [`BertEncoder`] (of [`BertLayer`]s), [`BertPooler`]: the encoder,
//!   assembled as [`BertModel`].
//! - Task heads: [`BertForSequenceClassification`], [`BertForTokenClassification`],
//!   [`BertForQuestionAnswering`]; the pre-training head [`BertForMaskedLM`].
//! - [`weights`]: HF weight import (`model.safetensors`, `pytorch_model.bin`) and export.
//! - [`ops`]: the ops whose best implementation depends on the backend; public for the
//!   optimizer's fused AdamW step ([`ops::adamw`]).
//!
//! Modules take no backend type parameter: they run on the `Device` they are given.

mod activation;
pub mod bert;
mod error;
pub mod family;
pub mod loss;
pub mod ops;
mod probe;
pub mod weights;

pub use activation::HiddenAct;
pub use bert::{
    Bert, BertAttention, BertConfig, BertEmbeddings, BertEncoder, BertForMaskedLM,
    BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, BertInput,
    BertIntermediate, BertLayer, BertModel, BertModelOutput, BertOutput, BertPooler,
    BertSelfAttention, BertSelfOutput, MaskedLMOutput, ProblemType, QuestionAnsweringOutput,
    SequenceClassifierOutput, SequenceLabels, TokenClassifierOutput,
};
pub use error::ModelError;
pub use family::{Family, FamilyConfig, ModelLimits};
