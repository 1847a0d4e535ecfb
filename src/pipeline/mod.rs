//! Inference as `transformers.pipeline` gives it: one type per task, built from an HF folder or
//! hub id and a device, whose `predict` takes texts and returns typed outputs (labels and
//! probabilities, entities with character offsets, answer spans, embeddings).
//!
//! ```no_run
//! use burnbert::pipeline::TextClassificationPipeline;
//!
//! let device = burnbert::device::resolve(None)?;
//! let classifier = TextClassificationPipeline::from_pretrained("path/to/hf-folder", &device)?;
//! for p in classifier.predict(&["A great film", "A dull film"])? {
//!     println!("{} {:?}", p.label, p.probabilities);
//! }
//! # Ok::<(), burnbert::Error>(())
//! ```
//!
//! Built on the model and data crates only: nothing here, nor in a task's `pipeline.rs` or
//! `data` module, depends on the training crate. Each task's pipeline is in its module of
//! [`tasks`](crate::tasks) and re-exported here.

mod feature_extraction;

use burn::prelude::*;
use burnbert_model::BertModel;
use burnbert_model::weights::HfModel;

/// Each task's pipeline, output and options, from its module in [`tasks`](crate::tasks).
pub use crate::tasks::pipelines::*;
pub use feature_extraction::{Features, mean_pooled, mean_pooled_normalized};

use crate::{Error, Pretrained, from_pretrained};

/// A model, its config and tokenizer on a device, ready to predict. Each task's `predict` is
/// on its alias: [`TextClassificationPipeline`], [`TokenClassificationPipeline`],
/// [`QuestionAnsweringPipeline`], [`FeatureExtractionPipeline`].
pub struct Pipeline<M: HfModel, O = ()> {
    /// The model, its config, its tokenizer and the folder they came from.
    pub pretrained: Pretrained<M>,
    /// The device the model runs on.
    pub device: Device,
    /// The longest input, in tokens (default: the tokenizer's `model_max_length` capped by the
    /// position embeddings; a longer value is capped by the tokenizer, with a warning).
    pub max_length: usize,
    /// Inputs (or windows) per forward pass (default 8).
    pub batch_size: usize,
    /// The task's own settings.
    pub options: O,
}

/// A task's settings, as the pipeline's keyword arguments in `transformers`.
pub trait PipelineOptions: Default {
    /// The task's own cap on the input length (the QA pipeline's `max_seq_len`, 384).
    const MAX_SEQ_LEN: Option<usize> = None;
}

impl PipelineOptions for () {}

/// `transformers.pipeline("feature-extraction")`, and sentence-transformers' embeddings.
pub type FeatureExtractionPipeline = Pipeline<BertModel>;

impl<M: HfModel, O: PipelineOptions> Pipeline<M, O> {
    /// Loads `model` (an HF folder or hub id) on `device`, as
    /// [`from_pretrained`](crate::from_pretrained) does.
    ///
    /// # Errors
    /// Those of [`from_pretrained`](crate::from_pretrained): a missing or bad file, a checkpoint
    /// that does not fit the config.
    pub fn from_pretrained(model: &str, device: &Device) -> Result<Self, Error> {
        Ok(Self::new(from_pretrained(model, device)?, device))
    }

    /// A pipeline over a model already loaded.
    pub fn new(pretrained: Pretrained<M>, device: &Device) -> Self {
        let max_length = pretrained.max_length();
        Self {
            max_length: O::MAX_SEQ_LEN.map_or(max_length, |cap| max_length.min(cap)),
            pretrained,
            device: device.clone(),
            batch_size: 8,
            options: O::default(),
        }
    }
}

impl<M: HfModel, O> Pipeline<M, O> {
    /// The pipeline with inputs of at most `max_length` tokens.
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = max_length;
        self
    }

    /// The pipeline with `batch_size` inputs per forward pass (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The pipeline with the task's settings `options`.
    pub fn with_options(mut self, options: O) -> Self {
        self.options = options;
        self
    }
}

/// The rows of a `[rows, cols]` tensor; a NaN or infinite value is an error (a model whose
/// weights or inputs overflow gives no usable prediction).
pub(crate) fn rows(tensor: Tensor<2>) -> Result<Vec<Vec<f32>>, Error> {
    let [_, cols] = tensor.dims();
    let data = floats(tensor, "output")?;
    Ok(data.chunks(cols.max(1)).map(<[f32]>::to_vec).collect())
}

/// The values of a tensor (the model's `what`), checked finite.
pub(crate) fn floats<const D: usize>(tensor: Tensor<D>, what: &str) -> Result<Vec<f32>, Error> {
    let data: Vec<f32> = tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data");
    check_finite(&data, what)?;
    Ok(data)
}

/// An error when `values` (a model's `what`) hold a NaN or an infinity.
pub(crate) fn check_finite(values: &[f32], what: &str) -> Result<(), Error> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            what: what.to_string(),
            value: values[i],
            index: i,
        }),
    }
}

/// The character index of a byte offset (the tokenizer's offsets are bytes of the UTF-8 text).
pub(crate) fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// The index of the largest value (the first of equals).
pub(crate) fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}
