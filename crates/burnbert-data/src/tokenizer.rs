//! The WordPiece tokenizer of a BERT folder, on the `tokenizers` crate.

use std::path::{Path, PathBuf};

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{
    EncodeInput, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::DataError;

/// How to build a WordPiece tokenizer from a bare `vocab.txt`, as `tokenizer_config.json` says.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerOptions {
    /// Lower-case (and, unless `strip_accents` says otherwise, strip accents): uncased models.
    pub do_lower_case: bool,
    /// Strip accents; follows `do_lower_case` when `None`.
    pub strip_accents: Option<bool>,
    /// Put spaces around CJK characters.
    pub tokenize_chinese_chars: bool,
    /// The longest input the model takes (`model_max_length`), when the config names one.
    pub model_max_length: Option<usize>,
}

impl Default for TokenizerOptions {
    fn default() -> Self {
        Self {
            do_lower_case: true,
            strip_accents: None,
            tokenize_chinese_chars: true,
            model_max_length: None,
        }
    }
}

impl TokenizerOptions {
    /// Reads the options from a `tokenizer_config.json` (absent fields keep HF's defaults).
    pub fn from_file(path: &Path) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.into(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| DataError::Tokenizer {
                path: path.into(),
                message: e.to_string(),
            })?;
        let defaults = Self::default();
        Ok(Self {
            do_lower_case: json["do_lower_case"]
                .as_bool()
                .unwrap_or(defaults.do_lower_case),
            strip_accents: json["strip_accents"].as_bool(),
            tokenize_chinese_chars: json["tokenize_chinese_chars"].as_bool().unwrap_or(true),
            // HF writes a huge sentinel when no limit is known.
            model_max_length: json["model_max_length"]
                .as_f64()
                .filter(|&n| n < 1e9)
                .map(|n| n as usize),
        })
    }
}

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

/// BERT's WordPiece tokenizer: `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`, truncated to a
/// maximum length (longest first for pairs, as HF's default `truncation=True`).
#[derive(Debug, Clone)]
pub struct BertTokenizer {
    inner: Tokenizer,
    pad_id: u32,
    model_max_length: Option<usize>,
    source: PathBuf,
}

impl BertTokenizer {
    /// The tokenizer of an HF folder: `tokenizer.json` when present, else `vocab.txt` with the
    /// options of `tokenizer_config.json`.
    pub fn from_folder(folder: impl AsRef<Path>) -> Result<Self, DataError> {
        let folder = folder.as_ref();
        let json = folder.join("tokenizer.json");
        let vocab = folder.join("vocab.txt");
        let config = folder.join("tokenizer_config.json");
        let options = if config.is_file() {
            TokenizerOptions::from_file(&config)?
        } else {
            TokenizerOptions::default()
        };
        let mut tokenizer = if json.is_file() {
            Self::from_tokenizer_json(&json)?
        } else if vocab.is_file() {
            Self::from_vocab(&vocab, &options)?
        } else {
            return Err(DataError::NoTokenizer {
                folder: folder.into(),
            });
        };
        tokenizer.model_max_length = tokenizer.model_max_length.or(options.model_max_length);
        Ok(tokenizer)
    }

    /// Loads a `tokenizer.json`.
    pub fn from_tokenizer_json(path: &Path) -> Result<Self, DataError> {
        let mut inner = Tokenizer::from_file(path).map_err(|e| DataError::Tokenizer {
            path: path.into(),
            message: e.to_string(),
        })?;
        inner.with_padding(None);
        let pad_id = special_id(&inner, "[PAD]", path)?;
        Ok(Self {
            inner,
            pad_id,
            model_max_length: None,
            source: path.into(),
        })
    }

    /// Builds the WordPiece tokenizer from a `vocab.txt` (one token per line, id = line number).
    pub fn from_vocab(path: &Path, options: &TokenizerOptions) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.into(),
            source,
        })?;
        if text.trim().is_empty() {
            return Err(DataError::Tokenizer {
                path: path.into(),
                message: "the vocabulary is empty".into(),
            });
        }
        let model = WordPiece::from_file(&path.to_string_lossy())
            .unk_token("[UNK]".into())
            .continuing_subword_prefix("##".into())
            .max_input_chars_per_word(100)
            .build()
            .map_err(|e| DataError::Tokenizer {
                path: path.into(),
                message: e.to_string(),
            })?;
        let mut inner = Tokenizer::new(model);
        let id = |t: &str| {
            inner
                .token_to_id(t)
                .ok_or_else(|| DataError::MissingSpecialToken {
                    path: path.into(),
                    token: t.into(),
                })
        };
        let (cls, sep, _unk) = (id("[CLS]")?, id("[SEP]")?, id("[UNK]")?);
        let pad_id = id("[PAD]")?;
        inner
            .with_normalizer(Some(BertNormalizer::new(
                true,
                options.tokenize_chinese_chars,
                options.strip_accents,
                options.do_lower_case,
            )))
            .with_pre_tokenizer(Some(BertPreTokenizer))
            .with_post_processor(Some(BertProcessing::new(
                ("[SEP]".into(), sep),
                ("[CLS]".into(), cls),
            )))
            .with_decoder(Some(WordPieceDecoder::default()));
        Ok(Self {
            inner,
            pad_id,
            model_max_length: None,
            source: path.into(),
        })
    }

    /// The file this tokenizer was read from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Id of `[PAD]`.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// `model_max_length` from `tokenizer_config.json`, when it names one.
    pub fn model_max_length(&self) -> Option<usize> {
        self.model_max_length
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Id of a token, if in the vocabulary.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

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
        if text.trim().is_empty() || pair.is_some_and(|p| p.trim().is_empty()) {
            return Err(DataError::EmptyText);
        }
        let input: EncodeInput = match pair {
            Some(p) => (text, p).into(),
            None => text.into(),
        };
        let untruncated = self
            .inner
            .encode(input.clone(), true)
            .map_err(|e| DataError::Encode(e.to_string()))?;
        if untruncated.len() <= max_length {
            return Ok(to_encoding(untruncated, false));
        }
        let mut tokenizer = self.inner.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: match truncation {
                    Truncation::LongestFirst => TruncationStrategy::LongestFirst,
                    Truncation::OnlySecond => TruncationStrategy::OnlySecond,
                },
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| DataError::Encode(e.to_string()))?;
        let encoding = tokenizer
            .encode(input, true)
            .map_err(|e| DataError::Encode(e.to_string()))?;
        Ok(to_encoding(encoding, true))
    }

    /// Encodes a sentence already split into words (HF's `is_split_into_words=True`):
    /// `[CLS] pieces [SEP]`, each piece's `word_ids` naming its word, cut to `max_length`
    /// tokens (the pieces of the last words go first). Offsets are within each word.
    pub fn encode_words(&self, words: &[&str], max_length: usize) -> Result<Encoding, DataError> {
        if words.is_empty() || words.iter().all(|w| w.trim().is_empty()) {
            return Err(DataError::EmptyText);
        }
        let input: EncodeInput = words.to_vec().into();
        let encoding = self
            .inner
            .encode(input.clone(), true)
            .map_err(|e| DataError::Encode(e.to_string()))?;
        if encoding.len() <= max_length {
            return Ok(to_encoding(encoding, false));
        }
        let mut tokenizer = self.inner.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                ..Default::default()
            }))
            .map_err(|e| DataError::Encode(e.to_string()))?;
        let encoding = tokenizer
            .encode(input, true)
            .map_err(|e| DataError::Encode(e.to_string()))?;
        Ok(to_encoding(encoding, true))
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
        // Room for the context in a window; a stride that leaves no progress is halved to fit.
        let question_tokens = self
            .inner
            .encode(question, false)
            .map_err(|e| DataError::Encode(e.to_string()))?
            .len();
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
        let mut tokenizer = self.inner.clone();
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length,
                strategy: TruncationStrategy::OnlySecond,
                stride,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| DataError::Encode(e.to_string()))?;
        let mut encoding = tokenizer
            .encode((question, context), true)
            .map_err(|e| DataError::Encode(e.to_string()))?;
        let overflowing = encoding.take_overflowing();
        let truncated = !overflowing.is_empty();
        Ok(std::iter::once(encoding)
            .chain(overflowing)
            .map(|e| to_encoding(e, truncated))
            .collect())
    }

    /// Turns ids back into text (WordPiece pieces joined, special tokens skipped).
    pub fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        self.inner
            .decode(ids, true)
            .map_err(|e| DataError::Encode(e.to_string()))
    }
}

fn special_id(tokenizer: &Tokenizer, token: &str, path: &Path) -> Result<u32, DataError> {
    tokenizer
        .token_to_id(token)
        .ok_or_else(|| DataError::MissingSpecialToken {
            path: path.into(),
            token: token.into(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn assets(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../assets")
            .join(name)
    }

    #[test]
    fn vocab_txt_and_tokenizer_json_agree() {
        let from_json = BertTokenizer::from_folder(assets("tiny-bert")).unwrap();
        let from_vocab =
            BertTokenizer::from_vocab(&assets("tiny-bert/vocab.txt"), &TokenizerOptions::default())
                .unwrap();
        let text = "Hello, world! The movie was unaffable.";
        let a = from_json.encode(text, None, 512).unwrap();
        let b = from_vocab.encode(text, None, 512).unwrap();
        assert_eq!(a, b);
        // transformers' BertTokenizerFast on the same vocabulary (assets/reference/tiny.json).
        assert_eq!(
            a.input_ids,
            [2, 32, 34, 33, 36, 5, 8, 10, 29, 30, 31, 35, 3]
        );
        assert_eq!(a.tokens[9..11], ["##aff", "##able"]);
        assert_eq!(a.offsets[1], (0, 5));
        assert_eq!(a.word_ids[8..11], [Some(7), Some(7), Some(7)]);
    }

    #[test]
    fn pairs_get_segment_ids_and_longest_first_truncation() {
        let t = BertTokenizer::from_folder(assets("tiny-bert-seqcls")).unwrap();
        let e = t
            .encode("What did it see?", Some("It was boring"), 512)
            .unwrap();
        assert_eq!(e.input_ids, [2, 51, 52, 20, 55, 37, 3, 20, 10, 58, 3]);
        assert_eq!(e.token_type_ids, [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(e.sequence_ids[0], None);
        assert_eq!(e.sequence_ids[7], Some(1));
        // 11 tokens into 8 and into 9, as transformers' BertTokenizerFast(truncation=True) cuts them.
        let cut = t
            .encode("What did it see?", Some("It was boring"), 8)
            .unwrap();
        assert!(cut.truncated);
        assert_eq!(cut.input_ids, [2, 51, 52, 20, 3, 20, 10, 3]);
        assert_eq!(cut.token_type_ids, [0, 0, 0, 0, 0, 1, 1, 1]);
        let cut = t
            .encode("What did it see?", Some("It was boring"), 9)
            .unwrap();
        assert_eq!(cut.input_ids, [2, 51, 52, 20, 3, 20, 10, 58, 3]);
    }

    #[test]
    fn empty_text_is_an_error_and_long_text_is_truncated() {
        let t = BertTokenizer::from_folder(assets("tiny-bert")).unwrap();
        assert!(matches!(
            t.encode("  ", None, 512),
            Err(DataError::EmptyText)
        ));
        let long = "the movie ".repeat(2000);
        let e = t.encode(&long, None, 512).unwrap();
        assert_eq!(e.len(), 512);
        assert!(e.truncated);
        assert_eq!(e.input_ids[511], 3, "ends with [SEP]");
    }

    #[test]
    fn missing_vocab_names_the_folder() {
        let err = BertTokenizer::from_folder(assets("no-such-model"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no-such-model") && err.contains("vocab.txt"),
            "{err}"
        );
    }
}
