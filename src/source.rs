//! Where a model comes from: a local HF folder, or a hub model id resolved through the
//! `hf-hub` crate (its cache first, then a download unless `HF_HUB_OFFLINE=1`).

use std::path::{Path, PathBuf};

use crate::Error;

/// Candidate files of an HF BERT folder, in order of preference.
pub const CONFIG: &str = "config.json";
/// Tokenizer files: `tokenizer.json`, else `vocab.txt`.
pub const TOKENIZERS: [&str; 2] = ["tokenizer.json", "vocab.txt"];
/// Weight files, in `transformers`' order of preference: safetensors (whole, else sharded
/// through its index), else PyTorch's (whole, else sharded).
pub const WEIGHTS: [&str; 4] = [
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
];
const OPTIONAL: [&str; 2] = ["tokenizer_config.json", "special_tokens_map.json"];

/// Resolves `model` (a folder, or a hub id such as `sentence-transformers/all-MiniLM-L6-v2`)
/// to a local folder holding its files.
pub fn resolve(model: &str) -> Result<PathBuf, Error> {
    let path = Path::new(model);
    if path.is_dir() {
        require(path, &[CONFIG])?;
        return Ok(path.to_path_buf());
    }
    if path.exists()
        || model.starts_with('.')
        || model.starts_with('/')
        || model.split('/').count() > 2
    {
        return Err(Error::MissingFile {
            file: "a model folder".into(),
            looked_in: path.display().to_string(),
        });
    }
    from_hub(model)
}

/// The first of `candidates` present in `folder`, or an error naming them all and the folder.
pub fn require(folder: &Path, candidates: &[&str]) -> Result<PathBuf, Error> {
    candidates
        .iter()
        .map(|f| folder.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::MissingFile {
            file: candidates.join(" or "),
            looked_in: folder.display().to_string(),
        })
}

fn from_hub(model_id: &str) -> Result<PathBuf, Error> {
    let cache = hf_hub::Cache::from_env();
    let cached = cache.model(model_id.to_string());
    let offline =
        std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let api = if offline {
        None
    } else {
        Some(
            hf_hub::api::sync::ApiBuilder::from_cache(cache.clone())
                .with_progress(false)
                .build()
                .map_err(|e| Error::Hub {
                    model_id: model_id.into(),
                    file: CONFIG.into(),
                    message: e.to_string(),
                })?,
        )
    };
    let fetch = |file: &str| -> Result<PathBuf, Error> {
        if let Some(path) = cached.get(file) {
            return Ok(path);
        }
        let Some(api) = &api else {
            return Err(Error::MissingFile {
                file: file.into(),
                looked_in: format!(
                    "the hub cache {} (HF_HUB_OFFLINE is set)",
                    cache.path().display()
                ),
            });
        };
        api.model(model_id.to_string())
            .get(file)
            .map_err(|e| Error::Hub {
                model_id: model_id.into(),
                file: file.into(),
                message: e.to_string(),
            })
    };
    let first_of = |files: &[&str]| -> Result<PathBuf, Error> {
        let mut last = None;
        for f in files {
            match fetch(f) {
                Ok(p) => return Ok(p),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one candidate"))
    };
    let config = fetch(CONFIG)?;
    first_of(&TOKENIZERS)?;
    let weights = first_of(&WEIGHTS)?;
    if weights.extension().is_some_and(|e| e == "json") {
        // A sharded checkpoint: its shards, as the index names them.
        let index: serde_json::Value = std::fs::read_to_string(&weights)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let mut shards: Vec<&str> = index["weight_map"]
            .as_object()
            .map(|m| m.values().filter_map(|f| f.as_str()).collect())
            .unwrap_or_default();
        shards.sort_unstable();
        shards.dedup();
        for shard in shards {
            fetch(shard)?;
        }
    }
    for f in OPTIONAL {
        let _ = fetch(f); // optional: absent in many repositories
    }
    Ok(config
        .parent()
        .expect("a cached file has a folder")
        .to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_name_the_file_and_the_place() {
        let err = resolve("/no/such/folder").unwrap_err().to_string();
        assert!(err.contains("/no/such/folder"), "{err}");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let err = require(&dir, &WEIGHTS).unwrap_err().to_string();
        assert!(
            err.contains("model.safetensors or model.safetensors.index.json or pytorch_model.bin")
                && err.contains("assets"),
            "{err}"
        );
    }

    #[test]
    fn offline_hub_ids_are_looked_up_in_the_cache_only() {
        let cache = std::env::temp_dir().join(format!("burnbert-hub-{}", std::process::id()));
        // SAFETY: this test alone sets these variables, before any thread reads them.
        unsafe {
            std::env::set_var("HF_HOME", &cache);
            std::env::set_var("HF_HUB_OFFLINE", "1");
        }
        let err = resolve("someone/bert-tiny").unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("HF_HUB_OFFLINE"),
            "{err}"
        );
    }
}
