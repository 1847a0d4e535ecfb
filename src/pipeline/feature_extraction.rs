//! `transformers.pipeline("feature-extraction")`: the encoder's hidden states, and the
//! sentence embeddings sentence-transformers computes from them.

use burn::prelude::*;
use burnbert_data::PaddedBatch;
use burnbert_model::BertModel;
use serde::Serialize;

use super::{Pipeline, floats, rows};
use crate::Error;

/// The encoder's outputs for one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Features {
    /// The tokens, `[CLS]` and `[SEP]` included.
    pub tokens: Vec<String>,
    /// Their ids.
    pub input_ids: Vec<u32>,
    /// Their segment ids.
    pub token_type_ids: Vec<u32>,
    /// Whether the input was cut at the pipeline's `max_length`.
    pub truncated: bool,
    /// The last layer's hidden state of each token, `[seq][hidden]`.
    pub last_hidden_state: Vec<Vec<f32>>,
    /// The pooler's output (`[hidden]`), for a model with a pooler.
    pub pooler_output: Option<Vec<f32>>,
    /// [`mean_pooled`] of the hidden states.
    pub mean_pooled: Vec<f32>,
    /// [`mean_pooled_normalized`]: the sentence-transformers embedding.
    pub mean_pooled_normalized: Vec<f32>,
}

impl Pipeline<BertModel> {
    /// The sentence embedding of each text: [`mean_pooled_normalized`] hidden states, as
    /// sentence-transformers' `encode` gives it for all-MiniLM-L6-v2 and its kin (`[hidden]`
    /// each, L2 norm 1).
    ///
    /// # Errors
    /// A text the tokenizer cannot encode; a NaN or infinite hidden state.
    pub fn predict<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let encodings = texts
            .iter()
            .map(|t| tokenizer.encode(t.as_ref(), None, self.max_length))
            .collect::<Result<Vec<_>, _>>()?;
        let mut embeddings = Vec::with_capacity(texts.len());
        for chunk in encodings.chunks(self.batch_size.max(1)) {
            let batch = PaddedBatch::new(chunk, tokenizer.pad_id())?;
            let out = self.pretrained.model.forward(batch.to_input(&self.device));
            let mask = batch.mask(&self.device);
            embeddings.extend(rows(mean_pooled_normalized(out.last_hidden_state, mask))?);
        }
        Ok(embeddings)
    }

    /// The encoder's outputs for a text, or a text pair.
    ///
    /// # Errors
    /// As [`Self::predict`].
    pub fn features(&self, text: &str, pair: Option<&str>) -> Result<Features, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let encoding = tokenizer.encode(text, pair, self.max_length)?;
        let batch = PaddedBatch::new(std::slice::from_ref(&encoding), tokenizer.pad_id())?;
        let mask = batch.mask(&self.device);
        let out = self.pretrained.model.forward(batch.to_input(&self.device));
        let [_, seq, hidden] = out.last_hidden_state.dims();
        let last_hidden_state = floats(out.last_hidden_state.clone(), "last_hidden_state")?;
        let first = |t: Tensor<2>| rows(t).map(|mut r| r.remove(0));
        Ok(Features {
            last_hidden_state: last_hidden_state
                .chunks(hidden)
                .take(seq)
                .map(<[f32]>::to_vec)
                .collect(),
            pooler_output: out
                .pooler_output
                .map(|p| floats(p, "pooler_output"))
                .transpose()?,
            mean_pooled: first(mean_pooled(out.last_hidden_state.clone(), mask.clone()))?,
            mean_pooled_normalized: first(mean_pooled_normalized(out.last_hidden_state, mask))?,
            tokens: encoding.tokens,
            input_ids: encoding.input_ids,
            token_type_ids: encoding.token_type_ids,
            truncated: encoding.truncated,
        })
    }
}

/// Mean of the hidden states over the tokens the mask keeps, then L2-normalised: the
/// sentence-transformers embedding of all-MiniLM-L6-v2 and its kin.
///
/// # Shapes
/// - last_hidden_state: `[batch, seq, hidden]`
/// - attention_mask: `[batch, seq]`
/// - output: `[batch, hidden]`
pub fn mean_pooled_normalized(
    last_hidden_state: Tensor<3>,
    attention_mask: Tensor<2, Int>,
) -> Tensor<2> {
    let mean = mean_pooled(last_hidden_state, attention_mask);
    // F.normalize: x / max(||x||, 1e-12).
    let norm = mean
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    mean / norm
}

/// Mean of the hidden states over the tokens the mask keeps.
///
/// # Shapes
/// - last_hidden_state: `[batch, seq, hidden]`
/// - attention_mask: `[batch, seq]`
/// - output: `[batch, hidden]`
pub fn mean_pooled(last_hidden_state: Tensor<3>, attention_mask: Tensor<2, Int>) -> Tensor<2> {
    let [batch, seq, hidden] = last_hidden_state.dims();
    let mask = attention_mask.float().reshape([batch, seq, 1]);
    let summed = (last_hidden_state * mask.clone())
        .sum_dim(1)
        .reshape([batch, hidden]);
    let count = mask.sum_dim(1).reshape([batch, 1]).clamp_min(1e-9);
    summed / count
}
