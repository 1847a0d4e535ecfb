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

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn_store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot,
    PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};

use crate::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertModel, ModelError,
};

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

/// What loading a checkpoint did, as HF's loading report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// The weight file.
    pub path: PathBuf,
    /// Number of model tensors set from the file.
    pub loaded: usize,
    /// Model tensors the file lacks, HF-named and sorted: they keep their fresh initialisation
    /// (a new task head, typically).
    pub missing: Vec<String>,
    /// File tensors the model has no place for (a pre-training head, the pooler of a tagger,
    /// ...), HF-named as the model would name them (under `bert.` for a head) and sorted.
    /// `position_ids` buffers are not listed.
    pub unused: Vec<String>,
}

impl LoadReport {
    /// A warning in HF's words, or `None` when everything matched.
    pub fn warning(&self) -> Option<String> {
        let mut lines = Vec::new();
        if !self.missing.is_empty() {
            lines.push(format!(
                "Some weights of the model were not in {} and are newly initialized: {}",
                self.path.display(),
                self.missing.join(", ")
            ));
        }
        if !self.unused.is_empty() {
            lines.push(format!(
                "Some weights of {} were not used: {}",
                self.path.display(),
                self.unused.join(", ")
            ));
        }
        (!lines.is_empty()).then(|| lines.join("\n"))
    }
}

/// The weight file formats HF folders hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// `model.safetensors`.
    Safetensors,
    /// `pytorch_model.bin` (a `torch.save` zip archive or legacy pickle).
    Pytorch,
}

impl WeightFormat {
    /// The format of a weight file, by extension (`.safetensors`, else PyTorch).
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => Self::Safetensors,
            _ => Self::Pytorch,
        }
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

/// Loads the weights of an HF checkpoint into `model`, tolerant of the `bert.` prefix and of
/// legacy names. Missing and unused tensors are reported (HF warns of them); a shape mismatch
/// or an unreadable file is an error.
pub fn load_weights<M: HfModel>(model: &mut M, path: &Path) -> Result<LoadReport, ModelError> {
    if !path.is_file() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let rules = remapper(&hf_to_burn_rules(M::BERT_PREFIX));
    let weights_error = |message: String| ModelError::Weights {
        path: path.to_path_buf(),
        message,
    };
    let result = match WeightFormat::of(path) {
        WeightFormat::Safetensors => {
            let mut store = SafetensorsStore::from_file(path)
                .with_from_adapter(PyTorchToBurnAdapter)
                .remap(rules)
                .allow_partial(true)
                .validate(false);
            model
                .load_from(&mut store)
                .map_err(|e| weights_error(e.to_string()))?
        }
        WeightFormat::Pytorch => {
            let mut store = PytorchStore::from_file(path)
                .remap(rules)
                .allow_partial(true)
                .validate(false);
            model
                .load_from(&mut store)
                .map_err(|e| weights_error(e.to_string()))?
        }
    };
    report(result, path)
}

fn report(result: ApplyResult, path: &Path) -> Result<LoadReport, ModelError> {
    if let Some(error) = result.errors.first() {
        return Err(match error {
            ApplyError::ShapeMismatch {
                path: tensor,
                expected,
                found,
            } => {
                // burn-store compares in Burn's layout: give both shapes in the file's.
                let (mut expected, mut found) = (expected.to_vec(), found.to_vec());
                if is_linear_weight(tensor) {
                    expected.reverse();
                    found.reverse();
                }
                ModelError::ShapeMismatch {
                    path: path.to_path_buf(),
                    tensor: burn_to_hf_name(tensor),
                    expected,
                    found,
                }
            }
            other => ModelError::Weights {
                path: path.to_path_buf(),
                message: other.to_string(),
            },
        });
    }
    if result.applied.is_empty() {
        return Err(ModelError::Weights {
            path: path.to_path_buf(),
            message: format!(
                "no tensor of the file matches a BERT model (the file has: {})",
                result
                    .unused
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let mut missing: Vec<String> = result
        .missing
        .iter()
        .map(|(p, _)| burn_to_hf_name(p))
        .collect();
    let mut unused: Vec<String> = result
        .unused
        .into_iter()
        .filter(|p| !p.ends_with("position_ids"))
        .map(|p| burn_to_hf_name(&p))
        .collect();
    missing.sort();
    unused.sort();
    Ok(LoadReport {
        path: path.to_path_buf(),
        loaded: result.applied.len(),
        missing,
        unused,
    })
}

/// Writes `model` as an HF `model.safetensors` (HF names, `[out, in]` Linear weights,
/// `format: pt` metadata, which `transformers` requires). The write is atomic.
pub fn save_safetensors<M: HfModel>(model: &M, path: &Path) -> Result<(), ModelError> {
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .remap(remapper(&BURN_TO_HF_RULES))
        .metadata("format", "pt")
        .overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| ModelError::Weights {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Tokenizer files copied into an exported folder, when the source folder has them.
const TOKENIZER_FILES: [&str; 4] = [
    "tokenizer.json",
    "vocab.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
];

/// Writes an HF folder: `config.json` (with `id2label` and the architecture),
/// `model.safetensors`, and the tokenizer files of `tokenizer_folder`.
///
/// The folder is written beside `out` and renamed into place: an interrupted save leaves any
/// earlier folder at `out` whole.
pub fn save_folder<M: HfModel>(
    model: &M,
    config: &BertConfig,
    tokenizer_folder: &Path,
    out: &Path,
) -> Result<(), ModelError> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| ModelError::io(parent, e))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(|e| ModelError::io(&staging, e))?;
    let written = (|| {
        let mut config = config.clone();
        config.architectures = Some(vec![M::ARCHITECTURE.to_string()]);
        let config_path = staging.join("config.json");
        std::fs::write(&config_path, config.to_json_string())
            .map_err(|e| ModelError::io(&config_path, e))?;
        save_safetensors(model, &staging.join("model.safetensors"))?;
        for f in TOKENIZER_FILES {
            let from = tokenizer_folder.join(f);
            if from.is_file() {
                std::fs::copy(&from, staging.join(f)).map_err(|e| ModelError::io(&from, e))?;
            }
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if out.exists() {
        std::fs::rename(out, &old).map_err(|e| ModelError::io(out, e))?;
    }
    std::fs::rename(&staging, out).map_err(|e| ModelError::io(out, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
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
