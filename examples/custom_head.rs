//! Fine-tune a model of your own with burnbert's recipe, learner, checkpoints and metrics:
//! the hand-written `BertClassifier` of `custom_head/classifier.rs` (a `BertModel`, dropout and
//! a linear layer on `[CLS]`, Burn's cross-entropy), trained through `burnbert::train::task`.
//!
//! ```sh
//! cargo run --release --example custom_head
//! cargo run --release --example custom_head -- --epochs 2 --output runs/custom_head --overwrite-output-dir
//! ```
//!
//! The model is all-MiniLM-L6-v2 and the data the 1,500 Pang & Lee movie reviews, from
//! burnbert's asset cache (filled as `cargo xtask assets` fills it), 10 % held out with the seed.
//! Options: `--model`, `--epochs`, `--seed`, `--device`, `--output`, `--overwrite-output-dir`.

use std::path::PathBuf;

use burnbert::data::split::split;
use burnbert::tasks::sequence_classification::{Columns, LabelSet, read_file};
use burnbert::train::TrainingConfig;
use burnbert::train::task::fine_tune;
use burnbert::train::trainer::Run;
use burnbert::{BertModel, from_pretrained};

use classifier::{BertClassifier, CustomClassification};

#[path = "custom_head/classifier.rs"]
mod classifier;
mod common;

fn main() -> std::process::ExitCode {
    common::exit(run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    burnbert::allocator::tune();
    let flags = common::Flags::from_args()?;
    let device = flags.device()?;
    let recipe = TrainingConfig {
        num_train_epochs: flags.parse("epochs", 1)?,
        per_device_train_batch_size: 16,
        learning_rate: 5e-5,
        weight_decay: 0.01,
        warmup_ratio: 0.1,
        max_length: 128,
        seed: flags.parse("seed", 42)?,
        overwrite_output_dir: flags.overwrite_output_dir(),
        ..TrainingConfig::default()
    };
    let reviews = burnbert_assets::ensure(&burnbert_assets::PANG_LEE)?.join("reviews.csv");
    let (train, valid) = split(
        read_file(&reviews, &Columns::label_text_no_header())?,
        0.1,
        recipe.seed,
    );
    let labels = LabelSet::from_examples(&train);

    // The encoder as `transformers`' `AutoModel` loads it, then the user's head, drawn from the
    // seeded generator.
    let bert = from_pretrained::<BertModel>(&flags.model()?, &device)?;
    device.seed(recipe.seed);
    let model = BertClassifier::new(bert.model, &bert.config, labels.len(), &device);

    let output = PathBuf::from(
        flags
            .get("output")
            .unwrap_or_else(|| "runs/custom_head".into()),
    );
    let run = Run {
        output: &output,
        tokenizer_folder: &bert.folder,
        resume_from_epoch: None,
    };
    let task = CustomClassification { labels };
    let trained = fine_tune(
        task,
        &recipe,
        &bert.config,
        model,
        &bert.tokenizer,
        &train,
        &valid,
        run,
        &device,
    )?;
    println!(
        "epoch {}: valid accuracy {:.4} on {} reviews; model saved to {}",
        trained.epoch,
        trained.report.accuracy,
        trained.report.examples,
        trained.exported.display()
    );
    Ok(())
}
