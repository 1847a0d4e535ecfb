//! The readers of tagged sentences: CoNLL columns and JSON lines.

use std::path::Path;

use super::TaggedSentence;
use burnbert_data::DataError;
use burnbert_data::Location;

fn read_text(path: &Path) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        DataError::Invalid {
            file: path.into(),
            line,
            message: "invalid UTF-8".into(),
        }
    })
}

/// Reads a CoNLL file: one word per line with white-space or tab separated columns, the word
/// first and its tag last; blank lines between sentences; `-DOCSTART-` lines skipped.
pub fn read_conll(path: &Path) -> Result<Vec<TaggedSentence>, DataError> {
    let text = read_text(path)?;
    let mut sentences = Vec::new();
    let mut current: Option<TaggedSentence> = None;
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if columns.is_empty() || columns[0] == "-DOCSTART-" {
            sentences.extend(current.take());
            continue;
        }
        if columns.len() < 2 {
            return Err(DataError::Invalid {
                file: path.into(),
                line: i + 1,
                message: format!(
                    "'{line}' has one column: expected a word and its tag (the last column)"
                ),
            });
        }
        let sentence = current.get_or_insert_with(|| TaggedSentence {
            words: Vec::new(),
            tags: Vec::new(),
            location: Location {
                file: path.into(),
                line: i + 1,
            },
            lines: Vec::new(),
        });
        sentence.words.push(columns[0].to_string());
        sentence.tags.push(columns[columns.len() - 1].to_string());
        sentence.lines.push(i + 1);
    }
    sentences.extend(current);
    if sentences.is_empty() {
        return Err(DataError::EmptyDataset { file: path.into() });
    }
    Ok(sentences)
}

/// Reads JSON lines of `{"tokens": [...], "tags": [...]}` (`ner_tags` is accepted for `tags`;
/// tags are strings, or numbers used as names).
pub fn read_tagged_jsonl(path: &Path) -> Result<Vec<TaggedSentence>, DataError> {
    let text = read_text(path)?;
    let mut sentences = Vec::new();
    for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let invalid = |message: String| DataError::Invalid {
            file: path.into(),
            line: i + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| invalid(e.to_string()))?;
        let strings = |key: &str| -> Result<Option<Vec<String>>, DataError> {
            let Some(list) = value.get(key) else {
                return Ok(None);
            };
            let list = list
                .as_array()
                .ok_or_else(|| invalid(format!("`{key}` is not a list")))?;
            list.iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    other => Err(invalid(format!("`{key}` holds {other}, not a string"))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        let missing = |column: &str| DataError::MissingColumn {
            file: path.into(),
            line: i + 1,
            column: column.into(),
            found: value
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
        };
        let words = strings("tokens")?.ok_or_else(|| missing("tokens"))?;
        let tags = match strings("tags")? {
            Some(tags) => tags,
            None => strings("ner_tags")?.ok_or_else(|| missing("tags"))?,
        };
        if words.len() != tags.len() {
            return Err(invalid(format!(
                "{} tokens but {} tags",
                words.len(),
                tags.len()
            )));
        }
        if words.is_empty() {
            continue;
        }
        let lines = vec![i + 1; words.len()];
        sentences.push(TaggedSentence {
            words,
            tags,
            location: Location {
                file: path.into(),
                line: i + 1,
            },
            lines,
        });
    }
    if sentences.is_empty() {
        return Err(DataError::EmptyDataset { file: path.into() });
    }
    Ok(sentences)
}

/// A `.jsonl` / `.json` file through [`read_tagged_jsonl`], anything else through [`read_conll`].
pub fn read_tagged(path: &Path) -> Result<Vec<TaggedSentence>, DataError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl" | "json") => read_tagged_jsonl(path),
        _ => read_conll(path),
    }
}
