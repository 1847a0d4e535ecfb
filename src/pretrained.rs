//! `from_pretrained` / `save_pretrained`: an HF folder (or hub id) to a model and tokenizer,
//! and back.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use burnbert_data::BertTokenizer;
use burnbert_model::FamilyConfig;
use burnbert_model::weights::{self, ConfigOf, HfModel, LoadReport};

use crate::{Error, source};

/// A model loaded from an HF folder, with its config and tokenizer.
#[derive(Debug)]
pub struct Pretrained<M: HfModel> {
    /// The folder the files were read from.
    pub folder: PathBuf,
    /// `config.json` (a [`BertConfig`](burnbert_model::BertConfig) for BERT's models).
    pub config: ConfigOf<M>,
    /// The model, on the device it was loaded to.
    pub model: M,
    /// The folder's tokenizer.
    pub tokenizer: BertTokenizer,
    /// Which tensors were loaded, missing (freshly initialised) or unused.
    pub report: LoadReport,
}

impl<M: HfModel> Pretrained<M> {
    /// The longest input: `model_max_length` of the tokenizer, capped by the position embeddings.
    pub fn max_length(&self) -> usize {
        let positions = self.config.limits().max_position_embeddings;
        self.tokenizer
            .model_max_length()
            .map_or(positions, |m| m.min(positions))
    }
}

/// Loads `model` (folder or hub id) as `M` (`BertModel` or a `BertFor*` head) on `device`: its
/// family's config, checked, then the weights and the tokenizer checked against the config.
///
/// Like HF's `from_pretrained`, a head absent from the checkpoint is freshly initialised and
/// listed in [`Pretrained::report`]; a shape mismatch is an error.
pub fn from_pretrained<M: HfModel>(model: &str, device: &Device) -> Result<Pretrained<M>, Error> {
    let folder = source::resolve(model)?;
    let config = ConfigOf::<M>::from_file(&folder.join(source::CONFIG))?;
    from_folder_with_config(&folder, config, device)
}

/// As [`from_pretrained`], with a config given (to set labels or dropout before building).
pub fn from_folder_with_config<M: HfModel>(
    folder: &Path,
    config: ConfigOf<M>,
    device: &Device,
) -> Result<Pretrained<M>, Error> {
    load_folder(folder, config, false, device)
}

/// As [`from_folder_with_config`]; with `ignore_mismatched_sizes` (HF's flag), a task head of
/// another size than the config's starts fresh instead of being an error.
pub fn load_folder<M: HfModel>(
    folder: &Path,
    config: ConfigOf<M>,
    ignore_mismatched_sizes: bool,
    device: &Device,
) -> Result<Pretrained<M>, Error> {
    let weights_path = source::require(folder, &source::WEIGHTS)?;
    let tokenizer = BertTokenizer::from_folder(folder)?.with_limits(config.limits())?;
    let (model, report) =
        weights::load_pretrained::<M>(&config, &weights_path, ignore_mismatched_sizes, device)?;
    Ok(Pretrained {
        folder: folder.to_path_buf(),
        config,
        model,
        tokenizer,
        report,
    })
}

/// Writes an HF folder: `config.json` (with `id2label` and the architecture),
/// `model.safetensors`, and the tokenizer files of `tokenizer_folder`. Written beside `out` and
/// renamed into place: an interrupted save leaves any earlier folder at `out` whole.
pub fn save_pretrained<M: HfModel>(
    model: &M,
    config: &ConfigOf<M>,
    tokenizer_folder: &Path,
    out: &Path,
) -> Result<(), Error> {
    Ok(weights::save_folder(model, config, tokenizer_folder, out)?)
}
