//! `transformers.pipeline("question-answering")`: the best answer span to a question in a
//! context.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use burnbert_data::PaddedBatch;
use burnbert_model::BertForQuestionAnswering;
use serde::Serialize;

use super::{Pipeline, PipelineOptions, char_index, rows};
use crate::{DataError, Error};

/// An answer span found in a context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The answer, as it appears in the context.
    pub text: String,
    /// Start of the answer in the context, in characters (as Python counts them).
    pub start: usize,
    /// End of the answer in the context, in characters (exclusive).
    pub end: usize,
    /// `p(start) · p(end)` under the softmax over the context's tokens.
    pub score: f32,
    /// The start logit of the answer's first token.
    pub start_logit: f32,
    /// The end logit of the answer's last token.
    pub end_logit: f32,
}

/// The question-answering pipeline's settings, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerOptions {
    /// Tokens shared by consecutive windows of a long context (`doc_stride`, 128).
    pub doc_stride: usize,
    /// The longest answer, in tokens (`max_answer_len`, 15).
    pub max_answer_len: usize,
}

impl Default for AnswerOptions {
    fn default() -> Self {
        Self {
            doc_stride: 128,
            max_answer_len: 15,
        }
    }
}

impl PipelineOptions for AnswerOptions {
    const MAX_SEQ_LEN: Option<usize> = Some(384);
}

impl Pipeline<BertForQuestionAnswering, AnswerOptions> {
    /// The best answer to each `(question, context)`.
    ///
    /// As `transformers`' question-answering pipeline finds it: the context is read in windows
    /// of [`max_length`](Pipeline::max_length) tokens overlapping by `doc_stride`
    /// (`only_second` truncation with a stride), start and end probabilities are the softmax of
    /// the logits over each window's context tokens and `[CLS]`, and the span of highest
    /// `p(start) · p(end)`, `start <= end`, at most `max_answer_len` tokens, over all windows is
    /// returned. A long context is read whole, not cut.
    ///
    /// # Errors
    /// A text the tokenizer cannot encode; a context with no token; a NaN or infinite logit.
    pub fn predict<Q: AsRef<str>, C: AsRef<str>>(
        &self,
        inputs: &[(Q, C)],
    ) -> Result<Vec<Answer>, Error> {
        inputs
            .iter()
            .map(|(q, c)| self.answer(q.as_ref(), c.as_ref()))
            .collect()
    }

    fn answer(&self, question: &str, context: &str) -> Result<Answer, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let AnswerOptions {
            doc_stride,
            max_answer_len,
        } = self.options;
        let windows = tokenizer.encode_windows(
            question.trim_start(),
            context,
            self.max_length,
            doc_stride,
        )?;
        let (mut p_start, mut p_end, mut start_logits, mut end_logits) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut not_context: Vec<Vec<bool>> = Vec::new();
        for chunk in windows.chunks(self.batch_size.max(1)) {
            let batch = PaddedBatch::new(chunk, tokenizer.pad_id())?;
            let [rows_n, seq] = [batch.batch_size, batch.seq_len];
            let (start, end) = self.pretrained.model.forward(batch.to_input(&self.device));
            let outside: Vec<Vec<bool>> = chunk
                .iter()
                .map(|w| {
                    (0..seq)
                        .map(|i| w.sequence_ids.get(i).copied().flatten() != Some(1))
                        .collect()
                })
                .collect();
            // As the pipeline does, `[CLS]` stays in the softmax: a window the model reads as
            // holding no answer puts its mass there, which keeps its spans' probabilities low.
            let masked: Vec<bool> = outside
                .iter()
                .flat_map(|row| row.iter().enumerate().map(|(i, &m)| m && i != 0))
                .collect();
            let mask =
                Tensor::<2, Bool>::from_data(TensorData::new(masked, [rows_n, seq]), &self.device);
            let probabilities = |logits: Tensor<2>| {
                rows(softmax(
                    logits.mask_fill(mask.clone(), f32::NEG_INFINITY),
                    1,
                ))
            };
            p_start.extend(probabilities(start.clone())?);
            p_end.extend(probabilities(end.clone())?);
            start_logits.extend(rows(start)?);
            end_logits.extend(rows(end)?);
            not_context.extend(outside);
        }
        let mut best: Option<(usize, usize, usize, f32)> = None;
        for (w, window) in windows.iter().enumerate() {
            let in_context = |i: usize| !not_context[w][i];
            for s in (0..window.len()).filter(|&i| in_context(i)) {
                for e in (s..window.len().min(s + max_answer_len)).filter(|&i| in_context(i)) {
                    let score = p_start[w][s] * p_end[w][e];
                    if best.is_none_or(|(_, _, _, b)| score > b) {
                        best = Some((w, s, e, score));
                    }
                }
            }
        }
        let (w, s, e, score) =
            best.ok_or_else(|| DataError::Encode("the context has no token".into()))?;
        let (start, end) = (windows[w].offsets[s].0, windows[w].offsets[e].1);
        Ok(Answer {
            text: context[start..end].to_string(),
            start: char_index(context, start),
            end: char_index(context, end),
            score,
            start_logit: start_logits[w][s],
            end_logit: end_logits[w][e],
        })
    }
}
