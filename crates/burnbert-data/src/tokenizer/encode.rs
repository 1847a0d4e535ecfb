//! Texts, pairs and words into token ids: truncation, windows, the encodings' form.

use tokenizers::{
    EncodeInput, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::DataError;

use super::BertTokenizer;

/// Which text of a pair to cut when the pair is too long (HF's `truncation=` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Truncation {
    /// Take a token from the longer text until the pair fits (`True` / `"longest_first"`).
    #[default]
    LongestFirst,
    /// Cut only the second text (`"only_second"`: the context of a question).
    OnlySecond,
}

/// A tokenized text (or text pair), unpadded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// WordPiece ids with `[CLS]` and `[SEP]`.
    pub input_ids: Vec<u32>,
    /// 0 for the first text (and its specials), 1 for the pair.
    pub token_type_ids: Vec<u32>,
    /// The tokens as strings.
    pub tokens: Vec<String>,
    /// Byte span of each token in its (UTF-8) text, `(0, 0)` for special tokens.
    pub offsets: Vec<(usize, usize)>,
    /// Index of the word each token comes from, `None` for special tokens.
    pub word_ids: Vec<Option<u32>>,
    /// Which text each token comes from: `Some(0)`, `Some(1)`, or `None` for special tokens.
    pub sequence_ids: Vec<Option<usize>>,
    /// Whether the input was cut to fit `max_length`.
    pub truncated: bool,
}

impl Encoding {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    /// Whether there is no token (never the case for BERT inputs, which have `[CLS]` and `[SEP]`).
    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }
}

impl BertTokenizer {
    /// Encodes a text, or a text pair, truncated to `max_length` tokens (longest first).
    ///
    /// An empty (or white-space only) text is an error: there is nothing to classify.
    pub fn encode(
        &self,
        text: &str,
        pair: Option<&str>,
        max_length: usize,
    ) -> Result<Encoding, DataError> {
        self.encode_with(text, pair, max_length, Truncation::LongestFirst)
    }

    /// Encodes as [`Self::encode`] with a chosen truncation (`OnlySecond` for QA contexts).
    pub fn encode_with(
        &self,
        text: &str,
        pair: Option<&str>,
        max_length: usize,
        truncation: Truncation,
    ) -> Result<Encoding, DataError> {
        let max_length = self.cap_max_length(max_length);
        let input = text_input(text, pair)?;
        let encoding = self.run(&self.inner, input.clone())?;
        if encoding.len() <= max_length {
            return self.checked(self.to_encoding(encoding, false), text, true);
        }
        let tokenizer = truncating(&self.inner, max_length, truncation, 0)?;
        let encoding = self.run(&tokenizer, input)?;
        if encoding.len() > max_length {
            // The text that may be cut cannot be cut enough (the special tokens, or a question
            // kept whole, take the room).
            return Err(DataError::Encode(format!(
                "max_length {max_length} is too short for this input: it cannot be cut below {} \
                 tokens",
                encoding.len()
            )));
        }
        self.checked(self.to_encoding(encoding, true), text, true)
    }

    /// Encodes a whole text, or pair, however long: its words and their pieces, for splitting
    /// into windows (ids are checked against the model's tables, the length is not).
    pub fn encode_untruncated(
        &self,
        text: &str,
        pair: Option<&str>,
    ) -> Result<Encoding, DataError> {
        let encoding = self.run(&self.inner, text_input(text, pair)?)?;
        self.checked(self.to_encoding(encoding, false), text, false)
    }

    /// Encodes a sentence already split into words (HF's `is_split_into_words=True`):
    /// `[CLS] pieces [SEP]`, each piece's `word_ids` naming its word, cut to `max_length`
    /// tokens (the pieces of the last words go first). Offsets are within each word.
    pub fn encode_words(&self, words: &[&str], max_length: usize) -> Result<Encoding, DataError> {
        let max_length = self.cap_max_length(max_length);
        let encoding = self.encode_words_untruncated(words)?;
        if encoding.len() <= max_length {
            return self.checked(encoding, &words.join(" "), true);
        }
        let tokenizer = truncating(&self.inner, max_length, Truncation::LongestFirst, 0)?;
        let encoding = self.run(&tokenizer, words.to_vec().into())?;
        self.checked(self.to_encoding(encoding, true), &words.join(" "), true)
    }

    /// Encodes a sentence of words as [`Self::encode_words`] does, however long (for splitting
    /// into windows: the length is not checked).
    pub fn encode_words_untruncated(&self, words: &[&str]) -> Result<Encoding, DataError> {
        if words.is_empty() || words.iter().all(|w| w.trim().is_empty()) {
            return Err(DataError::EmptyText);
        }
        let encoding = self.run(&self.inner, words.to_vec().into())?;
        self.checked(self.to_encoding(encoding, false), &words.join(" "), false)
    }

    /// Encodes a question and a long context as `transformers` does for extractive QA
    /// (`truncation="only_second"`, `stride=doc_stride`, `return_overflowing_tokens=True`):
    /// windows of at most `max_length` tokens, each `[CLS] question [SEP] part of context [SEP]`,
    /// consecutive parts overlapping by `doc_stride` tokens (halved until the windows move on
    /// when the question leaves less room than that). Offsets are byte spans in the context.
    pub fn encode_windows(
        &self,
        question: &str,
        context: &str,
        max_length: usize,
        doc_stride: usize,
    ) -> Result<Vec<Encoding>, DataError> {
        if question.trim().is_empty() || context.trim().is_empty() {
            return Err(DataError::EmptyText);
        }
        let max_length = self.cap_max_length(max_length);
        // Room for the context in a window; a stride that leaves no progress is halved to fit.
        let question_tokens = self.run_with(&self.inner, question.into(), false)?.len();
        let room = max_length.saturating_sub(question_tokens + 3);
        if room == 0 {
            return Err(DataError::Encode(format!(
                "the question has {question_tokens} tokens: no room for the context in {max_length}"
            )));
        }
        let stride = if doc_stride >= room {
            room / 2
        } else {
            doc_stride
        };
        let tokenizer = truncating(&self.inner, max_length, Truncation::OnlySecond, stride)?;
        let mut encoding = self.run(&tokenizer, (question, context).into())?;
        let overflowing = encoding.take_overflowing();
        let truncated = !overflowing.is_empty();
        std::iter::once(encoding)
            .chain(overflowing)
            .map(|e| self.checked(self.to_encoding(e, truncated), question, true))
            .collect()
    }

    /// `tokenizer.encode(input)` with special tokens, a failure (or a panic of the
    /// `tokenizers` crate) as [`DataError::Encode`].
    fn run(
        &self,
        tokenizer: &Tokenizer,
        input: EncodeInput,
    ) -> Result<tokenizers::Encoding, DataError> {
        self.run_with(tokenizer, input, true)
    }

    /// [`Self::run`], with or without the special tokens.
    fn run_with(
        &self,
        tokenizer: &Tokenizer,
        input: EncodeInput,
        special_tokens: bool,
    ) -> Result<tokenizers::Encoding, DataError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tokenizer.encode(input, special_tokens)
        }))
        .map_err(|_| {
            DataError::Encode(format!(
                "the tokenizer of {} failed on this input",
                self.source.display()
            ))
        })?
        .map_err(|e| DataError::Encode(e.to_string()))
    }

    fn to_encoding(&self, e: tokenizers::Encoding, truncated: bool) -> Encoding {
        let mut encoding = to_encoding(e, truncated);
        if !self.token_type_ids {
            encoding.token_type_ids.fill(0);
        }
        encoding
    }

    /// Turns ids back into text (WordPiece pieces joined, special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        self.decode_with(ids, true)
    }

    /// Turns ids back into text, special tokens kept or skipped (`tokenizer.decode(ids,
    /// skip_special_tokens=...)`).
    pub fn decode_with(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, DataError> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|e| DataError::Encode(e.to_string()))
    }
}

/// A text or a pair as the tokenizer's input; an empty (or white-space only) text is an error.
fn text_input<'a>(text: &'a str, pair: Option<&'a str>) -> Result<EncodeInput<'a>, DataError> {
    if text.trim().is_empty() || pair.is_some_and(|p| p.trim().is_empty()) {
        return Err(DataError::EmptyText);
    }
    Ok(match pair {
        Some(p) => (text, p).into(),
        None => text.into(),
    })
}

/// A copy of `tokenizer` that truncates to `max_length` (`stride` tokens overlapping between
/// the overflowing windows).
fn truncating(
    tokenizer: &Tokenizer,
    max_length: usize,
    truncation: Truncation,
    stride: usize,
) -> Result<Tokenizer, DataError> {
    let mut tokenizer = tokenizer.clone();
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length,
            strategy: match truncation {
                Truncation::LongestFirst => TruncationStrategy::LongestFirst,
                Truncation::OnlySecond => TruncationStrategy::OnlySecond,
            },
            stride,
            direction: TruncationDirection::Right,
        }))
        .map_err(|e| DataError::Encode(e.to_string()))?;
    Ok(tokenizer)
}

fn to_encoding(e: tokenizers::Encoding, truncated: bool) -> Encoding {
    let sequence_ids = (0..e.len())
        .map(|i| {
            if e.get_special_tokens_mask()[i] == 1 {
                None
            } else {
                e.get_sequence_ids()[i]
            }
        })
        .collect();
    Encoding {
        input_ids: e.get_ids().to_vec(),
        token_type_ids: e.get_type_ids().to_vec(),
        tokens: e.get_tokens().to_vec(),
        offsets: e.get_offsets().to_vec(),
        word_ids: e.get_word_ids().to_vec(),
        sequence_ids,
        truncated,
    }
}
