//! Raw text for masked-language-model training, as `run_mlm.py` reads and cuts it: documents
//! from text files, tokenized, then concatenated and cut into blocks of `max_length` tokens
//! (`group_texts`), or kept one per line (`--line_by_line`).

use std::path::Path;

use burnbert_data::{BertTokenizer, DataError, Encoding, Location};

/// How a text file separates its documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DocumentSeparator {
    /// One document per line (`datasets`' `text` loader, which `run_mlm.py` uses; lines cut
    /// as Python's `str.splitlines` cuts them).
    #[default]
    Line,
    /// Documents are paragraphs separated by blank lines; a paragraph's lines are joined
    /// with a space.
    BlankLine,
}

/// A document of raw text and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDocument {
    /// Its text.
    pub text: String,
    /// Its file and first line.
    pub location: Location,
}

/// Reads the documents of a UTF-8 text file (a BOM is skipped). Lines that are empty or white
/// space only separate documents and are never documents themselves (`run_mlm.py`'s
/// `line_by_line` drops them too; its grouping would keep an empty line as `[CLS] [SEP]`).
///
/// # Errors
/// A file that cannot be read, that is not UTF-8 (naming the line), or that has no document.
pub fn read_documents(
    path: &Path,
    separator: DocumentSeparator,
) -> Result<Vec<TextDocument>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        DataError::Invalid {
            file: path.to_path_buf(),
            line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
            message: "not UTF-8".into(),
        }
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let at = |line: usize| Location {
        file: path.to_path_buf(),
        line,
    };
    let mut documents = Vec::new();
    let mut paragraph: Option<TextDocument> = None;
    for (i, line) in split_lines(text).into_iter().enumerate() {
        if line.trim().is_empty() {
            documents.extend(paragraph.take());
            continue;
        }
        match separator {
            DocumentSeparator::Line => documents.push(TextDocument {
                text: line.to_string(),
                location: at(i + 1),
            }),
            DocumentSeparator::BlankLine => match &mut paragraph {
                Some(p) => {
                    p.text.push(' ');
                    p.text.push_str(line);
                }
                None => {
                    paragraph = Some(TextDocument {
                        text: line.to_string(),
                        location: at(i + 1),
                    })
                }
            },
        }
    }
    documents.extend(paragraph);
    if documents.is_empty() {
        return Err(DataError::EmptyDataset {
            file: path.to_path_buf(),
        });
    }
    Ok(documents)
}

/// The lines of `text` as Python's `str.splitlines` cuts them (what `datasets`' text loader
/// uses): at `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`-`\x1e`, `\u{85}`, `\u{2028}` and `\u{2029}`.
/// Written here: Rust's `str::lines` cuts at `\n` only.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let breaks = matches!(
            c,
            '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}'
                | '\u{2029}'
        );
        if breaks {
            lines.push(&text[start..i]);
            start = i + c.len_utf8();
            if c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n') {
                chars.next();
                start += 1;
            }
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// A block of tokens to mask: model input and what masking needs to know of each token.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBlock {
    /// WordPiece ids, `[CLS]` / `[SEP]` of each document included.
    pub input_ids: Vec<u32>,
    /// Segment ids (all 0).
    pub token_type_ids: Vec<u32>,
    /// Whether each token is a special token (never masked).
    pub special_tokens_mask: Vec<bool>,
    /// Whether each token starts a word (whole-word masking masks a word through its first
    /// token): not special, and not touching the previous token's end in the text or
    /// following a special token, as `DataCollatorForLanguageModeling(whole_word_mask=True)`
    /// decides from the offsets.
    pub word_starts: Vec<bool>,
}

/// How many documents `run_mlm.py`'s `group_texts` concatenates at once (`datasets.map`'s
/// default batch of 1,000): each group's remainder shorter than a block is dropped.
pub const GROUP_DOCUMENTS: usize = 1000;

/// Tokenizes `documents` whole (each `[CLS] ... [SEP]`), concatenates each group of
/// [`GROUP_DOCUMENTS`] and cuts it into blocks of `block_size` tokens, the remainder dropped:
/// `run_mlm.py`'s `tokenize_function` then `group_texts`.
///
/// # Errors
/// A document the tokenizer cannot encode (an id outside the model's tables), naming its file
/// and line.
pub fn group_texts(
    tokenizer: &BertTokenizer,
    documents: &[TextDocument],
    block_size: usize,
) -> Result<Vec<TextBlock>, DataError> {
    let block_size = block_size.max(1);
    let mut blocks = Vec::new();
    for group in documents.chunks(GROUP_DOCUMENTS) {
        let mut tokens: Vec<Token> = Vec::new();
        for document in group {
            let encoding = tokenizer
                .encode_untruncated(&document.text, None)
                .map_err(|e| at(document, e))?;
            tokens.extend(Token::all(&encoding));
        }
        for block in tokens.chunks_exact(block_size) {
            blocks.push(TextBlock::of(block));
        }
    }
    Ok(blocks)
}

/// Tokenizes each document alone, cut at `max_length` tokens: `run_mlm.py --line_by_line`.
///
/// # Errors
/// As [`group_texts`].
pub fn line_by_line(
    tokenizer: &BertTokenizer,
    documents: &[TextDocument],
    max_length: usize,
) -> Result<Vec<TextBlock>, DataError> {
    documents
        .iter()
        .map(|document| {
            let encoding = tokenizer
                .encode(&document.text, None, max_length)
                .map_err(|e| at(document, e))?;
            Ok(TextBlock::of(&Token::all(&encoding)))
        })
        .collect()
}

fn at(document: &TextDocument, e: DataError) -> DataError {
    DataError::Invalid {
        file: document.location.file.clone(),
        line: document.location.line,
        message: e.to_string(),
    }
}

/// A token with what masking needs of it.
#[derive(Debug, Clone, Copy)]
struct Token {
    id: u32,
    special: bool,
    offsets: (usize, usize),
}

impl Token {
    fn all(encoding: &Encoding) -> Vec<Token> {
        (0..encoding.len())
            .map(|i| Token {
                id: encoding.input_ids[i],
                special: encoding.sequence_ids[i].is_none(),
                offsets: encoding.offsets[i],
            })
            .collect()
    }
}

impl TextBlock {
    fn of(tokens: &[Token]) -> Self {
        let word_starts = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                // HF: the first token of a row has no previous token (its end is -1).
                let after_gap_or_special = match i.checked_sub(1).map(|p| tokens[p]) {
                    None => true,
                    Some(previous) => previous.special || previous.offsets.1 != t.offsets.0,
                };
                !t.special && after_gap_or_special
            })
            .collect();
        TextBlock {
            input_ids: tokens.iter().map(|t| t.id).collect(),
            token_type_ids: vec![0; tokens.len()],
            special_tokens_mask: tokens.iter().map(|t| t.special).collect(),
            word_starts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> BertTokenizer {
        BertTokenizer::from_folder(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tiny-bert")).unwrap()
    }

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("burnbert-mlm-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn lines_are_python_s_splitlines() {
        // "a\nb\r\nc\rd\u{2028}e\x0cf\n\ng\n".splitlines()
        assert_eq!(
            split_lines("a\nb\r\nc\rd\u{2028}e\u{c}f\n\ng\n"),
            ["a", "b", "c", "d", "e", "f", "", "g"]
        );
        assert_eq!(split_lines(""), Vec::<&str>::new());
        assert_eq!(split_lines("x"), ["x"]);
    }

    #[test]
    fn documents_are_lines_or_paragraphs() {
        let path = write("docs.txt", "\u{feff}the movie\n\n  \nwas great\r\nand fun\n");
        let lines = read_documents(&path, DocumentSeparator::Line).unwrap();
        let texts: Vec<&str> = lines.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["the movie", "was great", "and fun"]);
        assert_eq!(lines[1].location.line, 4);
        let paragraphs = read_documents(&path, DocumentSeparator::BlankLine).unwrap();
        let texts: Vec<&str> = paragraphs.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["the movie", "was great and fun"]);
        assert_eq!(paragraphs[1].location.line, 4);
        let empty = write("empty.txt", "\n \n");
        assert!(matches!(
            read_documents(&empty, DocumentSeparator::Line),
            Err(DataError::EmptyDataset { .. })
        ));
        let bad = write("bad.txt", "fine\n\u{0}ok\nbad \u{ff}");
        std::fs::write(&bad, b"fine\nok\nbad \xff").unwrap();
        let err = read_documents(&bad, DocumentSeparator::Line).unwrap_err().to_string();
        assert!(err.ends_with(":3: not UTF-8"), "{err}");
    }

    /// run_mlm.py's group_texts on the same documents (with BertTokenizerFast of this vocab):
    /// `[CLS] the movie was great [SEP] [CLS] hello , world ! [SEP]` cut in blocks of 4, the
    /// last 3 tokens dropped.
    #[test]
    fn grouping_concatenates_and_drops_the_remainder() {
        let tok = tokenizer();
        let docs = [
            TextDocument {
                text: "the movie was great".into(),
                location: Location { file: "a".into(), line: 1 },
            },
            TextDocument {
                text: "hello, world!".into(),
                location: Location { file: "a".into(), line: 2 },
            },
        ];
        let blocks = group_texts(&tok, &docs, 4).unwrap();
        let id = |t: &str| tok.token_to_id(t).unwrap();
        let ids: Vec<Vec<u32>> = blocks.iter().map(|b| b.input_ids.clone()).collect();
        assert_eq!(
            ids,
            [
                vec![id("[CLS]"), id("the"), id("movie"), id("was")],
                vec![id("great"), id("[SEP]"), id("[CLS]"), id("hello")],
                vec![id(","), id("world"), id("!"), id("[SEP]")],
            ]
        );
        assert_eq!(blocks[1].special_tokens_mask, [false, true, true, false]);
        // "hello," is one word by the offsets ("," touches "hello"); "!" touches "world".
        assert_eq!(blocks[1].word_starts, [true, false, false, true]);
        assert_eq!(blocks[2].word_starts, [true, true, false, false]);
        let lines = line_by_line(&tok, &docs, 4).unwrap();
        assert_eq!(
            lines[0].input_ids,
            [id("[CLS]"), id("the"), id("movie"), id("[SEP]")]
        );
    }

    #[test]
    fn word_starts_follow_the_offsets() {
        let tok = tokenizer();
        let docs = [TextDocument {
            text: "unaffable actors".into(),
            location: Location { file: "a".into(), line: 1 },
        }];
        let block = &line_by_line(&tok, &docs, 20).unwrap()[0];
        let tokens: Vec<u32> = ["[CLS]", "un", "##aff", "##able", "actor", "##s", "[SEP]"]
            .iter()
            .map(|t| tok.token_to_id(t).unwrap())
            .collect();
        assert_eq!(block.input_ids, tokens);
        assert_eq!(
            block.word_starts,
            [false, true, false, false, true, false, false]
        );
    }
}
