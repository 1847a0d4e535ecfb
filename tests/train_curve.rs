//! The same short training run on every backend, step for step against PyTorch: the recipe's
//! AdamW (no decay on biases and LayerNorm), warmup from 0, linear decay and global-norm
//! clipping, through the train step and optimizer step Burn's learner calls, on the committed
//! tiny classifier with dropout off. The reference is `tests/reference/train_curve.py`.

mod common;

use burnbert::burn::data::dataloader::batcher::Batcher;
use burnbert::burn::train::TrainStep;
use burnbert::tasks::sequence_classification::{
    FineTuning, SequenceClassificationBatcher, encode_examples,
};
use burnbert::tasks::sequence_classification::{LabelSet, Location, TextExample};
use burnbert::train::{TrainingConfig, optim};
use burnbert::{BertConfig, BertForSequenceClassification, from_folder_with_config};
use common::*;

/// Each step's loss, and the head's weights after the last step, within this of PyTorch's.
/// Largest differences seen over the 8 steps: 4.0e-6 (flex), 3.6e-6 (ndarray),
/// 2.3e-6 (LibTorch CPU), 3.8e-6 (wgpu on lavapipe).
const LOSS_TOLERANCE: f64 = 1e-4;

#[test]
fn loss_curve_matches_pytorch() {
    let reference = reference("tiny_train.json");
    let recipe = &reference["recipe"];
    let device = device();
    let folder = assets("tiny-bert-seqcls");
    let mut config = BertConfig::from_file(folder.join("config.json")).unwrap();
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    let pretrained = from_folder_with_config::<BertForSequenceClassification>(
        &folder,
        config,
        &device.clone().autodiff(),
    )
    .unwrap();
    let examples: Vec<TextExample> = reference["texts"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, row)| TextExample {
            text: row[0].as_str().unwrap().into(),
            text_pair: None,
            label: row[1].as_str().unwrap().into(),
            location: Location {
                file: "tiny_train.json".into(),
                line: i + 1,
            },
        })
        .collect();
    let labels = LabelSet::from_examples(&examples);
    assert_eq!(
        labels.names(),
        pretrained.config.labels(),
        "label ids as the fixture's id2label"
    );
    let encoded = encode_examples(&pretrained.tokenizer, &examples, &labels, 32).unwrap();

    let steps = recipe["max_steps"].as_u64().unwrap() as usize;
    let batch_size = recipe["batch_size"].as_u64().unwrap() as usize;
    let args = TrainingConfig {
        learning_rate: recipe["learning_rate"].as_f64().unwrap(),
        weight_decay: recipe["weight_decay"].as_f64().unwrap(),
        warmup_steps: recipe["warmup_steps"].as_u64().unwrap() as usize,
        max_steps: Some(steps),
        per_device_train_batch_size: batch_size,
        max_grad_norm: recipe["max_grad_norm"].as_f64().unwrap(),
        ..TrainingConfig::default()
    };
    let parts = optim::ModelParts {
        layers: 2,
        head: r"^model\.classifier\.",
    };
    let mut optimizer = optim::optimizer(&args);
    let mut scheduler = optim::scheduler(&args, steps, args.steps_per_epoch(examples.len()), parts);
    let batcher = SequenceClassificationBatcher {
        pad_id: pretrained.tokenizer.pad_id(),
        cross_entropy: Default::default(),
    };
    let mut task = FineTuning::new(pretrained.model, &args);
    let mut losses = Vec::new();
    for step in 0..steps {
        let start = (step * batch_size) % encoded.len();
        let batch = batcher.batch(
            encoded[start..start + batch_size].to_vec(),
            &device.clone().autodiff(),
        );
        let out = TrainStep::step(&task, batch);
        losses.push(out.item.loss.clone().into_scalar::<f64>());
        task = task.optimize(&mut optimizer, scheduler.step(), out.grads);
    }
    let expected: Vec<f64> = serde_json::from_value(reference["losses"].clone()).unwrap();
    let worst = largest_gap(&losses, &expected);
    eprintln!(
        "{}: losses {losses:?}, max abs diff to PyTorch {worst:.2e}",
        backend()
    );
    assert!(
        worst <= LOSS_TOLERANCE,
        "{losses:?} vs PyTorch {expected:?}"
    );
    assert!(losses[steps - 1] < losses[0] - 0.2, "the loss falls");
    let weight: Vec<f32> = task
        .model
        .classifier
        .weight
        .val()
        .transpose()
        .into_data()
        .convert::<f32>()
        .try_to_vec()
        .unwrap();
    let expected: Vec<f64> =
        serde_json::from_value(reference["classifier.weight"].clone()).unwrap();
    let worst = weight
        .iter()
        .zip(&expected)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    eprintln!("classifier.weight after {steps} steps: max abs diff {worst:.2e}");
    assert!(worst <= LOSS_TOLERANCE, "classifier weight off by {worst}");
}
