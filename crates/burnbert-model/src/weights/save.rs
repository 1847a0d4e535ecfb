//! A model back into an HF folder `transformers` loads: `model.safetensors`, `config.json` and
//! the tokenizer files, each written atomically.

use std::path::Path;

use burn_store::{BurnToPyTorchAdapter, SafetensorsStore};

use crate::ModelError;
use crate::family::{Family, FamilyConfig};

use super::{ConfigOf, HfModel, owned, remapper};

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
        .remap(remapper(owned(M::Family::burn_to_hf_rules())))
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
    config: &ConfigOf<M>,
    tokenizer_folder: &Path,
    out: &Path,
) -> Result<(), ModelError> {
    std::fs::create_dir_all(out).map_err(|e| ModelError::io(out, e))?;
    let config_path = out.join("config.json");
    write_atomic(&config_path, config.to_json_for(M::ARCHITECTURE).as_bytes())
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
