//! The model's embedding tables, and the check of every encoding against them.

use std::sync::atomic::Ordering;

pub use burnbert_model::ModelLimits;

use crate::DataError;

use super::{BertTokenizer, Encoding};

impl BertTokenizer {
    /// Checks every encoding against a model's embedding tables from now on, and caps
    /// `max_length` at its positions (with a warning, once, as HF's example scripts cap
    /// `max_seq_length`).
    ///
    /// # Errors
    /// When `[PAD]`'s id is past `vocab_size` (every padded batch would read past the table).
    pub fn with_limits(mut self, limits: ModelLimits) -> Result<Self, DataError> {
        if self.pad_id as usize >= limits.vocab_size {
            return Err(DataError::Tokenizer {
                path: self.source.clone(),
                message: format!(
                    "[PAD] has id {}, past the model's vocab_size {}",
                    self.pad_id, limits.vocab_size
                ),
            });
        }
        self.limits = Some(limits);
        Ok(self)
    }

    /// The limits set by [`Self::with_limits`].
    pub fn limits(&self) -> Option<ModelLimits> {
        self.limits
    }

    /// `max_length`, capped at the model's positions when limits are set (a warning the first
    /// time).
    pub fn cap_max_length(&self, max_length: usize) -> usize {
        let Some(limits) = self.limits else {
            return max_length;
        };
        let positions = limits.max_position_embeddings;
        if max_length > positions {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: max_length {max_length} is longer than the model's \
                     max_position_embeddings ({positions}); using {positions}"
                );
            }
            positions
        } else {
            max_length
        }
    }

    /// `encoding` if its ids fit the model's tables (and, with `check_length`, its
    /// positions), else an error naming `text`, the id and the limit.
    pub(super) fn checked(
        &self,
        encoding: Encoding,
        text: &str,
        check_length: bool,
    ) -> Result<Encoding, DataError> {
        let Some(limits) = self.limits else {
            return Ok(encoding);
        };
        let out_of_range =
            |what: String, value: usize, limit: &'static str, size: usize| DataError::OutOfRange {
                text: excerpt(text),
                what,
                value,
                limit,
                size,
            };
        if let Some((i, &id)) = encoding
            .input_ids
            .iter()
            .enumerate()
            .find(|&(_, &id)| id as usize >= limits.vocab_size)
        {
            return Err(out_of_range(
                format!("token id {id} ('{}')", encoding.tokens[i]),
                id as usize,
                "vocab_size",
                limits.vocab_size,
            ));
        }
        if let Some(&ty) = encoding
            .token_type_ids
            .iter()
            .find(|&&t| t as usize >= limits.type_vocab_size)
        {
            return Err(out_of_range(
                format!("token type {ty} (the second text of a pair)"),
                ty as usize,
                "type_vocab_size",
                limits.type_vocab_size,
            ));
        }
        if check_length && encoding.len() > limits.max_position_embeddings {
            return Err(out_of_range(
                format!("{} tokens", encoding.len()),
                encoding.len(),
                "max_position_embeddings",
                limits.max_position_embeddings,
            ));
        }
        Ok(encoding)
    }
}

/// The first 60 characters of a text, for error messages.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(60).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}
