//! Continue BERT's masked-language-model pre-training on in-domain text (`run_mlm.py`'s job),
//! then fine-tune the adapted encoder as any checkpoint.
//!
//! ```sh
//! cargo run --release --example mlm                                  # movie reviews
//! cargo run --release --example mlm -- --data corpus.txt --max-steps 1000
//! cargo run --release --example sentiment_reference -- --model runs/mlm-seed0/model
//! ```
//!
//! With no `--data` it reads the texts of the 1,500 Pang & Lee movie reviews from the asset
//! cache (fetched as `cargo xtask assets` does); `--data FILE` reads a text file, a document
//! per line (`--documents blank-line` for paragraphs). The first 5 % of the documents are held
//! out (`run_mlm.py`'s `validation_split_percentage`); the rest are grouped into blocks of
//! `--max-length` tokens (128). Recipe: AdamW 5e-5, weight decay 0.01 (none on biases and
//! LayerNorm), linear decay to 0 over `--max-steps` (200) without warmup, clipping at 1.0,
//! batches of `--batch-size` (16), 15 % of the tokens masked (80 / 10 / 10). Prints the
//! held-out perplexity of the starting checkpoint (whose MLM head is fresh when it has none,
//! as all-MiniLM-L6-v2's) and of the adapted one, and fills a mask with it. Options:
//! `--model`, `--data`, `--documents`, `--max-steps`, `--batch-size`, `--max-length`, `--seed`,
//! `--device`, `--output`, `--overwrite-output-dir`.

use std::path::PathBuf;

use burnbert::BertForMaskedLM;
use burnbert::pipeline::FillMaskPipeline;
use burnbert::tasks::masked_lm::{
    DocumentSeparator, TextDocument, evaluate_documents, fine_tune_masked_lm, read_documents,
};
use burnbert::tasks::sequence_classification::{Columns, read_file};
use burnbert::train::TrainingConfig;

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let flags = common::Flags::from_args()?;
    let device = flags.device()?;
    let model = flags.model()?;
    let seed: u64 = flags.parse("seed", 0)?;
    let documents = match flags.get("data") {
        Some(path) => {
            let separator = match flags.get("documents").as_deref() {
                None | Some("line") => DocumentSeparator::Line,
                Some("blank-line") => DocumentSeparator::BlankLine,
                Some(other) => {
                    return Err(format!("--documents {other}: line or blank-line").into());
                }
            };
            read_documents(&PathBuf::from(path), separator)?
        }
        None => {
            let reviews = burnbert_assets::ensure(&burnbert_assets::PANG_LEE)?.join("reviews.csv");
            read_file(&reviews, &Columns::label_text_no_header())?
                .into_iter()
                .map(|row| TextDocument {
                    text: row.text,
                    location: row.location,
                })
                .collect()
        }
    };
    // run_mlm.py's `train[:5%]` validates, `train[5%:]` trains.
    let held_out = ((documents.len() as f64 * 0.05).round() as usize).clamp(1, documents.len() - 1);
    let (valid, train) = documents.split_at(held_out);
    let recipe = TrainingConfig {
        learning_rate: 5e-5,
        weight_decay: 0.01,
        max_steps: Some(flags.parse("max-steps", 200)?),
        per_device_train_batch_size: flags.parse("batch-size", 16)?,
        per_device_eval_batch_size: 32,
        max_length: flags.parse("max-length", 128)?,
        seed,
        overwrite_output_dir: flags.overwrite_output_dir(),
        ..TrainingConfig::default()
    };
    let output = PathBuf::from(
        flags
            .get("output")
            .unwrap_or_else(|| format!("runs/mlm-seed{seed}")),
    );
    device.seed(seed);
    let start = burnbert::from_pretrained::<BertForMaskedLM>(&model, &device)?;
    let before = evaluate_documents(&start, valid, &recipe, &device)?;
    println!(
        "{model}: held-out perplexity {:.2} ({} masked tokens in {} blocks of {} documents) before training",
        before.perplexity,
        before.masked_tokens,
        before.blocks,
        valid.len()
    );
    let started = std::time::Instant::now();
    let trained = fine_tune_masked_lm(&model, &recipe, train, valid, &output, None, &device)?;
    let after = &trained.report;
    println!(
        "seed {seed}: held-out perplexity {:.2} after {} steps of {} blocks ({:.0} s); the adapted model is in {}",
        after.perplexity,
        recipe.max_steps.unwrap_or(0),
        recipe.per_device_train_batch_size,
        started.elapsed().as_secs_f64(),
        trained.exported.display()
    );
    let fill = FillMaskPipeline::from_pretrained(trained.exported.to_str().unwrap(), &device)?
        .with_top_k(5);
    let text = "this movie is one of the [MASK] films of the year .";
    let candidates = fill.predict(&[text])?.remove(0).remove(0);
    println!("{text}");
    for c in candidates {
        println!("  {:<12} {:.4}", c.token_str, c.score);
    }
    Ok(())
}
