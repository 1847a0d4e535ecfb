//! BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for
//! Language Understanding"), as Hugging Face's `modeling_bert.py` builds and names it: the
//! family's config, its parts bottom-up, and its task heads.
//!
//! - [`BertConfig`]: the family's `config.json`.
//! - [`BertEmbeddings`] → [`BertEncoder`] (of [`BertLayer`]s: [`BertAttention`], then
//!   [`BertIntermediate`] and [`BertOutput`]) → [`BertPooler`], assembled as [`BertModel`].
//! - [`Bert`]: the family's side of the [contract](crate::family).
//! - [`heads`]: [`BertForSequenceClassification`], [`BertForTokenClassification`],
//!   [`BertForQuestionAnswering`], [`BertForMaskedLM`].

mod attention;
mod config;
mod embeddings;
mod encoder;
mod family;
pub mod heads;
mod layer;
mod model;
mod pooler;

pub use attention::{BertAttention, BertSelfAttention, BertSelfOutput};
pub use config::{BertConfig, ProblemType};
pub use embeddings::BertEmbeddings;
pub use encoder::BertEncoder;
pub use family::Bert;
pub use heads::{
    BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, MaskedLMOutput, QuestionAnsweringOutput, SequenceClassifierOutput,
    SequenceLabels, TokenClassifierOutput,
};
pub use layer::{BertIntermediate, BertLayer, BertOutput};
pub use model::{BertInput, BertModel, BertModelOutput};
pub use pooler::BertPooler;
