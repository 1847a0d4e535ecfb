//! The task heads BERT users fine-tune most, as in HF's `BertFor*` classes.

mod question_answering;
mod sequence_classification;
mod token_classification;

pub use question_answering::{BertForQuestionAnswering, QuestionAnsweringOutput};
pub use sequence_classification::{
    BertForSequenceClassification, SequenceClassifierOutput, SequenceLabels,
};
pub use token_classification::{BertForTokenClassification, TokenClassifierOutput};
