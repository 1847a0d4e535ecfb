use std::path::PathBuf;

/// Everything that can go wrong turning text into model inputs.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No tokenizer file in a model folder.
    #[error("no tokenizer in {folder}: looked for tokenizer.json and vocab.txt")]
    NoTokenizer {
        /// The folder searched.
        folder: PathBuf,
    },
    /// A tokenizer file could not be parsed.
    #[error("{path}: invalid tokenizer: {message}")]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A special token the BERT input format needs is not in the vocabulary.
    #[error("{path}: the vocabulary has no {token} token")]
    MissingSpecialToken {
        /// The vocabulary or tokenizer file.
        path: PathBuf,
        /// The token.
        token: String,
    },
    /// Text given to the tokenizer is empty (or only white space).
    #[error("empty text: nothing to encode")]
    EmptyText,
    /// Tokenization failed (for instance `max_length` too small for the special tokens).
    #[error("cannot encode text: {0}")]
    Encode(String),
    /// A data file has a malformed line (bad CSV/JSON, invalid UTF-8, an empty text).
    #[error("{}:{line}: {message}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A field of a JSON data file is missing or wrong (`place` as `data[3].paragraphs[1]`).
    #[error("{}: {place}: {message}", file.display())]
    Field {
        /// The file.
        file: PathBuf,
        /// Where in it.
        place: String,
        /// What is wrong.
        message: String,
    },
    /// A column the task needs is not in the data.
    #[error("{}:{line}: no column {column} (found: {found})", file.display())]
    MissingColumn {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The column asked for.
        column: String,
        /// What the file has.
        found: String,
    },
    /// A label that is not in the training set's label set.
    #[error("{}:{line}: label '{label}' is not in the label set ({known})", file.display())]
    UnknownLabel {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// The label.
        label: String,
        /// The known labels.
        known: String,
    },
    /// A data file or folder holds no example.
    #[error("{}: no example in it", file.display())]
    EmptyDataset {
        /// The file or folder.
        file: PathBuf,
    },
    /// An input falls outside one of the model's embedding tables.
    #[error("text '{text}': {what} is outside the model's embedding table ({limit} is {size})")]
    OutOfRange {
        /// The start of the text.
        text: String,
        /// What is out of range (`token id 60 ('zebra')`, `token type 1`, `62 tokens`).
        what: String,
        /// The id, segment or length.
        value: usize,
        /// The config field that sets the table's size.
        limit: &'static str,
        /// The table's size.
        size: usize,
    },
    /// A batch was asked for with no example in it.
    #[error("empty batch")]
    EmptyBatch,
}
