#![warn(missing_docs)]
//! Text to tensors for burnbert: the WordPiece tokenizer of an HF folder, and batches with
//! dynamic padding.

mod batch;
mod error;
mod tokenizer;

pub use batch::PaddedBatch;
pub use error::DataError;
pub use tokenizer::{BertTokenizer, Encoding, TokenizerOptions, Truncation};
