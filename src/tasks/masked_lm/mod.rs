//! Masked-language-model (continued) pre-training, `run_mlm.py`'s task, on `BertForMaskedLM`:
//! adapt a checkpoint to a domain's text before fine-tuning it for a task.
//!
//! - [`data`]: documents from text files (a line, or a paragraph, each), grouped into blocks
//!   of `max_length` tokens or kept one per line.
//! - [`train`]: the masking of `DataCollatorForLanguageModeling`, batches, the loss at the
//!   masked tokens, perplexity; [`MaskedLanguageModeling`].
//! - [`pipeline`]: [`FillMaskPipeline`], the top-k tokens at each `[MASK]`.
//! - `cli`: `burnbert train / eval / predict --task masked-lm`.
//!
//! The exported folder (`OUTPUT/model`, `BertForMaskedLM`) fine-tunes like any checkpoint:
//! a task head reads its encoder (`bert.*`) and reports `cls.*` as unused, as HF does.

use std::path::Path;

use burn::tensor::Device;
use burnbert_train::TrainingConfig;

use crate::Error;
use crate::fine_tune::fine_tune;

#[cfg(feature = "cli")]
pub(crate) mod cli;
pub mod data;
pub mod pipeline;
pub mod train;

pub use data::*;
pub use pipeline::*;
pub use train::*;

/// [`fine_tune`] as a masked language model ([`MaskedLanguageModeling`]): `train`'s documents
/// grouped into blocks of `args.max_length` tokens (one per document with
/// `args.line_by_line`), masked anew each epoch (`args.mlm_probability`,
/// `args.whole_word_mask`), validated by perplexity on `valid`'s blocks, masked once.
pub fn fine_tune_masked_lm(
    model: &str,
    args: &TrainingConfig,
    train: &[TextDocument],
    valid: &[TextDocument],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedMaskedLM, Error> {
    fine_tune::<MaskedLanguageModeling>(
        model,
        args,
        train,
        valid,
        output,
        resume_from_epoch,
        device,
    )
}
