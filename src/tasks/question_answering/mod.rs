//! Extractive question answering, `run_qa.py`'s task, on `BertForQuestionAnswering`: the start
//! and end of the answer in the context, contexts in overlapping windows.
//!
//! - [`data`]: SQuAD (v1.1 and v2.0) files and the question + context windows (features).
//! - [`train`]: items, batches, the head's loss, the evaluation; [`QuestionAnswering`].
//! - [`squad`]: the answers post-processed and scored as the official SQuAD scripts do.
//! - [`pipeline`]: [`QuestionAnsweringPipeline`], answer spans with character offsets.
//! - `cli`: `burnbert train / eval / predict --task question-answering`.

use std::path::Path;

use burn::tensor::Device;
use burnbert_train::TrainingConfig;

use crate::Error;
use crate::fine_tune::fine_tune;

#[cfg(feature = "cli")]
pub(crate) mod cli;
pub mod data;
pub mod pipeline;
pub mod squad;
pub mod train;

pub use data::*;
pub use pipeline::*;
pub use train::*;

/// [`fine_tune`] for extractive question answering ([`QuestionAnswering`]): contexts in windows
/// of `args.max_length` tokens overlapping by `args.doc_stride`, the loss validated on `valid`
/// after every epoch, the exported model scored on `valid` with the official SQuAD exact match
/// and F1.
pub fn fine_tune_reader(
    model: &str,
    args: &TrainingConfig,
    train: &[SquadExample],
    valid: &[SquadExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedReader, Error> {
    fine_tune::<QuestionAnswering>(model, args, train, valid, output, resume_from_epoch, device)
}
