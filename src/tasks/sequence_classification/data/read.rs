//! The readers: CSV / TSV / JSONL with chosen columns, and the aclImdb folder layout.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Column, Columns, Location, TextExample};
use burnbert_data::DataError;

/// Reads a `.csv`, `.tsv` or `.jsonl` file (by extension). A UTF-8 BOM is skipped; invalid
/// UTF-8, a missing column, an empty text and an empty file are errors naming file and line.
pub fn read_file(path: &Path, columns: &Columns) -> Result<Vec<TextExample>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.into(),
        source,
    })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return Err(DataError::Invalid {
                file: path.into(),
                line,
                message: "invalid UTF-8".into(),
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(DataError::EmptyDataset { file: path.into() });
    }
    let examples = match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") | Some("json") => read_jsonl(text, path, columns)?,
        Some("tsv") => read_delimited(text, path, columns, b'\t')?,
        _ => read_delimited(text, path, columns, b',')?,
    };
    if examples.is_empty() {
        return Err(DataError::EmptyDataset { file: path.into() });
    }
    Ok(examples)
}

fn read_delimited(
    text: &str,
    path: &Path,
    columns: &Columns,
    delimiter: u8,
) -> Result<Vec<TextExample>, DataError> {
    // TSV fields are taken verbatim, quotes included (Python's `csv.QUOTE_NONE`, GLUE's
    // reader): with quoting on, a field that starts with `"` would swallow the rows after it.
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(delimiter != b'\t')
        .has_headers(columns.has_header)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = if columns.has_header {
        reader
            .headers()
            .map_err(|e| csv_error(path, text, &e))?
            .iter()
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let index = |column: &Column| -> Result<usize, DataError> {
        match column {
            Column::Index(i) => Ok(*i),
            Column::Name(name) => {
                headers
                    .iter()
                    .position(|h| h == name)
                    .ok_or_else(|| DataError::MissingColumn {
                        file: path.into(),
                        line: 1,
                        column: column.to_string(),
                        found: headers.join(", "),
                    })
            }
        }
    };
    let (text_at, label_at) = (index(&columns.text)?, index(&columns.label)?);
    let pair_at = columns.text_pair.as_ref().map(index).transpose()?;
    let mut examples = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, text, &e))?;
        let line = record.position().map_or(0, |p| line_at(text, p.byte()));
        let location = Location {
            file: path.into(),
            line,
        };
        let field = |at: usize, column: &Column| -> Result<String, DataError> {
            record
                .get(at)
                .map(str::to_string)
                .ok_or_else(|| DataError::MissingColumn {
                    file: path.into(),
                    line,
                    column: column.to_string(),
                    found: format!("{} fields", record.len()),
                })
        };
        let example = TextExample {
            text: field(text_at, &columns.text)?,
            text_pair: match (pair_at, &columns.text_pair) {
                (Some(at), Some(column)) => Some(field(at, column)?),
                _ => None,
            },
            label: delimited(field(label_at, &columns.label)?, columns),
            location,
        };
        check(&example)?;
        examples.push(example);
    }
    Ok(examples)
}

fn read_jsonl(text: &str, path: &Path, columns: &Columns) -> Result<Vec<TextExample>, DataError> {
    let mut examples = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line_no = i + 1;
        let invalid = |message: String| DataError::Invalid {
            file: path.into(),
            line: line_no,
            message,
        };
        let value: Value = serde_json::from_str(line).map_err(|e| invalid(e.to_string()))?;
        let get = |column: &Column| -> Result<String, DataError> {
            let field = match column {
                Column::Name(n) => value.get(n),
                Column::Index(i) => value.as_array().and_then(|a| a.get(*i)),
            };
            match field {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(Value::Bool(b)) => Ok(b.to_string()),
                Some(other) => Err(invalid(format!(
                    "field {column} is not a string or number: {other}"
                ))),
                None => Err(DataError::MissingColumn {
                    file: path.into(),
                    line: line_no,
                    column: column.to_string(),
                    found: value
                        .as_object()
                        .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                        .unwrap_or_default(),
                }),
            }
        };
        // A list of labels (multi-label data) is kept as a JSON list of strings.
        let label = match &columns.label {
            Column::Name(n) => match value.get(n) {
                Some(Value::Array(labels)) => list_label(labels).map_err(invalid)?,
                _ => delimited(get(&columns.label)?, columns),
            },
            Column::Index(_) => delimited(get(&columns.label)?, columns),
        };
        let example = TextExample {
            text: get(&columns.text)?,
            text_pair: columns.text_pair.as_ref().map(get).transpose()?,
            label,
            location: Location {
                file: path.into(),
                line: line_no,
            },
        };
        check(&example)?;
        examples.push(example);
    }
    Ok(examples)
}

/// A label field split at the columns' `label_delimiter` (when there is one) into the JSON
/// list of its labels, trimmed, empty ones left out (`"a; b"` → `["a","b"]`, `""` → `[]`).
fn delimited(field: String, columns: &Columns) -> String {
    match &columns.label_delimiter {
        Some(delimiter) => Value::Array(
            field
                .split(delimiter.as_str())
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Value::String(l.to_string()))
                .collect(),
        )
        .to_string(),
        None => field,
    }
}

/// A JSON list of labels as the compact JSON list of their strings (`["1","sports"]`).
fn list_label(labels: &[Value]) -> Result<String, String> {
    let names = labels
        .iter()
        .map(|l| match l {
            Value::String(s) if !s.trim().is_empty() => Ok(Value::String(s.clone())),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            other => Err(format!(
                "a label in a list is not a non-empty string or a number: {other}"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Array(names).to_string())
}

fn check(example: &TextExample) -> Result<(), DataError> {
    let empty = example.text.trim().is_empty()
        || example
            .text_pair
            .as_deref()
            .is_some_and(|p| p.trim().is_empty());
    if empty {
        return Err(DataError::Invalid {
            file: example.location.file.clone(),
            line: example.location.line,
            message: "empty text".into(),
        });
    }
    if example.label.trim().is_empty() {
        return Err(DataError::Invalid {
            file: example.location.file.clone(),
            line: example.location.line,
            message: "empty label".into(),
        });
    }
    Ok(())
}

/// The 1-based line of the record at byte `offset` of `text`. The csv crate counts a `\r\n`
/// row end as one line less and places the next record at its `\n`: the record starts after
/// the line-end bytes there.
fn line_at(text: &str, offset: u64) -> usize {
    let bytes = text.as_bytes();
    let mut start = (offset as usize).min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    bytes[..start].iter().filter(|&&b| b == b'\n').count() + 1
}

fn csv_error(path: &Path, text: &str, e: &csv::Error) -> DataError {
    let line = e.position().map_or(0, |p| line_at(text, p.byte()));
    DataError::Invalid {
        file: path.into(),
        line,
        message: e.to_string(),
    }
}

/// Reads one split of the aclImdb layout: `DIR/SPLIT/pos/*.txt` (label `pos`) and
/// `DIR/SPLIT/neg/*.txt` (label `neg`), in file-name order.
pub fn read_aclimdb(dir: &Path, split: &str) -> Result<Vec<TextExample>, DataError> {
    let mut examples = Vec::new();
    for label in ["neg", "pos"] {
        let folder = dir.join(split).join(label);
        let entries = std::fs::read_dir(&folder).map_err(|source| DataError::Io {
            path: folder.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).map_err(|source| DataError::Io {
                path: file.clone(),
                source,
            })?;
            let text = String::from_utf8(bytes).map_err(|_| DataError::Invalid {
                file: file.clone(),
                line: 1,
                message: "invalid UTF-8".into(),
            })?;
            let example = TextExample {
                text: text.replace("<br />", " "),
                text_pair: None,
                label: label.into(),
                location: Location { file, line: 1 },
            };
            check(&example)?;
            examples.push(example);
        }
    }
    if examples.is_empty() {
        return Err(DataError::EmptyDataset {
            file: dir.join(split),
        });
    }
    Ok(examples)
}
