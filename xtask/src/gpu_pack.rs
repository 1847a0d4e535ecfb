//! `cargo xtask gpu-pack`: what `bench/gpu_check.py` runs on a GPU machine that has PyTorch but
//! no Rust, built here and packed small enough to carry there.
//!
//! - The bench example and the `parity` and `train_curve` test binaries, built with
//!   `--features tch,wgpu` (flex stays the default) in a target folder of their own
//!   (`$CARGO_TARGET_DIR/gpu`), stripped and packed as `gpu-pack/burnbert-gpu.tar.xz`
//!   (xz: about a sixth of the stripped size).
//! - tch links LibTorch of the torch version the GPU machine has (`--torch`, 2.11.0 by default:
//!   the CUDA 13 build of PyPI's wheel), not the 2.9.0 that tch 0.22 is written for, so that the
//!   binaries load that machine's `libtorch_cuda.so`; the wheel is fetched with pip and only its
//!   headers and libraries unpacked. tch's version check is bypassed for this build alone.
//! - With `--wheels 3.X`: wheels of `transformers` and what it needs besides torch and numpy, for
//!   CPython 3.X, in `gpu-pack/wheels/`: the PyTorch side of the check (`bench/pytorch.py`)
//!   installs them from there when the machine lacks `transformers`. They take about 28 MiB.
//!
//! The pack must stay under 64 MiB, what a run may carry to the device machine: the binaries
//! alone take about 33 MiB (32.4 MiB at 2214983).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::{cargo, target_dir};

/// `transformers` as the rest of the project pins it (`.ci/run`).
const TRANSFORMERS: &str = "transformers==5.23.0";
/// The most a run may carry to the device machine.
const CARRY_LIMIT: u64 = 64 << 20;

/// The options of `cargo xtask gpu-pack`.
struct PackOptions {
    torch: String,
    out: PathBuf,
    /// The CPython version (`3.12`) to fetch `transformers`' wheels for, if any.
    wheels: Option<String>,
}

impl PackOptions {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            torch: "2.11.0".into(),
            out: "gpu-pack".into(),
            wheels: None,
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--torch" => options.torch = value.clone(),
                "--out" => options.out = value.into(),
                "--wheels" => options.wheels = Some(value.clone()),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        Ok(options)
    }
}

/// Runs `c`, an error naming `what` unless it succeeds.
fn run(mut c: Command, what: &str) -> Result<(), String> {
    println!("xtask gpu-pack: {what}");
    match c.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{what}: {s}")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

fn python() -> Command {
    Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()))
}

/// LibTorch of PyPI's `torch==version` wheel: its `torch/` folder with `include/` and `lib/`,
/// fetched and unpacked once into `dir`.
fn libtorch(version: &str, dir: &Path) -> Result<PathBuf, String> {
    let torch = dir.join("torch");
    if torch.join("lib").is_dir() && torch.join("include").is_dir() {
        return Ok(torch);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut c = python();
    c.args(["-m", "pip", "download", "--quiet", "--no-deps"])
        .arg(format!("torch=={version}"))
        .arg("-d")
        .arg(dir);
    run(c, &format!("pip download torch=={version}"))?;
    // Only the headers and libraries: the wheel's Python half is not needed to link.
    let mut c = python();
    c.args([
        "-c",
        "import sys, zipfile, glob\n\
         wheel, = glob.glob(sys.argv[1] + '/torch-*.whl')\n\
         with zipfile.ZipFile(wheel) as z:\n\
         \x20   names = [n for n in z.namelist() if n.startswith(('torch/include/', 'torch/lib/'))]\n\
         \x20   z.extractall(sys.argv[1] + '/.partial', names)\n",
    ])
    .arg(dir);
    run(c, "unpack LibTorch from the wheel")?;
    std::fs::rename(dir.join(".partial/torch"), &torch)
        .map_err(|e| format!("{}: {e}", torch.display()))?;
    Ok(torch)
}

/// The cargo command of the pack's build: its own target folder, LibTorch at `torch`.
fn gpu_cargo(target: &Path, torch: &Path) -> Command {
    let mut c = cargo();
    // torch-sys's build script runs in its own folder: the path must be absolute. The other
    // LIBTORCH_* variables would take precedence over LIBTORCH.
    let torch = std::path::absolute(torch).unwrap_or_else(|_| torch.to_path_buf());
    c.env("CARGO_TARGET_DIR", target)
        .env("LIBTORCH", torch)
        .env("LIBTORCH_BYPASS_VERSION_CHECK", "1")
        .env_remove("LIBTORCH_USE_PYTORCH")
        .env_remove("LIBTORCH_INCLUDE")
        .env_remove("LIBTORCH_LIB")
        .env_remove("LIBTORCH_STATIC");
    c
}

/// The executable a `cargo rustc --message-format json` built, from its messages.
fn executable(stdout: &[u8]) -> Option<PathBuf> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
}

/// Builds the bench example and the two test binaries into `stage`, stripped.
///
/// `libtorch_cuda.so` needs CUDA's own libraries (cuDNN, cuBLAS, ...), which the GPU machine has
/// beside its torch but this one need not: the final links alone allow symbols that the shared
/// libraries leave undefined (`cargo rustc` passes the flag to them and to nothing else, so
/// Burn's build is the ordinary one). The loader resolves them on the GPU machine.
fn build(target: &Path, torch: &Path, stage: &Path) -> Result<(), String> {
    std::fs::create_dir_all(stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    for (kind, name) in [
        ("--example", "bench"),
        ("--test", "parity"),
        ("--test", "train_curve"),
    ] {
        let mut c = gpu_cargo(target, torch);
        c.args(["rustc", "--release", "--features", "tch,wgpu", kind, name])
            .args(["--message-format", "json-render-diagnostics", "--"])
            .arg("-Clink-arg=-Wl,--allow-shlib-undefined")
            .stderr(std::process::Stdio::inherit());
        println!("xtask gpu-pack: cargo rustc --release --features tch,wgpu {kind} {name}");
        let out = c.output().map_err(|e| format!("cargo rustc {name}: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo rustc {kind} {name}: {}", out.status));
        }
        let path = executable(&out.stdout).ok_or(format!("cargo rustc {name}: no executable"))?;
        let mut c = Command::new("strip");
        c.arg("--strip-all")
            .arg(&path)
            .arg("-o")
            .arg(stage.join(name));
        run(c, &format!("strip {name}"))?;
    }
    Ok(())
}

/// Wheels of `transformers` and its dependencies but torch and numpy (the machine has those),
/// for CPython `version`.
fn wheels(dir: &Path, version: &str) -> Result<(), String> {
    let mut c = python();
    c.args(["-m", "pip", "download", "--quiet", "--only-binary=:all:"])
        .args(["--implementation", "cp", "--python-version", version])
        .args([
            "--platform",
            "manylinux_2_28_x86_64",
            "--platform",
            "manylinux_2_17_x86_64",
            "--platform",
            "manylinux2014_x86_64",
            TRANSFORMERS,
            "-d",
        ])
        .arg(dir);
    run(
        c,
        &format!("pip download {TRANSFORMERS} for Python {version}"),
    )?;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("numpy-") {
            std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// The size of a file, or of every file under a folder, in bytes.
fn size(path: &Path) -> u64 {
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| size(&e.path())).sum(),
        Err(_) => std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

/// What `gpu-pack` writes into its output folder.
const PACK_ENTRIES: [&str; 3] = ["burnbert-gpu.tar.xz", "torch-version", "wheels"];

/// Removes an earlier pack from `out`; an error, touching nothing, if `out` holds anything else.
fn clear_pack(out: &Path) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if let Some(other) = names.iter().find(|n| !PACK_ENTRIES.contains(&n.as_str())) {
        return Err(format!(
            "{} holds {other}, which gpu-pack did not write: choose another --out",
            out.display()
        ));
    }
    for name in names {
        let path = out.join(name);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn pack(options: &PackOptions) -> Result<(), String> {
    let work = target_dir().join("gpu");
    let torch = libtorch(
        &options.torch,
        &work.join(format!("torch-{}", options.torch)),
    )?;
    let stage = work.join("stage");
    let _ = std::fs::remove_dir_all(&stage);
    build(&work, &torch, &stage)?;
    // The output folder holds nothing but what this command writes: anything else in it is
    // the user's, and then the folder is left alone.
    let out = &options.out;
    clear_pack(out)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let archive = out.join("burnbert-gpu.tar.xz");
    let mut c = Command::new("tar");
    c.env("XZ_OPT", "-6 -T0")
        .arg("-cJf")
        .arg(&archive)
        .arg("-C")
        .arg(&stage)
        .args(["bench", "parity", "train_curve"]);
    run(c, "tar -cJf burnbert-gpu.tar.xz")?;
    std::fs::write(out.join("torch-version"), format!("{}\n", options.torch))
        .map_err(|e| e.to_string())?;
    if let Some(version) = &options.wheels {
        wheels(&out.join("wheels"), version)?;
    }
    let total = size(out);
    println!(
        "xtask gpu-pack: {} holds {:.1} MiB (binaries {:.1} MiB)",
        out.display(),
        total as f64 / 1048576.0,
        size(&archive) as f64 / 1048576.0
    );
    if total > CARRY_LIMIT {
        return Err(format!(
            "{} is over the 64 MiB a run may carry",
            out.display()
        ));
    }
    Ok(())
}

/// `cargo xtask gpu-pack [--torch VERSION] [--out DIR] [--wheels PYTHON_VERSION]`.
pub(crate) fn gpu_pack(args: &[String]) -> ExitCode {
    let result = PackOptions::parse(args).and_then(|o| pack(&o));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_cargo_messages() {
        let messages = br#"{"reason":"compiler-artifact","target":{"name":"burn"},"executable":null}
{"reason":"compiler-artifact","target":{"name":"parity"},"profile":{"test":true},"executable":"/t/release/deps/parity-1"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(messages),
            Some(PathBuf::from("/t/release/deps/parity-1"))
        );
        assert_eq!(executable(b"{\"reason\":\"build-finished\"}"), None);
    }

    #[test]
    fn an_earlier_pack_is_cleared_and_a_foreign_folder_left_alone() {
        let dir = std::env::temp_dir().join(format!("burnbert-gpu-pack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("wheels")).unwrap();
        std::fs::write(dir.join("burnbert-gpu.tar.xz"), b"x").unwrap();
        std::fs::write(dir.join("wheels/a.whl"), b"x").unwrap();
        clear_pack(&dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);

        std::fs::write(dir.join("burnbert-gpu.tar.xz"), b"x").unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let error = clear_pack(&dir).unwrap_err();
        assert!(error.contains("notes.txt"), "{error}");
        assert!(dir.join("burnbert-gpu.tar.xz").exists() && dir.join("notes.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(clear_pack(&dir), Ok(()));
    }
}
