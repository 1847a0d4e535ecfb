//! `transformers.pipeline("token-classification")`: each token's tag, or the entities of a
//! text (`aggregation_strategy="first"`).

use burn::tensor::activation::softmax;
use burnbert_data::PaddedBatch;
use burnbert_data::token_classification::{
    WordTag, entity_groups, first_pieces, merge_first_pieces, windows,
};
use burnbert_model::BertForTokenClassification;
use serde::Serialize;

use super::{Pipeline, argmax, char_index, floats, rows};
use crate::Error;

/// The prediction of a tagger for one token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenPrediction {
    /// The WordPiece token (the pipeline's `word`); for the unknown token, the text it covers.
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

impl Pipeline<BertForTokenClassification> {
    /// The entities of each text. A text longer than [`max_length`](Pipeline::max_length)
    /// tokens is read in windows of whole words, so no part of it is left untagged.
    ///
    /// # Errors
    /// A text the tokenizer cannot encode; a NaN or infinite logit.
    pub fn predict<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<Entity>>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        // The words as BERT's pre-tokenizer splits each text, with their byte spans.
        let mut spans: Vec<Vec<(usize, usize)>> = Vec::with_capacity(texts.len());
        for text in texts {
            let encoding = tokenizer.encode_untruncated(text.as_ref(), None)?;
            let mut words: Vec<(usize, usize)> = Vec::new();
            for (word, &(start, end)) in encoding.word_ids.iter().zip(&encoding.offsets) {
                let Some(word) = word else { continue };
                match words.get_mut(*word as usize) {
                    Some(span) => span.1 = span.1.max(end),
                    None => words.push((start, end)),
                }
            }
            spans.push(words);
        }
        let sentences: Vec<Vec<&str>> = texts
            .iter()
            .zip(&spans)
            .map(|(text, spans)| spans.iter().map(|&(a, b)| &text.as_ref()[a..b]).collect())
            .collect();
        let predicted = self.word_tags(&sentences)?;
        let labels = self.pretrained.config.labels();
        Ok(texts
            .iter()
            .zip(spans.iter().zip(&predicted))
            .map(|(text, (spans, predicted))| {
                let text = text.as_ref();
                let tags: Vec<&str> = predicted
                    .iter()
                    .map(|p| p.map_or("O", |(id, _)| labels[id].as_str()))
                    .collect();
                entity_groups(&tags)
                    .into_iter()
                    .map(|c| {
                        let (start, end) = (spans[c.first].0, spans[c.last].1);
                        let scores: Vec<f32> = predicted[c.first..=c.last]
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
                    .collect()
            })
            .collect())
    }

    /// The tag of every token of each text (`aggregation_strategy="none"`; special tokens left
    /// out), the text cut at [`max_length`](Pipeline::max_length) tokens.
    ///
    /// # Errors
    /// As [`Self::predict`].
    pub fn tokens<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<TokenPrediction>>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let labels = self.pretrained.config.labels();
        let unk = tokenizer.unk_token();
        let mut out = Vec::with_capacity(texts.len());
        for text in texts {
            let text = text.as_ref();
            let encoding = tokenizer.encode(text, None, self.max_length)?;
            let batch = PaddedBatch::new(std::slice::from_ref(&encoding), tokenizer.pad_id())?;
            let logits = self.pretrained.model.forward(batch.to_input(&self.device));
            let [_, seq, num_labels] = logits.dims();
            let logits = logits.reshape([seq, num_labels]);
            let probabilities = rows(softmax(logits.clone(), 1))?;
            let logits = rows(logits)?;
            out.push(
                (0..seq)
                    .filter_map(|i| {
                        let word = encoding.word_ids[i]?;
                        let best = argmax(&probabilities[i]);
                        let (start, end) = encoding.offsets[i];
                        // As the pipeline names an unknown token: by the text it stands for.
                        let token = match encoding.tokens[i].as_str() {
                            t if Some(t) == unk => text[start..end].to_string(),
                            t => t.to_string(),
                        };
                        Some(TokenPrediction {
                            token,
                            start: char_index(text, start),
                            end: char_index(text, end),
                            word,
                            label: labels[best].clone(),
                            score: probabilities[i][best],
                            logits: logits[i].clone(),
                        })
                    })
                    .collect(),
            );
        }
        Ok(out)
    }

    /// The best tag id and its probability for every word of sentences given as words
    /// (`is_split_into_words`): each sentence read in windows of whole words that fit
    /// [`max_length`](Pipeline::max_length), each word tagged from its first piece; a word with
    /// no piece (a zero-width space) gets `None`.
    ///
    /// # Errors
    /// As [`Self::predict`].
    pub fn word_tags(&self, sentences: &[Vec<&str>]) -> Result<Vec<Vec<Option<WordTag>>>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let mut items = Vec::new();
        for (sentence, words) in sentences.iter().enumerate() {
            for window in windows(tokenizer, words, self.max_length)? {
                items.push((sentence, first_pieces(&window), window));
            }
        }
        let mut tagged: Vec<Vec<Option<WordTag>>> =
            sentences.iter().map(|s| vec![None; s.len()]).collect();
        for chunk in items.chunks(self.batch_size.max(1)) {
            let encodings: Vec<_> = chunk.iter().map(|(_, _, w)| w.encoding.clone()).collect();
            let batch = PaddedBatch::new(&encodings, tokenizer.pad_id())?;
            let logits = self.pretrained.model.forward(batch.to_input(&self.device));
            let [b, seq, _] = logits.dims();
            let (best, index) = softmax(logits, 2).max_dim_with_indices(2);
            let best = floats(best.reshape([b * seq]), "output")?;
            let index: Vec<i64> = index
                .reshape([b * seq])
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .expect("integer data");
            let tags: Vec<WordTag> = index.iter().map(|&i| i as usize).zip(best).collect();
            for ((sentence, first, window), row) in chunk.iter().zip(tags.chunks(seq)) {
                merge_first_pieces(window.first_word, first, row, &mut tagged[*sentence]);
            }
        }
        Ok(tagged)
    }
}
