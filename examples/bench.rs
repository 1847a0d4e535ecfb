//! One measurement of `cargo xtask bench`: training or inference throughput of a BERT
//! classifier on the chosen backend, printed as one JSON line. `cargo xtask bench` runs it once
//! per backend, model and mode (a process each, so each peak memory is its own) beside
//! `bench/pytorch.py`, and prints the table.
//!
//! ```sh
//! BURN_DEVICE=flex cargo run --release --example bench -- --model minilm --mode train
//! ```
//!
//! - `--model minilm`: all-MiniLM-L6-v2's weights from the asset cache, a new 2-label head;
//!   `--model bert-base`: bert-base-uncased's shape, randomly initialised.
//! - `--mode train`: one full training step per run — forward with dropout, cross-entropy,
//!   backward, global-norm clipping at 1.0 and AdamW with warmup and decay — through the same
//!   `TrainStep` and optimizer step that Burn's learner calls in `burnbert train`.
//!   `--mode inference`: a forward pass without autodiff, logits read back.
//! - `--batch` (32), `--seq` (128): random token ids, no padding, random labels (seeded).
//! - `--warmup` (2) runs untimed, then `--runs` (5) timed; the median is reported.
//! - `--dtype fp32` (default) or `bf16`: the device's default float type, Burn's per-device
//!   setting (`Device::configure`), so that weights, activations, gradients and optimizer state
//!   are all bf16 — unlike `torch.autocast` in `bench/pytorch.py`, which keeps fp32 weights.
//!   A backend without bf16 is an error, not an fp32 run.
//! - Peak memory: the process's peak RSS (`VmHWM`), model and data included; on a backend whose
//!   allocator reports it (wgpu, CUDA), also the most device memory its pools reserved after any
//!   run (`device_reserved_mb`).
//! - `--allocator system` leaves glibc's malloc as it is (burnbert's binaries tune it, see
//!   `burnbert::allocator`).

use std::time::Instant;

use burnbert::burn::data::dataloader::batcher::Batcher;
use burnbert::burn::tensor::FloatDType;
use burnbert::burn::train::TrainStep;
use burnbert::tasks::sequence_classification::{
    EncodedExample, FineTuning, SequenceClassificationBatcher,
};
use burnbert::train::{TrainingConfig, optim};
use burnbert::{BertConfig, BertForSequenceClassification, from_folder_with_config};

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let flags = common::Flags::from_args()?;
    // `--allocator system` measures without burnbert's malloc settings (before/after figures).
    let allocator_tuned =
        flags.get("allocator").as_deref() != Some("system") && burnbert::allocator::tune();
    let mut device = flags.device()?;
    let dtype = flags.get("dtype").unwrap_or_else(|| "fp32".into());
    match dtype.as_str() {
        "fp32" => {}
        // Before any tensor exists on the device: its first tensor fixes its defaults.
        "bf16" => device
            .configure(FloatDType::BF16)
            .map_err(|e| format!("--dtype bf16 on {device:?}: {e}"))?,
        other => return Err(format!("--dtype {other}: fp32 or bf16").into()),
    }
    let model_name = flags.get("model").unwrap_or_else(|| "minilm".into());
    let mode = flags.get("mode").unwrap_or_else(|| "train".into());
    let batch: usize = flags.parse("batch", 32)?;
    let seq: usize = flags.parse("seq", 128)?;
    let warmup: usize = flags.parse("warmup", 2)?;
    let runs: usize = flags.parse("runs", 5)?;
    let training = match mode.as_str() {
        "train" => true,
        "inference" => false,
        other => return Err(format!("--mode {other}: train or inference").into()),
    };
    let model_device = if training {
        device.clone().autodiff()
    } else {
        device.clone()
    };
    let model = match model_name.as_str() {
        "minilm" => {
            let folder = burnbert_assets::ensure(&burnbert_assets::MINILM)?;
            let config = BertConfig::from_file(folder.join("config.json"))?;
            from_folder_with_config::<BertForSequenceClassification>(
                &folder,
                config,
                &model_device,
            )?
            .model
        }
        "bert-base" => BertConfig::default().init_sequence_classification(&model_device),
        other => return Err(format!("--model {other}: minilm or bert-base").into()),
    };
    let layers = model.bert.encoder.layer.len();

    // The same pseudo-random ids and labels as bench/pytorch.py.
    let examples: Vec<EncodedExample> = (0..batch)
        .map(|row| EncodedExample {
            input_ids: (0..seq)
                .map(|i| match i {
                    0 => 101,
                    i if i == seq - 1 => 102,
                    i => 1000 + ((row * seq + i) * 7919 % 20000) as u32,
                })
                .collect(),
            token_type_ids: vec![0; seq],
            label: row % 2,
        })
        .collect();
    let batcher = SequenceClassificationBatcher {
        pad_id: 0,
        cross_entropy: Default::default(),
    };

    let mut times = Vec::new();
    let mut reserved = None::<u64>;
    let mut note_reserved = || {
        if let Some(usage) = device.memory_pool_usage() {
            reserved = Some(reserved.unwrap_or(0).max(usage.bytes_reserved));
        }
    };
    if training {
        let steps = warmup + runs;
        let args = TrainingConfig {
            warmup_steps: 1,
            weight_decay: 0.01,
            max_steps: Some(steps),
            per_device_train_batch_size: batch,
            ..TrainingConfig::default()
        };
        let parts = optim::ModelParts {
            layers,
            head: r"^model\.classifier\.",
        };
        let mut optimizer = optim::optimizer(&args);
        let mut scheduler = optim::scheduler(&args, steps, steps, parts);
        let mut task = FineTuning::new(model, &args);
        for _ in 0..steps {
            let started = Instant::now();
            let input = batcher.batch(examples.clone(), &model_device);
            let out = TrainStep::step(&task, input);
            let loss = out.item.loss.clone();
            task = task.optimize(&mut optimizer, scheduler.step(), out.grads);
            // Waits for the device: the step is done when its loss can be read.
            let _ = loss.into_scalar::<f32>();
            times.push(started.elapsed().as_secs_f64());
            note_reserved();
        }
    } else {
        for _ in 0..warmup + runs {
            let started = Instant::now();
            let input = batcher.batch(examples.clone(), &model_device);
            let logits = model.forward(input.input);
            let _ = logits.into_data();
            times.push(started.elapsed().as_secs_f64());
            note_reserved();
        }
    }
    let mut timed = times[warmup..].to_vec();
    timed.sort_by(f64::total_cmp);
    let median = timed[timed.len() / 2];
    println!(
        "{}",
        serde_json::json!({
            "framework": "burnbert",
            "backend": flags.get("device").or_else(|| std::env::var("BURN_DEVICE").ok()),
            "device": format!("{device:?}"),
            "model": model_name,
            "mode": mode,
            "batch": batch,
            "seq": seq,
            "median_s": median,
            "samples_per_s": batch as f64 / median,
            "times_s": times,
            "warmup": warmup,
            "dtype": dtype,
            "peak_rss_mb": peak_rss_mb(),
            "device_reserved_mb": reserved.map(|b| b as f64 / (1024.0 * 1024.0)),
            "allocator_tuned": allocator_tuned,
            "simd": simd_level(),
        })
    );
    Ok(())
}

/// The widest SIMD instruction set this CPU offers the runtime-dispatched kernels (burn-flex's,
/// gemm's), detected as they detect it: `AVX512` (AVX-512F), `AVX2` (with FMA), `SSE4.1`,
/// `NEON`, else `none`; comparable to PyTorch's `torch.backends.cpu.get_cpu_capability()`.
fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "AVX512";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "AVX2";
        }
        if std::arch::is_x86_feature_detected!("sse4.1") {
            return "SSE4.1";
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            return "NEON";
        }
    }
    "none"
}

/// The process's peak resident set (`VmHWM` of `/proc/self/status`), in MiB; `None` off Linux.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
