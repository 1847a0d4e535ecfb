//! Text-classification data: CSV / TSV / JSONL files with chosen columns, and the aclImdb
//! folder layout. Every example remembers where it came from, so that a bad label or an empty
//! text is reported with its file and line.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::DataError;

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
            .map_err(|e| csv_error(path, &e))?
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
        let record = record.map_err(|e| csv_error(path, &e))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
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
            label: field(label_at, &columns.label)?,
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
        let example = TextExample {
            text: get(&columns.text)?,
            text_pair: columns.text_pair.as_ref().map(get).transpose()?,
            label: get(&columns.label)?,
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

fn csv_error(path: &Path, e: &csv::Error) -> DataError {
    let line = e.position().map_or(0, |p| p.line() as usize);
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

/// Splits `examples` (texts, tagged sentences, ...) into `(train, valid)` with `valid_fraction`
/// of them in valid, after a shuffle seeded by `seed` (the same seed gives the same split).
/// With a fraction above 0 and at least two examples, each side keeps at least one: four
/// examples at 0.1 validate on one, not on none.
pub fn split<T>(mut examples: Vec<T>, valid_fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
    seeded_shuffle(&mut examples, seed);
    let n = examples.len();
    let mut n_valid = ((n as f64) * valid_fraction).round() as usize;
    if valid_fraction > 0.0 && n >= 2 {
        n_valid = n_valid.clamp(1, n - 1);
    }
    let valid = examples.split_off(n - n_valid.min(n));
    (examples, valid)
}

/// A Fisher-Yates shuffle driven by splitmix64 from `seed`: the same seed, the same order, on
/// every platform.
pub fn seeded_shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// `numpy.random.RandomState(seed).permutation(n)`: the legacy Mersenne Twister and Fisher-Yates
/// shuffle numpy uses, so that a split made in Python (the PyTorch references' split of the
/// Pang & Lee sentences) is made identically here.
pub fn numpy_permutation(n: usize, seed: u32) -> Vec<usize> {
    let mut mt = Mt19937::new(seed);
    let mut values: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        // numpy's random_interval(i): draw masked 32-bit words until one is <= i.
        let max = i as u32;
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        let j = loop {
            let v = mt.next_u32() & mask;
            if v <= max {
                break v as usize;
            }
        };
        values.swap(i, j);
    }
    values
}

/// MT19937, seeded as numpy's legacy `RandomState(int)` seeds it (`init_genrand`).
struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            state[i] = 1_812_433_253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
                let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    next ^= 0x9908_b0df;
                }
                self.state[i] = next;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, content: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("burnbert-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    #[test]
    fn reads_pang_lee_style_csv_with_bom() {
        let path = write(
            "pl.csv",
            "\u{feff}\"1\",\"a fine, funny film\"\n\"-1\",\"dull\"\n".as_bytes(),
        );
        let examples = read_file(&path, &Columns::label_text_no_header()).unwrap();
        assert_eq!(examples.len(), 2);
        assert_eq!(
            (examples[0].label.as_str(), examples[0].text.as_str()),
            ("1", "a fine, funny film")
        );
        assert_eq!(examples[1].location.line, 2);
        let labels = LabelSet::from_examples(&examples);
        assert_eq!(labels.names(), ["-1", "1"]);
        assert_eq!(labels.id(&examples[0]).unwrap(), 1);
    }

    #[test]
    fn reads_tsv_and_jsonl_with_pairs() {
        let path = write(
            "p.tsv",
            b"premise\thypothesis\tlabel\nA man sleeps.\tA man rests.\tentailment\n",
        );
        let columns = Columns {
            text: Column::Name("premise".into()),
            text_pair: Some(Column::Name("hypothesis".into())),
            label: Column::Name("label".into()),
            has_header: true,
        };
        let examples = read_file(&path, &columns).unwrap();
        assert_eq!(examples[0].text_pair.as_deref(), Some("A man rests."));
        assert_eq!(examples[0].location.line, 2);
        let path = write(
            "p.jsonl",
            b"{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": 0}\n",
        );
        let examples = read_file(&path, &Columns::default()).unwrap();
        assert_eq!(examples[1].label, "0");
        assert_eq!(examples[1].location.line, 3);
    }

    #[test]
    fn tsv_quotes_are_text() {
        // shared case 05: Python's csv.reader(delimiter="\t", quoting=csv.QUOTE_NONE).
        let path = write(
            "q.tsv",
            b"text\tlabel\n\"Not bad at all\tpositive\na boring film\tnegative\nit was \"fine\" i guess\tneutral\nthe actor was great\tpositive\n",
        );
        let examples = read_file(&path, &Columns::default()).unwrap();
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "\"Not bad at all",
                "a boring film",
                "it was \"fine\" i guess",
                "the actor was great"
            ]
        );
        let lines: Vec<usize> = examples.iter().map(|e| e.location.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);
        // CSV keeps standard quoting.
        let path = write("q.csv", b"text,label\n\"a, quoted\",x\n");
        assert_eq!(
            read_file(&path, &Columns::default()).unwrap()[0].text,
            "a, quoted"
        );
    }

    #[test]
    fn bad_data_names_file_and_line() {
        let err = read_file(&write("e.csv", b""), &Columns::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("e.csv") && err.contains("no example"), "{err}");
        let err = read_file(&write("m.csv", b"text,stars\nhi,5\n"), &Columns::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.csv:1") && err.contains("'label'") && err.contains("text, stars"),
            "{err}"
        );
        let err = read_file(
            &write("z.csv", b"text,label\nok,1\n  ,0\n"),
            &Columns::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("z.csv:3") && err.contains("empty text"),
            "{err}"
        );
        let err = read_file(
            &write("u.csv", b"text,label\nok,1\nbad \xff\xfe,0\n"),
            &Columns::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("u.csv:3") && err.contains("invalid UTF-8"),
            "{err}"
        );
        let err = read_file(
            &write(
                "j.jsonl",
                b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"\n",
            ),
            &Columns::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("j.jsonl:2"), "{err}");

        let train = read_file(
            &write("t.csv", b"text,label\na,pos\nb,neg\n"),
            &Columns::default(),
        )
        .unwrap();
        let eval = read_file(
            &write("v.csv", b"text,label\nc,pos\nd,neutral\n"),
            &Columns::default(),
        )
        .unwrap();
        let labels = LabelSet::from_examples(&train);
        let err = labels.id(&eval[1]).unwrap_err().to_string();
        assert!(
            err.contains("v.csv:3") && err.contains("'neutral'") && err.contains("neg, pos"),
            "{err}"
        );
    }

    #[test]
    fn aclimdb_layout() {
        let dir = std::env::temp_dir().join(format!("burnbert-imdb-{}", std::process::id()));
        for (label, name, text) in [
            ("pos", "0_9.txt", "Great.<br />Loved it"),
            ("neg", "1_2.txt", "Awful"),
        ] {
            std::fs::create_dir_all(dir.join("train").join(label)).unwrap();
            std::fs::write(dir.join("train").join(label).join(name), text).unwrap();
        }
        let examples = read_aclimdb(&dir, "train").unwrap();
        assert_eq!(
            examples
                .iter()
                .map(|e| e.label.as_str())
                .collect::<Vec<_>>(),
            ["neg", "pos"]
        );
        assert_eq!(examples[1].text, "Great. Loved it");
        assert!(read_aclimdb(&dir, "test").is_err());
    }

    #[test]
    fn numpy_permutation_matches_numpy() {
        // numpy.random.RandomState(0).permutation(10), (4000)[:8] and [-5:], RandomState(42).permutation(7)
        assert_eq!(numpy_permutation(10, 0), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        let p = numpy_permutation(4000, 0);
        assert_eq!(p[..8], [2230, 668, 3616, 2363, 142, 538, 1791, 410]);
        assert_eq!(p[3995..], [835, 3264, 1653, 2607, 2732]);
        assert_eq!(numpy_permutation(7, 42), [0, 1, 5, 2, 4, 3, 6]);
    }

    #[test]
    fn seeded_split_is_reproducible_and_complete() {
        let examples: Vec<TextExample> = (0..10)
            .map(|i| TextExample {
                text: format!("t{i}"),
                text_pair: None,
                label: (i % 2).to_string(),
                location: Location {
                    file: "x".into(),
                    line: i + 1,
                },
            })
            .collect();
        let (a, b) = split(examples.clone(), 0.2, 7);
        let (c, d) = split(examples.clone(), 0.2, 7);
        assert_eq!((a.len(), b.len()), (8, 2));
        assert_eq!((&a, &b), (&c, &d));
        let (e, _) = split(examples.clone(), 0.2, 8);
        // Small sets keep one example on each side.
        let (train, valid) = split(examples[..4].to_vec(), 0.1, 0);
        assert_eq!((train.len(), valid.len()), (3, 1));
        let (train, valid) = split(examples[..2].to_vec(), 0.9, 0);
        assert_eq!((train.len(), valid.len()), (1, 1));
        assert_ne!(a, e);
    }
}
