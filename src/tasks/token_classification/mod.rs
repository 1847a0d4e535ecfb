//! Token classification (NER), `run_ner.py`'s task, on `BertForTokenClassification`: a tag per
//! word, the first piece of each word labelled, sentences longer than the model in windows.
//!
//! - [`data`]: CoNLL and JSONL readers, the tag set, entity chunks, windows and label alignment.
//! - [`train`]: items, batches, the head's loss, Burn's metrics; [`TokenClassification`].
//! - [`seqeval`]: entity precision / recall / F1 as seqeval computes them.
//! - [`pipeline`]: [`TokenClassificationPipeline`], entities with character offsets.
//! - `cli`: `burnbert train / eval / predict --task token-classification`.

use std::path::Path;

use burn::tensor::Device;
use burnbert_train::TrainingConfig;

use crate::Error;
use crate::fine_tune::fine_tune;

#[cfg(feature = "cli")]
pub(crate) mod cli;
pub mod data;
pub mod pipeline;
pub mod seqeval;
pub mod train;

pub use data::*;
pub use pipeline::*;
pub use train::*;

/// [`fine_tune`] as a token classifier (NER, [`TokenClassification`]), validated with seqeval's
/// entity scores. The tag set comes from `train`; a tag of `valid` outside it is an error
/// naming its file and line.
pub fn fine_tune_tagger(
    model: &str,
    args: &TrainingConfig,
    train: &[TaggedSentence],
    valid: &[TaggedSentence],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedTagger, Error> {
    fine_tune::<TokenClassification>(model, args, train, valid, output, resume_from_epoch, device)
}
