//! Token classification (NER) data: CoNLL and JSONL readers (`read.rs`), the tag set, entity
//! chunks as seqeval reads them, and (`windows.rs`) windows over sentences longer than the
//! model's input with labels aligned to word pieces.

use burnbert_data::DataError;
use burnbert_data::Location;

mod read;
mod windows;

pub use read::{read_conll, read_tagged, read_tagged_jsonl};
pub use windows::{Window, WordTag, align_labels, first_pieces, windows};

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

#[cfg(test)]
mod tests;
