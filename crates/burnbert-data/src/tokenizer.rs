//! The WordPiece tokenizer of a BERT folder, on the `tokenizers` crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::ModelWrapper;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{
    AddedToken, EncodeInput, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::DataError;

/// What `tokenizer_config.json` says of a BERT tokenizer, as `transformers` 5's `BertTokenizer`
/// reads it. Its casing flags build the normaliser whatever the source: HF rebuilds the
/// normaliser of a `tokenizer.json` from them (huggingface/transformers#10650), with its
/// defaults (`do_lower_case=True`) for the flags the file does not name, and with those
/// defaults when there is no `tokenizer_config.json` at all (checked with transformers 5.23.0:
/// a `tokenizer.json` saying `lowercase: false` still lower-cases).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenizerOptions {
    /// Lower-case (and, unless `strip_accents` says otherwise, strip accents): uncased models.
    /// `None`: not named (HF's default for `vocab.txt` is `true`).
    pub do_lower_case: Option<bool>,
    /// Strip accents; follows `do_lower_case` when `None`.
    pub strip_accents: Option<bool>,
    /// Put spaces around CJK characters. `None`: not named (default `true`).
    pub tokenize_chinese_chars: Option<bool>,
    /// The longest input the model takes (`model_max_length`), when the config names one.
    pub model_max_length: Option<usize>,
    /// Whether the model takes `token_type_ids` (`model_input_names`; absent: yes). When it
    /// does not, every token gets segment 0, as the model then sees no ids and uses zeros.
    pub token_type_ids: bool,
    /// Special tokens the config declares (`added_tokens_decoder`), beyond BERT's five.
    pub added_tokens: Vec<AddedToken>,
}

impl Default for TokenizerOptions {
    /// HF's defaults, as for a folder without `tokenizer_config.json`.
    fn default() -> Self {
        Self {
            do_lower_case: None,
            strip_accents: None,
            tokenize_chinese_chars: None,
            model_max_length: None,
            token_type_ids: true,
            added_tokens: Vec::new(),
        }
    }
}

impl TokenizerOptions {
    /// HF's defaults, as for a folder without `tokenizer_config.json`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the options from a `tokenizer_config.json` (absent fields keep HF's defaults).
    pub fn from_file(path: &Path) -> Result<Self, DataError> {
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.into(),
            source,
        })?;
        let invalid = |message: String| DataError::Tokenizer {
            path: path.into(),
            message,
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if !json.is_object() {
            return Err(invalid("not a JSON object".into()));
        }
        let flag = |name: &str| -> Result<Option<bool>, DataError> {
            match &json[name] {
                serde_json::Value::Null => Ok(None),
                serde_json::Value::Bool(b) => Ok(Some(*b)),
                other => Err(invalid(format!(
                    "{name} must be true, false or null, not {other}"
                ))),
            }
        };
        let token_type_ids = match &json["model_input_names"] {
            serde_json::Value::Array(names) => names.iter().any(|n| n == "token_type_ids"),
            _ => true,
        };
        let mut added_tokens = Vec::new();
        if let Some(decoder) = json["added_tokens_decoder"].as_object() {
            for (id, token) in decoder {
                let Some(content) = token["content"].as_str().filter(|c| !c.is_empty()) else {
                    return Err(invalid(format!("added_tokens_decoder.{id} has no content")));
                };
                let special = token["special"].as_bool().unwrap_or(true);
                added_tokens.push(
                    AddedToken::from(content.to_string(), special)
                        .single_word(token["single_word"].as_bool().unwrap_or(false))
                        .lstrip(token["lstrip"].as_bool().unwrap_or(false))
                        .rstrip(token["rstrip"].as_bool().unwrap_or(false))
                        .normalized(token["normalized"].as_bool().unwrap_or(!special)),
                );
            }
        }
        Ok(Self {
            do_lower_case: flag("do_lower_case")?,
            strip_accents: flag("strip_accents")?,
            tokenize_chinese_chars: flag("tokenize_chinese_chars")?,
            // HF writes a huge sentinel when no limit is known.
            model_max_length: json["model_max_length"]
                .as_f64()
                .filter(|&n| (1.0..1e9).contains(&n))
                .map(|n| n as usize),
            token_type_ids,
            added_tokens,
        })
    }

    /// The BERT normaliser these options ask for, HF's defaults for the flags not named.
    fn normalizer(&self) -> BertNormalizer {
        BertNormalizer::new(
            true,
            self.tokenize_chinese_chars.unwrap_or(true),
            self.strip_accents,
            self.do_lower_case.unwrap_or(true),
        )
    }
}

/// The sizes of a model's embedding tables: every token id, segment id and position of an
/// input must fall inside them (PyTorch raises `IndexError` otherwise; a GPU gather would
/// read past the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// Rows of the word embeddings (`vocab_size`).
    pub vocab_size: usize,
    /// Rows of the segment embeddings (`type_vocab_size`).
    pub type_vocab_size: usize,
    /// Rows of the position embeddings (`max_position_embeddings`): the longest input.
    pub max_position_embeddings: usize,
}

impl ModelLimits {
    /// The table sizes of a BERT config.
    pub fn of(config: &burnbert_model::BertConfig) -> Self {
        Self {
            vocab_size: config.vocab_size,
            type_vocab_size: config.type_vocab_size,
            max_position_embeddings: config.max_position_embeddings,
        }
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
///
/// Read as `transformers` 5 reads the folder: truncation and padding saved in `tokenizer.json`
/// are ignored (HF applies them only when a call asks), `tokenizer_config.json`'s flags are
/// honoured, and special tokens typed in a text are matched whole whatever the source. With
/// [`Self::with_limits`], every encoding is checked against the model's tables and
/// `max_length` is capped at its positions.
#[derive(Debug, Clone)]
pub struct BertTokenizer {
    inner: Tokenizer,
    pad_id: u32,
    model_max_length: Option<usize>,
    token_type_ids: bool,
    limits: Option<ModelLimits>,
    warned: Arc<AtomicBool>,
    source: PathBuf,
}

/// BERT's special tokens, registered as HF's `BertTokenizer` registers them: matched in the
/// raw text before normalisation, never split.
const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

impl BertTokenizer {
    /// The tokenizer of an HF folder: `tokenizer.json` when present, else `vocab.txt`, with the
    /// options of `tokenizer_config.json`.
    pub fn from_folder(folder: impl AsRef<Path>) -> Result<Self, DataError> {
        let folder = folder.as_ref();
        let json = folder.join("tokenizer.json");
        let vocab = folder.join("vocab.txt");
        let config = folder.join("tokenizer_config.json");
        let options = if config.is_file() {
            TokenizerOptions::from_file(&config)?
        } else {
            TokenizerOptions::new()
        };
        if json.is_file() {
            let mut tokenizer = Self::from_tokenizer_json(&json)?;
            tokenizer.bert_pipeline(&json)?;
            tokenizer.apply(&options);
            Ok(tokenizer)
        } else if vocab.is_file() {
            Self::from_vocab(&vocab, &options)
        } else {
            Err(DataError::NoTokenizer {
                folder: folder.into(),
            })
        }
    }

    /// Loads a `tokenizer.json`, without the truncation and padding it may have saved.
    pub fn from_tokenizer_json(path: &Path) -> Result<Self, DataError> {
        let invalid = |message: String| DataError::Tokenizer {
            path: path.into(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.into(),
            source,
        })?;
        // JSON syntax first: the tokenizers crate panics on some malformed files (its decoder's
        // deserializer unwraps), where a valid JSON document only gets its errors.
        serde_json::from_str::<serde_json::Value>(&text).map_err(|e| invalid(e.to_string()))?;
        let mut inner = std::panic::catch_unwind(|| text.parse::<Tokenizer>())
            .map_err(|_| invalid("the tokenizers crate cannot read it".into()))?
            .map_err(|e| invalid(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| invalid(e.to_string()))?;
        Self::new(inner, path)
    }

    /// A tokenizer around `inner`, read from `source`, with HF's defaults and no limits.
    fn new(inner: Tokenizer, source: &Path) -> Result<Self, DataError> {
        let pad_id = special_id(&inner, "[PAD]", source)?;
        Ok(Self {
            inner,
            pad_id,
            model_max_length: None,
            token_type_ids: true,
            limits: None,
            warned: Arc::default(),
            source: source.into(),
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
        let mut tokenizer = Self::new(Tokenizer::new(model), path)?;
        tokenizer.bert_pipeline(path)?;
        tokenizer.apply(options);
        Ok(tokenizer)
    }

    /// BERT's WordPiece settings (`[UNK]`, `##`, 100 characters a word), pre-tokenizer,
    /// `[CLS] A [SEP] B [SEP]` post-processor, decoder and special tokens, whatever the file
    /// had: `transformers` 5's `BertTokenizer` builds these itself from the vocabulary (a
    /// `tokenizer.json`'s template and WordPiece fields are not read).
    fn bert_pipeline(&mut self, path: &Path) -> Result<(), DataError> {
        // WordPiece over the file's vocabulary, with BertTokenizer's settings.
        let ModelWrapper::WordPiece(model) = self.inner.get_model() else {
            return Err(DataError::Tokenizer {
                path: path.into(),
                message: "the model is not WordPiece: burnbert reads BERT tokenizers".into(),
            });
        };
        let mut model = model.clone();
        model.unk_token = "[UNK]".into();
        model.continuing_subword_prefix = "##".into();
        model.max_input_chars_per_word = 100;
        self.inner.with_model(model);
        let id = |t: &str| special_id(&self.inner, t, path);
        let (cls, sep, _unk) = (id("[CLS]")?, id("[SEP]")?, id("[UNK]")?);
        self.inner
            .with_pre_tokenizer(Some(BertPreTokenizer))
            .with_post_processor(Some(BertProcessing::new(
                ("[SEP]".into(), sep),
                ("[CLS]".into(), cls),
            )))
            .with_decoder(Some(WordPieceDecoder::default()));
        let specials: Vec<AddedToken> = SPECIAL_TOKENS
            .iter()
            .filter(|t| self.inner.token_to_id(t).is_some())
            .map(|t| AddedToken::from(*t, true))
            .collect();
        self.inner.add_special_tokens(&specials);
        Ok(())
    }

    /// Applies `tokenizer_config.json`'s options: the normaliser they ask for (whatever the
    /// file had, as HF rebuilds it), its special tokens, limits and input names.
    fn apply(&mut self, options: &TokenizerOptions) {
        self.inner.with_normalizer(Some(options.normalizer()));
        let (special, plain): (Vec<AddedToken>, Vec<AddedToken>) = options
            .added_tokens
            .iter()
            .cloned()
            .partition(|t| t.special);
        self.inner.add_special_tokens(&special);
        self.inner.add_tokens(&plain);
        self.model_max_length = options.model_max_length;
        self.token_type_ids = options.token_type_ids;
    }

    /// Checks every encoding against a model's embedding tables from now on, and caps
    /// `max_length` at its positions (with a warning, once, as HF's example scripts cap
    /// `max_seq_length`).
    ///
    /// # Errors
    /// When `[PAD]`'s id is past `vocab_size` (every padded batch would read past the table).
    pub fn with_limits(mut self, limits: ModelLimits) -> Result<Self, DataError> {
        if self.pad_id as usize >= limits.vocab_size {
            return Err(DataError::Tokenizer {
                path: self.source.clone(),
                message: format!(
                    "[PAD] has id {}, past the model's vocab_size {}",
                    self.pad_id, limits.vocab_size
                ),
            });
        }
        self.limits = Some(limits);
        Ok(self)
    }

    /// The limits set by [`Self::with_limits`].
    pub fn limits(&self) -> Option<ModelLimits> {
        self.limits
    }

    /// `max_length`, capped at the model's positions when limits are set (a warning the first
    /// time).
    pub fn cap_max_length(&self, max_length: usize) -> usize {
        let Some(limits) = self.limits else {
            return max_length;
        };
        let positions = limits.max_position_embeddings;
        if max_length > positions {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: max_length {max_length} is longer than the model's \
                     max_position_embeddings ({positions}); using {positions}"
                );
            }
            positions
        } else {
            max_length
        }
    }

    /// `encoding` if its ids fit the model's tables (and, with `check_length`, its
    /// positions), else an error naming `text`, the id and the limit.
    fn checked(
        &self,
        encoding: Encoding,
        text: &str,
        check_length: bool,
    ) -> Result<Encoding, DataError> {
        let Some(limits) = self.limits else {
            return Ok(encoding);
        };
        let out_of_range =
            |what: String, value: usize, limit: &'static str, size: usize| DataError::OutOfRange {
                text: excerpt(text),
                what,
                value,
                limit,
                size,
            };
        if let Some((i, &id)) = encoding
            .input_ids
            .iter()
            .enumerate()
            .find(|&(_, &id)| id as usize >= limits.vocab_size)
        {
            return Err(out_of_range(
                format!("token id {id} ('{}')", encoding.tokens[i]),
                id as usize,
                "vocab_size",
                limits.vocab_size,
            ));
        }
        if let Some(&ty) = encoding
            .token_type_ids
            .iter()
            .find(|&&t| t as usize >= limits.type_vocab_size)
        {
            return Err(out_of_range(
                format!("token type {ty} (the second text of a pair)"),
                ty as usize,
                "type_vocab_size",
                limits.type_vocab_size,
            ));
        }
        if check_length && encoding.len() > limits.max_position_embeddings {
            return Err(out_of_range(
                format!("{} tokens", encoding.len()),
                encoding.len(),
                "max_position_embeddings",
                limits.max_position_embeddings,
            ));
        }
        Ok(encoding)
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
        self.inner
            .decode(ids, true)
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

/// The first 60 characters of a text, for error messages.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(60).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
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
            BertTokenizer::from_vocab(&assets("tiny-bert/vocab.txt"), &TokenizerOptions::new())
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
