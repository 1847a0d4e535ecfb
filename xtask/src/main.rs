//! Project tasks:
//! - `cargo xtask assets [NAME ...]` fetches the real weights and data into the cache (see
//!   `burnbert-assets`);
//! - `cargo xtask reference` regenerates the PyTorch fixtures and reference outputs;
//! - `cargo xtask test` runs the test suite on flex, then the parity and round-trip tests on
//!   every other CPU-reachable backend this machine has: ndarray, LibTorch CPU (when
//!   `torch==2.9.0` is importable) and wgpu on a software Vulkan driver (when one is installed).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("assets") => assets(&args[1..]),
        Some("reference") => reference(),
        Some("test") => test(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask assets [all-MiniLM-L6-v2|pang-lee|conll2003|squad ...]\n       cargo xtask reference\n       cargo xtask test [-- CARGO TEST ARGS]"
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

/// Whether a Vulkan driver is installed (lavapipe in CI).
fn has_vulkan() -> bool {
    ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
        .iter()
        .any(|d| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()))
}

fn test(extra: &[String]) -> ExitCode {
    let torch = torch_lib();
    let vulkan = has_vulkan();
    let mut features = vec!["ndarray"];
    let mut backends = vec!["ndarray"];
    if torch.is_some() {
        features.push("tch");
        backends.push("tch:cpu");
    } else {
        println!("xtask test: no torch==2.9.0 in python3: LibTorch (tch) not tested");
    }
    if vulkan {
        features.push("wgpu");
        backends.push("wgpu:cpu");
    } else {
        println!("xtask test: no Vulkan driver: wgpu not tested");
    }
    let features = features.join(",");
    let cargo = |device: &str, args: &[&str]| {
        let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c.args([
            "test",
            "--release",
            "--no-fail-fast",
            "--features",
            &features,
        ])
        .args(args)
        .args(extra)
        .env("BURN_DEVICE", device);
        if let Some(lib) = &torch {
            c.env("LIBTORCH_USE_PYTORCH", "1");
            // torch-sys rebuilds (and Burn above it) whenever this variable changes: set it to
            // the same value whether or not the caller already has torch's lib in it.
            let path = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
            let others: Vec<&str> = path
                .split(':')
                .filter(|p| !p.is_empty() && *p != lib.as_str())
                .collect();
            let value = std::iter::once(lib.as_str())
                .chain(others)
                .collect::<Vec<_>>()
                .join(":");
            c.env("LD_LIBRARY_PATH", value);
        }
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = std::env::temp_dir().join("burnbert-xdg");
            let _ = std::fs::create_dir_all(&dir);
            c.env("XDG_RUNTIME_DIR", dir);
        }
        if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
            c.env("BURNBERT_REQUIRE_ASSETS", "1");
        }
        println!(
            "xtask test: BURN_DEVICE={device} cargo test --release --features {features} {}",
            args.join(" ")
        );
        c.status().is_ok_and(|s| s.success())
    };
    let mut ok = cargo("flex", &["--workspace"]);
    for device in backends {
        ok &= cargo(
            device,
            &[
                "--test",
                "parity",
                "--test",
                "roundtrip",
                "--test",
                "train_curve",
            ],
        );
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
