//! Inference with a fine-tuned head: labels and probabilities, tags per token, answer spans.
//! Shared by the CLI and by library users.

use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softmax};
use burnbert_data::token_classification::entity_groups;
use burnbert_data::{BertTokenizer, Encoding, PaddedBatch};
use burnbert_model::{
    BertConfig, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, ProblemType,
};
use serde::Serialize;

use crate::Error;

/// The prediction of a sequence classifier for one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequencePrediction {
    /// The most probable label (for multi-label: the labels above 0.5, comma-separated).
    pub label: String,
    /// Probability of each label, in id order, as the text-classification pipeline gives it:
    /// softmax; sigmoid for multi-label and one-label heads; the raw score for regression.
    pub probabilities: Vec<f32>,
    /// The logits, in id order.
    pub logits: Vec<f32>,
}

/// The prediction of a tagger for one token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenPrediction {
    /// The WordPiece token.
    pub token: String,
    /// Start of the token in the text, in characters (as Python counts them).
    pub start: usize,
    /// End of the token in the text, in characters (exclusive).
    pub end: usize,
    /// Index of the word the token belongs to.
    pub word: u32,
    /// The most probable label.
    pub label: String,
    /// Its probability.
    pub score: f32,
    /// The token's logits, in label id order.
    pub logits: Vec<f32>,
}

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

/// The rows of a `[rows, cols]` tensor; a NaN or infinite value is an error (a model whose
/// weights or inputs overflow gives no usable prediction).
fn rows(tensor: Tensor<2>) -> Result<Vec<Vec<f32>>, Error> {
    let [_, cols] = tensor.dims();
    let data: Vec<f32> = tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data");
    check_finite(&data, "output")?;
    Ok(data.chunks(cols.max(1)).map(<[f32]>::to_vec).collect())
}

/// An error when `values` (a model's `what`) hold a NaN or an infinity.
pub fn check_finite(values: &[f32], what: &str) -> Result<(), Error> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Error::NonFinite {
            what: what.to_string(),
            value: values[i],
            index: i,
        }),
    }
}

fn encode_all(
    tokenizer: &BertTokenizer,
    inputs: &[(String, Option<String>)],
    max_length: usize,
) -> Result<Vec<Encoding>, Error> {
    inputs
        .iter()
        .map(|(t, p)| Ok(tokenizer.encode(t, p.as_deref(), max_length)?))
        .collect()
}

/// Classifies texts (or text pairs).
pub fn classify(
    model: &BertForSequenceClassification,
    config: &BertConfig,
    tokenizer: &BertTokenizer,
    inputs: &[(String, Option<String>)],
    max_length: usize,
    device: &Device,
) -> Result<Vec<SequencePrediction>, Error> {
    let encodings = encode_all(tokenizer, inputs, max_length)?;
    let batch = PaddedBatch::new(&encodings, tokenizer.pad_id())?;
    let logits = model.forward(batch.to_input(device));
    let labels = config.labels();
    // The text-classification pipeline's `function_to_apply`: none for regression, a sigmoid
    // for multi-label and for any one-label head, else a softmax.
    let problem = match config.problem_type {
        Some(ProblemType::Regression) => ProblemType::Regression,
        Some(ProblemType::MultiLabelClassification) => ProblemType::MultiLabelClassification,
        _ if labels.len() == 1 => ProblemType::MultiLabelClassification,
        _ => ProblemType::SingleLabelClassification,
    };
    let probabilities = match problem {
        ProblemType::SingleLabelClassification => softmax(logits.clone(), 1),
        ProblemType::MultiLabelClassification => sigmoid(logits.clone()),
        ProblemType::Regression => logits.clone(),
    };
    Ok(rows(logits)?
        .into_iter()
        .zip(rows(probabilities)?)
        .map(|(logits, probabilities)| {
            let label = match problem {
                ProblemType::MultiLabelClassification if labels.len() > 1 => labels
                    .iter()
                    .zip(&probabilities)
                    .filter(|(_, p)| **p > 0.5)
                    .map(|(l, _)| l.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => labels[argmax(&probabilities)].clone(),
            };
            SequencePrediction {
                label,
                probabilities,
                logits,
            }
        })
        .collect())
}

/// Tags every token of a text (special tokens left out).
pub fn tag(
    model: &BertForTokenClassification,
    config: &BertConfig,
    tokenizer: &BertTokenizer,
    text: &str,
    max_length: usize,
    device: &Device,
) -> Result<Vec<TokenPrediction>, Error> {
    let encoding = tokenizer.encode(text, None, max_length)?;
    let batch = PaddedBatch::new(std::slice::from_ref(&encoding), tokenizer.pad_id())?;
    let logits = model.forward(batch.to_input(device));
    let [_, seq, num_labels] = logits.dims();
    let logits = logits.reshape([seq, num_labels]);
    let probabilities = rows(softmax(logits.clone(), 1))?;
    let logits = rows(logits)?;
    let labels = config.labels();
    Ok((0..seq)
        .filter_map(|i| {
            let word = encoding.word_ids[i]?;
            let best = argmax(&probabilities[i]);
            Some(TokenPrediction {
                token: encoding.tokens[i].clone(),
                start: char_index(text, encoding.offsets[i].0),
                end: char_index(text, encoding.offsets[i].1),
                word,
                label: labels[best].clone(),
                score: probabilities[i][best],
                logits: logits[i].clone(),
            })
        })
        .collect())
}

/// The best answer span to `question` in `context`, as `transformers`' question-answering
/// pipeline finds it: the context is read in windows of `max_length` tokens overlapping by
/// `doc_stride` (`only_second` truncation with a stride), start and end probabilities are the
/// softmax of the logits over each window's context tokens and `[CLS]`, and the span of highest
/// `p(start) · p(end)`, `start <= end`, at most `max_answer_length` tokens, over all windows
/// is returned. A long context is read whole, not cut.
#[allow(clippy::too_many_arguments)]
pub fn answer(
    model: &BertForQuestionAnswering,
    tokenizer: &BertTokenizer,
    question: &str,
    context: &str,
    max_length: usize,
    doc_stride: usize,
    max_answer_length: usize,
    device: &Device,
) -> Result<Answer, Error> {
    let windows =
        tokenizer.encode_windows(question.trim_start(), context, max_length, doc_stride)?;
    let batch = PaddedBatch::new(&windows, tokenizer.pad_id())?;
    let [rows_n, seq] = [batch.batch_size, batch.seq_len];
    let (start_logits, end_logits) = model.forward(batch.to_input(device));
    let not_context: Vec<bool> = windows
        .iter()
        .flat_map(|w| (0..seq).map(move |i| w.sequence_ids.get(i).copied().flatten() != Some(1)))
        .collect();
    // As the pipeline does, `[CLS]` stays in the softmax: a window the model reads as holding
    // no answer puts its mass there, which keeps its spans' probabilities low.
    let masked: Vec<bool> = not_context
        .iter()
        .enumerate()
        .map(|(i, &m)| m && i % seq != 0)
        .collect();
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(masked, [rows_n, seq]), device);
    let probabilities = |logits: Tensor<2>| {
        rows(softmax(
            logits.mask_fill(mask.clone(), f32::NEG_INFINITY),
            1,
        ))
    };
    let (p_start, p_end) = (
        probabilities(start_logits.clone())?,
        probabilities(end_logits.clone())?,
    );
    let (start_logits, end_logits) = (rows(start_logits)?, rows(end_logits)?);
    let mut best: Option<(usize, usize, usize, f32)> = None;
    for (w, window) in windows.iter().enumerate() {
        let in_context = |i: usize| !not_context[w * seq + i];
        for s in (0..window.len()).filter(|&i| in_context(i)) {
            for e in (s..window.len().min(s + max_answer_length)).filter(|&i| in_context(i)) {
                let score = p_start[w][s] * p_end[w][e];
                if best.is_none_or(|(_, _, _, b)| score > b) {
                    best = Some((w, s, e, score));
                }
            }
        }
    }
    let (w, s, e, score) =
        best.ok_or_else(|| crate::DataError::Encode("the context has no token".into()))?;
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

/// The character index of a byte offset (the tokenizer's offsets are bytes of the UTF-8 text).
fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

/// A named entity found in a text, as `transformers`' token-classification pipeline gives it
/// with `aggregation_strategy="first"`: words tagged from their first piece, pieces merged back
/// into words, consecutive words of one entity merged by the pipeline's grouping rules
/// ([`entity_groups`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// The entity type (`PER`, `LOC`, ...).
    pub entity_group: String,
    /// The mean probability of its words' tags.
    pub score: f32,
    /// Its text.
    pub word: String,
    /// Character offset of its start in the text.
    pub start: usize,
    /// Character offset of its end (exclusive).
    pub end: usize,
}

/// The entities of a text. A text longer than `max_length` tokens is read in windows of whole
/// words, so no part of it is left untagged.
pub fn entities(
    model: &BertForTokenClassification,
    config: &BertConfig,
    tokenizer: &BertTokenizer,
    text: &str,
    max_length: usize,
    device: &Device,
) -> Result<Vec<Entity>, Error> {
    // The words as BERT's pre-tokenizer splits the text, with their byte spans.
    let encoding = tokenizer.encode_untruncated(text, None)?;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (word, &(start, end)) in encoding.word_ids.iter().zip(&encoding.offsets) {
        let Some(word) = word else { continue };
        match spans.get_mut(*word as usize) {
            Some(span) => span.1 = span.1.max(end),
            None => spans.push((start, end)),
        }
    }
    let words: Vec<&str> = spans.iter().map(|&(a, b)| &text[a..b]).collect();
    let predicted = burnbert_train::token_classification::predict_word_tags(
        model,
        tokenizer,
        std::slice::from_ref(&words),
        max_length,
        32,
        device,
    )?;
    let labels = config.labels();
    let tags: Vec<&str> = predicted[0]
        .iter()
        .map(|p| p.map_or("O", |(id, _)| labels[id].as_str()))
        .collect();
    Ok(entity_groups(&tags)
        .into_iter()
        .map(|c| {
            let (start, end) = (spans[c.first].0, spans[c.last].1);
            let scores: Vec<f32> = predicted[0][c.first..=c.last]
                .iter()
                .map(|p| p.map_or(0.0, |(_, s)| s))
                .collect();
            Entity {
                entity_group: c.kind,
                score: scores.iter().sum::<f32>() / scores.len() as f32,
                word: text[start..end].to_string(),
                start: char_index(text, start),
                end: char_index(text, end),
            }
        })
        .collect())
}
