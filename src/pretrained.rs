//! `from_pretrained` / `save_pretrained`: an HF folder (or hub id) to a model and tokenizer,
//! and back.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use burnbert_data::BertTokenizer;
use burnbert_model::weights::{self, HfModel, LoadReport};
use burnbert_model::BertConfig;

use crate::{Error, source};

/// A model loaded from an HF folder, with its config and tokenizer.
#[derive(Debug)]
pub struct Pretrained<M> {
    /// The folder the files were read from.
    pub folder: PathBuf,
    /// `config.json`.
    pub config: BertConfig,
    /// The model, on the device it was loaded to.
    pub model: M,
    /// The folder's tokenizer.
    pub tokenizer: BertTokenizer,
    /// Which tensors were loaded, missing (freshly initialised) or unused.
    pub report: LoadReport,
}

impl<M> Pretrained<M> {
    /// The longest input: `model_max_length` of the tokenizer, capped by the position embeddings.
    pub fn max_length(&self) -> usize {
        let positions = self.config.max_position_embeddings;
        self.tokenizer.model_max_length().map_or(positions, |m| m.min(positions))
    }
}

/// Loads `model` (folder or hub id) as `M` (`BertModel` or a `BertFor*` head) on `device`.
///
/// Like HF's `from_pretrained`, a head absent from the checkpoint is freshly initialised and
/// listed in [`Pretrained::report`]; a shape mismatch is an error.
pub fn from_pretrained<M: HfModel>(model: &str, device: &Device) -> Result<Pretrained<M>, Error> {
    let folder = source::resolve(model)?;
    let config = BertConfig::from_file(folder.join(source::CONFIG))?;
    from_folder_with_config(&folder, config, device)
}

/// As [`from_pretrained`], with a config given (to set labels or dropout before building).
pub fn from_folder_with_config<M: HfModel>(
    folder: &Path,
    config: BertConfig,
    device: &Device,
) -> Result<Pretrained<M>, Error> {
    let weights_path = source::require(folder, &source::WEIGHTS)?;
    let tokenizer = BertTokenizer::from_folder(folder)?;
    let mut model = M::init(&config, device);
    let report = weights::load_weights(&mut model, &weights_path)?;
    Ok(Pretrained { folder: folder.to_path_buf(), config, model, tokenizer, report })
}

/// Writes an HF folder: `config.json` (with `id2label` and the architecture),
/// `model.safetensors`, and the tokenizer files of `tokenizer_folder`.
///
/// The folder is written beside `out` and renamed into place: an interrupted save leaves any
/// earlier folder at `out` whole.
pub fn save_pretrained<M: HfModel>(
    model: &M,
    config: &BertConfig,
    tokenizer_folder: &Path,
    out: &Path,
) -> Result<(), Error> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "model".into());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
    let result = (|| {
        let mut config = config.clone();
        config.architectures = Some(vec![M::ARCHITECTURE.to_string()]);
        let config_path = staging.join(source::CONFIG);
        std::fs::write(&config_path, config.to_json_string()).map_err(|e| Error::io(&config_path, e))?;
        weights::save_safetensors(model, &staging.join(source::WEIGHTS[0]))?;
        for f in ["tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            let from = tokenizer_folder.join(f);
            if from.is_file() {
                std::fs::copy(&from, staging.join(f)).map_err(|e| Error::io(&from, e))?;
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if out.exists() {
        std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&staging, out).map_err(|e| Error::io(out, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
