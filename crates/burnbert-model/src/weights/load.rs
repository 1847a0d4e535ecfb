//! Checkpoints into a model: safetensors, PyTorch pickles and sharded checkpoints, sizes checked
//! against the config before anything is allocated, tensors cast to f32, a loading report.

use std::path::{Path, PathBuf};

use burn::tensor::DType;
use burn_store::burn_pack::Tensor as PackTensor;
use burn_store::{
    ApplyError, ApplyResult, FloatCastAdapter, ModuleAdapter, ModuleStore, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore,
};

use crate::ModelError;
use crate::family::{Family, FamilyConfig};

use super::{ConfigOf, HfModel, hf_to_burn_rules, remapper};

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

/// Builds `M` for `config` on `device` and loads an HF checkpoint into it (see
/// [`load_weights`]). The config's table sizes are checked against the file's tensors before
/// the model is allocated, so a config that disagrees with its weights (or asks for an absurd
/// size) is an error naming the field, not an allocation failure.
///
/// With `ignore_mismatched_sizes` (HF's flag), a task-head tensor of another shape than the
/// config's keeps its fresh initialisation and is listed in [`LoadReport::mismatched`];
/// without it, that is an error.
pub fn load_pretrained<M: HfModel>(
    config: &ConfigOf<M>,
    path: &Path,
    ignore_mismatched_sizes: bool,
    device: &burn::tensor::Device,
) -> Result<(M, LoadReport), ModelError> {
    M::check_config(config)?;
    let tensors = read_tensors::<M::Family>(path, M::BASE_MODEL)?;
    let prefix = if M::BASE_MODEL {
        String::new()
    } else {
        format!("{}.", M::Family::BASE_MODEL_PREFIX)
    };
    check_sizes(config, &tensors, path, &prefix)?;
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
    let tensors = read_tensors::<M::Family>(path, M::BASE_MODEL)?;
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
    report::<M::Family>(result, path, ignore_mismatched_heads)
}

/// Whether a Burn path is a task head's (outside the `bert.` encoder).
fn is_head(path: &str) -> bool {
    ["classifier.", "qa_outputs.", "cls."]
        .iter()
        .any(|h| path.starts_with(h))
}

/// The tensors of a checkpoint (every shard of a sharded one), named as Burn paths of `F`'s
/// base model or of one of its task models. Nothing is read but the headers.
fn read_tensors<F: Family>(path: &Path, base_model: bool) -> Result<Vec<PackTensor>, ModelError> {
    if !path.is_file() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let rules = remapper(hf_to_burn_rules::<F>(base_model));
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
                tensors.extend(read_tensors::<F>(&shard, base_model)?);
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

/// Checks the config's sizes against the checkpoint's tensors that it sizes (those present,
/// named under `prefix`), and the model's parameter count against what can be allocated.
fn check_sizes<C: FamilyConfig>(
    config: &C,
    tensors: &[PackTensor],
    path: &Path,
    prefix: &str,
) -> Result<(), ModelError> {
    let h = config.hidden_size();
    for sized in config.sized_tensors() {
        let found = tensors
            .iter()
            .find(|t| t.name == format!("{prefix}{}", sized.name))
            .map(|t| t.shape.to_vec());
        if let Some(found) = found
            && found != sized.shape
        {
            let field = if found.len() == 2 && found[1] != h {
                "hidden_size"
            } else {
                sized.field
            };
            return Err(ModelError::InvalidConfig {
                field,
                message: format!(
                    "config.json asks for {} of shape {:?}, {} has {found:?}",
                    sized.name,
                    sized.shape,
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

fn report<F: Family>(
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
                if F::is_linear_weight(tensor) {
                    expected.reverse();
                    found.reverse();
                }
                if ignore_mismatched_heads && is_head(tensor) {
                    mismatched.push(format!(
                        "{}: found shape {found:?} in the checkpoint and {expected:?} in the model",
                        F::burn_to_hf_name(tensor)
                    ));
                    continue;
                }
                ModelError::ShapeMismatch {
                    path: path.to_path_buf(),
                    tensor: F::burn_to_hf_name(tensor),
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
                "no tensor of the file matches a {} model (the file has: {})",
                F::NAME,
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
        .map(|(p, _)| F::burn_to_hf_name(p))
        .collect();
    // A masked LM's decoder is its word-embedding table and its bias `cls.predictions.bias`:
    // a checkpoint's `cls.predictions.decoder.*` are copies of those, as HF ties them.
    let tied = result.applied.iter().any(|p| p == "cls.predictions.bias");
    let mut unused: Vec<String> = result
        .unused
        .into_iter()
        .filter(|p| !p.ends_with("position_ids"))
        .filter(|p| !(tied && p.starts_with("cls.predictions.decoder.")))
        .map(|p| F::burn_to_hf_name(&p))
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
