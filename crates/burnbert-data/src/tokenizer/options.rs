//! What `tokenizer_config.json` says of a BERT tokenizer.

use std::path::Path;

use tokenizers::AddedToken;
use tokenizers::normalizers::bert::BertNormalizer;

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
    pub(super) fn normalizer(&self) -> BertNormalizer {
        BertNormalizer::new(
            true,
            self.tokenize_chinese_chars.unwrap_or(true),
            self.strip_accents,
            self.do_lower_case.unwrap_or(true),
        )
    }
}
