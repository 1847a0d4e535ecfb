#![warn(missing_docs)]
//! Text to tensors for burnbert: the WordPiece tokenizer of an HF folder, dataset readers, and
//! batches with dynamic padding; CoNLL / JSONL tagged sentences, windows and label alignment;
//! SQuAD examples and question-answering features.

mod batch;
pub mod classification;
mod error;
pub mod question_answering;
pub mod split;
pub mod token_classification;
mod tokenizer;

pub use batch::{Encoded, PaddedBatch};
pub use error::DataError;
pub use tokenizer::{BertTokenizer, Encoding, ModelLimits, TokenizerOptions, Truncation};
