//! Hugging Face weights in and out, through `burn-store`.
//!
//! HF names and Burn paths differ in three ways, mapped here both ways:
//! - `LayerNorm` is `layer_norm` (and legacy TF-era checkpoints say `gamma`/`beta`);
//! - `attention.self` is `attention.self_attention` (`self` is a Rust keyword);
//! - a bare `BertModel` checkpoint has no `bert.` prefix, a `BertFor*` one has it.
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

use crate::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertModel,
};

mod load;
mod save;

pub use load::{LoadReport, WeightFormat, load_pretrained, load_weights};
pub use save::{save_folder, save_safetensors, write_atomic};

/// A model whose weights map to an HF checkpoint.
pub trait HfModel: Module + ModuleSnapshot + Sized {
    /// The HF class (`architectures` in `config.json`).
    const ARCHITECTURE: &'static str;
    /// Whether the encoder sits under `bert.` (every `BertFor*` class).
    const BERT_PREFIX: bool;
    /// Builds the model, freshly initialised, for a config.
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self;
}

impl HfModel for BertModel {
    const ARCHITECTURE: &'static str = "BertModel";
    const BERT_PREFIX: bool = false;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_model(true, device)
    }
}

impl HfModel for BertForSequenceClassification {
    const ARCHITECTURE: &'static str = "BertForSequenceClassification";
    const BERT_PREFIX: bool = true;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_sequence_classification(device)
    }
}

impl HfModel for BertForTokenClassification {
    const ARCHITECTURE: &'static str = "BertForTokenClassification";
    const BERT_PREFIX: bool = true;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_token_classification(device)
    }
}

impl HfModel for BertForQuestionAnswering {
    const ARCHITECTURE: &'static str = "BertForQuestionAnswering";
    const BERT_PREFIX: bool = true;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_question_answering(device)
    }
}

/// Rules from HF names to Burn paths, for a model with or without the `bert.` prefix.
fn hf_to_burn_rules(bert_prefix: bool) -> Vec<(&'static str, &'static str)> {
    let mut rules = vec![
        (r"LayerNorm\.gamma$", "LayerNorm.weight"),
        (r"LayerNorm\.beta$", "LayerNorm.bias"),
        (r"LayerNorm\.", "layer_norm."),
        (r"\.attention\.self\.", ".attention.self_attention."),
    ];
    rules.push(if bert_prefix {
        (r"^(embeddings|encoder|pooler)\.", "bert.$1.")
    } else {
        (r"^bert\.", "")
    });
    rules
}

/// Rules from Burn paths to HF names.
const BURN_TO_HF_RULES: [(&str, &str); 2] = [
    (r"layer_norm\.", "LayerNorm."),
    (r"\.attention\.self_attention\.", ".attention.self."),
];

fn remapper(rules: &[(&str, &str)]) -> KeyRemapper {
    KeyRemapper::from_patterns(rules.to_vec()).expect("the remapping patterns are valid regexes")
}

/// The HF name of a Burn parameter path (`gamma`/`beta` of a LayerNorm are `weight`/`bias`).
pub fn burn_to_hf_name(path: &str) -> String {
    path.replace("layer_norm.gamma", "LayerNorm.weight")
        .replace("layer_norm.beta", "LayerNorm.bias")
        .replace("layer_norm.", "LayerNorm.")
        .replace(".attention.self_attention.", ".attention.self.")
}

/// Whether a Burn path is a Linear weight (stored transposed relative to PyTorch).
fn is_linear_weight(path: &str) -> bool {
    path.ends_with(".weight") && !path.contains("embeddings.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_paths_map_to_hf_names() {
        assert_eq!(
            burn_to_hf_name("bert.encoder.layer.3.attention.self_attention.query.weight"),
            "bert.encoder.layer.3.attention.self.query.weight"
        );
        assert_eq!(
            burn_to_hf_name("embeddings.layer_norm.gamma"),
            "embeddings.LayerNorm.weight"
        );
        assert_eq!(
            burn_to_hf_name("encoder.layer.0.output.layer_norm.beta"),
            "encoder.layer.0.output.LayerNorm.bias"
        );
    }
}
