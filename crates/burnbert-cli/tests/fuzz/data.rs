//! Malformed data files: CSV, TSV, JSONL, CoNLL, SQuAD JSON.

use serde_json::json;

use crate::common::*;
use crate::*;

/// A field of a data row: text, separators, quotes, labels, broken UTF-8.
fn fragment(rng: &mut Rng) -> Vec<u8> {
    rng.pick(&[
        &b"the movie was great"[..],
        b"a boring film",
        b"",
        b" ",
        b"\"",
        b"\"quoted, text\"",
        b",",
        b"\t",
        b"\n",
        b"\r\n",
        b"positive",
        b"negative",
        b"neutral",
        b"no-such-label",
        b"\xff\xfe",
        b"{",
        b"}",
        b"\"text\": 1",
        b"0",
        b"1.5",
        b"[SEP]",
    ])
    .to_vec()
}

#[test]
fn malformed_data_files_are_errors_naming_the_file() {
    let root = scratch("fuzz-data");
    let mut rng = Rng(7);
    let mut all = Vec::new();
    let classifier = assets("tiny-bert-seqcls");
    let tagger = assets("tiny-bert-tokcls");
    let reader = assets("tiny-bert-qa");
    for i in 0..cases() * 3 {
        let kind = *rng.pick(&["csv", "tsv", "jsonl", "conll", "squad"]);
        let (path, model) = match kind {
            "csv" | "tsv" => {
                let sep: &[u8] = if kind == "csv" { b"," } else { b"\t" };
                let mut bytes = [b"text", sep, b"label\n"].concat();
                for _ in 0..1 + rng.below(5) {
                    for f in 0..1 + rng.below(3) {
                        if f > 0 {
                            bytes.extend_from_slice(sep);
                        }
                        for _ in 0..1 + rng.below(2) {
                            bytes.extend(fragment(&mut rng));
                        }
                    }
                    bytes.push(b'\n');
                }
                let path = root.join(format!("d{i}.{kind}"));
                std::fs::write(&path, bytes).unwrap();
                (path, &classifier)
            }
            "jsonl" => {
                let mut bytes = Vec::new();
                for _ in 0..1 + rng.below(4) {
                    let mut row = json!({"text": "the movie was great", "label": "positive"});
                    mutate_json(&mut rng, &mut row);
                    bytes.extend(row.to_string().into_bytes());
                    if rng.chance(10) {
                        bytes.extend(fragment(&mut rng));
                    }
                    bytes.push(b'\n');
                }
                let path = root.join(format!("d{i}.jsonl"));
                std::fs::write(&path, bytes).unwrap();
                (path, &classifier)
            }
            "conll" => {
                let mut bytes = Vec::new();
                for _ in 0..1 + rng.below(8) {
                    let line: &[u8] = rng.pick::<&[u8]>(&[
                        b"john B-PER",
                        b"lives O",
                        b"in O",
                        b"paris B-LOC",
                        b"paris I-LOC",
                        b"x B-",
                        b"y I-XYZ",
                        b"z WHAT",
                        b"word",
                        b"a b c d e",
                        b"-DOCSTART- -X- -X- O",
                        b"",
                        b"\xff O",
                        b"\t",
                    ]);
                    bytes.extend_from_slice(line);
                    bytes.push(b'\n');
                }
                let path = root.join(format!("d{i}.txt"));
                std::fs::write(&path, bytes).unwrap();
                (path, &tagger)
            }
            _ => {
                let context = "john lives in paris and the movie was great";
                let mut doc = json!({"version": "v2.0", "data": [{"title": "t", "paragraphs": [
                    {"context": context, "qas": [
                        {"id": "q1", "question": "where does john live",
                         "answers": [{"text": "paris", "answer_start": 14}]},
                        {"id": "q2", "question": "what was great", "is_impossible": true,
                         "answers": []}
                    ]}
                ]}]});
                let path = root.join(format!("d{i}.json"));
                std::fs::write(&path, doc.to_string()).unwrap();
                if rng.chance(20) {
                    let bytes = std::fs::read(&path).unwrap();
                    std::fs::write(&path, damage(&mut rng, &bytes)).unwrap();
                } else {
                    for _ in 0..1 + rng.below(3) {
                        mutate_json(&mut rng, &mut doc);
                    }
                    std::fs::write(&path, doc.to_string()).unwrap();
                }
                (path, &reader)
            }
        };
        let mut args: Vec<String> = vec![
            "eval".into(),
            model.to_string_lossy().into(),
            "--data".into(),
            path.to_string_lossy().into(),
            "--json".into(),
        ];
        if kind == "squad" {
            args.extend([
                "--max-length".into(),
                "32".into(),
                "--doc-stride".into(),
                "8".into(),
            ]);
        }
        all.push(Case {
            args,
            places: vec![path.file_name().unwrap().to_string_lossy().into()],
            what: format!("a malformed {kind} file"),
        });
    }
    check_all(all);
}
