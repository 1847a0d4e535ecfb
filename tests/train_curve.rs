//! The same short training run on every backend, step for step against PyTorch: the recipe's
//! AdamW (no decay on biases and LayerNorm), warmup from 0, linear decay and global-norm
//! clipping, through the train step and optimizer step Burn's learner calls, on the committed
//! tiny classifier with dropout off, for one text and its class, then sentence pairs, a
//! regression target and label lists. The reference is `tests/reference/train_curve.py`.

mod common;

use burnbert::burn::data::dataloader::batcher::Batcher;
use burnbert::burn::module::Param;
use burnbert::burn::prelude::*;
use burnbert::burn::train::TrainStep;
use burnbert::model::ProblemType;
use burnbert::tasks::sequence_classification::{
    FineTuning, MultiLabelBatcher, RegressionBatcher, SequenceBatch, SequenceClassificationBatcher,
    encode_examples, encode_label_lists, encode_targets,
};
use burnbert::tasks::sequence_classification::{LabelSet, Location, TextExample};
use burnbert::train::{TrainingConfig, optim};
use burnbert::{
    BertConfig, BertForSequenceClassification, Pretrained, from_folder_with_config, load_folder,
};
use common::*;
use serde_json::Value;

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

    let batcher = SequenceClassificationBatcher {
        pad_id: pretrained.tokenizer.pad_id(),
        cross_entropy: Default::default(),
    };
    let (losses, task) = train(pretrained.model, recipe, |items, device| {
        batcher.batch(encoded[items].to_vec(), device)
    });
    assert!(losses[losses.len() - 1] < losses[0] - 0.2, "the loss falls");
    assert_is_pytorchs("one text", &reference, &losses, task);
}

/// The recipe's steps in order, as `train_curve.py` takes them: step `i` trains on the
/// examples `batch(i·b % n .. + b)` of `n`, through the train step and optimizer step Burn's
/// learner calls. Returns each step's loss and the trained task.
fn train(
    model: BertForSequenceClassification,
    recipe: &Value,
    batch: impl Fn(std::ops::Range<usize>, &Device) -> SequenceBatch,
) -> (
    Vec<f64>,
    FineTuning<BertForSequenceClassification, SequenceBatch>,
) {
    let device = device().autodiff();
    let steps = recipe["max_steps"].as_u64().unwrap() as usize;
    let batch_size = recipe["batch_size"].as_u64().unwrap() as usize;
    let examples = 8;
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
    let mut scheduler = optim::scheduler(&args, steps, args.steps_per_epoch(examples), parts);
    let mut task = FineTuning::new(model, &args);
    let mut losses = Vec::new();
    for step in 0..steps {
        let start = (step * batch_size) % examples;
        let out = TrainStep::step(&task, batch(start..start + batch_size, &device));
        losses.push(out.item.loss.clone().into_scalar::<f64>());
        task = task.optimize(&mut optimizer, scheduler.step(), out.grads);
    }
    (losses, task)
}

/// The tiny classifier with dropout off, its config changed by `edit`; a head of another shape
/// starts from PyTorch's initial head in `reference["initial"]`.
fn tiny_classifier(
    reference: &Value,
    edit: impl FnOnce(&mut BertConfig),
) -> Pretrained<BertForSequenceClassification> {
    let folder = assets("tiny-bert-seqcls");
    let mut config = BertConfig::from_file(folder.join("config.json")).unwrap();
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    edit(&mut config);
    let device = device().autodiff();
    let mut pretrained =
        load_folder::<BertForSequenceClassification>(&folder, config, true, &device).unwrap();
    let head = &reference["initial"];
    let values = |key: &str| -> Vec<f32> { serde_json::from_value(head[key].clone()).unwrap() };
    let classifier = &mut pretrained.model.classifier;
    let [hidden, outputs] = classifier.weight.dims();
    // PyTorch's weight is [outputs, hidden]; Burn's Linear keeps [hidden, outputs].
    let weight = Tensor::<2>::from_data(
        TensorData::new(values("classifier.weight"), [outputs, hidden]),
        &device,
    );
    classifier.weight = Param::from_tensor(weight.transpose());
    let bias = Tensor::<1>::from_data(
        TensorData::new(values("classifier.bias"), [outputs]),
        &device,
    );
    classifier.bias = Some(Param::from_tensor(bias));
    pretrained
}

/// `reference[kind]`'s rows as examples: `(text, pair or null, label)`, the label a class name,
/// a number or a list of names, written as burnbert reads each from a data file.
fn task_examples(rows: &Value) -> Vec<TextExample> {
    rows.as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, row)| TextExample {
            text: row[0].as_str().unwrap().into(),
            text_pair: row[1].as_str().map(String::from),
            label: match &row[2] {
                Value::String(name) => name.clone(),
                other => other.to_string(),
            },
            location: Location {
                file: "tiny_train_tasks.json".into(),
                line: i + 1,
            },
        })
        .collect()
}

/// Each step's loss and the head's final weight against PyTorch's.
fn assert_is_pytorchs(
    kind: &str,
    reference: &Value,
    losses: &[f64],
    task: FineTuning<BertForSequenceClassification, SequenceBatch>,
) {
    let expected: Vec<f64> = serde_json::from_value(reference["losses"].clone()).unwrap();
    let worst = largest_gap(losses, &expected);
    eprintln!(
        "{kind} on {}: losses {losses:?}, max abs diff to PyTorch {worst:.2e}",
        backend()
    );
    assert!(
        worst <= LOSS_TOLERANCE,
        "{kind}: {losses:?} vs PyTorch {expected:?}"
    );
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
    eprintln!("{kind}: classifier.weight max abs diff {worst:.2e}");
    assert!(
        worst <= LOSS_TOLERANCE,
        "{kind}: classifier weight off by {worst}"
    );
}

#[test]
fn sentence_pairs_train_as_in_pytorch() {
    let all = reference("tiny_train_tasks.json");
    let reference = &all["pairs"];
    let pretrained = tiny_classifier(reference, |_| {});
    let examples = task_examples(&reference["rows"]);
    assert!(examples.iter().all(|e| e.text_pair.is_some()));
    let labels = LabelSet::from_names(pretrained.config.labels());
    let encoded = encode_examples(&pretrained.tokenizer, &examples, &labels, 32).unwrap();
    // The second text's tokens are segment 1.
    assert!(encoded.iter().all(|e| e.token_type_ids.contains(&1)));
    let batcher = SequenceClassificationBatcher {
        pad_id: pretrained.tokenizer.pad_id(),
        cross_entropy: Default::default(),
    };
    let (losses, task) = train(pretrained.model, &all["recipe"], |items, device| {
        batcher.batch(encoded[items].to_vec(), device)
    });
    assert_is_pytorchs("pairs", reference, &losses, task);
}

#[test]
fn regression_trains_as_in_pytorch() {
    let all = reference("tiny_train_tasks.json");
    let reference = &all["regression"];
    let pretrained = tiny_classifier(reference, |config| {
        config.id2label = None;
        config.label2id = None;
        config.num_labels = Some(1);
        config.problem_type = Some(ProblemType::Regression);
    });
    let examples = task_examples(&reference["rows"]);
    let encoded = encode_targets(&pretrained.tokenizer, &examples, 32, 1).unwrap();
    let batcher = RegressionBatcher {
        pad_id: pretrained.tokenizer.pad_id(),
    };
    let (losses, task) = train(pretrained.model, &all["recipe"], |items, device| {
        batcher.batch(encoded[items].to_vec(), device)
    });
    // Steps 0, 2, 4 and 6 see the same four examples: their MSE falls.
    assert!(
        losses[6] < losses[4]
            && losses[4] < losses[2]
            && losses[2] < losses[0]
            && losses[6] < losses[0] - 0.5,
        "{losses:?}"
    );
    assert_is_pytorchs("regression", reference, &losses, task);
}

#[test]
fn multi_label_trains_as_in_pytorch() {
    let all = reference("tiny_train_tasks.json");
    let reference = &all["multi_label"];
    let pretrained = tiny_classifier(reference, |config| {
        config.problem_type = Some(ProblemType::MultiLabelClassification);
    });
    let examples = task_examples(&reference["rows"]);
    let labels = LabelSet::from_names(pretrained.config.labels());
    let encoded = encode_label_lists(&pretrained.tokenizer, &examples, &labels, 32).unwrap();
    let batcher = MultiLabelBatcher {
        pad_id: pretrained.tokenizer.pad_id(),
    };
    let (losses, task) = train(pretrained.model, &all["recipe"], |items, device| {
        batcher.batch(encoded[items].to_vec(), device)
    });
    assert_is_pytorchs("multi-label", reference, &losses, task);
}
