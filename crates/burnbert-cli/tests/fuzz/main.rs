//! Malformed inputs, generated from a seed, given to the `burnbert` binary: model folders
//! (config.json, safetensors headers and dtypes, pytorch_model.bin, vocab.txt, tokenizer.json,
//! tokenizer_config.json), data files (CSV, TSV, JSONL, CoNLL, SQuAD JSON) and command lines.
//! Every run must end with exit status 0, or 1 with an `error:` line that names the file it
//! was given (for file cases); never a panic (101), a signal, a hang, or a pickle's code run.
//!
//! `BURNBERT_FUZZ_CASES` sets the number of cases per kind (default 1,000: 7,001 in all).

#[path = "../common/mod.rs"]
mod common;

mod args;
mod data;
mod folders;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// splitmix64: the same cases on every machine for a seed.
pub(crate) struct Rng(u64);

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

pub(crate) fn cases() -> usize {
    std::env::var("BURNBERT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

/// One generated input: the command line, and what a failure must mention (one of them).
pub(crate) struct Case {
    args: Vec<String>,
    places: Vec<String>,
    what: String,
}

/// Runs `burnbert` on a case with a time limit; panics (failing the test) on anything but a
/// clean success or a clean error. Returns whether it failed (cleanly).
pub(crate) fn check(case: &Case) -> bool {
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
pub(crate) fn check_all(cases: Vec<Case>) {
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
pub(crate) fn damage(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
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
pub(crate) fn odd_value(rng: &mut Rng) -> Value {
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
pub(crate) fn mutate_json(rng: &mut Rng, value: &mut Value) {
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
pub(crate) fn mutate_json_file(rng: &mut Rng, path: &Path) {
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
