#![warn(missing_docs)]
//! Text to tensors for burnbert: the WordPiece tokenizer of an HF folder, batches with dynamic
//! padding, the seeded split of a dataset, and where each example was read. The task readers
//! (CSV / TSV / JSONL, CoNLL, SQuAD) are in their tasks' modules (`burnbert::tasks`).

mod batch;
mod error;
mod location;
pub mod split;
mod tokenizer;

pub use batch::{Encoded, PaddedBatch};
pub use error::DataError;
pub use location::Location;
pub use tokenizer::{BertTokenizer, Encoding, ModelLimits, TokenizerOptions, Truncation};
