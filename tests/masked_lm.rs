//! Masked-language-model training end to end on the tiny masked LM: masks drawn anew each
//! epoch yet replayed by a resumed run (its weights equal the uninterrupted run's, bit for
//! bit), perplexity as the validation metric, and the exported `BertForMaskedLM` folder read
//! back by a classifier as any checkpoint (its `cls.*` unused, as HF reports them).

mod common;

use std::path::{Path, PathBuf};

use burnbert::data::Location;
use burnbert::tasks::masked_lm::{TextDocument, fine_tune_masked_lm};
use burnbert::tasks::sequence_classification::fine_tune_classifier;
use burnbert::train::TrainingConfig;
use common::*;

const WORDS: &str = "the a movie film was is great bad good not very and but i it this that \
                     story actor play john lives in paris berlin works for acme corp love hate \
                     boring fun";

/// `n` documents of 3 to 12 words of the tiny vocabulary, drawn from a fixed sequence.
fn documents(n: usize, salt: usize) -> Vec<TextDocument> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    (0..n)
        .map(|i| {
            let len = 3 + (i * 7 + salt) % 10;
            let text = (0..len)
                .map(|j| words[(i * 31 + j * 17 + salt * 5 + i * j) % words.len()])
                .collect::<Vec<_>>()
                .join(" ");
            TextDocument {
                text,
                location: Location {
                    file: "docs.txt".into(),
                    line: i + 1,
                },
            }
        })
        .collect()
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("burnbert-mlm-{}-{name}", std::process::id()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_resumed_masked_lm_run_masks_and_ends_as_the_uninterrupted_one() {
    let _run = one_run_at_a_time();
    let device = device();
    let model = assets("tiny-bert-mlm");
    let args = TrainingConfig {
        learning_rate: 1e-3,
        num_train_epochs: 3,
        per_device_train_batch_size: 4,
        max_length: 12,
        seed: 3,
        ..TrainingConfig::default()
    };
    let (train, valid) = (documents(60, 0), documents(12, 1));
    let whole = scratch("whole");
    let trained = fine_tune_masked_lm(
        model.to_str().unwrap(),
        &args,
        &train,
        &valid,
        &whole,
        None,
        &device,
    )
    .unwrap();
    let report = &trained.report;
    assert!(report.masked_tokens > 0 && report.blocks > 0);
    assert!((report.perplexity - report.loss.exp()).abs() < 1e-9);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("metrics.json")).unwrap())
            .unwrap();
    let per_epoch = metrics["valid_perplexity_per_epoch"].as_array().unwrap();
    assert_eq!(per_epoch.len(), 3);
    // The validation blocks are masked once: the last epoch's perplexity is the report's.
    let last = per_epoch[2].as_f64().unwrap();
    assert!(
        (last - report.perplexity).abs() < 1e-3 * report.perplexity,
        "{last} vs {}",
        report.perplexity
    );

    // Resume from epoch 1's checkpoint: epochs 2 and 3 must draw the same masks again.
    let resumed = scratch("resumed");
    copy_dir(&whole, &resumed);
    std::fs::remove_dir_all(resumed.join("model")).unwrap();
    fine_tune_masked_lm(
        model.to_str().unwrap(),
        &args,
        &train,
        &valid,
        &resumed,
        Some(1),
        &device,
    )
    .unwrap();
    let weights = |run: &Path| safetensors_tensors(&run.join("model/model.safetensors"));
    assert!(
        weights(&whole) == weights(&resumed),
        "the resumed run's weights differ from the uninterrupted run's"
    );
    assert!(
        weights(&whole)["cls.predictions.bias"]
            != safetensors_tensors(&model.join("model.safetensors"))["cls.predictions.bias"],
        "training changed nothing"
    );

    // The adapted encoder fine-tunes as a classifier, its MLM head left aside.
    let labelled = [
        ("the movie was great", "pos"),
        ("i love this story", "pos"),
        ("the actor was bad", "neg"),
        ("a boring film", "neg"),
    ];
    let classifier = fine_tune_classifier(
        whole.join("model").to_str().unwrap(),
        &TrainingConfig {
            num_train_epochs: 1,
            per_device_train_batch_size: 4,
            seed: 0,
            ..TrainingConfig::default()
        },
        &text_examples(&labelled, 4),
        &text_examples(&labelled, 2),
        &scratch("classifier"),
        None,
        &device,
    )
    .unwrap();
    let config = std::fs::read_to_string(classifier.exported.join("config.json")).unwrap();
    assert!(config.contains("BertForSequenceClassification"), "{config}");
    for dir in ["whole", "resumed", "classifier"] {
        let _ = std::fs::remove_dir_all(scratch(dir));
    }
}

#[test]
fn text_shorter_than_a_block_is_an_error_naming_the_file() {
    let _run = one_run_at_a_time();
    let device = device();
    let args = TrainingConfig {
        max_length: 40,
        ..TrainingConfig::default()
    };
    let err = fine_tune_masked_lm(
        assets("tiny-bert-mlm").to_str().unwrap(),
        &args,
        &documents(2, 0),
        &documents(2, 1),
        &scratch("short"),
        None,
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("docs.txt") && err.contains("no block of 40 tokens"),
        "{err}"
    );
    assert!(!scratch("short").exists(), "the output folder was created");
}

/// Six training steps on the tiny masked LM, dropout off, on the blocks and masks PyTorch drew
/// (`tests/reference/mlm_train_curve.py`): the losses are PyTorch's, step for step, so the loss
/// at the masked positions, the tied decoder's gradient, AdamW's groups, clipping and the
/// schedule are `transformers`'.
#[test]
fn training_steps_are_pytorchs() {
    use burnbert::BertForMaskedLM;
    use burnbert::burn::prelude::*;
    use burnbert::burn::train::TrainStep;
    use burnbert::tasks::masked_lm::MaskedLMBatch;
    use burnbert::train::optim;
    use burnbert::train::step::FineTuning;

    let _run = one_run_at_a_time();
    let reference = reference("mlm_train.json");
    let number = |key: &str| reference[key].as_f64().unwrap();
    let steps = number("steps") as usize;
    let device = device().autodiff();
    let folder = assets("tiny-bert-mlm");
    let mut config = burnbert::BertConfig::from_file(folder.join("config.json")).unwrap();
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    let bert =
        burnbert::from_folder_with_config::<BertForMaskedLM>(&folder, config, &device).unwrap();
    let args = TrainingConfig {
        learning_rate: number("learning_rate"),
        weight_decay: number("weight_decay"),
        max_grad_norm: number("max_grad_norm"),
        max_steps: Some(steps),
        ..TrainingConfig::default()
    };
    let parts = optim::ModelParts {
        layers: bert.config.num_hidden_layers,
        head: r"^model\.cls\.",
    };
    let mut optimizer = optim::optimizer(&args);
    let mut scheduler = optim::scheduler(&args, steps, steps, parts);
    let mut task = FineTuning::new(bert.model, &args);
    let batches: Vec<Vec<Vec<i64>>> =
        serde_json::from_value(reference["input_ids"].clone()).unwrap();
    let labels: Vec<Vec<Vec<i64>>> = serde_json::from_value(reference["labels"].clone()).unwrap();
    let mut losses = Vec::new();
    for (ids, labels) in batches.iter().zip(&labels) {
        let [rows, seq] = [ids.len(), ids[0].len()];
        let (positions, targets): (Vec<i64>, Vec<i64>) = labels
            .concat()
            .into_iter()
            .enumerate()
            .filter(|(_, l)| *l != -100)
            .map(|(i, l)| (i as i64, l))
            .unzip();
        let n = positions.len();
        let batch = MaskedLMBatch {
            input: burnbert::BertInput::new(Tensor::from_data(
                TensorData::new(ids.concat(), [rows, seq]),
                &device,
            )),
            positions: Tensor::from_data(TensorData::new(positions, [n]), &device),
            labels: Tensor::from_data(TensorData::new(targets, [n]), &device),
            rows,
            label_smoothing: 0.0,
        };
        let out = TrainStep::step(&task, batch);
        losses.push(out.item.loss.clone().into_scalar::<f64>());
        task = task.optimize(&mut optimizer, scheduler.step(), out.grads);
    }
    let expected: Vec<f64> = serde_json::from_value(reference["losses"].clone()).unwrap();
    let worst = largest_gap(&losses, &expected);
    eprintln!(
        "{}: losses {losses:?}, PyTorch {expected:?}, max abs diff {worst:.2e}",
        backend()
    );
    assert!(worst <= 1e-4, "{losses:?} vs PyTorch {expected:?}");
}
