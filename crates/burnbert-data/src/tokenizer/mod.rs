//! The WordPiece tokenizer of a BERT folder, on the `tokenizers` crate.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::ModelWrapper;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::DataError;

mod encode;
mod limits;
mod options;

pub use encode::{Encoding, Truncation};
pub use limits::ModelLimits;
pub use options::TokenizerOptions;

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

    /// The WordPiece model's unknown token (`[UNK]` in BERT's vocabularies); `None` for a
    /// `tokenizer.json` whose model is not WordPiece.
    pub fn unk_token(&self) -> Option<&str> {
        match self.inner.get_model() {
            tokenizers::models::ModelWrapper::WordPiece(model) => Some(&model.unk_token),
            _ => None,
        }
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
