//! Malformed inputs, generated from a seed, given to the `burnbert` binary: model folders
//! (config.json, safetensors headers and dtypes, pytorch_model.bin, vocab.txt, tokenizer.json,
//! tokenizer_config.json), data files (CSV, TSV, JSONL, CoNLL, SQuAD JSON) and command lines.
//! Every run must end with exit status 0, or 1 with an `error:` line that names the file it
//! was given (for file cases); never a panic (101), a signal, a hang, or a pickle's code run.
//!
//! `BURNBERT_FUZZ_CASES` sets the number of cases per kind (default 1,000: 7,001 in all).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::*;

/// splitmix64: the same cases on every machine for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn cases() -> usize {
    std::env::var("BURNBERT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// One generated input: the command line, and what a failure must mention (one of them).
struct Case {
    args: Vec<String>,
    places: Vec<String>,
    what: String,
}

/// Runs `burnbert` on a case with a time limit; panics (failing the test) on anything but a
/// clean success or a clean error. Returns whether it failed (cleanly).
fn check(case: &Case) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_burnbert"))
        .args(&case.args)
        .env("BURN_DEVICE", "flex")
        .env("HF_HUB_OFFLINE", "1")
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{}: still running after 60 s: {:?}", case.what, case.args);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = reader.join().unwrap();
    let context = || format!("{}: {:?}\n{stderr}", case.what, case.args);
    match status.code() {
        Some(0) => {}
        Some(1) => {
            assert!(stderr.contains("error: "), "no error line: {}", context());
            if !case.places.is_empty() {
                assert!(
                    case.places.iter().any(|p| stderr.contains(p.as_str())),
                    "the error names none of {:?}: {}",
                    case.places,
                    context()
                );
            }
        }
        other => panic!("exit status {other:?}: {}", context()),
    }
    assert!(!stderr.contains("panicked"), "a panic: {}", context());
    status.code() == Some(1)
}

/// Runs the cases on two threads, and checks that some of them were refused and some not
/// (the generator both breaks inputs and leaves usable ones).
fn check_all(cases: Vec<Case>) {
    let next = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    if check(case) {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let refused = refused.into_inner();
    println!(
        "{} cases: {refused} refused with an error, {} ran",
        cases.len(),
        cases.len() - refused
    );
    assert!(
        refused > 0 && refused < cases.len(),
        "{refused} of {} refused",
        cases.len()
    );
}

/// Bytes `bytes` with a few random changes: truncated, bytes flipped, a slice repeated, or
/// cut to nothing.
fn damage(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match rng.below(5) {
        0 => out.truncate(rng.below(bytes.len())),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
        }
        2 => {
            let i = rng.below(out.len());
            out[i] = *rng.pick(&[0u8, 0xFF, b'"', b'{', b'}', b'\n', b'\t', b'[', b'\\']);
        }
        3 => {
            let (a, b) = (rng.below(out.len()), rng.below(out.len()));
            let (a, b) = (a.min(b), a.max(b));
            let slice = out[a..b].to_vec();
            out.splice(a..a, slice);
        }
        _ => out.clear(),
    }
    out
}

/// A JSON value that config files and data fields get wrong.
fn odd_value(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!(0),
        json!(-1),
        json!(1),
        json!(2),
        json!(3),
        json!(7),
        json!(40),
        json!(61),
        json!(2147483648u64),
        json!(4294967296u64),
        json!(u64::MAX),
        json!(1e300),
        json!(-1e300),
        json!(0.5),
        json!(1.5),
        json!("x"),
        json!(""),
        json!(null),
        json!(true),
        json!([]),
        json!([1, 2]),
        json!({}),
        json!({"0": "a"}),
        json!({"5": "a"}),
        json!({"x": "y"}),
        json!({"0": 1}),
    ])
    .clone()
}

/// A random change of one field (at a random depth) of a JSON document.
fn mutate_json(rng: &mut Rng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.chance(75) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = rng.pick(&keys).clone();
            if rng.chance(15) {
                map.remove(&key);
            } else {
                mutate_json(rng, map.get_mut(&key).unwrap());
            }
        }
        Value::Array(items) if !items.is_empty() && rng.chance(75) => {
            let i = rng.below(items.len());
            if rng.chance(15) {
                items.remove(i);
            } else {
                mutate_json(rng, &mut items[i]);
            }
        }
        other => *other = odd_value(rng),
    }
}

/// A JSON file with one field changed (or, one time in five, its bytes damaged).
fn mutate_json_file(rng: &mut Rng, path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    if rng.chance(20) {
        std::fs::write(path, damage(rng, &bytes)).unwrap();
        return;
    }
    let mut value: Value = serde_json::from_slice(&bytes).unwrap();
    for _ in 0..1 + rng.below(3) {
        mutate_json(rng, &mut value);
    }
    std::fs::write(path, value.to_string()).unwrap();
}

/// A safetensors file whose header has a dtype, a shape or offsets changed, or whose bytes
/// are damaged.
fn mutate_safetensors(rng: &mut Rng, path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let names: Vec<String> = header
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    let name = rng.pick(&names).clone();
    let tensor = &mut header[&name];
    match rng.below(6) {
        0 => {
            tensor["dtype"] = json!(rng.pick(&[
                "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL", "F8_E4M3", "F32", "XX"
            ]))
        }
        1 => {
            let shape = tensor["shape"].as_array_mut().unwrap();
            if shape.is_empty() || rng.chance(30) {
                shape.push(json!(rng.below(5)));
            } else {
                let i = rng.below(shape.len());
                shape[i] = json!(*rng.pick(&[0u64, 1, 2, 13, 1 << 32, u64::MAX]));
            }
        }
        2 => {
            let offsets = tensor["data_offsets"].as_array_mut().unwrap();
            let i = rng.below(2);
            offsets[i] = json!(*rng.pick(&[0u64, 1, 3, 1 << 20, u64::MAX]));
        }
        3 => {
            // A declared header length past the file.
            let mut out = bytes.clone();
            out[..8].copy_from_slice(&(u64::MAX - rng.below(1000) as u64).to_le_bytes());
            std::fs::write(path, out).unwrap();
            return;
        }
        4 => {
            std::fs::write(path, damage(rng, &bytes)).unwrap();
            return;
        }
        _ => mutate_json(rng, &mut header),
    }
    let header = header.to_string().into_bytes();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

/// A vocabulary with a special token gone, lines repeated or changed, or bytes damaged.
fn mutate_vocab(rng: &mut Rng, path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match rng.below(5) {
        0 => {
            let special = rng.pick(&["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
            lines.retain(|l| l != special);
        }
        1 => {
            let i = rng.below(lines.len());
            lines.insert(i, lines[i].clone());
        }
        2 => lines.truncate(rng.below(6)),
        3 => {
            let i = rng.below(lines.len());
            lines[i] = rng
                .pick(&["", " ", "##", "[CLS] [SEP]", "\u{0}", "x\ty"])
                .to_string();
        }
        _ => {
            std::fs::write(path, damage(rng, text.as_bytes())).unwrap();
            return;
        }
    }
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[test]
fn malformed_model_folders_are_errors_naming_the_file() {
    let root = scratch("fuzz-models");
    let mut rng = Rng(12);
    let mut all = Vec::new();
    for i in 0..cases() * 2 {
        let dir = root.join(format!("m{i}"));
        let (base, file) = *rng.pick(&[
            ("tiny-bert-seqcls", "config.json"),
            ("tiny-bert-seqcls", "model.safetensors"),
            ("tiny-bert-seqcls", "vocab.txt"),
            ("tiny-bert-seqcls", "tokenizer_config.json"),
            ("tiny-bert", "tokenizer.json"),
            ("tiny-bert", "tokenizer.json"),
            ("tiny-bert", "pytorch_model.bin"),
        ]);
        copy_model(base, &dir);
        if file == "pytorch_model.bin" {
            std::fs::remove_file(dir.join("model.safetensors")).unwrap();
        }
        let path = dir.join(file);
        match file {
            "config.json" | "tokenizer_config.json" | "tokenizer.json" => {
                mutate_json_file(&mut rng, &path)
            }
            "model.safetensors" => mutate_safetensors(&mut rng, &path),
            "vocab.txt" => mutate_vocab(&mut rng, &path),
            _ => {
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, damage(&mut rng, &bytes)).unwrap();
            }
        }
        let text = rng
            .pick(&[
                "the movie was great",
                "hello [SEP] world",
                "é ü 中文 \u{200b}",
                "a",
            ])
            .to_string();
        let mut args: Vec<String> = match rng.below(3) {
            0 => vec!["encode".into()],
            1 => vec!["inspect".into()],
            _ => vec![
                "predict".into(),
                "--task".into(),
                "sequence-classification".into(),
            ],
        };
        args.push(dir.to_string_lossy().into());
        if args[0] != "inspect" {
            args.extend(["--text".into(), text]);
        }
        args.push("--json".into());
        all.push(Case {
            args,
            // The folder's error names the folder (and so its file), or the text that does not
            // fit the model's tables.
            places: vec![dir.to_string_lossy().into(), "text '".into()],
            what: format!("{base} with {file} changed"),
        });
    }
    check_all(all);
}

#[test]
fn a_pickle_that_runs_code_is_never_run() {
    let dir = copy_model("tiny-bert", &scratch("fuzz-pickle"));
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let marker = dir.join("payload-ran");
    // pickle protocol 2: os.system("touch MARKER"), the classic pytorch_model.bin exploit.
    let mut pickle = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
    let command = format!("touch {}", marker.display());
    pickle.extend_from_slice(&(command.len() as u32).to_le_bytes());
    pickle.extend_from_slice(command.as_bytes());
    pickle.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    std::fs::write(dir.join("pytorch_model.bin"), pickle).unwrap();
    let case = Case {
        args: ["encode", dir.to_str().unwrap(), "--text", "hello"]
            .map(String::from)
            .to_vec(),
        places: vec![dir.to_string_lossy().into()],
        what: "a pickle payload".into(),
    };
    check(&case);
    assert!(!marker.exists(), "the pickle's code ran");
}

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

#[test]
fn odd_command_lines_are_errors_not_crashes() {
    let root = scratch("fuzz-args");
    let mut rng = Rng(3);
    let models = [
        assets("tiny-bert"),
        assets("tiny-bert-seqcls"),
        assets("tiny-bert-tokcls"),
        assets("tiny-bert-qa"),
        root.join("no-such-folder"),
    ];
    let data = root.join("data.csv");
    std::fs::write(&data, "text,label\nthe movie was great,positive\n").unwrap();
    let values = [
        "0",
        "-1",
        "1",
        "7",
        "40",
        "100000000000",
        "18446744073709551616",
        "1e9",
        "nan",
        "-0.5",
        "",
        " ",
        "x",
        "[SEP]",
        "\u{feff}",
        "--json",
    ];
    let flags = [
        "--text",
        "--text-pair",
        "--question",
        "--context",
        "--max-length",
        "--doc-stride",
        "--max-answer-length",
        "--batch-size",
        "--task",
        "--device",
        "--null-score-diff-threshold",
        "--file",
        "--data",
        "--json",
        "--no-such-flag",
    ];
    let mut all = Vec::new();
    for _ in 0..cases() * 2 {
        let command = *rng.pick(&["encode", "predict", "eval", "inspect", "bogus", "--help"]);
        let mut args: Vec<String> = vec![command.into()];
        if rng.chance(90) {
            args.push(rng.pick(&models).to_string_lossy().into());
        }
        for _ in 0..rng.below(5) {
            let flag = *rng.pick(&flags);
            args.push(flag.into());
            match flag {
                "--json" | "--no-such-flag" => {}
                "--data" | "--file" => args.push(if rng.chance(50) {
                    data.to_string_lossy().to_string()
                } else {
                    rng.pick(&values).to_string()
                }),
                _ => args.push(rng.pick(&values).to_string()),
            }
        }
        all.push(Case {
            args,
            places: vec![],
            what: "a command line".into(),
        });
    }
    check_all(all);
}
