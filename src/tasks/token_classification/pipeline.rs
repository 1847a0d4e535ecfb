//! `transformers.pipeline("token-classification")`: each token's tag, or the entities of a
//! text (`aggregation_strategy="first"`).

use burn::tensor::activation::softmax;
use burnbert_data::PaddedBatch;
use crate::tasks::token_classification::data::{WordTag, entity_groups, windows};
use burnbert_model::BertForTokenClassification;
use serde::Serialize;

use crate::pipeline::{Pipeline, argmax, char_index, floats, rows};
use crate::Error;

/// `transformers.pipeline("token-classification")`: entities, or each token's tag.
pub type TokenClassificationPipeline = Pipeline<BertForTokenClassification>;

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
/// with `aggregation_strategy="first"` (see [`Pipeline::predict`]). `word` is the text it
/// covers (the pipeline's is its tokens decoded: lower-cased by an uncased vocabulary).
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
    /// The entities of each text, as the pipeline forms them with
    /// `aggregation_strategy="first"`: the text's tokens grouped into words as the pipeline
    /// groups WordPiece tokens (a token starts a word unless its length differs from the text
    /// it covers, as a `##` piece's does; an unknown token always starts one), each word tagged
    /// from its first token, consecutive words of one entity merged ([`entity_groups`]).
    ///
    /// A text longer than [`max_length`](Pipeline::max_length) tokens is read in windows of
    /// whole words, so no part of it is left untagged (the pipeline cuts it).
    ///
    /// # Errors
    /// A text the tokenizer cannot encode; a NaN or infinite logit.
    pub fn predict<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<Entity>>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let unk = tokenizer.unk_token();
        let labels = self.pretrained.config.labels();
        // Each text's tokens and the tokens of each word (as BERT's pre-tokenizer splits it),
        // then every text's words tagged in one pass of batches.
        let mut encodings = Vec::with_capacity(texts.len());
        let mut sentences: Vec<Vec<&str>> = Vec::with_capacity(texts.len());
        let mut word_pieces: Vec<Vec<Vec<usize>>> = Vec::with_capacity(texts.len());
        for text in texts {
            let text = text.as_ref();
            let encoding = tokenizer.encode_untruncated(text, None)?;
            let mut spans: Vec<(usize, usize)> = Vec::new();
            let mut pieces: Vec<Vec<usize>> = Vec::new();
            for (t, (word, &(start, end))) in
                encoding.word_ids.iter().zip(&encoding.offsets).enumerate()
            {
                let Some(word) = word else { continue };
                match spans.get_mut(*word as usize) {
                    Some(span) => {
                        span.1 = span.1.max(end);
                        pieces[*word as usize].push(t);
                    }
                    None => {
                        spans.push((start, end));
                        pieces.push(vec![t]);
                    }
                }
            }
            sentences.push(spans.iter().map(|&(a, b)| &text[a..b]).collect());
            encodings.push(encoding);
            word_pieces.push(pieces);
        }
        let tagged = self.piece_tags(&sentences)?;
        let mut out = Vec::with_capacity(texts.len());
        for (((text, encoding), pieces), tagged) in
            texts.iter().zip(&encodings).zip(&word_pieces).zip(tagged)
        {
            let text = text.as_ref();
            let mut token_tags: Vec<Option<WordTag>> = vec![None; encoding.len()];
            for (tokens, tags) in pieces.iter().zip(tagged) {
                for (&t, tag) in tokens.iter().zip(tags) {
                    token_tags[t] = Some(tag);
                }
            }
            // The pipeline's `gather_pre_entities` and `aggregate_words`: a word per token that
            // is not a subword, with the tag of its first token.
            let mut groups: Vec<((usize, usize), WordTag)> = Vec::new();
            for (t, tag) in token_tags.iter().enumerate() {
                let Some(tag) = *tag else { continue };
                let (start, end) = encoding.offsets[t];
                let token = encoding.tokens[t].as_str();
                let subword =
                    Some(token) != unk && token.chars().count() != text[start..end].chars().count();
                match groups.last_mut() {
                    Some((span, _)) if subword => span.1 = end,
                    _ => groups.push(((start, end), tag)),
                }
            }
            let tags: Vec<&str> = groups
                .iter()
                .map(|(_, (id, _))| labels[*id].as_str())
                .collect();
            out.push(
                entity_groups(&tags)
                    .into_iter()
                    .map(|c| {
                        let (start, end) = (groups[c.first].0.0, groups[c.last].0.1);
                        let scores = groups[c.first..=c.last].iter().map(|(_, (_, s))| s);
                        Entity {
                            entity_group: c.kind,
                            score: scores.sum::<f32>() / (c.last - c.first + 1) as f32,
                            word: text[start..end].to_string(),
                            start: char_index(text, start),
                            end: char_index(text, end),
                        }
                    })
                    .collect(),
            );
        }
        Ok(out)
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
        Ok(self
            .piece_tags(sentences)?
            .into_iter()
            .map(|words| words.into_iter().map(|p| p.first().copied()).collect())
            .collect())
    }

    /// The best tag id and its probability for every piece of every word of `sentences`
    /// (`[sentence][word][piece]`), each sentence read in windows of whole words; a word with
    /// no piece, or cut at the end of a window of its own, has fewer.
    fn piece_tags(&self, sentences: &[Vec<&str>]) -> Result<Vec<Vec<Vec<WordTag>>>, Error> {
        let tokenizer = &self.pretrained.tokenizer;
        let mut items = Vec::new();
        for (sentence, words) in sentences.iter().enumerate() {
            for window in windows(tokenizer, words, self.max_length)? {
                items.push((sentence, window));
            }
        }
        let mut tagged: Vec<Vec<Vec<WordTag>>> = sentences
            .iter()
            .map(|s| vec![Vec::new(); s.len()])
            .collect();
        for chunk in items.chunks(self.batch_size.max(1)) {
            let encodings: Vec<_> = chunk.iter().map(|(_, w)| w.encoding.clone()).collect();
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
            for (row, (sentence, window)) in chunk.iter().enumerate() {
                for (t, word) in window.encoding.word_ids.iter().enumerate() {
                    if let Some(w) = word {
                        let at = row * seq + t;
                        tagged[*sentence][window.first_word + *w as usize]
                            .push((index[at] as usize, best[at]));
                    }
                }
            }
        }
        Ok(tagged)
    }
}
