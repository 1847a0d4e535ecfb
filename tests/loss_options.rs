//! The recipe's loss settings and the metrics that pick the best epoch, end to end on
//! tiny-bert: class weights (`"balanced"`, as scikit-learn's `compute_class_weight`) and label
//! smoothing reach the loss the run validates with, as `torch.nn.CrossEntropyLoss(weight,
//! label_smoothing)` computes it; `metric_for_best_model` picks an epoch by a score of the whole
//! epoch (Matthews correlation, Pearson), and the report scores the chosen model as that epoch
//! did.

mod common;

use burnbert::pipeline::TextClassificationPipeline;
use burnbert::tasks::sequence_classification::{fine_tune_classifier, fine_tune_regressor};
use burnbert::train::{ClassWeightMode, ClassWeights, TrainingConfig};
use common::*;

// Three "pos" to one "neg": balanced weights are 4 / (2 · 3) and 4 / (2 · 1).
const ROWS: [(&str, &str); 4] = [
    ("the movie was great", "pos"),
    ("i love this story", "pos"),
    ("what a fine film", "pos"),
    ("the actor was bad", "neg"),
];

fn metrics(output: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(output.join("metrics.json")).unwrap()).unwrap()
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn balanced_class_weights_and_label_smoothing_are_torch_s_cross_entropy() {
    let _run = one_run_at_a_time();
    let device = device();
    let folder = assets("tiny-bert");
    let output = std::env::temp_dir().join(format!("burnbert-loss-options-{}", std::process::id()));
    let epsilon = 0.1;
    let args = TrainingConfig {
        learning_rate: 1e-2,
        num_train_epochs: 3,
        per_device_train_batch_size: 4,
        per_device_eval_batch_size: 3,
        class_weights: Some(ClassWeights::Mode(ClassWeightMode::Balanced)),
        label_smoothing_factor: epsilon,
        load_best_model_at_end: true,
        metric_for_best_model: "matthews_correlation".into(),
        seed: 0,
        ..TrainingConfig::default()
    };
    let (train, valid) = (text_examples(&ROWS, 16), text_examples(&ROWS, 10));
    let trained = fine_tune_classifier(
        folder.to_str().unwrap(),
        &args,
        &train,
        &valid,
        &output,
        None,
        &device,
    )
    .unwrap();
    let labels = trained.config.labels();
    assert_eq!(labels, ["neg", "pos"]);

    // The expected loss of the exported model on `valid`, by torch's formula in f64.
    let weight = [16.0 / (2.0 * 4.0), 16.0 / (2.0 * 12.0)];
    let pipeline =
        TextClassificationPipeline::from_pretrained(trained.exported.to_str().unwrap(), &device)
            .unwrap();
    let texts: Vec<&str> = valid.iter().map(|e| e.text.as_str()).collect();
    let predictions = pipeline.predict(&texts).unwrap();
    // Each validation batch's loss is torch's weighted mean over the batch; the epoch's is the
    // mean of those repeated batch-size times, as HF's `eval_loss` (batches of 3 here).
    let rows: Vec<(usize, Vec<f64>)> = valid
        .iter()
        .zip(&predictions)
        .map(|(example, prediction)| {
            let logits: Vec<f64> = prediction.logits.iter().map(|&l| l as f64).collect();
            let max = logits.iter().cloned().fold(f64::MIN, f64::max);
            let log_sum = logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln() + max;
            let class = labels.iter().position(|l| *l == example.label).unwrap();
            (class, logits.iter().map(|l| l - log_sum).collect())
        })
        .collect();
    let mut sum = 0.0;
    for batch in rows.chunks(3) {
        let (mut nll, mut smooth, mut total) = (0.0, 0.0, 0.0);
        for (class, log_p) in batch {
            nll += -weight[*class] * log_p[*class];
            smooth += -(0..2).map(|c| weight[c] * log_p[c]).sum::<f64>();
            total += weight[*class];
        }
        let loss = (1.0 - epsilon) * nll / total + epsilon / 2.0 * smooth / total;
        sum += loss * batch.len() as f64;
    }
    let expected = sum / rows.len() as f64;
    let report = &trained.report;
    let loss = report.loss.unwrap();
    assert!(
        (loss - expected).abs() < 1e-4,
        "loss {loss}, torch's formula {expected}"
    );
    let m = metrics(&output);
    let losses = floats(&m["valid_loss_per_epoch"]);
    assert!(
        (losses[trained.epoch - 1] - loss).abs() < 1e-9,
        "{losses:?}"
    );

    // The chosen epoch's Matthews correlation, as the learner measured it, is the report's
    // (scikit-learn's, on the chosen model's predictions).
    let mcc = floats(&m["valid_matthews_correlation_per_epoch"]);
    assert_eq!(mcc.len(), 3);
    let chosen = mcc[trained.epoch - 1];
    assert!(
        (chosen - report.matthews_correlation).abs() < 1e-9,
        "{mcc:?} {report:?}"
    );
    assert!(
        mcc.iter().all(|&v| v <= chosen),
        "best epoch by MCC: {mcc:?}, chose {}",
        trained.epoch
    );
    let _ = std::fs::remove_dir_all(&output);
}

#[test]
fn settings_a_task_does_not_take_are_errors_naming_them() {
    let _run = one_run_at_a_time();
    let device = device();
    let folder = assets("tiny-bert");
    let output = std::env::temp_dir().join(format!("burnbert-loss-refused-{}", std::process::id()));
    let run = |args: &TrainingConfig, rows: &[(&str, &str)]| {
        let examples = text_examples(rows, 8);
        let result = if rows == ROWS {
            fine_tune_classifier(
                folder.to_str().unwrap(),
                args,
                &examples,
                &examples,
                &output,
                None,
                &device,
            )
            .map(|_| ())
        } else {
            fine_tune_regressor(
                folder.to_str().unwrap(),
                args,
                &examples,
                &examples,
                &output,
                None,
                &device,
            )
            .map(|_| ())
        };
        let _ = std::fs::remove_dir_all(&output);
        result.unwrap_err().to_string()
    };
    let three = TrainingConfig {
        class_weights: Some("1, 2, 3".parse().unwrap()),
        ..TrainingConfig::default()
    };
    let err = run(&three, &ROWS);
    assert!(
        err.contains("class_weights") && err.contains("3 weights for 2 labels (neg, pos)"),
        "{err}"
    );
    let smoothed = TrainingConfig {
        label_smoothing_factor: 0.1,
        ..TrainingConfig::default()
    };
    let scores = [("a good film", "4.5"), ("a bad film", "1.5")];
    let err = run(&smoothed, &scores);
    assert!(
        err.contains("label_smoothing_factor") && err.contains("regression"),
        "{err}"
    );
    let by_accuracy = TrainingConfig {
        metric_for_best_model: "accuracy".into(),
        ..TrainingConfig::default()
    };
    let err = run(&by_accuracy, &scores);
    assert!(
        err.contains("'loss', 'mse', 'mae', 'pearson', 'spearmanr', not 'accuracy'"),
        "{err}"
    );
}

#[test]
fn a_regressor_picks_its_best_epoch_by_pearson() {
    let _run = one_run_at_a_time();
    let device = device();
    let folder = assets("tiny-bert");
    let output = std::env::temp_dir().join(format!("burnbert-pearson-{}", std::process::id()));
    let rows = [
        ("the movie was great , the film was great", "4.8"),
        ("i love this story , i hate this story", "1.2"),
        ("john lives in paris , john lives in berlin", "2.5"),
        ("the actor was bad , the actor was not good", "4.0"),
    ];
    let args = TrainingConfig {
        learning_rate: 5e-2,
        num_train_epochs: 4,
        per_device_train_batch_size: 4,
        load_best_model_at_end: true,
        // HF's name with its `eval_` prefix, as recipes copied from HF write it.
        metric_for_best_model: "eval_pearson".into(),
        seed: 0,
        ..TrainingConfig::default()
    };
    let (train, valid) = (text_examples(&rows, 16), text_examples(&rows, 10));
    let trained = fine_tune_regressor(
        folder.to_str().unwrap(),
        &args,
        &train,
        &valid,
        &output,
        None,
        &device,
    )
    .unwrap();
    let m = metrics(&output);
    let pearson = floats(&m["valid_pearson_per_epoch"]);
    assert_eq!(pearson.len(), 4);
    let chosen = pearson[trained.epoch - 1];
    let report = trained.report.pearson.unwrap();
    assert!((chosen - report).abs() < 1e-5, "{pearson:?} {report}");
    assert!(
        pearson.iter().all(|&v| v <= chosen),
        "best epoch by Pearson: {pearson:?}, chose {}",
        trained.epoch
    );
    assert_eq!(floats(&m["valid_spearmanr_per_epoch"]).len(), 4);
    let _ = std::fs::remove_dir_all(&output);
}
