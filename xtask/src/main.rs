//! Project tasks:
//! - `cargo xtask assets [NAME ...]` fetches the real weights and data into the cache (see
//!   `burnbert-assets`);
//! - `cargo xtask reference` regenerates the PyTorch fixtures and reference outputs;
//! - `cargo xtask test` fetches the assets it lacks, runs the test suite on the default build
//!   (flex), then the parity and round-trip tests, built with the other backends' features in a
//!   target folder of their own, on every other CPU-reachable backend this machine has: ndarray,
//!   LibTorch CPU (when `torch==2.9.0` is importable) and wgpu on a software Vulkan driver (when
//!   one is installed); it ends with a summary of what ran where and what was skipped and why;
//! - `cargo xtask bench` measures training and inference throughput and peak memory on each
//!   backend against PyTorch + `transformers` on the same machine (see `bench()`);
//! - `cargo xtask gpu-pack` builds and packs what `bench/gpu_check.py` runs on a GPU machine
//!   without Rust (see `gpu_pack`).

use std::path::PathBuf;
use std::process::{Command, ExitCode};

mod bench;
mod gpu_pack;

use bench::bench;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("assets") => assets(&args[1..]),
        Some("reference") => reference(),
        Some("test") => test(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("gpu-pack") => gpu_pack::gpu_pack(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask assets [all-MiniLM-L6-v2|pang-lee|conll2003|squad ...]\n       cargo xtask reference\n       cargo xtask test [-- CARGO TEST ARGS]\n       cargo xtask bench [--backends flex,ndarray,ndarray-blas,tch] [--models minilm,bert-base] [--modes train,inference] [--warmup N] [--runs N] [--repeat N] [--json FILE]\n       cargo xtask gpu-pack [--torch VERSION] [--out DIR] [--wheels 3.X]"
            );
            ExitCode::from(2)
        }
    }
}

fn assets(names: &[String]) -> ExitCode {
    let selected: Result<Vec<_>, _> = if names.is_empty() {
        Ok(burnbert_assets::ALL.to_vec())
    } else {
        names.iter().map(|n| burnbert_assets::by_name(n)).collect()
    };
    let selected = match selected {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for asset in selected {
        let was_cached = burnbert_assets::cached(&asset).is_some();
        match burnbert_assets::ensure(&asset) {
            Ok(dir) => println!(
                "{:<18} {} ({})",
                asset.name,
                dir.display(),
                if was_cached { "cached" } else { "fetched" }
            ),
            Err(e) => {
                eprintln!("error: {}: {e}", asset.name);
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn reference() -> ExitCode {
    let minilm = match burnbert_assets::ensure(&burnbert_assets::MINILM) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg("tests/reference/make_reference.py")
        .arg("--minilm")
        .arg(minilm)
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}

/// The `lib` folder of the pip-installed torch 2.9.0, if Python has it.
fn torch_lib() -> Option<String> {
    let out = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-c", "import torch, os; assert torch.__version__.startswith('2.9.0'); print(os.path.join(os.path.dirname(torch.__file__), 'lib'))"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A `cargo` command with the environment of a shell: without the package variables that
/// `cargo run` set for xtask itself (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...). Build scripts
/// such as ring's rerun when those change, so leaving them in rebuilt ring, torch-sys and all of
/// Burn above them whenever a build alternated between `cargo xtask` and a plain `cargo`.
fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_CRATE_")
            || name.starts_with("CARGO_BIN_")
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "OUT_DIR"
        {
            c.env_remove(name.as_ref());
        }
    }
    c
}

/// LibTorch from the pip-installed torch at `lib`, for building and running the tch backend.
fn torch_env(c: &mut Command, lib: &str) {
    c.env("LIBTORCH_USE_PYTORCH", "1");
    // torch-sys rebuilds (and Burn above it) whenever this variable changes: set it to the
    // same value whether or not the caller already has torch's lib in it.
    let path = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    let others: Vec<&str> = path
        .split(':')
        .filter(|p| !p.is_empty() && *p != lib)
        .collect();
    let value = std::iter::once(lib)
        .chain(others)
        .collect::<Vec<_>>()
        .join(":");
    c.env("LD_LIBRARY_PATH", value);
}

/// Whether a Vulkan driver is installed (lavapipe in CI).
fn has_vulkan() -> bool {
    ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
        .iter()
        .any(|d| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()))
}

/// The backends `xtask test` builds besides flex: ndarray, tch with torch, wgpu with Vulkan.
fn test_features(torch: bool, vulkan: bool) -> Vec<&'static str> {
    let mut features = vec!["ndarray"];
    if torch {
        features.push("tch");
    }
    if vulkan {
        features.push("wgpu");
    }
    features
}

/// The target folder of the default build (`CARGO_TARGET_DIR`, else `target`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

/// The target folder of the builds with the other backends' features: a folder of their own,
/// so that `target/release/burnbert` stays the default build (which starts without LibTorch).
pub(crate) fn backends_target_dir() -> PathBuf {
    target_dir().join("backends")
}

/// What one `cargo test` run of `xtask test` gave: libtest's counts, summed over its binaries.
#[derive(Default)]
struct TestCounts {
    passed: usize,
    failed: usize,
    ignored: usize,
    binaries: usize,
}

impl TestCounts {
    /// Adds a libtest summary line (`test result: ok. 3 passed; 0 failed; 1 ignored; ...`).
    fn add(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        self.binaries += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<usize>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

/// Runs `command`, echoing its standard output line by line, and returns whether it succeeded
/// with the libtest counts it printed.
fn run_counting(mut command: Command) -> (bool, TestCounts) {
    use std::io::BufRead;
    let mut counts = TestCounts::default();
    let Ok(mut child) = command.stdout(std::process::Stdio::piped()).spawn() else {
        return (false, counts);
    };
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            println!("{line}");
            counts.add(&line);
        }
    }
    (child.wait().is_ok_and(|s| s.success()), counts)
}

fn test(extra: &[String]) -> ExitCode {
    // The assets the real-data tests need, fetched when missing (nothing to do when cached);
    // a test whose asset cannot be fetched skips, and the summary says so.
    let mut notes = Vec::new();
    for asset in burnbert_assets::ALL {
        if let Err(e) = burnbert_assets::ensure(&asset) {
            println!("xtask test: {} could not be fetched: {e}", asset.name);
            notes.push(format!("asset {} not fetched: {e}", asset.name));
        }
    }
    let torch = torch_lib();
    let vulkan = has_vulkan();
    let mut backends = vec!["ndarray"];
    if torch.is_some() {
        backends.push("tch:cpu");
    } else {
        notes.push("tch (LibTorch) not tested: no torch==2.9.0 in python3".into());
    }
    if vulkan {
        backends.push("wgpu:cpu");
    } else {
        notes.push("wgpu not tested: no Vulkan driver".into());
    }
    for note in &notes {
        println!("xtask test: {note}");
    }
    let features = test_features(torch.is_some(), vulkan).join(",");
    // Every test that skips appends a line here (burnbert_assets::testing).
    let skip_log = std::env::temp_dir().join(format!("burnbert-skips-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&skip_log);
    // The whole suite on the default build (flex): its `burnbert` binary is the one README's
    // users build, and starts without LibTorch; then the parity tests with every backend, built
    // in a target folder of their own.
    let cargo_test = |device: &str, args: &[&str]| {
        let mut c = cargo();
        c.args(["test", "--release", "--no-fail-fast"]);
        if device != "flex" {
            c.args(["--features", &features])
                .env("CARGO_TARGET_DIR", backends_target_dir());
        }
        c.args(args)
            .args(extra)
            .env("BURN_DEVICE", device)
            .env(burnbert_assets::testing::SKIP_LOG, &skip_log);
        if let Some(lib) = &torch {
            torch_env(&mut c, lib);
        }
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = std::env::temp_dir().join("burnbert-xdg");
            let _ = std::fs::create_dir_all(&dir);
            c.env("XDG_RUNTIME_DIR", dir);
        }
        if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
            c.env(burnbert_assets::testing::REQUIRE, "1");
        }
        let with = if device == "flex" {
            String::new()
        } else {
            format!(" --features {features}")
        };
        let what = format!(
            "BURN_DEVICE={device} cargo test --release{with} {}",
            args.join(" ")
        );
        println!("xtask test: {what}");
        let (ok, counts) = run_counting(c);
        (ok, what, counts)
    };
    // The habits first: formatting and clippy (missing docs included) on every target.
    let mut ok = true;
    let mut summary = Vec::new();
    for args in [
        &["fmt", "--all", "--check"][..],
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--release",
            "--",
            "-D",
            "warnings",
        ][..],
    ] {
        println!("xtask test: cargo {}", args.join(" "));
        let passed = cargo().args(args).status().is_ok_and(|s| s.success());
        summary.push(format!(
            "{}  cargo {}",
            if passed { "ok    " } else { "FAILED" },
            args.join(" ")
        ));
        ok &= passed;
    }
    let mut runs = vec![cargo_test("flex", &["--workspace"])];
    for device in backends {
        runs.push(cargo_test(
            device,
            &[
                "--test",
                "parity",
                "--test",
                "roundtrip",
                "--test",
                "train_curve",
            ],
        ));
    }
    for (passed, what, counts) in runs {
        ok &= passed;
        summary.push(format!(
            "{}  {what}: {} passed, {} failed, {} ignored ({} test binaries)",
            if passed { "ok    " } else { "FAILED" },
            counts.passed,
            counts.failed,
            counts.ignored,
            counts.binaries
        ));
    }
    println!("\nxtask test: summary");
    for line in &summary {
        println!("  {line}");
    }
    for note in &notes {
        println!("  note    {note}");
    }
    let skips = std::fs::read_to_string(&skip_log).unwrap_or_default();
    let _ = std::fs::remove_file(&skip_log);
    let mut skips: Vec<&str> = skips.lines().collect();
    skips.sort();
    if skips.is_empty() {
        println!("  no test skipped");
    } else {
        println!(
            "  {} tests skipped (they pass without checking anything):",
            skips.len()
        );
        for skip in skips {
            println!("    {skip}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::TestCounts;

    #[test]
    fn counts_sum_libtests_summaries() {
        let mut counts = TestCounts::default();
        for line in [
            "running 3 tests",
            "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 2 filtered out; finished in 0.01s",
            "test result: FAILED. 4 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.50s",
        ] {
            counts.add(line);
        }
        assert_eq!(
            (
                counts.passed,
                counts.failed,
                counts.ignored,
                counts.binaries
            ),
            (7, 2, 1, 2)
        );
    }
}
