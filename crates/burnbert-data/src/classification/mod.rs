//! Text-classification data: CSV / TSV / JSONL files with chosen columns, and the aclImdb
//! folder layout. Every example remembers where it came from, so that a bad label or an empty
//! text is reported with its file and line.
//!
//! The files: this one holds the example types and the label set, `read.rs` the readers.

use std::path::PathBuf;

use crate::DataError;

mod read;

pub use read::{read_aclimdb, read_file};

/// Where an example was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (for aclImdb, 1: one review per file).
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One labelled text (or text pair).
#[derive(Debug, Clone, PartialEq)]
pub struct TextExample {
    /// The text.
    pub text: String,
    /// The second text of a pair.
    pub text_pair: Option<String>,
    /// The label as written in the data (`"pos"`, `"1"`, `"-1"`, ...).
    pub label: String,
    /// Where it was read.
    pub location: Location,
}

/// A column, by header name or 0-based index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The header's name (or JSON key).
    Name(String),
    /// The position (CSV/TSV without header).
    Index(usize),
}

impl std::str::FromStr for Column {
    type Err = std::convert::Infallible;
    /// A number is an index, anything else a name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(s.parse::<usize>()
            .map_or_else(|_| Column::Name(s.to_string()), Column::Index))
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Name(n) => write!(f, "'{n}'"),
            Column::Index(i) => write!(f, "#{i}"),
        }
    }
}

/// Which columns hold the text, the optional pair and the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The text.
    pub text: Column,
    /// The second text, for pair tasks.
    pub text_pair: Option<Column>,
    /// The label.
    pub label: Column,
    /// Whether the first CSV/TSV row is a header (JSONL always has names).
    pub has_header: bool,
}

impl Default for Columns {
    /// `text` and `label` columns with a header row.
    fn default() -> Self {
        Self {
            text: Column::Name("text".into()),
            text_pair: None,
            label: Column::Name("label".into()),
            has_header: true,
        }
    }
}

impl Columns {
    /// Label first, then text, no header: the Pang & Lee CSV layout.
    pub fn label_text_no_header() -> Self {
        Self {
            text: Column::Index(1),
            text_pair: None,
            label: Column::Index(0),
            has_header: false,
        }
    }
}

/// The label set of a training set: its distinct labels, sorted (numerically when they are all
/// numbers, so `-1, 1` and `0, 1, 2` keep their order), ids in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    labels: Vec<String>,
}

impl LabelSet {
    /// Collects the labels of `examples`.
    pub fn from_examples(examples: &[TextExample]) -> Self {
        let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
        labels.sort();
        labels.dedup();
        if labels.iter().all(|l| l.parse::<f64>().is_ok()) {
            labels.sort_by(|a, b| {
                a.parse::<f64>()
                    .unwrap()
                    .total_cmp(&b.parse::<f64>().unwrap())
            });
        }
        Self { labels }
    }

    /// A label set from names in id order (`id2label` of a config).
    pub fn from_names(labels: Vec<String>) -> Self {
        Self { labels }
    }

    /// Names in id order.
    pub fn names(&self) -> &[String] {
        &self.labels
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no label.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The id of an example's label, or an error naming the file and line.
    pub fn id(&self, example: &TextExample) -> Result<usize, DataError> {
        self.labels
            .iter()
            .position(|l| *l == example.label)
            .ok_or_else(|| DataError::UnknownLabel {
                file: example.location.file.clone(),
                line: example.location.line,
                label: example.label.clone(),
                known: self.labels.join(", "),
            })
    }
}

#[cfg(test)]
mod tests;
