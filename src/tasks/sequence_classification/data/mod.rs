//! Text-classification data: CSV / TSV / JSONL files with chosen columns, and the aclImdb
//! folder layout. Every example remembers where it came from, so that a bad label or an empty
//! text is reported with its file and line.
//!
//! The files: this one holds the example types and the label set, `read.rs` the readers.

use burnbert_data::DataError;
pub use burnbert_data::Location;

mod read;

pub use read::{read_aclimdb, read_file};

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
    /// Multi-label data in one text field: what separates a row's labels (`;` in
    /// `sports;politics`); the field is then read as the list of its labels (none when it is
    /// empty), as a JSONL list is.
    pub label_delimiter: Option<String>,
}

impl Default for Columns {
    /// `text` and `label` columns with a header row.
    fn default() -> Self {
        Self {
            text: Column::Name("text".into()),
            text_pair: None,
            label: Column::Name("label".into()),
            has_header: true,
            label_delimiter: None,
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
            label_delimiter: None,
        }
    }
}

impl TextExample {
    /// Its text (and pair) encoded by `tokenizer`, truncated to `max_length` tokens (longest
    /// first); an error names its file and line.
    pub fn encode(
        &self,
        tokenizer: &burnbert_data::BertTokenizer,
        max_length: usize,
    ) -> Result<burnbert_data::Encoding, DataError> {
        tokenizer
            .encode(&self.text, self.text_pair.as_deref(), max_length)
            .map_err(|err| DataError::Invalid {
                file: self.location.file.clone(),
                line: self.location.line,
                message: err.to_string(),
            })
    }

    /// The label as regression targets: a number, or a list of numbers (several targets,
    /// `[0.5, 1.2]` in JSONL); an error naming the file and line otherwise.
    pub fn targets(&self) -> Result<Vec<f32>, DataError> {
        let Ok(list) = self.label_list() else {
            return Ok(vec![self.target()?]);
        };
        if list.is_empty() {
            return Err(DataError::Invalid {
                file: self.location.file.clone(),
                line: self.location.line,
                message: "label `[]` has no target (the data's labels are regression targets)"
                    .into(),
            });
        }
        list.iter()
            .map(|value| {
                TextExample {
                    label: value.clone(),
                    ..self.clone()
                }
                .target()
            })
            .collect()
    }

    /// The label as a regression target, or an error naming the file and line.
    pub fn target(&self) -> Result<f32, DataError> {
        let problem = match self.label.trim().parse::<f32>() {
            Ok(value) if value.is_finite() => return Ok(value),
            Ok(_) if self.label.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                "is past the range of float32, the targets' type"
            }
            Ok(_) => "is not a finite number",
            Err(_) => "is not a number",
        };
        Err(DataError::Invalid {
            file: self.location.file.clone(),
            line: self.location.line,
            message: format!(
                "label `{}` {problem} (the data's labels are a regression target)",
                self.label
            ),
        })
    }
}

impl TextExample {
    /// The labels of a multi-label example: its label, a JSON list (`["sports", "politics"]`,
    /// as the JSONL reader keeps a list), read; an error naming the file and line otherwise.
    pub fn label_list(&self) -> Result<Vec<String>, DataError> {
        serde_json::from_str(&self.label).map_err(|_| DataError::Invalid {
            file: self.location.file.clone(),
            line: self.location.line,
            message: format!(
                "label `{}` is not a list of labels (the data's labels are lists: multi-label)",
                self.label
            ),
        })
    }
}

/// Whether `examples` are multi-label, as `run_classification.py` decides it from the column's
/// type: every label a list (a JSON list in JSONL, `[]` for none).
pub fn is_multi_label(examples: &[TextExample]) -> bool {
    !examples.is_empty() && examples.iter().all(|e| e.label_list().is_ok())
}

/// Whether the labels of `examples` are a regression target, as `run_glue.py` decides it from
/// the column's type: every label a number, one at least written with a point or an exponent
/// (`1.0`, `4.8`, `1e-3`), which `datasets` reads as float64. Integers (`0`, `1`, `-1`) are
/// class ids.
///
/// Lists of numbers, one at least not an integer (`[0.5, 1.2]`), are several targets: a
/// regression with an output per target (`run_classification.py` would read any list as label
/// names; a list of integers stays multi-label here too).
pub fn is_regression(examples: &[TextExample]) -> bool {
    let number = |l: &str| l.trim().parse::<f64>().is_ok();
    let integer = |l: &str| l.trim().parse::<i64>().is_ok();
    if examples.is_empty() {
        return false;
    }
    if examples.iter().all(|e| number(&e.label)) {
        return examples.iter().any(|e| !integer(&e.label));
    }
    let lists: Vec<Vec<String>> = examples.iter().filter_map(|e| e.label_list().ok()).collect();
    lists.len() == examples.len()
        && lists
            .iter()
            .all(|l| !l.is_empty() && l.iter().all(|v| number(v)))
        && lists.iter().flatten().any(|v| !integer(v))
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
        Self::sorted(examples.iter().map(|e| e.label.clone()).collect())
    }

    /// Collects the labels of the lists of multi-label `examples` (see
    /// [`TextExample::label_list`]), sorted as [`LabelSet::from_examples`] sorts them.
    ///
    /// # Errors
    /// A label that is not a list, naming its file and line.
    pub fn from_label_lists(examples: &[TextExample]) -> Result<Self, DataError> {
        let mut labels = Vec::new();
        for example in examples {
            labels.extend(example.label_list()?);
        }
        Ok(Self::sorted(labels))
    }

    /// The distinct `labels`, sorted, numerically when they are all numbers.
    fn sorted(mut labels: Vec<String>) -> Self {
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

    /// The multi-hot row of a multi-label example (1.0 at the id of each of its labels), or an
    /// error naming the file and line of a label outside the set.
    pub fn multi_hot(&self, example: &TextExample) -> Result<Vec<f32>, DataError> {
        let mut row = vec![0.0; self.labels.len()];
        for label in example.label_list()? {
            let id = self
                .labels
                .iter()
                .position(|l| *l == label)
                .ok_or_else(|| DataError::UnknownLabel {
                    file: example.location.file.clone(),
                    line: example.location.line,
                    label: label.clone(),
                    known: self.labels.join(", "),
                })?;
            row[id] = 1.0;
        }
        Ok(row)
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
