//! Extractive question answering data: the SQuAD v1.1 / v2.0 JSON reader, and features as
//! `transformers` makes them (question + context windows, `truncation="only_second"`,
//! `max_length` / `doc_stride`, offsets, start and end positions).

use std::path::{Path, PathBuf};

use serde_json::Value;

use burnbert_data::{BertTokenizer, DataError, Encoding};

/// A gold answer: its text and byte span in the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldAnswer {
    /// The answer text.
    pub text: String,
    /// Byte offset of its start in the context.
    pub start: usize,
}

impl GoldAnswer {
    /// Byte offset of its end in the context.
    pub fn end(&self) -> usize {
        self.start + self.text.len()
    }
}

/// A question on a context, with its gold answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SquadExample {
    /// The question id.
    pub id: String,
    /// The article's title.
    pub title: String,
    /// The article's index in the file (0-based).
    pub article: usize,
    /// The question.
    pub question: String,
    /// The paragraph.
    pub context: String,
    /// The gold answers (several in dev sets; none for an unanswerable v2 question).
    pub answers: Vec<GoldAnswer>,
    /// SQuAD v2: the question has no answer in the context.
    pub is_impossible: bool,
}

/// Reads a SQuAD JSON file (v1.1, or v2.0 with `is_impossible`). An `answer_start` one
/// character off (as some in the official files are) is corrected; an answer that is not in its
/// context, or a missing field, is an error naming the file and the place in it
/// (`data[3].paragraphs[1].qas[4]`).
pub fn read_squad(path: &Path) -> Result<Vec<SquadExample>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    let root: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        DataError::Invalid {
            file: path.into(),
            line: e.line(),
            message: e.to_string(),
        }
    })?;
    let bad = |place: String, message: String| DataError::Field {
        file: path.into(),
        place,
        message,
    };
    let field = |value: &Value, place: &str, key: &str| -> Result<Value, DataError> {
        value
            .get(key)
            .cloned()
            .ok_or_else(|| bad(place.into(), format!("no field '{key}'")))
    };
    let string = |value: &Value, place: &str, key: &str| -> Result<String, DataError> {
        field(value, place, key)?
            .as_str()
            .map(String::from)
            .ok_or_else(|| bad(format!("{place}.{key}"), "not a string".into()))
    };
    let list = |value: &Value, place: &str, key: &str| -> Result<Vec<Value>, DataError> {
        field(value, place, key)?
            .as_array()
            .cloned()
            .ok_or_else(|| bad(format!("{place}.{key}"), "not a list".into()))
    };
    let mut examples = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (a, article) in list(&root, "", "data")?.iter().enumerate() {
        let place = format!("data[{a}]");
        let title = article
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for (p, paragraph) in list(article, &place, "paragraphs")?.iter().enumerate() {
            let place = format!("data[{a}].paragraphs[{p}]");
            let context = string(paragraph, &place, "context")?;
            if context.trim().is_empty() {
                return Err(bad(format!("{place}.context"), "empty".into()));
            }
            for (q, qa) in list(paragraph, &place, "qas")?.iter().enumerate() {
                let place = format!("data[{a}].paragraphs[{p}].qas[{q}]");
                let id = string(qa, &place, "id")?;
                // The official scripts key answers by id: two questions with one id would be
                // scored as one.
                if !ids.insert(id.clone()) {
                    return Err(bad(
                        format!("{place}.id"),
                        format!("id '{id}' is used twice"),
                    ));
                }
                let question = string(qa, &place, "question")?;
                if question.trim().is_empty() {
                    return Err(bad(format!("{place}.question"), "empty".into()));
                }
                let is_impossible = qa
                    .get("is_impossible")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let mut answers = Vec::new();
                for (k, answer) in list(qa, &place, "answers")?.iter().enumerate() {
                    let place = format!("{place}.answers[{k}]");
                    let text = string(answer, &place, "text")?;
                    let start =
                        field(answer, &place, "answer_start")?
                            .as_u64()
                            .ok_or_else(|| {
                                bad(format!("{place}.answer_start"), "not a number".into())
                            })?;
                    let start = locate(&context, &text, start as usize).ok_or_else(|| {
                        bad(place.clone(), format!("answer '{text}' is not at character {start} of its context (nor one off)"))
                    })?;
                    answers.push(GoldAnswer { text, start });
                }
                if answers.is_empty() && !is_impossible {
                    return Err(bad(place, "no answer, and not marked is_impossible".into()));
                }
                examples.push(SquadExample {
                    id,
                    title: title.clone(),
                    article: a,
                    question,
                    context: context.clone(),
                    answers,
                    is_impossible,
                });
            }
        }
    }
    if examples.is_empty() {
        return Err(DataError::EmptyDataset {
            file: PathBuf::from(path),
        });
    }
    Ok(examples)
}

/// The byte offset of `text` in `context` at character `start`, or one character before or
/// after it.
fn locate(context: &str, text: &str, start: usize) -> Option<usize> {
    let byte = |c: usize| {
        if c == context.chars().count() {
            Some(context.len())
        } else {
            context.char_indices().nth(c).map(|(b, _)| b)
        }
    };
    [Some(start), start.checked_sub(1), Some(start + 1)]
        .into_iter()
        .flatten()
        .filter_map(byte)
        .find(|&b| context[b..].starts_with(text))
}

/// A window of an example as the model reads it.
#[derive(Debug, Clone)]
pub struct QaFeature {
    /// Index of its example.
    pub example: usize,
    /// `[CLS] question [SEP] context window [SEP]`; `sequence_ids` mark the context tokens and
    /// `offsets` their byte spans in the context.
    pub encoding: Encoding,
    /// Token of the answer's start (0, `[CLS]`, when the answer is not in this window).
    pub start_position: usize,
    /// Token of the answer's end.
    pub end_position: usize,
}

/// The features of `examples` as `transformers`' `prepare_train_features` makes them: the
/// question (left-stripped) and the context, the context cut into windows of `max_length`
/// tokens overlapping by `doc_stride`, and the first gold answer's start and end tokens in
/// each window (or `[CLS]` where the answer is not wholly inside it, or there is none).
pub fn qa_features(
    tokenizer: &BertTokenizer,
    examples: &[SquadExample],
    max_length: usize,
    doc_stride: usize,
) -> Result<Vec<QaFeature>, DataError> {
    let mut features = Vec::new();
    for (index, example) in examples.iter().enumerate() {
        for encoding in tokenizer.encode_windows(
            example.question.trim_start(),
            &example.context,
            max_length,
            doc_stride,
        )? {
            let (start_position, end_position) = match example.answers.first() {
                Some(answer) if !example.is_impossible => {
                    answer_tokens(&encoding, answer.start, answer.end())
                }
                _ => (0, 0),
            };
            features.push(QaFeature {
                example: index,
                encoding,
                start_position,
                end_position,
            });
        }
    }
    Ok(features)
}

/// The first and last tokens of the context span `start..end` (bytes) in a window, or (0, 0)
/// when the window does not hold all of it.
fn answer_tokens(encoding: &Encoding, start: usize, end: usize) -> (usize, usize) {
    let context: Vec<usize> = (0..encoding.len())
        .filter(|&i| encoding.sequence_ids[i] == Some(1))
        .collect();
    let (Some(&first), Some(&last)) = (context.first(), context.last()) else {
        return (0, 0);
    };
    if !(encoding.offsets[first].0 <= start && encoding.offsets[last].1 >= end) {
        return (0, 0);
    }
    let mut s = first;
    while s <= last && encoding.offsets[s].0 <= start {
        s += 1;
    }
    let mut e = last;
    while e >= first && encoding.offsets[e].1 >= end {
        e -= 1;
    }
    (s - 1, e + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, json: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("burnbert-squad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn reads_squad_and_tolerates_starts_one_off() {
        let path = write(
            "ok.json",
            r#"{"version": "1.1", "data": [{"title": "T", "paragraphs": [{"context": "Zoë lives in Paris.",
               "qas": [{"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 13}, {"text": "Paris", "answer_start": 12}]},
                       {"id": "q2", "question": "None?", "answers": [], "is_impossible": true}]}]}]}"#,
        );
        let examples = read_squad(&path).unwrap();
        assert_eq!(examples.len(), 2);
        // Character 13 is byte 14 (ë is two bytes); the second start is one off and corrected.
        assert_eq!(
            examples[0].answers,
            vec![
                GoldAnswer {
                    text: "Paris".into(),
                    start: 14
                };
                2
            ]
        );
        assert!(examples[1].is_impossible && examples[1].answers.is_empty());
    }

    #[test]
    fn bad_files_name_the_place() {
        let err = |json: &str| {
            read_squad(&write("bad.json", json))
                .unwrap_err()
                .to_string()
        };
        let e = err(
            r#"{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": "q", "answers": []}]}]}]}"#,
        );
        assert!(
            e.contains("bad.json")
                && e.contains("data[0].paragraphs[0].qas[0]")
                && e.contains("'question'"),
            "{e}"
        );
        let e = err(
            r#"{"data": [{"paragraphs": [{"context": "abc def", "qas": [{"id": "q", "question": "?", "answers": [{"text": "xyz", "answer_start": 4}]}]}]}]}"#,
        );
        assert!(
            e.contains("qas[0].answers[0]") && e.contains("'xyz'"),
            "{e}"
        );
        let e = err(r#"{"data": [{"paragraphs": [{"qas": []}]}]}"#);
        assert!(
            e.contains("data[0].paragraphs[0]") && e.contains("'context'"),
            "{e}"
        );
        let e = err("{\"data\": [\n{]");
        assert!(e.contains("bad.json:2"), "{e}");
    }
}
