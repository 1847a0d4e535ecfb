//! BERT's side of the [family contract](crate::family): its config, its tensor names, and the
//! HF classes of its models.

use std::path::Path;

use crate::ModelError;
use crate::family::{Family, FamilyConfig, ModelLimits, SizedTensor};
use crate::weights::HfModel;

use super::{
    BertConfig, BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertModel,
};

/// The BERT family (`model_type` `bert`, HF's `modeling_bert.py`).
#[derive(Debug, Clone, Copy)]
pub struct Bert;

impl Family for Bert {
    const NAME: &'static str = "BERT";
    const MODEL_TYPES: &'static [&'static str] = &["bert"];
    const BASE_MODEL_PREFIX: &'static str = "bert";
    const BASE_MODEL_MODULES: &'static [&'static str] = &["embeddings", "encoder", "pooler"];
    type Config = BertConfig;

    /// HF names and Burn paths differ in two ways: `LayerNorm` is `layer_norm` (and legacy
    /// TF-era checkpoints say `gamma`/`beta`); `attention.self` is `attention.self_attention`
    /// (`self` is a Rust keyword).
    fn hf_to_burn_rules() -> Vec<(&'static str, &'static str)> {
        vec![
            (r"LayerNorm\.gamma$", "LayerNorm.weight"),
            (r"LayerNorm\.beta$", "LayerNorm.bias"),
            (r"LayerNorm\.", "layer_norm."),
            (r"\.attention\.self\.", ".attention.self_attention."),
        ]
    }

    fn burn_to_hf_rules() -> Vec<(&'static str, &'static str)> {
        vec![
            (r"layer_norm\.", "LayerNorm."),
            (r"\.attention\.self_attention\.", ".attention.self."),
        ]
    }

    fn burn_to_hf_name(path: &str) -> String {
        path.replace("layer_norm.gamma", "LayerNorm.weight")
            .replace("layer_norm.beta", "LayerNorm.bias")
            .replace("layer_norm.", "LayerNorm.")
            .replace(".attention.self_attention.", ".attention.self.")
    }

    fn is_linear_weight(path: &str) -> bool {
        path.ends_with(".weight") && !path.contains("embeddings.")
    }
}

impl FamilyConfig for BertConfig {
    fn from_file(path: &Path) -> Result<Self, ModelError> {
        BertConfig::from_file(path)
    }

    fn to_json_for(&self, architecture: &str) -> String {
        let mut config = self.clone();
        config.architectures = Some(vec![architecture.to_string()]);
        config.to_json_string()
    }

    fn limits(&self) -> ModelLimits {
        ModelLimits {
            vocab_size: self.vocab_size,
            type_vocab_size: self.type_vocab_size,
            max_position_embeddings: self.max_position_embeddings,
        }
    }

    fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    fn sized_tensors(&self) -> Vec<SizedTensor> {
        let h = self.hidden_size;
        let sized = |name, field, rows| SizedTensor {
            name,
            field,
            shape: vec![rows, h],
        };
        vec![
            sized(
                "embeddings.word_embeddings.weight",
                "vocab_size",
                self.vocab_size,
            ),
            sized(
                "embeddings.position_embeddings.weight",
                "max_position_embeddings",
                self.max_position_embeddings,
            ),
            sized(
                "embeddings.token_type_embeddings.weight",
                "type_vocab_size",
                self.type_vocab_size,
            ),
            // PyTorch's layout, [out, in].
            sized(
                "encoder.layer.0.intermediate.dense.weight",
                "intermediate_size",
                self.intermediate_size,
            ),
        ]
    }

    fn check_parameter_count(&self) -> Result<(), ModelError> {
        BertConfig::check_parameter_count(self)
    }
}

impl HfModel for BertModel {
    type Family = Bert;
    const ARCHITECTURE: &'static str = "BertModel";
    const BASE_MODEL: bool = true;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_model(true, device)
    }
}

impl HfModel for BertForSequenceClassification {
    type Family = Bert;
    const ARCHITECTURE: &'static str = "BertForSequenceClassification";
    const BASE_MODEL: bool = false;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_sequence_classification(device)
    }
}

impl HfModel for BertForTokenClassification {
    type Family = Bert;
    const ARCHITECTURE: &'static str = "BertForTokenClassification";
    const BASE_MODEL: bool = false;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_token_classification(device)
    }
}

impl HfModel for BertForQuestionAnswering {
    type Family = Bert;
    const ARCHITECTURE: &'static str = "BertForQuestionAnswering";
    const BASE_MODEL: bool = false;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_question_answering(device)
    }
}

impl HfModel for BertForMaskedLM {
    type Family = Bert;
    const ARCHITECTURE: &'static str = "BertForMaskedLM";
    const BASE_MODEL: bool = false;
    fn init(config: &BertConfig, device: &burn::tensor::Device) -> Self {
        config.init_masked_lm(device)
    }

    /// The decoder is the word-embedding table: a checkpoint with a decoder of its own
    /// (`tie_word_embeddings: false`) would give other logits, so it is refused.
    fn check_config(config: &BertConfig) -> Result<(), ModelError> {
        if config.tie_word_embeddings() {
            return Ok(());
        }
        Err(ModelError::InvalidConfig {
            field: "tie_word_embeddings",
            message: "false: a masked-LM decoder apart from the word embeddings is not \
                      supported (BertForMaskedLM ties them)"
                .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_paths_map_to_hf_names() {
        assert_eq!(
            Bert::burn_to_hf_name("bert.encoder.layer.3.attention.self_attention.query.weight"),
            "bert.encoder.layer.3.attention.self.query.weight"
        );
        assert_eq!(
            Bert::burn_to_hf_name("embeddings.layer_norm.gamma"),
            "embeddings.LayerNorm.weight"
        );
        assert_eq!(
            Bert::burn_to_hf_name("encoder.layer.0.output.layer_norm.beta"),
            "encoder.layer.0.output.LayerNorm.bias"
        );
    }
}
