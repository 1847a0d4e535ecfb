//! The recipe's knobs do what they say, on the committed tiny classifier: freezing leaves
//! weights bit-identical, the head learning rate is the head's, accumulation and clipping run.

mod common;

use burnbert::burn::prelude::*;
use burnbert::tasks::sequence_classification::fine_tune_classifier;
use burnbert::tasks::sequence_classification::{Location, TextExample};
use burnbert::train::TrainingConfig;
use burnbert::{BertForSequenceClassification, from_pretrained};
use common::*;

fn examples(n: usize) -> Vec<TextExample> {
    let texts = [
        ("the movie was great", "positive"),
        ("a bad boring film", "negative"),
        ("it was a film", "neutral"),
    ];
    (0..n)
        .map(|i| {
            let (text, label) = texts[i % 3];
            TextExample {
                text: text.into(),
                text_pair: None,
                label: label.into(),
                location: Location {
                    file: "generated".into(),
                    line: i + 1,
                },
            }
        })
        .collect()
}

fn data<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn max_change<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    data(a)
        .iter()
        .zip(data(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn run(
    args: &TrainingConfig,
    tag: &str,
) -> (BertForSequenceClassification, BertForSequenceClassification) {
    let device = device();
    let folder = assets("tiny-bert-seqcls");
    let before =
        from_pretrained::<BertForSequenceClassification>(folder.to_str().unwrap(), &device)
            .unwrap()
            .model;
    let output = std::env::temp_dir().join(format!("burnbert-recipe-{}-{tag}", std::process::id()));
    let trained = fine_tune_classifier(
        folder.to_str().unwrap(),
        args,
        &examples(24),
        &examples(6),
        &output,
        None,
        &device,
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(&output);
    (before, trained.model)
}

#[test]
fn frozen_weights_stay_bit_identical() {
    let args = TrainingConfig {
        learning_rate: 1e-2,
        num_train_epochs: 2,
        per_device_train_batch_size: 4,
        freeze_embeddings: true,
        freeze_layers: 1,
        weight_decay: 0.1,
        ..TrainingConfig::default()
    };
    let (before, after) = run(&args, "freeze");
    let word = |m: &BertForSequenceClassification| m.bert.embeddings.word_embeddings.weight.val();
    let query = |m: &BertForSequenceClassification, l: usize| {
        m.bert.encoder.layer[l]
            .attention
            .self_attention
            .query
            .weight
            .val()
    };
    let ln = |m: &BertForSequenceClassification| m.bert.embeddings.layer_norm.gamma.val();
    assert_eq!(data(word(&before)), data(word(&after)), "embeddings frozen");
    assert_eq!(
        data(ln(&before)),
        data(ln(&after)),
        "embedding LayerNorm frozen"
    );
    assert_eq!(data(query(&before, 0)), data(query(&before, 0)));
    assert_eq!(
        data(query(&before, 0)),
        data(query(&after, 0)),
        "layer 0 frozen"
    );
    assert!(
        max_change(query(&before, 1), query(&after, 1)) > 1e-3,
        "layer 1 trains"
    );
    assert!(
        max_change(
            before.classifier.weight.val(),
            after.classifier.weight.val()
        ) > 1e-3,
        "head trains"
    );
}

#[test]
fn frozen_parts_thaw_after_k_epochs() {
    let args = |k| TrainingConfig {
        learning_rate: 1e-2,
        num_train_epochs: 2,
        per_device_train_batch_size: 4,
        freeze_encoder: true,
        unfreeze_after_epochs: Some(k),
        weight_decay: 0.1,
        group_by_length: true,
        layerwise_lr_decay: Some(0.8),
        ..TrainingConfig::default()
    };
    let word = |m: &BertForSequenceClassification| m.bert.embeddings.word_embeddings.weight.val();
    let query = |m: &BertForSequenceClassification| {
        m.bert.encoder.layer[1]
            .attention
            .self_attention
            .query
            .weight
            .val()
    };
    // Thawed after the last epoch: frozen all along, bit for bit, while the head trains.
    let (before, after) = run(&args(2), "thaw2");
    assert_eq!(data(word(&before)), data(word(&after)), "embeddings frozen");
    assert_eq!(data(query(&before)), data(query(&after)), "layer 1 frozen");
    assert!(
        max_change(
            before.classifier.weight.val(),
            after.classifier.weight.val()
        ) > 1e-3,
        "head trains"
    );
    // Thawed after epoch 1: the encoder trains in epoch 2.
    let (before, after) = run(&args(1), "thaw1");
    assert!(
        max_change(word(&before), word(&after)) > 1e-4,
        "embeddings thawed"
    );
    assert!(
        max_change(query(&before), query(&after)) > 1e-3,
        "layer 1 thawed"
    );
}

#[test]
fn the_head_learning_rate_is_the_heads() {
    let args = TrainingConfig {
        learning_rate: 1e-9,
        head_learning_rate: Some(1e-2),
        num_train_epochs: 1,
        per_device_train_batch_size: 4,
        gradient_accumulation_steps: 2,
        max_grad_norm: 0.5,
        ..TrainingConfig::default()
    };
    let (before, after) = run(&args, "headlr");
    let encoder =
        |m: &BertForSequenceClassification| m.bert.encoder.layer[1].output.dense.weight.val();
    // AdamW moves a weight by about lr per step: 3 steps at 1e-9 vs 1e-2.
    let encoder_change = max_change(encoder(&before), encoder(&after));
    let head_change = max_change(
        before.classifier.weight.val(),
        after.classifier.weight.val(),
    );
    assert!(encoder_change < 1e-7, "encoder moved {encoder_change}");
    assert!(head_change > 1e-3, "head moved {head_change}");
}

#[test]
fn a_loss_gone_nan_stops_the_run_with_a_clear_error() {
    let device = device();
    let folder = assets("tiny-bert-seqcls");
    let output = std::env::temp_dir().join(format!("burnbert-recipe-{}-nan", std::process::id()));
    let args = TrainingConfig {
        learning_rate: 1e30,
        num_train_epochs: 3,
        per_device_train_batch_size: 4,
        max_grad_norm: 0.0,
        ..TrainingConfig::default()
    };
    let err = fine_tune_classifier(
        folder.to_str().unwrap(),
        &args,
        &examples(24),
        &examples(6),
        &output,
        None,
        &device,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            burnbert::Error::Train(burnbert::train::TrainError::NonFiniteLoss { .. })
        ),
        "{message}"
    );
    assert!(
        message.contains("not finite") && message.contains("checkpoint"),
        "{message}"
    );
    // Nothing non-finite was exported.
    assert!(!output.join("model").exists());
    let _ = std::fs::remove_dir_all(&output);
}
