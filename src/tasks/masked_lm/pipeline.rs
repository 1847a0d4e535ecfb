//! `transformers.pipeline("fill-mask")`: the most probable tokens at each `[MASK]` of a text.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use burnbert_data::{DataError, PaddedBatch};
use burnbert_model::BertForMaskedLM;
use serde::Serialize;

use crate::Error;
use crate::pipeline::{Pipeline, PipelineOptions, rows};

/// `transformers.pipeline("fill-mask")`: top-k tokens with their probabilities at each
/// `[MASK]`.
pub type FillMaskPipeline = Pipeline<BertForMaskedLM, FillMaskOptions>;

/// The fill-mask pipeline's settings, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillMaskOptions {
    /// Tokens given per `[MASK]` (`top_k`, 5).
    pub top_k: usize,
}

impl Default for FillMaskOptions {
    fn default() -> Self {
        Self { top_k: 5 }
    }
}

impl PipelineOptions for FillMaskOptions {}

/// One candidate for a `[MASK]`, as the pipeline's dicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillMaskPrediction {
    /// Its probability (softmax over the vocabulary).
    pub score: f32,
    /// The token's id.
    pub token: u32,
    /// The token as text (`tokenizer.decode([token])`: `##s` for a word piece).
    pub token_str: String,
    /// The input with this token in place of the `[MASK]`, decoded (special tokens skipped
    /// when the input has one `[MASK]`; kept, the other masks showing, when it has several).
    pub sequence: String,
}

impl Pipeline<BertForMaskedLM, FillMaskOptions> {
    /// Gives `top_k` tokens per `[MASK]` (`top_k`, as the pipeline's argument).
    pub fn with_top_k(mut self, top_k: usize) -> Self {
        self.options.top_k = top_k;
        self
    }

    /// The candidates of each `[MASK]` of each text: per text, a list per `[MASK]` in order,
    /// `top_k` candidates each, most probable first. Texts are cut at
    /// [`Self::max_length`](Pipeline::max_length) tokens.
    ///
    /// # Errors
    /// A text without `[MASK]` (after truncation), as the pipeline raises; a `top_k` of 0; a
    /// vocabulary without `[MASK]`; a text the tokenizer cannot encode; a non-finite logit.
    pub fn predict<S: AsRef<str>>(
        &self,
        texts: &[S],
    ) -> Result<Vec<Vec<Vec<FillMaskPrediction>>>, Error> {
        let top_k = self.options.top_k;
        if top_k == 0 {
            return Err(Error::Setting {
                setting: "top_k",
                value: 0,
                requirement: "must be at least 1".into(),
            });
        }
        let tokenizer = &self.pretrained.tokenizer;
        let mask_id =
            tokenizer
                .token_to_id("[MASK]")
                .ok_or_else(|| DataError::MissingSpecialToken {
                    path: tokenizer.source().to_path_buf(),
                    token: "[MASK]".into(),
                })?;
        let encodings = texts
            .iter()
            .map(|t| {
                let encoding = tokenizer.encode(t.as_ref(), None, self.max_length)?;
                if !encoding.input_ids.contains(&mask_id) {
                    let cut = if encoding.truncated {
                        format!(" (cut at max_length {} tokens)", self.max_length)
                    } else {
                        String::new()
                    };
                    return Err(Error::Data(DataError::Encode(format!(
                        "no mask token ([MASK]) in the input '{}'{cut}",
                        t.as_ref()
                    ))));
                }
                Ok(encoding)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut out = Vec::with_capacity(encodings.len());
        for chunk in encodings.chunks(self.batch_size.max(1)) {
            let batch = PaddedBatch::new(chunk, tokenizer.pad_id())?;
            // Each [MASK] of the batch: its row, its column.
            let masks: Vec<(usize, usize)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(row, e)| {
                    e.input_ids
                        .iter()
                        .enumerate()
                        .filter(|(_, id)| **id == mask_id)
                        .map(move |(column, _)| (row, column))
                })
                .collect();
            let positions: Vec<i64> = masks
                .iter()
                .map(|&(row, column)| (row * batch.seq_len + column) as i64)
                .collect();
            let positions = Tensor::from_data(
                TensorData::new(positions, [masks.len()]),
                &self.device,
            );
            let logits = self
                .pretrained
                .model
                .forward_at(batch.to_input(&self.device), positions);
            let probabilities = rows(softmax(logits, 1))?;
            let mut texts: Vec<Vec<Vec<FillMaskPrediction>>> = vec![Vec::new(); chunk.len()];
            for (&(row, column), probabilities) in masks.iter().zip(probabilities) {
                let ids = &chunk[row].input_ids;
                let single = ids.iter().filter(|&&id| id == mask_id).count() == 1;
                let mut order: Vec<usize> = (0..probabilities.len()).collect();
                order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
                let mut candidates = Vec::with_capacity(top_k);
                for &token in order.iter().take(top_k) {
                    let mut filled = ids.clone();
                    filled[column] = token as u32;
                    // As the pipeline: every padding id out of the sequence (a [PAD] candidate
                    // too).
                    filled.retain(|&id| id != tokenizer.pad_id());
                    candidates.push(FillMaskPrediction {
                        score: probabilities[token],
                        token: token as u32,
                        token_str: tokenizer.decode_with(&[token as u32], false)?,
                        sequence: tokenizer.decode_with(&filled, single)?,
                    });
                }
                texts[row].push(candidates);
            }
            out.extend(texts);
        }
        Ok(out)
    }
}
