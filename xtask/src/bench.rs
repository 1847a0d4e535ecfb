//! `cargo xtask bench`: training and inference throughput and peak memory of each backend
//! against PyTorch + `transformers` on the same machine.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use serde_json::{Value, json};

use crate::{
    backends_target_dir, cargo, has_vulkan, target_dir, test_features, torch_env, torch_lib,
};

/// The options of `cargo xtask bench`.
struct BenchOptions {
    backends: Vec<String>,
    models: Vec<String>,
    modes: Vec<String>,
    warmup: usize,
    runs: usize,
    /// Rounds of every measurement, PyTorch's and each backend's back to back in each round.
    repeat: usize,
    json: PathBuf,
}

impl BenchOptions {
    fn parse(args: &[String]) -> Result<Self, String> {
        let list = |v: &str| v.split(',').map(String::from).collect::<Vec<_>>();
        let mut options = Self {
            backends: list("flex,ndarray,tch"),
            models: list("minilm,bert-base"),
            modes: list("train,inference"),
            warmup: 2,
            runs: 5,
            repeat: 1,
            json: target_dir().join("bench.json"),
        };
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            let number = || value.parse().map_err(|e| format!("{flag} {value}: {e}"));
            match flag.as_str() {
                "--backends" => options.backends = list(value),
                "--models" => options.models = list(value),
                "--modes" => options.modes = list(value),
                "--warmup" => options.warmup = number()?,
                "--runs" => options.runs = number()?,
                "--repeat" => options.repeat = usize::max(number()?, 1),
                "--json" => options.json = value.into(),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        Ok(options)
    }
}

/// The batch size of a model in the benchmark: 32 for MiniLM, 8 for bert-base.
fn batch_of(model: &str) -> usize {
    if model == "bert-base" { 8 } else { 32 }
}

/// Builds `examples/bench.rs` with `features` in `target` and returns a copy of the binary
/// named after `name` (the next build overwrites `examples/bench`).
fn build_bench(
    features: &str,
    target: &std::path::Path,
    name: &str,
    torch: Option<&str>,
) -> Result<PathBuf, String> {
    let mut c = cargo();
    c.args(["build", "--release", "--example", "bench"])
        .env("CARGO_TARGET_DIR", target);
    if !features.is_empty() {
        c.args(["--features", features]);
    }
    let scope = if features == "ndarray-blas" {
        // Only ndarray: flex is not measured from this build.
        "--no-default-features"
    } else {
        // Features unified over the workspace, as `xtask test` builds: the same build of Burn.
        "--workspace"
    };
    c.arg(scope);
    if let Some(lib) = torch {
        torch_env(&mut c, lib);
    }
    let with = if features.is_empty() {
        String::new()
    } else {
        format!(" --features {features}")
    };
    println!("xtask bench: cargo build --release --example bench{with} {scope}");
    if !c.status().is_ok_and(|s| s.success()) {
        return Err(format!("the build with --features {features} failed"));
    }
    let binary = target.join(format!("release/examples/bench-{name}"));
    std::fs::copy(target.join("release/examples/bench"), &binary)
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    Ok(binary)
}

/// The `--device` of a benchmark backend.
fn device_of(backend: &str) -> &str {
    match backend {
        "tch" => "tch:cpu",
        "ndarray-blas" => "ndarray",
        other => other,
    }
}

/// Runs one measurement and parses its JSON line.
fn measure(mut c: Command, what: &str) -> Option<Value> {
    let out = c.output().ok()?;
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .map(String::from);
    match (out.status.success(), line) {
        (true, Some(line)) => serde_json::from_str(&line).ok(),
        _ => {
            eprintln!(
                "xtask bench: {what} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
    }
}

/// `cargo xtask bench`: training and inference samples/s and peak RSS of each backend and
/// model, each measurement in a process of its own, with PyTorch + `transformers` measured
/// the same way in the same run (`bench/pytorch.py`); prints a table with the ratios to
/// PyTorch and writes all measurements as JSON.
pub(crate) fn bench(args: &[String]) -> ExitCode {
    let options = match BenchOptions::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let minilm = match burnbert_assets::ensure(&burnbert_assets::MINILM) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let torch = torch_lib();
    // flex from the default build; every other backend but ndarray-blas from one binary built
    // with the features of `xtask test` (plus cuda when asked for) in its target folder, so
    // that it shares that build of Burn.
    let mut features = test_features(torch.is_some(), has_vulkan());
    if options.backends.iter().any(|b| b == "cuda") {
        features.push("cuda");
    }
    let features = features.join(",");
    let mut binaries = Vec::new();
    let mut main_binary = None;
    let mut flex_binary = None;
    for backend in &options.backends {
        if backend == "tch" && torch.is_none() {
            eprintln!("xtask bench: no torch==2.9.0 in python3: tch skipped");
            continue;
        }
        let binary = if backend == "ndarray-blas" {
            // Its own target folder: the BLAS feature changes burn-ndarray and all above it.
            build_bench(
                "ndarray-blas",
                &target_dir().join("ndarray-blas"),
                "ndarray-blas",
                None,
            )
        } else if backend == "flex" {
            // The default build, as README's users get it and as `xtask test` builds it: the
            // other backends' build also loads LibTorch and wgpu, which add about 370 MiB to a
            // process's peak RSS whichever backend runs (MiniLM inference on flex: 567 MiB
            // there, 201 MiB in the default build).
            match &flex_binary {
                Some(binary) => Ok(PathBuf::clone(binary)),
                None => build_bench("", &target_dir(), "flex", None)
                    .inspect(|b| flex_binary = Some(b.clone())),
            }
        } else if let Some(binary) = &main_binary {
            Ok(PathBuf::clone(binary))
        } else {
            build_bench(&features, &backends_target_dir(), "main", torch.as_deref())
                .inspect(|b| main_binary = Some(b.clone()))
        };
        match binary {
            Ok(binary) => binaries.push((backend.clone(), binary, device_of(backend).to_string())),
            Err(e) => eprintln!("xtask bench: {e}; {backend} skipped"),
        }
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut results = Vec::new();
    for model in &options.models {
        let batch = batch_of(model).to_string();
        for mode in &options.modes {
            let common = [
                "--model",
                model,
                "--mode",
                mode,
                "--batch",
                &batch,
                "--seq",
                "128",
                "--warmup",
                &options.warmup.to_string(),
                "--runs",
                &options.runs.to_string(),
            ]
            .map(String::from);
            // PyTorch then each backend, back to back, in each round: a ratio is taken within
            // a round, so that a slow spell of the machine weighs on both sides.
            for round in 0..options.repeat {
                let of = if options.repeat > 1 {
                    format!(" (round {} of {})", round + 1, options.repeat)
                } else {
                    String::new()
                };
                let mut c = Command::new(&python);
                c.arg("bench/pytorch.py")
                    .args(&common)
                    .arg("--minilm-folder")
                    .arg(&minilm);
                println!("xtask bench: pytorch {model} {mode}{of}");
                if let Some(mut r) = measure(c, &format!("pytorch {model} {mode}")) {
                    r["round"] = json!(round);
                    results.push(r);
                }
                for (backend, binary, device) in &binaries {
                    let mut c = Command::new(binary);
                    c.args(&common).args(["--device", device]);
                    if let Some(lib) = &torch {
                        torch_env(&mut c, lib);
                    }
                    println!("xtask bench: {backend} {model} {mode}{of}");
                    if let Some(mut r) = measure(c, &format!("{backend} {model} {mode}")) {
                        r["backend"] = json!(backend);
                        r["round"] = json!(round);
                        results.push(r);
                    }
                }
            }
        }
    }
    let table = bench_table(&results);
    println!("{table}");
    let report = json!({
        "machine": machine(),
        "results": results,
    });
    if let Err(e) = std::fs::write(
        &options.json,
        serde_json::to_string_pretty(&report).expect("JSON"),
    ) {
        eprintln!("error: {}: {e}", options.json.display());
        return ExitCode::FAILURE;
    }
    println!("xtask bench: measurements in {}", options.json.display());
    ExitCode::SUCCESS
}

/// The CPU model, core count and SIMD flags, for the table's caption.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let flags = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("flags"))?.to_string();
            let has: Vec<&str> = ["avx512f", "avx2", "fma"]
                .into_iter()
                .filter(|f| line.split_whitespace().any(|w| w == *f))
                .collect();
            Some(has.join(" "))
        })
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, flags: {}",
        if flags.is_empty() { "-" } else { &flags }
    )
}

/// The median of `values` (the mean of the middle two of an even count); NaN when empty.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The Markdown table of README: one row per backend and model. With one round, each cell is
/// the measurement and its ratio to PyTorch's; with several (`--repeat`), the median over the
/// rounds, the median of the rounds' ratios (each to PyTorch's in the same round) and their
/// range.
fn bench_table(results: &[Value]) -> String {
    let matching = |framework: &str, backend: &str, model: &str, mode: &str| {
        results
            .iter()
            .filter(|r| {
                r["framework"] == framework
                    && (framework == "pytorch" || r["backend"] == backend)
                    && r["model"] == model
                    && r["mode"] == mode
            })
            .collect::<Vec<_>>()
    };
    let mut rows = Vec::new();
    let mut seen = Vec::new();
    for r in results {
        let key = (
            r["framework"].as_str().unwrap_or_default().to_string(),
            r["backend"].as_str().unwrap_or_default().to_string(),
            r["model"].as_str().unwrap_or_default().to_string(),
        );
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    let cell = |ours: &[&Value], base: &[&Value], field: &str| {
        if ours.is_empty() {
            return "-".to_string();
        }
        let value = median(ours.iter().filter_map(|r| r[field].as_f64()).collect());
        if ours[0]["framework"] == "pytorch" {
            return format!("{value:.1}");
        }
        // Each round's ratio to PyTorch's measurement of the same round.
        let ratios: Vec<f64> = ours
            .iter()
            .filter_map(|r| {
                let b = base.iter().find(|b| b["round"] == r["round"])?;
                Some(r[field].as_f64()? / b[field].as_f64()?)
            })
            .collect();
        match ratios.len() {
            0 => format!("{value:.1}"),
            1 => format!("{value:.1} ({:.2}x)", ratios[0]),
            _ => {
                let (low, high) = ratios
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
                        (l.min(x), h.max(x))
                    });
                let middle = median(ratios);
                format!("{value:.1} ({middle:.2}x, {low:.2}x–{high:.2}x)")
            }
        }
    };
    rows.push(format!("machine: {}", machine()));
    rows.push("| backend | SIMD | model | batch | train samples/s | inference samples/s | peak RSS train MiB | peak RSS inference MiB |".into());
    rows.push("|---|---|---|---|---|---|---|---|".into());
    for (framework, backend, model) in seen {
        let train = matching(&framework, &backend, &model, "train");
        let infer = matching(&framework, &backend, &model, "inference");
        let base_train = matching("pytorch", "", &model, "train");
        let base_infer = matching("pytorch", "", &model, "inference");
        let name = if framework == "pytorch" {
            "PyTorch".to_string()
        } else {
            backend
        };
        let simd = train
            .first()
            .or(infer.first())
            .and_then(|r| r["simd"].as_str())
            .unwrap_or("-");
        rows.push(format!(
            "| {name} | {simd} | {model} | {} | {} | {} | {} | {} |",
            batch_of(&model),
            cell(&train, &base_train, "samples_per_s"),
            cell(&infer, &base_infer, "samples_per_s"),
            cell(&train, &base_train, "peak_rss_mb"),
            cell(&infer, &base_infer, "peak_rss_mb"),
        ));
    }
    rows.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(framework: &str, mode: &str, round: usize, samples: f64, rss: f64) -> Value {
        json!({
            "framework": framework,
            "backend": if framework == "pytorch" { "torch" } else { "flex" },
            "model": "minilm",
            "mode": mode,
            "round": round,
            "simd": "AVX2",
            "samples_per_s": samples,
            "peak_rss_mb": rss,
        })
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![1.52, 1.33]), (1.33 + 1.52) / 2.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn one_round_gives_each_measurement_and_its_ratio() {
        let results = [
            measurement("pytorch", "inference", 0, 30.0, 900.0),
            measurement("burnbert", "inference", 0, 36.0, 450.0),
        ];
        let table = bench_table(&results);
        assert!(table.contains("| PyTorch | AVX2 | minilm | 32 | - | 30.0 | - | 900.0 |"));
        assert!(
            table.contains("| flex | AVX2 | minilm | 32 | - | 36.0 (1.20x) | - | 450.0 (0.50x) |")
        );
    }

    #[test]
    fn rounds_give_medians_and_the_range_of_the_ratios_within_each_round() {
        // PyTorch 30, 20, 40 and flex 33, 30, 40: ratios 1.1, 1.5 and 1.0 (each within its
        // round), whose median 1.1 is not the ratio of the medians (33 / 30 = 1.1 by chance,
        // so the third round's PyTorch is 40 against the second's 20 to tell them apart).
        let results = [
            measurement("pytorch", "train", 0, 30.0, 100.0),
            measurement("burnbert", "train", 0, 33.0, 50.0),
            measurement("pytorch", "train", 1, 20.0, 100.0),
            measurement("burnbert", "train", 1, 30.0, 50.0),
            measurement("pytorch", "train", 2, 40.0, 100.0),
            measurement("burnbert", "train", 2, 40.0, 60.0),
        ];
        let table = bench_table(&results);
        assert!(
            table.contains("| PyTorch | AVX2 | minilm | 32 | 30.0 | - | 100.0 | - |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| flex | AVX2 | minilm | 32 | 33.0 (1.10x, 1.00x–1.50x) | - | 50.0 (0.50x, 0.50x–0.60x) | - |"
            ),
            "{table}"
        );
    }
}
