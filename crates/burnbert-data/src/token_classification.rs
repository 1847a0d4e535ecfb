//! Token classification (NER) data: CoNLL and JSONL readers, the tag set, entity chunks as
//! seqeval reads them, labels aligned to word pieces, and windows over sentences longer than
//! the model's input.

use std::path::Path;

use burnbert_model::loss::IGNORE_INDEX;

use crate::classification::Location;
use crate::{BertTokenizer, DataError, Encoding};

/// A sentence of words and their tags.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedSentence {
    /// The words.
    pub words: Vec<String>,
    /// One tag per word (`O`, `B-PER`, ...).
    pub tags: Vec<String>,
    /// Where the sentence starts.
    pub location: Location,
    /// The line of each word (CoNLL: one line per word; JSONL: the sentence's line).
    pub lines: Vec<usize>,
}

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

/// The tags of a training set, sorted (as `sorted(set(tags))` in Python); ids are positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSet {
    tags: Vec<String>,
}

impl TagSet {
    /// The tags of `sentences`. Each must be `O` or `X-TYPE` with `X` one of `B I E S`
    /// (IOB1, IOB2, BIOES); anything else is an error naming its line.
    pub fn from_sentences(sentences: &[TaggedSentence]) -> Result<Self, DataError> {
        let mut tags: Vec<String> = Vec::new();
        for s in sentences {
            for (tag, &line) in s.tags.iter().zip(&s.lines) {
                if !is_scheme_tag(tag) {
                    return Err(DataError::Invalid {
                        file: s.location.file.clone(),
                        line,
                        message: format!("tag '{tag}' is not O or B-/I-/E-/S- followed by a type"),
                    });
                }
                tags.push(tag.clone());
            }
        }
        tags.sort();
        tags.dedup();
        Ok(Self { tags })
    }

    /// A tag set from its names in id order (a model's `id2label`).
    pub fn from_names(tags: Vec<String>) -> Self {
        Self { tags }
    }

    /// The tags in id order.
    pub fn names(&self) -> Vec<String> {
        self.tags.clone()
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// Whether there is no tag.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The ids of a sentence's tags; a tag not in the set is an error naming its file and line.
    pub fn ids(&self, sentence: &TaggedSentence) -> Result<Vec<usize>, DataError> {
        sentence
            .tags
            .iter()
            .zip(&sentence.lines)
            .map(|(tag, &line)| {
                self.tags
                    .iter()
                    .position(|t| t == tag)
                    .ok_or_else(|| DataError::UnknownLabel {
                        file: sentence.location.file.clone(),
                        line,
                        label: tag.clone(),
                        known: self.tags.join(", "),
                    })
            })
            .collect()
    }

    /// For each tag, the tag of a word's later pieces when all pieces are labelled: `I-X` for
    /// `B-X` (when the set has it, as HF's `b_to_i_label`), the tag itself otherwise.
    pub fn continuation(&self) -> Vec<usize> {
        self.tags
            .iter()
            .enumerate()
            .map(|(i, tag)| {
                tag.strip_prefix("B-")
                    .and_then(|kind| self.tags.iter().position(|t| *t == format!("I-{kind}")))
                    .unwrap_or(i)
            })
            .collect()
    }
}

fn is_scheme_tag(tag: &str) -> bool {
    tag == "O"
        || matches!(tag.split_once('-'), Some((prefix, kind)) if ["B", "I", "E", "S"].contains(&prefix) && !kind.is_empty())
}

/// An entity: its type and the words it spans, `first..=last`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chunk {
    /// The entity type (`PER`), `_` when the tag has none.
    pub kind: String,
    /// Its first word.
    pub first: usize,
    /// Its last word.
    pub last: usize,
}

/// The entities of a tag sequence, as seqeval's default (non-strict) `get_entities` reads
/// IOB1 / IOB2 / BIOES: a chunk ends at `O`, at a `B`/`S`, after an `E`/`S`, or where the type
/// changes; an `I` or `E` that follows `O` (or another type) starts one.
pub fn chunks<S: AsRef<str>>(tags: &[S]) -> Vec<Chunk> {
    let split = |tag: &str| -> (char, String) {
        let prefix = tag.chars().next().unwrap_or('O');
        let kind = tag
            .get(1..)
            .and_then(|t| t.split_once('-').map(|(_, k)| k).or(Some(t)))
            .unwrap_or("");
        (
            prefix,
            if kind.is_empty() {
                "_".to_string()
            } else {
                kind.to_string()
            },
        )
    };
    let mut chunks = Vec::new();
    let (mut prev_tag, mut prev_kind, mut begin) = ('O', String::new(), 0);
    for (i, tag) in tags
        .iter()
        .map(AsRef::as_ref)
        .chain(std::iter::once("O"))
        .enumerate()
    {
        let (tag, kind) = split(tag);
        let end = matches!(
            (prev_tag, tag),
            ('E' | 'S', _) | ('B' | 'I', 'B' | 'S' | 'O')
        ) || (prev_tag != 'O' && prev_tag != '.' && prev_kind != kind);
        if end {
            chunks.push(Chunk {
                kind: prev_kind.clone(),
                first: begin,
                last: i - 1,
            });
        }
        let start = matches!(
            (prev_tag, tag),
            (_, 'B' | 'S') | ('E' | 'S' | 'O', 'E' | 'I')
        ) || (tag != 'O' && tag != '.' && prev_kind != kind);
        if start {
            begin = i;
        }
        prev_tag = tag;
        prev_kind = kind;
    }
    chunks
}

/// The entity groups of a sentence's word tags, as `transformers`' token-classification
/// pipeline forms them (`group_entities`, `aggregation_strategy` over words): a tag continues
/// the group before it when it is not `B-` and has the same type, the type being what follows
/// `B-` / `I-`, or the whole tag when it has neither prefix (IO tags such as `PER`, a head's
/// `LABEL_3`); a group is named by its first tag after its first `-` (`B-PER` → `PER`,
/// `PERSON_NAME` whole); groups of `O` are dropped. seqeval's reading for the metrics is
/// [`chunks`].
pub fn entity_groups<S: AsRef<str>>(tags: &[S]) -> Vec<Chunk> {
    // The pipeline's `get_tag`: (whether it begins a group, its type).
    let tag = |t: &str| -> (bool, String) {
        match (t.strip_prefix("B-"), t.strip_prefix("I-")) {
            (Some(kind), _) => (true, kind.to_string()),
            (_, Some(kind)) => (false, kind.to_string()),
            _ => (false, t.to_string()),
        }
    };
    let name = |t: &str| t.split_once('-').map_or(t, |(_, k)| k).to_string();
    let mut groups: Vec<(String, Chunk)> = Vec::new();
    for (i, t) in tags.iter().map(AsRef::as_ref).enumerate() {
        let (begin, kind) = tag(t);
        match groups.last_mut() {
            Some((last, chunk)) if !begin && *last == kind => chunk.last = i,
            _ => groups.push((
                kind,
                Chunk {
                    kind: name(t),
                    first: i,
                    last: i,
                },
            )),
        }
    }
    groups
        .into_iter()
        .map(|(_, chunk)| chunk)
        .filter(|chunk| chunk.kind != "O")
        .collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    fn spans(s: &str) -> Vec<(String, usize, usize)> {
        chunks(&tags(s))
            .into_iter()
            .map(|c| (c.kind, c.first, c.last))
            .collect()
    }

    #[test]
    fn entity_groups_as_the_pipeline_forms_them() {
        let groups = |tags: &[&str]| -> Vec<(String, usize, usize)> {
            entity_groups(tags)
                .into_iter()
                .map(|c| (c.kind, c.first, c.last))
                .collect()
        };
        // shared case 15: labels without a B-/I- prefix are whole types.
        assert_eq!(
            groups(&["PERSON_NAME"; 6]),
            [("PERSON_NAME".to_string(), 0, 5)]
        );
        assert_eq!(
            groups(&["LABEL_3", "LABEL_3", "O", "PER", "LOC"]),
            [
                ("LABEL_3".to_string(), 0, 1),
                ("PER".to_string(), 3, 3),
                ("LOC".to_string(), 4, 4)
            ]
        );
        // IOB2: B- starts, I- of the same type continues; an I- after O starts a group.
        assert_eq!(
            groups(&[
                "B-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "B-ORG", "I-PER"
            ]),
            [
                ("PER".to_string(), 0, 1),
                ("PER".to_string(), 2, 2),
                ("LOC".to_string(), 4, 5),
                ("ORG".to_string(), 6, 6),
                ("PER".to_string(), 7, 7)
            ]
        );
    }

    #[test]
    fn chunks_as_seqeval_reads_them() {
        // seqeval.metrics.sequence_labeling.get_entities on the same sequences.
        let s = |k: &str, a, b| (k.to_string(), a, b);
        assert_eq!(
            spans("B-PER I-PER O B-LOC"),
            [s("PER", 0, 1), s("LOC", 3, 3)]
        );
        // An I- after O starts a chunk (IOB1, or a broken IOB2 prediction).
        assert_eq!(
            spans("O I-PER I-PER B-PER"),
            [s("PER", 1, 2), s("PER", 3, 3)]
        );
        // A type change ends one chunk and starts another.
        assert_eq!(spans("B-PER I-LOC I-LOC"), [s("PER", 0, 0), s("LOC", 1, 2)]);
        // BIOES.
        assert_eq!(
            spans("S-ORG B-MISC I-MISC E-MISC O S-PER"),
            [s("ORG", 0, 0), s("MISC", 1, 3), s("PER", 5, 5)]
        );
        // An entity at the very end.
        assert_eq!(spans("O O B-LOC I-LOC"), [s("LOC", 2, 3)]);
        assert!(spans("O O").is_empty());
    }

    #[test]
    fn conll_reader_skips_docstart_and_names_bad_lines() {
        let dir = std::env::temp_dir().join(format!("burnbert-conll-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        std::fs::write(&path, "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter\tB-PER\nBlackburn\tI-PER\n").unwrap();
        let s = read_conll(&path).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].words.clone(), s[0].tags.clone(), s[0].location.line),
            (
                vec!["EU".to_string(), "rejects".into()],
                vec!["B-ORG".to_string(), "O".into()],
                3
            )
        );
        assert_eq!(s[1].lines, [6, 7]);
        let set = TagSet::from_sentences(&s).unwrap();
        assert_eq!(set.names(), ["B-ORG", "B-PER", "I-PER", "O"]);
        assert_eq!(set.continuation(), [0, 2, 2, 3]);

        std::fs::write(&path, "EU B-ORG\nrejects\n").unwrap();
        let err = read_conll(&path).unwrap_err().to_string();
        assert!(
            err.contains("a.txt:2") && err.contains("one column"),
            "{err}"
        );
        std::fs::write(&path, "EU B-ORG\n\nParis B-LOCATION\n").unwrap();
        let other = read_conll(&path).unwrap();
        let err = set.ids(&other[1]).unwrap_err().to_string();
        assert!(
            err.contains("a.txt:3") && err.contains("B-LOCATION"),
            "{err}"
        );
        std::fs::write(&path, "EU ORG\n").unwrap();
        let err = TagSet::from_sentences(&read_conll(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("a.txt:1") && err.contains("'ORG'"), "{err}");
        std::fs::write(&path, "\n-DOCSTART- O\n\n").unwrap();
        assert!(matches!(
            read_conll(&path),
            Err(DataError::EmptyDataset { .. })
        ));

        let path = dir.join("b.jsonl");
        std::fs::write(&path, "{\"tokens\": [\"EU\", \"rejects\"], \"tags\": [\"B-ORG\", \"O\"]}\n\n{\"tokens\": [\"a\"], \"ner_tags\": [0]}\n").unwrap();
        let s = read_tagged(&path).unwrap();
        assert_eq!(
            (s.len(), s[1].tags[0].as_str(), s[1].location.line),
            (2, "0", 3)
        );
        std::fs::write(&path, "{\"tokens\": [\"EU\"], \"tags\": []}\n").unwrap();
        assert!(
            read_tagged(&path)
                .unwrap_err()
                .to_string()
                .contains("b.jsonl:1: 1 tokens but 0 tags")
        );
        std::fs::write(&path, "{\"words\": [\"EU\"]}\n").unwrap();
        assert!(
            read_tagged(&path)
                .unwrap_err()
                .to_string()
                .contains("no column tokens")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn labels_go_to_first_pieces() {
        // [CLS] un ##aff ##able paris [SEP]
        let word_ids = [None, Some(0), Some(0), Some(0), Some(1), None];
        assert_eq!(
            align_labels(&word_ids, &[1, 3], None),
            [-100, 1, -100, -100, 3, -100]
        );
        assert_eq!(
            align_labels(&word_ids, &[1, 3], Some(&[0, 2, 2, 3])),
            [-100, 1, 2, 2, 3, -100]
        );
    }
}
