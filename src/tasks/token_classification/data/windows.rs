//! Windows of whole words that fit the model, and the labels of their pieces.

use burnbert_model::loss::IGNORE_INDEX;

use burnbert_data::{BertTokenizer, DataError, Encoding};

/// A piece of a sentence that fits the model: its words `first_word..first_word + words`,
/// encoded (`word_ids` count from the window's first word).
#[derive(Debug, Clone)]
pub struct Window {
    /// Index of the window's first word in the sentence.
    pub first_word: usize,
    /// Number of words.
    pub words: usize,
    /// `[CLS] pieces [SEP]`.
    pub encoding: Encoding,
}

/// Splits a sentence into windows of whole words that fit `max_length` tokens with `[CLS]` and
/// `[SEP]`: one window when it fits, else as few as possible, in order, no word in two. Only a
/// single word longer than a window is cut (its first pieces kept).
pub fn windows(
    tokenizer: &BertTokenizer,
    words: &[&str],
    max_length: usize,
) -> Result<Vec<Window>, DataError> {
    let full = tokenizer.encode_words_untruncated(words)?;
    let max_length = tokenizer.cap_max_length(max_length);
    if full.len() <= max_length {
        return Ok(vec![Window {
            first_word: 0,
            words: words.len(),
            encoding: full,
        }]);
    }
    let specials = full.word_ids.iter().filter(|w| w.is_none()).count();
    let budget = max_length.saturating_sub(specials).max(1);
    let mut pieces = vec![0usize; words.len()];
    for w in full.word_ids.iter().flatten() {
        pieces[*w as usize] += 1;
    }
    let mut spans = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, &n) in pieces.iter().enumerate() {
        if used + n > budget && used > 0 {
            spans.push(start..i);
            start = i;
            used = 0;
        }
        used += n;
    }
    spans.push(start..words.len());
    spans
        .into_iter()
        .filter(|span| words[span.clone()].iter().any(|w| !w.trim().is_empty()))
        .map(|span| {
            let encoding = tokenizer.encode_words(&words[span.clone()], max_length)?;
            Ok(Window {
                first_word: span.start,
                words: span.len(),
                encoding,
            })
        })
        .collect()
}

/// The training labels of a window's tokens: the first piece of each word gets its word's tag
/// id, later pieces `-100` (or, with `continuation`, that tag's continuation id: all pieces
/// labelled), special tokens `-100`. `tags` are the window's words' tag ids.
pub fn align_labels(
    word_ids: &[Option<u32>],
    tags: &[usize],
    continuation: Option<&[usize]>,
) -> Vec<i64> {
    let mut previous = None;
    word_ids
        .iter()
        .map(|&word| {
            let label = match word {
                None => IGNORE_INDEX,
                Some(w) if Some(w) != previous => tags[w as usize] as i64,
                Some(w) => continuation.map_or(IGNORE_INDEX, |c| c[tags[w as usize]] as i64),
            };
            previous = word;
            label
        })
        .collect()
}

/// The token index of each word's first piece in a window (`None` for a word with no piece).
pub fn first_pieces(window: &Window) -> Vec<Option<usize>> {
    let mut first = vec![None; window.words];
    for (t, w) in window.encoding.word_ids.iter().enumerate() {
        if let Some(w) = w {
            first[*w as usize].get_or_insert(t);
        }
    }
    first
}

/// A word's predicted tag id and that tag's probability.
pub type WordTag = (usize, f32);
