//! The contract a model family implements: what the loader, the exporter and the tokenizer's
//! input checks need of it. BERT ([`Bert`](crate::bert::Bert)) implements it in `bert/`; a new
//! family (RoBERTa, DistilBERT, ...) is a folder beside it that implements the same three parts:
//!
//! 1. **Config** ([`FamilyConfig`]): its `config.json`, read and checked (`model_type` among
//!    [`Family::MODEL_TYPES`], every size in range) before anything is allocated; the tensors
//!    whose shapes the config sets, checked against the checkpoint's; the embedding tables its
//!    inputs index ([`ModelLimits`]); the JSON written back on export.
//! 2. **Weights** ([`Family`]): how HF's tensor names map to the Burn paths of its modules and
//!    back, and HF's `base_model_prefix` (the encoder's name inside a task model). Each of its
//!    models (the bare encoder, each `XxxFor*` head) is a [`HfModel`](crate::weights::HfModel)
//!    naming its HF class.
//! 3. **Tokenizer**: the folder's `tokenizer.json` (or `vocab.txt`), read by `burnbert-data` as
//!    `transformers` reads it, every encoding checked against [`FamilyConfig::limits`].

use std::path::Path;

use crate::ModelError;

/// The sizes of a model's embedding tables: every token id, segment id and position of an
/// input must fall inside them (PyTorch raises `IndexError` otherwise; a GPU gather would
/// read past the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// Rows of the word embeddings (`vocab_size`).
    pub vocab_size: usize,
    /// Rows of the segment embeddings (`type_vocab_size`).
    pub type_vocab_size: usize,
    /// Rows of the position embeddings (`max_position_embeddings`): the longest input.
    pub max_position_embeddings: usize,
}

/// A checkpoint tensor whose shape the config sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizedTensor {
    /// Its HF name under the base model (`embeddings.word_embeddings.weight`).
    pub name: &'static str,
    /// The config field that sets its first dimension (`vocab_size`).
    pub field: &'static str,
    /// The shape the config asks for, in the checkpoint's (PyTorch's) layout.
    pub shape: Vec<usize>,
}

/// A family's `config.json`.
pub trait FamilyConfig: Clone + std::fmt::Debug + Sized {
    /// Reads and checks a `config.json` file: its `model_type` one of the family's, every
    /// field in range.
    ///
    /// # Errors
    /// [`ModelError::Config`] naming the file and the field.
    fn from_file(path: &Path) -> Result<Self, ModelError>;

    /// `config.json` as `save_pretrained` writes it, with `architectures` set to
    /// `[architecture]`.
    fn to_json_for(&self, architecture: &str) -> String;

    /// The embedding tables the inputs index.
    fn limits(&self) -> ModelLimits;

    /// The width of the hidden states (the second dimension of the embedding tables).
    fn hidden_size(&self) -> usize;

    /// The checkpoint tensors whose shapes the config sets, checked before the model is
    /// allocated.
    fn sized_tensors(&self) -> Vec<SizedTensor>;

    /// An error when the model would have more parameters than can be allocated.
    ///
    /// # Errors
    /// [`ModelError::InvalidConfig`] naming the sizes.
    fn check_parameter_count(&self) -> Result<(), ModelError>;
}

/// A model family: its config and how its Burn modules name HF's tensors.
pub trait Family {
    /// The family's name in messages (`BERT`).
    const NAME: &'static str;
    /// The `model_type` values of `config.json` it reads (`["bert"]`).
    const MODEL_TYPES: &'static [&'static str];
    /// HF's `base_model_prefix`: the encoder's name inside a task model (`bert`).
    const BASE_MODEL_PREFIX: &'static str;
    /// The encoder's top-level modules (`embeddings`, `encoder`, `pooler`): the names a bare
    /// checkpoint has without the prefix.
    const BASE_MODEL_MODULES: &'static [&'static str];
    /// Its `config.json`.
    type Config: FamilyConfig;

    /// Regex rules from HF tensor names to Burn paths, applied in order after burn-store's
    /// PyTorch adapter (which renames LayerNorm's `weight`/`bias` to `gamma`/`beta`).
    fn hf_to_burn_rules() -> Vec<(&'static str, &'static str)>;

    /// Regex rules from Burn paths to HF tensor names, applied in order on export (before
    /// burn-store's PyTorch adapter renames `gamma`/`beta` back to `weight`/`bias`).
    fn burn_to_hf_rules() -> Vec<(&'static str, &'static str)>;

    /// The HF name of a Burn parameter path (in reports and errors).
    fn burn_to_hf_name(path: &str) -> String;

    /// Whether a Burn path is a Linear weight (stored `[in, out]`, transposed from PyTorch's).
    fn is_linear_weight(path: &str) -> bool;
}
