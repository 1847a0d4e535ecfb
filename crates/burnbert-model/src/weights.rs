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
use burn::tensor::DType;
use burn_store::burn_pack::Tensor as PackTensor;
use burn_store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, FloatCastAdapter, KeyRemapper, ModuleAdapter,
    ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
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
    /// Task-head tensors of another shape in the file, freshly initialised instead
    /// (`ignore_mismatched_sizes`), with both shapes.
    pub mismatched: Vec<String>,
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
        if !self.mismatched.is_empty() {
            lines.push(format!(
                "Some weights of the model were not initialized from {} because the shapes did \
                 not match, and are newly initialized: {}",
                self.path.display(),
                self.mismatched.join("; ")
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
    /// `model.safetensors.index.json` / `pytorch_model.bin.index.json`: a sharded checkpoint,
    /// its `weight_map` naming the shard of each tensor.
    Sharded,
}

impl WeightFormat {
    /// The format of a weight file, by extension (`.safetensors`, `.json`, else PyTorch).
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => Self::Safetensors,
            Some("json") => Self::Sharded,
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

/// Builds `M` for `config` on `device` and loads an HF checkpoint into it (see
/// [`load_weights`]). The config's table sizes are checked against the file's tensors before
/// the model is allocated, so a config that disagrees with its weights (or asks for an absurd
/// size) is an error naming the field, not an allocation failure.
///
/// With `ignore_mismatched_sizes` (HF's flag), a task-head tensor of another shape than the
/// config's keeps its fresh initialisation and is listed in [`LoadReport::mismatched`];
/// without it, that is an error.
pub fn load_pretrained<M: HfModel>(
    config: &BertConfig,
    path: &Path,
    ignore_mismatched_sizes: bool,
    device: &burn::tensor::Device,
) -> Result<(M, LoadReport), ModelError> {
    let tensors = read_tensors(path, M::BERT_PREFIX)?;
    check_sizes(config, &tensors, path, M::BERT_PREFIX)?;
    let mut model = M::init(config, device);
    let report = apply(&mut model, tensors, path, ignore_mismatched_sizes)?;
    Ok((model, report))
}

/// Loads the weights of an HF checkpoint into `model`, tolerant of the `bert.` prefix and of
/// legacy names. Float tensors of any width (f16, bf16, f64) are converted to f32, as
/// `from_pretrained` converts them to the default float type. A sharded checkpoint is read
/// through its index. Missing and unused tensors are reported (HF warns of them); a shape
/// mismatch or an unreadable file is an error.
pub fn load_weights<M: HfModel>(model: &mut M, path: &Path) -> Result<LoadReport, ModelError> {
    let tensors = read_tensors(path, M::BERT_PREFIX)?;
    apply(model, tensors, path, false)
}

fn apply<M: HfModel>(
    model: &mut M,
    tensors: Vec<PackTensor>,
    path: &Path,
    ignore_mismatched_heads: bool,
) -> Result<LoadReport, ModelError> {
    let adapter: Box<dyn ModuleAdapter> =
        Box::new(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32)));
    let result = model.apply(tensors, None, Some(adapter), false);
    report(result, path, ignore_mismatched_heads)
}

/// Whether a Burn path is a task head's (outside the `bert.` encoder).
fn is_head(path: &str) -> bool {
    ["classifier.", "qa_outputs."]
        .iter()
        .any(|h| path.starts_with(h))
}

/// The tensors of a checkpoint (every shard of a sharded one), named as Burn paths of a model
/// with or without the `bert.` prefix. Nothing is read but the headers.
fn read_tensors(path: &Path, bert_prefix: bool) -> Result<Vec<PackTensor>, ModelError> {
    if !path.is_file() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let rules = remapper(&hf_to_burn_rules(bert_prefix));
    match WeightFormat::of(path) {
        WeightFormat::Safetensors => {
            store_tensors(SafetensorsStore::from_file(path).remap(rules), path)
        }
        // Layer indices as the file has them: a shard may hold layers 6-11 only.
        WeightFormat::Pytorch => store_tensors(
            PytorchStore::from_file(path)
                .remap(rules)
                .map_indices_contiguous(false),
            path,
        ),
        WeightFormat::Sharded => {
            let mut tensors = Vec::new();
            for shard in shards(path)? {
                if WeightFormat::of(&shard) == WeightFormat::Sharded {
                    return Err(ModelError::Weights {
                        path: path.to_path_buf(),
                        message: format!("shard {} is an index", shard.display()),
                    });
                }
                tensors.extend(read_tensors(&shard, bert_prefix)?);
            }
            Ok(tensors)
        }
    }
}

/// The (lazily read) tensors of a burn-store store over the file `path`.
fn store_tensors<S: ModuleStore>(mut store: S, path: &Path) -> Result<Vec<PackTensor>, ModelError> {
    Ok(store
        .get_all_tensors()
        .map_err(|e| ModelError::Weights {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
        .values()
        .cloned()
        .collect())
}

/// The shard files an index's `weight_map` names, in order, each once.
fn shards(index: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let text = std::fs::read_to_string(index).map_err(|e| ModelError::io(index, e))?;
    let invalid = |message: String| ModelError::Weights {
        path: index.to_path_buf(),
        message,
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let map = json["weight_map"]
        .as_object()
        .ok_or_else(|| invalid("no weight_map object".into()))?;
    let folder = index.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = Vec::new();
    for (tensor, file) in map {
        let file = file
            .as_str()
            .filter(|f| !f.is_empty() && Path::new(f).file_name() == Some(std::ffi::OsStr::new(f)))
            .ok_or_else(|| {
                invalid(format!(
                    "weight_map.{tensor} is not a file name in the folder"
                ))
            })?;
        let path = folder.join(file);
        if !files.contains(&path) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(invalid("the weight_map is empty".into()));
    }
    Ok(files)
}

/// Checks the config's sizes against the checkpoint's embedding and feed-forward tensors
/// (those present), and the model's parameter count against what can be allocated.
fn check_sizes(
    config: &BertConfig,
    tensors: &[PackTensor],
    path: &Path,
    bert_prefix: bool,
) -> Result<(), ModelError> {
    let prefix = if bert_prefix { "bert." } else { "" };
    let shape = |name: &str| {
        tensors
            .iter()
            .find(|t| t.name == format!("{prefix}{name}"))
            .map(|t| t.shape.to_vec())
    };
    let h = config.hidden_size;
    let expected: [(&str, &'static str, [usize; 2]); 4] = [
        (
            "embeddings.word_embeddings.weight",
            "vocab_size",
            [config.vocab_size, h],
        ),
        (
            "embeddings.position_embeddings.weight",
            "max_position_embeddings",
            [config.max_position_embeddings, h],
        ),
        (
            "embeddings.token_type_embeddings.weight",
            "type_vocab_size",
            [config.type_vocab_size, h],
        ),
        // Burn's layout, [in, out]: the adapter has not transposed it yet, so PyTorch's [out, in].
        (
            "encoder.layer.0.intermediate.dense.weight",
            "intermediate_size",
            [config.intermediate_size, h],
        ),
    ];
    for (name, field, dims) in expected {
        if let Some(found) = shape(name)
            && found != dims
        {
            let field = if found.len() == 2 && found[1] != h {
                "hidden_size"
            } else {
                field
            };
            return Err(ModelError::InvalidConfig {
                field,
                message: format!(
                    "config.json asks for {name} of shape {dims:?}, {} has {found:?}",
                    path.display()
                ),
            });
        }
    }
    config
        .check_parameter_count()
        .map_err(|e| ModelError::Weights {
            path: path.to_path_buf(),
            message: format!("not loaded: {e}"),
        })
}

fn report(
    result: ApplyResult,
    path: &Path,
    ignore_mismatched_heads: bool,
) -> Result<LoadReport, ModelError> {
    let mut mismatched = Vec::new();
    for error in &result.errors {
        let error = match error {
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
                if ignore_mismatched_heads && is_head(tensor) {
                    mismatched.push(format!(
                        "{}: found shape {found:?} in the checkpoint and {expected:?} in the model",
                        burn_to_hf_name(tensor)
                    ));
                    continue;
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
        };
        return Err(error);
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
    mismatched.sort();
    Ok(LoadReport {
        path: path.to_path_buf(),
        loaded: result.applied.len(),
        missing,
        unused,
        mismatched,
    })
}

/// Writes `model` as an HF `model.safetensors` (HF names, `[out, in]` Linear weights,
/// `format: pt` metadata, which `transformers` requires). The write is atomic: to a file
/// beside `path`, renamed into place.
pub fn save_safetensors<M: HfModel>(model: &M, path: &Path) -> Result<(), ModelError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let written = write_safetensors(model, &partial)
        .and_then(|()| std::fs::rename(&partial, path).map_err(|e| ModelError::io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

fn write_safetensors<M: HfModel>(model: &M, path: &Path) -> Result<(), ModelError> {
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
/// As `save_pretrained`, into `out` whether or not it exists: each file is written beside its
/// place and renamed into it, so a file is either the old one or the new one, whole. Files of
/// `out` that are not a model's are left as they are; a tokenizer file of an earlier model that
/// this model's folder lacks is removed (HF's save_pretrained would have overwritten it).
pub fn save_folder<M: HfModel>(
    model: &M,
    config: &BertConfig,
    tokenizer_folder: &Path,
    out: &Path,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(out).map_err(|e| ModelError::io(out, e))?;
    let mut config = config.clone();
    config.architectures = Some(vec![M::ARCHITECTURE.to_string()]);
    let config_path = out.join("config.json");
    write_atomic(&config_path, config.to_json_string().as_bytes())
        .map_err(|e| ModelError::io(&config_path, e))?;
    save_safetensors(model, &out.join("model.safetensors"))?;
    for f in TOKENIZER_FILES {
        let (from, to) = (tokenizer_folder.join(f), out.join(f));
        if from.is_file() {
            let bytes = std::fs::read(&from).map_err(|e| ModelError::io(&from, e))?;
            write_atomic(&to, &bytes).map_err(|e| ModelError::io(&to, e))?;
        } else if to.is_file() && from != to {
            // An earlier model's tokenizer file would be read before this model's: HF's
            // save_pretrained overwrites it; here the model has none to write over it.
            std::fs::remove_file(&to).map_err(|e| ModelError::io(&to, e))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place: readers see
/// the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let written = std::fs::File::create(&partial).and_then(|mut file| {
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
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
