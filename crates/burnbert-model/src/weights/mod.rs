//! Hugging Face weights in and out, through `burn-store`.
//!
//! HF names and Burn paths differ by the family's renaming rules ([`Family::hf_to_burn_rules`];
//! BERT's: `LayerNorm` is `layer_norm`, `attention.self` is `attention.self_attention`), and by
//! the base model's prefix: a bare `BertModel` checkpoint has no `bert.` prefix, a `BertFor*`
//! one has it.
//!
//! Linear weights are `[out, in]` in PyTorch and `[in, out]` in Burn: burn-store's PyTorch
//! adapters transpose them, and rename LayerNorm's `weight`/`bias` to `gamma`/`beta`.
//! `pytorch_model.bin` is read by burn-store's own pickle reader, which rebuilds tensors from
//! the archive's data and never executes the pickle's code.
//!
//! The files: `load.rs` reads checkpoints into a model ([`load_pretrained`], [`load_weights`]);
//! `save.rs` writes a model back as an HF folder ([`save_folder`]).

use burn::module::Module;
use burn_store::{KeyRemapper, ModuleSnapshot};

use crate::family::Family;

mod load;
mod save;

pub use load::{LoadReport, WeightFormat, load_pretrained, load_weights};
pub use save::{save_folder, save_safetensors, write_atomic};

/// The config of `M`'s family.
pub type ConfigOf<M> = <<M as HfModel>::Family as Family>::Config;

/// A model whose weights map to an HF checkpoint: one of its family's HF classes.
pub trait HfModel: Module + ModuleSnapshot + Sized {
    /// Its family.
    type Family: Family;
    /// The HF class (`architectures` in `config.json`).
    const ARCHITECTURE: &'static str;
    /// Whether it is the bare encoder (`BertModel`: no `bert.` prefix), not a task model.
    const BASE_MODEL: bool;
    /// Builds the model, freshly initialised, for a config.
    fn init(config: &ConfigOf<Self>, device: &burn::tensor::Device) -> Self;

    /// An error for a config this model cannot follow (checked before loading).
    ///
    /// # Errors
    /// [`ModelError::InvalidConfig`](crate::ModelError::InvalidConfig) naming the field.
    fn check_config(_config: &ConfigOf<Self>) -> Result<(), crate::ModelError> {
        Ok(())
    }
}

/// Rules from HF names to Burn paths of `F`'s base model or of one of its task models (whose
/// encoder sits under `F::BASE_MODEL_PREFIX`; a bare checkpoint's names gain it, a task
/// checkpoint's lose it for a base model).
fn hf_to_burn_rules<F: Family>(base_model: bool) -> Vec<(String, String)> {
    let mut rules = owned(F::hf_to_burn_rules());
    let prefix = F::BASE_MODEL_PREFIX;
    rules.push(if base_model {
        (format!(r"^{prefix}\."), String::new())
    } else {
        (
            format!(r"^({})\.", F::BASE_MODEL_MODULES.join("|")),
            format!("{prefix}.$1."),
        )
    });
    rules
}

fn owned(rules: Vec<(&str, &str)>) -> Vec<(String, String)> {
    rules
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn remapper(rules: Vec<(String, String)>) -> KeyRemapper {
    KeyRemapper::from_patterns(rules).expect("the remapping patterns are valid regexes")
}
