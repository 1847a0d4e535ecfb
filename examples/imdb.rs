//! Fine-tune a sentiment classifier end to end: the job burnbert is for.
//!
//! ```sh
//! cargo run --release --example imdb                       # default CPU backend
//! cargo run --release --features wgpu --example imdb       # Vulkan / Metal
//! cargo run --release --features cuda --example imdb -- --epochs 3 --batch-size 32
//! ```
//!
//! With no arguments it gets what it needs itself: the model `sentence-transformers/all-MiniLM-L6-v2`
//! from the Hugging Face hub (through the `hf-hub` cache) when online, else from burnbert's asset
//! cache; the data from `--data DIR` (an aclImdb folder: `train/{pos,neg}`, `test/{pos,neg}`),
//! else the aclImdb archive downloaded from Stanford (SHA-256 checked, into the asset cache)
//! when online, else the 1,500 Pang & Lee movie reviews (the IMDb-archive reviews of polarity
//! v2.0) from the asset cache, split 90/10 with the seed. Both caches fill as
//! `cargo xtask assets` fills them. `BURNBERT_OFFLINE=1` skips the aclImdb download.
//! Options: `--model`, `--data`, `--epochs`, `--max-length`, `--batch-size`, `--learning-rate`,
//! `--seed`, `--device`, `--output`, `--overwrite-output-dir` (a used `--output` is refused
//! without it).

use std::path::PathBuf;

use burnbert::data::split::split;
use burnbert::tasks::sequence_classification::fine_tune_classifier;
use burnbert::tasks::sequence_classification::{Columns, read_aclimdb, read_file};
use burnbert::train::TrainingConfig;

const HUB_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let flags = common::Flags::from_args()?;
    let get = |name: &str| flags.get(name);
    let device = flags.device()?;

    let model = match get("model") {
        Some(m) => m,
        None => match burnbert::source::resolve(HUB_MODEL) {
            Ok(folder) => folder.to_string_lossy().to_string(),
            Err(e) => {
                eprintln!("{HUB_MODEL} not reachable ({e}); using the asset cache");
                burnbert_assets::ensure(&burnbert_assets::MINILM)?
                    .to_string_lossy()
                    .to_string()
            }
        },
    };
    let mut recipe = TrainingConfig {
        num_train_epochs: 2,
        per_device_train_batch_size: 16,
        per_device_eval_batch_size: 32,
        learning_rate: 5e-5,
        weight_decay: 0.01,
        warmup_ratio: 0.1,
        max_length: 256,
        overwrite_output_dir: flags.overwrite_output_dir(),
        ..TrainingConfig::default()
    };
    recipe.num_train_epochs = flags.parse("epochs", recipe.num_train_epochs)?;
    recipe.max_length = flags.parse("max-length", recipe.max_length)?;
    recipe.per_device_train_batch_size =
        flags.parse("batch-size", recipe.per_device_train_batch_size)?;
    recipe.learning_rate = flags.parse("learning-rate", recipe.learning_rate)?;
    recipe.seed = flags.parse("seed", recipe.seed)?;

    let (train, valid) = match get("data") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            (read_aclimdb(&dir, "train")?, read_aclimdb(&dir, "test")?)
        }
        None => match burnbert_assets::aclimdb() {
            Ok(dir) => (read_aclimdb(&dir, "train")?, read_aclimdb(&dir, "test")?),
            Err(e) => {
                eprintln!("aclImdb not available ({e}); using the Pang & Lee reviews");
                let reviews =
                    burnbert_assets::ensure(&burnbert_assets::PANG_LEE)?.join("reviews.csv");
                split(
                    read_file(&reviews, &Columns::label_text_no_header())?,
                    0.1,
                    recipe.seed,
                )
            }
        },
    };
    let output = PathBuf::from(get("output").unwrap_or_else(|| "runs/imdb".into()));
    println!(
        "fine-tuning {model} on {} reviews ({} for validation), {} epochs, max_length {}, batch {}, on {device:?}",
        train.len(),
        valid.len(),
        recipe.num_train_epochs,
        recipe.max_length,
        recipe.per_device_train_batch_size
    );
    let started = std::time::Instant::now();
    let trained = fine_tune_classifier(&model, &recipe, &train, &valid, &output, None, &device)?;
    let r = &trained.report;
    println!(
        "epoch {}: valid accuracy {:.4}, macro F1 {:.4} ({:.0} s in all); model saved to {}",
        trained.epoch,
        r.accuracy,
        r.macro_f1,
        started.elapsed().as_secs_f64(),
        trained.exported.display()
    );
    Ok(())
}
