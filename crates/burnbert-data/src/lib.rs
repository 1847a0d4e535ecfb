#![warn(missing_docs)]
//! Text to tensors for burnbert: the WordPiece tokenizer of an HF folder, dataset readers, and
//! batches with dynamic padding.

mod batch;
pub mod classification;
mod error;
mod tokenizer;

pub use batch::PaddedBatch;
pub use error::DataError;
pub use tokenizer::{BertTokenizer, Encoding, TokenizerOptions, Truncation};
