//! The checks of a config before anything is built from it: what `transformers` would refuse,
//! and sizes no machine can allocate.

use super::MAX_PARAMETERS;
use crate::{BertConfig, ModelError};

impl BertConfig {
    /// Checks the invariants the model relies on.
    pub fn validate(&self) -> Result<(), ModelError> {
        let invalid = |field, message: String| Err(ModelError::InvalidConfig { field, message });
        for (field, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if value == 0 {
                return invalid(field, "must be at least 1".into());
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return invalid(
                "hidden_size",
                format!(
                    "hidden_size {} is not a multiple of num_attention_heads {}",
                    self.hidden_size, self.num_attention_heads
                ),
            );
        }
        for (field, p) in [
            ("hidden_dropout_prob", Some(self.hidden_dropout_prob)),
            (
                "attention_probs_dropout_prob",
                Some(self.attention_probs_dropout_prob),
            ),
            ("classifier_dropout", self.classifier_dropout),
        ] {
            if let Some(p) = p
                && !(0.0..1.0).contains(&p)
            {
                return invalid(field, format!("{p} is not a probability in [0, 1)"));
            }
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps.is_finite()) {
            return invalid(
                "layer_norm_eps",
                format!("{} is not a positive number", self.layer_norm_eps),
            );
        }
        if !(self.initializer_range >= 0.0 && self.initializer_range.is_finite()) {
            return invalid(
                "initializer_range",
                format!("{} is not a standard deviation", self.initializer_range),
            );
        }
        for flag in ["is_decoder", "add_cross_attention"] {
            if self.extra.get(flag).and_then(|v| v.as_bool()) == Some(true) {
                return invalid(
                    flag,
                    "a decoder (causal mask, cross-attention) is not supported: burnbert runs \
                     BERT encoders"
                        .into(),
                );
            }
        }
        if let Some(pad) = self.pad_token_id
            && pad >= self.vocab_size
        {
            return invalid(
                "pad_token_id",
                format!("{pad} is past vocab_size {}", self.vocab_size),
            );
        }
        if let (Some(map), Some(n)) = (&self.id2label, self.num_labels)
            && !map.is_empty()
            && map.len() != n
        {
            return invalid(
                "num_labels",
                format!("{n}, but id2label has {} labels", map.len()),
            );
        }
        if self.model_type != "bert" {
            return invalid(
                "model_type",
                format!(
                    "'{}' is not supported: burnbert reads BERT checkpoints (model_type 'bert')",
                    self.model_type
                ),
            );
        }
        if self.position_embedding_type != "absolute" {
            return invalid(
                "position_embedding_type",
                format!(
                    "'{}' is not supported, only 'absolute'",
                    self.position_embedding_type
                ),
            );
        }
        if let Some(id2label) = &self.id2label {
            for (i, key) in id2label.keys().enumerate() {
                match key.parse::<usize>() {
                    Ok(id) if id < id2label.len() => {}
                    _ => {
                        return invalid(
                            "id2label",
                            format!(
                                "key '{key}' (entry {i}) is not an id in 0..{}",
                                id2label.len()
                            ),
                        );
                    }
                }
            }
        }
        if self.num_labels() == 0 {
            return invalid("num_labels", "must be at least 1".into());
        }
        Ok(())
    }

    /// Number of parameters of the encoder with its pooler (HF's `BertModel`), from the sizes
    /// alone, `None` when it overflows.
    pub fn parameter_count(&self) -> Option<u128> {
        let (v, p, t) = (
            self.vocab_size as u128,
            self.max_position_embeddings as u128,
            self.type_vocab_size as u128,
        );
        let (h, i, l) = (
            self.hidden_size as u128,
            self.intermediate_size as u128,
            self.num_hidden_layers as u128,
        );
        let embeddings = (v + p + t).checked_mul(h)?.checked_add(2 * h)?;
        let attention = h.checked_mul(h)?.checked_add(h)?.checked_mul(4)?;
        let feed_forward = h.checked_mul(i)?.checked_mul(2)?.checked_add(i + h)?;
        let layer = attention.checked_add(feed_forward)?.checked_add(4 * h)?;
        let pooler = h.checked_mul(h)?.checked_add(h)?;
        embeddings
            .checked_add(layer.checked_mul(l)?)?
            .checked_add(pooler)
    }

    /// An error when the sizes ask for more than `MAX_PARAMETERS` (10¹¹) parameters: such a config
    /// would abort the process in the allocator rather than build a model.
    pub fn check_parameter_count(&self) -> Result<(), ModelError> {
        match self.parameter_count() {
            Some(n) if n <= MAX_PARAMETERS => Ok(()),
            n => Err(ModelError::InvalidConfig {
                field: "hidden_size",
                message: format!(
                    "the sizes (hidden_size {}, num_hidden_layers {}, intermediate_size {}, \
                     vocab_size {}, max_position_embeddings {}) ask for {} parameters, more than \
                     the {MAX_PARAMETERS} burnbert allocates",
                    self.hidden_size,
                    self.num_hidden_layers,
                    self.intermediate_size,
                    self.vocab_size,
                    self.max_position_embeddings,
                    n.map_or("too many".to_string(), |n| n.to_string()),
                ),
            }),
        }
    }
}
