//! `transformers.pipeline("question-answering")`: the best answer span to a question in a
//! context.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use burnbert_data::{Encoding, PaddedBatch};
use burnbert_model::BertForQuestionAnswering;
use serde::Serialize;

use crate::pipeline::{Pipeline, PipelineOptions, char_index, rows};
use crate::{DataError, Error};

/// `transformers.pipeline("question-answering")`: the answer span to a question in a context.
pub type QuestionAnsweringPipeline = Pipeline<BertForQuestionAnswering, AnswerOptions>;

/// An answer span found in a context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The answer, as it appears in the context: whole words.
    pub text: String,
    /// Start of the answer in the context, in characters (as Python counts them).
    pub start: usize,
    /// End of the answer in the context, in characters (exclusive).
    pub end: usize,
    /// `p(start) · p(end)` under the softmax over the context's tokens, summed over the
    /// candidate spans of the same text.
    pub score: f32,
    /// The start logit of the first candidate span of this text.
    pub start_logit: f32,
    /// The end logit of that span.
    pub end_logit: f32,
}

/// The question-answering pipeline's settings, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerOptions {
    /// Tokens shared by consecutive windows of a long context (`doc_stride`; `None`: the
    /// pipeline's default, half the max length, at most 128).
    pub doc_stride: Option<usize>,
    /// The longest answer, in tokens (`max_answer_len`, 15).
    pub max_answer_len: usize,
}

impl Default for AnswerOptions {
    fn default() -> Self {
        Self {
            doc_stride: None,
            max_answer_len: 15,
        }
    }
}

impl PipelineOptions for AnswerOptions {
    const MAX_SEQ_LEN: Option<usize> = Some(384);
}

/// Candidate spans kept per window before they are widened to words: the pipeline's
/// `top_k * 2 + 10`, with `top_k` 1.
const CANDIDATES: usize = 12;

/// The byte where the context word of `window`'s token `t` starts (the pipeline's
/// `word_to_chars(token_to_word(t), sequence_index=1)`, over the window's tokens).
fn word_start(window: &Encoding, t: usize) -> usize {
    word_tokens(window, t)
        .map(|i| window.offsets[i].0)
        .min()
        .unwrap_or(window.offsets[t].0)
}

/// The byte where the context word of `window`'s token `t` ends (exclusive).
fn word_end(window: &Encoding, t: usize) -> usize {
    word_tokens(window, t)
        .map(|i| window.offsets[i].1)
        .max()
        .unwrap_or(window.offsets[t].1)
}

/// The context tokens of `window` in the same word as token `t`.
fn word_tokens(window: &Encoding, t: usize) -> impl Iterator<Item = usize> + '_ {
    let word = window.word_ids[t];
    (0..window.len()).filter(move |&i| {
        word.is_some() && window.word_ids[i] == word && window.sequence_ids[i] == Some(1)
    })
}

impl Pipeline<BertForQuestionAnswering, AnswerOptions> {
    /// The best answer to each `(question, context)`.
    ///
    /// As `transformers`' question-answering pipeline finds it (4.57's `question_answering.py`,
    /// `top_k=1`, `align_to_words=True`; transformers 5 has none): the context is read in
    /// windows of [`max_length`](Pipeline::max_length) tokens overlapping by `doc_stride`
    /// (`only_second` truncation with a stride); start and end probabilities are the softmax of
    /// the logits over each window's context tokens and `[CLS]`; each window's 12 spans of
    /// highest `p(start) · p(end)` (`start <= end`, at most `max_answer_len` tokens) are widened
    /// to whole words, and spans of the same text add up their scores. A long context is read
    /// whole, not cut.
    ///
    /// # Errors
    /// `max_answer_len` 0 or `doc_stride` above `max_length` (as the pipeline refuses them); a
    /// text the tokenizer cannot encode; a context with no token; a NaN or infinite logit.
    pub fn predict<Q: AsRef<str>, C: AsRef<str>>(
        &self,
        inputs: &[(Q, C)],
    ) -> Result<Vec<Answer>, Error> {
        // As the pipeline checks its arguments.
        let AnswerOptions {
            doc_stride,
            max_answer_len,
        } = self.options;
        let doc_stride = doc_stride.unwrap_or((self.max_length / 2).min(128));
        if max_answer_len < 1 {
            return Err(Error::Setting {
                setting: "max_answer_len",
                value: max_answer_len,
                requirement: "must be at least 1".into(),
            });
        }
        if doc_stride > self.max_length {
            return Err(Error::Setting {
                setting: "doc_stride",
                value: doc_stride,
                requirement: format!("must not exceed max_seq_len ({})", self.max_length),
            });
        }
        inputs
            .iter()
            .map(|(q, c)| self.answer(q.as_ref(), c.as_ref(), doc_stride, max_answer_len))
            .collect()
    }

    fn answer(
        &self,
        question: &str,
        context: &str,
        doc_stride: usize,
        max_answer_len: usize,
    ) -> Result<Answer, Error> {
        let tokenizer = &self.pretrained.tokenizer;
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
        // As the pipeline's postprocessing: per window, the best candidate spans (`[CLS]`
        // given probability 0 once the softmax is taken), each widened to the whole words it
        // touches; spans of the same text (compared without case) add up their scores, over
        // all windows; the answer is the text of highest score.
        let mut answers: Vec<Answer> = Vec::new();
        for (w, window) in windows.iter().enumerate() {
            let in_context = |i: usize| i > 0 && !not_context[w][i];
            let mut spans: Vec<(usize, usize, f32)> = Vec::new();
            for s in (0..window.len()).filter(|&i| in_context(i)) {
                for e in (s..window.len().min(s + max_answer_len)).filter(|&i| in_context(i)) {
                    spans.push((s, e, p_start[w][s] * p_end[w][e]));
                }
            }
            spans.sort_by(|a, b| b.2.total_cmp(&a.2));
            for &(s, e, score) in spans.iter().take(CANDIDATES) {
                let (start, end) = (word_start(window, s), word_end(window, e));
                let text = &context[start..end];
                match answers
                    .iter_mut()
                    .find(|a| a.text.to_lowercase() == text.to_lowercase())
                {
                    Some(same) => same.score += score,
                    None => answers.push(Answer {
                        text: text.to_string(),
                        start,
                        end,
                        score,
                        start_logit: start_logits[w][s],
                        end_logit: end_logits[w][e],
                    }),
                }
            }
        }
        let mut best = answers
            .into_iter()
            .reduce(|best, a| if a.score > best.score { a } else { best })
            .ok_or_else(|| DataError::Encode("the context has no token".into()))?;
        (best.start, best.end) = (
            char_index(context, best.start),
            char_index(context, best.end),
        );
        Ok(best)
    }
}
