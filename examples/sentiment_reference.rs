//! The sentiment comparison with PyTorch, on the split and recipe of the pinned PyTorch
//! reference (`sentiment_pytorch.py` beside ASSETS.md): the 4,000 Pang & Lee sentences,
//! `numpy.random.RandomState(0).permutation`, first 3,600 train, last 400 dev; AdamW 5e-5,
//! weight decay 0.01 (none on biases and LayerNorm), ε 1e-8, linear decay without warmup,
//! global-norm clipping 1.0, batch 32, max_length 64, 2 epochs, dropout on.
//!
//! ```sh
//! cargo run --release --example sentiment_reference -- --seed 0   # and 1, 2
//! ```
//! Prints the dev accuracy after each epoch and the seconds per epoch. `--model` starts from
//! another checkpoint than all-MiniLM-L6-v2 (the output of `examples/mlm.rs`, for one).

use burnbert::data::split::numpy_permutation;
use burnbert::tasks::sequence_classification::fine_tune_classifier;
use burnbert::tasks::sequence_classification::{Columns, read_file};
use burnbert::train::TrainingConfig;

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let flags = common::Flags::from_args()?;
    let seed: u64 = flags.parse("seed", 0)?;
    let epochs: usize = flags.parse("epochs", 2)?;
    let device = flags.device()?;
    // `--model`: another starting point (an MLM-adapted encoder, `examples/mlm.rs`).
    let model = std::path::PathBuf::from(flags.model()?);
    let data = burnbert_assets::ensure(&burnbert_assets::PANG_LEE)?.join("sentences.csv");
    let rows = read_file(&data, &Columns::label_text_no_header())?;
    let permutation = numpy_permutation(rows.len(), 0);
    let train: Vec<_> = permutation[..3600]
        .iter()
        .map(|&i| rows[i].clone())
        .collect();
    let dev: Vec<_> = permutation[rows.len() - 400..]
        .iter()
        .map(|&i| rows[i].clone())
        .collect();
    let recipe = TrainingConfig {
        learning_rate: 5e-5,
        weight_decay: 0.01,
        adam_epsilon: 1e-8,
        per_device_train_batch_size: 32,
        per_device_eval_batch_size: 64,
        max_length: 64,
        num_train_epochs: epochs,
        max_grad_norm: 1.0,
        seed,
        overwrite_output_dir: flags.overwrite_output_dir(),
        ..TrainingConfig::default()
    };
    let output = std::path::PathBuf::from(
        flags
            .get("output")
            .unwrap_or_else(|| format!("runs/sentiment-seed{seed}")),
    );
    let started = std::time::Instant::now();
    let trained = fine_tune_classifier(
        model.to_str().unwrap(),
        &recipe,
        &train,
        &dev,
        &output,
        None,
        &device,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("metrics.json"))?)?;
    for (epoch, accuracy) in metrics["valid_accuracy_per_epoch"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        println!(
            "epoch {}: dev accuracy {:.4} (Burn's running metric, %)",
            epoch + 1,
            accuracy.as_f64().unwrap_or(f64::NAN)
        );
    }
    println!(
        "seed {seed}: final dev accuracy {:.4} on {} sentences; {:.0} s for {epochs} epochs ({:.0} s per epoch, with validation)",
        trained.report.accuracy,
        dev.len(),
        seconds,
        seconds / epochs as f64
    );
    Ok(())
}
