//! Helpers of the CLI tests: the binary, its JSON output, scratch folders, fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// `assets/NAME` of the repository.
pub fn assets(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets")
        .join(name)
}

/// `tests/cases/NAME` of the repository: the shared cases, each with its README, inputs and
/// fixtures.
pub fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/cases")
        .join(name)
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `burnbert ARGS` on the CPU default (or `BURN_DEVICE`).
pub fn burnbert(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_burnbert"));
    // The CPU default, whatever else the build has.
    if std::env::var_os("BURN_DEVICE").is_none() {
        command.env("BURN_DEVICE", "flex");
    }
    command.args(args).output().unwrap()
}

/// `out`, after checking that the command succeeded (its output in the failure message).
pub fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The standard error of a command that failed with exit status 1 and an `error:` line (no
/// panic, no output on stdout).
pub fn failed(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// The JSON a successful command printed.
pub fn json(args: &[&str]) -> Value {
    serde_json::from_slice(&succeeded(burnbert(args)).stdout).unwrap()
}

/// A copy of `assets/NAME` in `dir` (created), returned.
pub fn copy_model(name: &str, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(assets(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir.to_path_buf()
}

/// An empty scratch folder for test `name`, removed with what the test wrote into it when the
/// returned value is dropped (`tempfile`'s `TempDir`); `BURNBERT_KEEP_SCRATCH=1` keeps it, to
/// look at after a failure. Read it as a `&Path`.
pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("burnbert-cli-{name}-"))
        .disable_cleanup(std::env::var_os("BURNBERT_KEEP_SCRATCH").is_some())
        .tempdir()
        .unwrap();
    Scratch(dir)
}

/// A scratch folder that [`scratch`] made: a `Path` while it lives, removed when dropped.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// The numbers of a JSON array.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The integers of a JSON array.
pub fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// Asserts two series agree within 1e-4 (PyTorch's numbers on the CPU).
pub fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(diff <= 1e-4, "max abs diff {diff}: {a:?} against {b:?}");
}
