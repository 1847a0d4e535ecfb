//! The task heads BERT users fine-tune most, as in HF's `BertFor*` classes, and the
//! masked-language-model head of pre-training (`BertForMaskedLM`) for continued pre-training.

mod masked_lm;
mod question_answering;
mod sequence_classification;
mod token_classification;

pub use masked_lm::{
    BertForMaskedLM, BertLMPredictionHead, BertOnlyMLMHead, BertPredictionHeadTransform,
    MaskedLMOutput,
};
pub use question_answering::{BertForQuestionAnswering, QuestionAnsweringOutput};
pub use sequence_classification::{
    BertForSequenceClassification, SequenceClassifierOutput, SequenceLabels,
};
pub use token_classification::{BertForTokenClassification, TokenClassifierOutput};
