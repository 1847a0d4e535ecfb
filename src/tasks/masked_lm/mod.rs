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

use crate::fine_tune::fine_tune;
use crate::{BertForMaskedLM, Error, Pretrained};
use burnbert_train::task::Task;

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

/// Perplexity of a masked language model on `documents`, cut as `args` says (`max_length`,
/// `line_by_line`) and masked as its validation blocks are (`args.mlm_probability`,
/// `args.whole_word_mask`, `args.seed`: the same draws every call), `args.per_device_eval_batch_size`
/// blocks per forward pass. A `max_length` past the model's positions is capped, with a warning.
///
/// # Errors
/// A document the tokenizer cannot encode, text shorter than one block, a vocabulary without
/// `[MASK]`, a loss that is not finite.
pub fn evaluate_documents(
    bert: &Pretrained<BertForMaskedLM>,
    documents: &[TextDocument],
    args: &TrainingConfig,
    device: &Device,
) -> Result<MaskedLMReport, Error> {
    // Blocks no longer than the position table (with a warning, as fine-tuning caps them).
    let args = &TrainingConfig {
        max_length: bert.tokenizer.cap_max_length(args.max_length),
        ..args.clone()
    };
    let mut task = MaskedLanguageModeling::new(bert.config.vocab_size);
    let items = task.encode_valid(&bert.tokenizer, documents, args)?;
    Ok(evaluate_masked_lm(
        &bert.model,
        &task.batcher(&bert.tokenizer),
        &items,
        args.per_device_eval_batch_size,
        device,
    )?)
}
