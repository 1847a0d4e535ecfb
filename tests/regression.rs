//! Regression (real-valued labels, `run_glue.py`'s STS-B path) through the one fine-tuning path:
//! one output trained with the MSE, exported with `problem_type` `regression`, scored as SciPy
//! scores it.

mod common;

use burnbert::model::ProblemType;
use burnbert::pipeline::TextClassificationPipeline;
use burnbert::tasks::sequence_classification::TextExample;
use burnbert::tasks::sequence_classification::{
    RegressionBatcher, encode_targets, evaluate_regressor,
};
use burnbert::tasks::sequence_classification::{fine_tune_classifier, fine_tune_regressor};
use burnbert::train::TrainingConfig;
use burnbert::train::scipy::{pearsonr, spearmanr};
use burnbert::{BertForSequenceClassification, from_pretrained};
use common::*;

// tiny-bert has one token type: each pair as one text.
const ROWS: [(&str, &str); 4] = [
    ("the movie was great , the film was great", "4.8"),
    ("i love this story , i hate this story", "1.2"),
    ("john lives in paris , john lives in berlin", "2.5"),
    ("the actor was bad , the actor was not good", "4.0"),
];

fn examples(n: usize) -> Vec<TextExample> {
    text_examples(&ROWS, n)
}

#[test]
fn real_valued_labels_train_one_output_with_the_mse() {
    let _run = one_run_at_a_time();
    let device = device();
    let folder = assets("tiny-bert");
    let output = std::env::temp_dir().join(format!("burnbert-regression-{}", std::process::id()));
    let args = TrainingConfig {
        learning_rate: 5e-2,
        num_train_epochs: 8,
        per_device_train_batch_size: 4,
        // 21 validation examples in batches of 8, the last unlike the others: the epoch's loss
        // is the mean over examples (HF's eval_loss), not the mean of the three batch means.
        per_device_eval_batch_size: 8,
        seed: 0,
        ..TrainingConfig::default()
    };
    let (train, valid) = (examples(16), examples(21));
    let err = fine_tune_classifier(
        folder.to_str().unwrap(),
        &args,
        &train,
        &valid,
        &output,
        None,
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("real numbers") && err.contains("SequenceRegression"),
        "{err}"
    );

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
    assert_eq!(trained.config.labels(), ["LABEL_0"]);
    assert_eq!(trained.config.problem_type, Some(ProblemType::Regression));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("metrics.json")).unwrap())
            .unwrap();
    let losses: Vec<f64> = metrics["valid_loss_per_epoch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    eprintln!("validation MSE per epoch: {losses:?}");
    assert_eq!(losses.len(), 8);
    // The targets' mean is 3.125 and their variance 1.92: predicting their mean scores 1.92.
    // The untrained head outputs about 0, an MSE of about 11.4.
    assert!(losses[7] < 2.5, "{losses:?}");
    // The report is the chosen epoch's model scored again: its MSE is that epoch's loss.
    let report = &trained.report;
    assert_eq!(report.examples, 21);
    let chosen = losses[trained.epoch - 1];
    assert!(
        (report.mse.unwrap() - chosen).abs() < 1e-5,
        "{report:?} {chosen}"
    );

    // The export loads as a regressor and scores the same.
    let reloaded = from_pretrained::<BertForSequenceClassification>(
        trained.exported.to_str().unwrap(),
        &device,
    )
    .unwrap();
    assert_eq!(reloaded.config.problem_type, Some(ProblemType::Regression));
    let items = encode_targets(&reloaded.tokenizer, &valid, 128, 1).unwrap();
    let batcher = RegressionBatcher {
        pad_id: reloaded.tokenizer.pad_id(),
    };
    let again = evaluate_regressor(&reloaded.model, &batcher, &items, 2, &device);
    assert!((again.mse.unwrap() - report.mse.unwrap()).abs() < 1e-5);
    assert!((again.pearson.unwrap() - report.pearson.unwrap()).abs() < 1e-5);
    let _ = std::fs::remove_dir_all(&output);
}

/// Two targets per text (as JSONL lists of numbers): a score and its negation plus one.
const TWO_TARGETS: [(&str, &str); 4] = [
    (
        "the movie was great , the film was great",
        r#"["4.8","-3.8"]"#,
    ),
    ("i love this story , i hate this story", r#"["1.2","-0.2"]"#),
    (
        "john lives in paris , john lives in berlin",
        r#"["2.5","-1.5"]"#,
    ),
    (
        "the actor was bad , the actor was not good",
        r#"["4.0","-3.0"]"#,
    ),
];

#[test]
fn lists_of_numbers_train_an_output_per_target() {
    let _run = one_run_at_a_time();
    let device = device();
    let folder = assets("tiny-bert");
    let output = std::env::temp_dir().join(format!("burnbert-two-targets-{}", std::process::id()));
    let args = TrainingConfig {
        learning_rate: 5e-2,
        num_train_epochs: 4,
        per_device_train_batch_size: 4,
        per_device_eval_batch_size: 3,
        seed: 0,
        ..TrainingConfig::default()
    };
    let (train, mut valid) = (
        text_examples(&TWO_TARGETS, 16),
        text_examples(&TWO_TARGETS, 7),
    );
    // Seven distinct texts: a text repeated in the validation set would get outputs that tie
    // exactly in one batch layout and differ in the last bit in another (other padding, other
    // summation order), and Spearman's ranks turn such a difference into 1e-3.
    for example in &mut valid[4..] {
        example.text.push_str(" .");
    }
    assert!(burnbert::tasks::sequence_classification::is_regression(
        &train
    ));
    let mut short = valid.clone();
    short[5].label = r#"["2.0"]"#.into();
    let err = fine_tune_regressor(
        folder.to_str().unwrap(),
        &args,
        &train,
        &short,
        &output,
        None,
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(":6: label `[\"2.0\"]` has 1 target(s), the regression 2"),
        "{err}"
    );

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
    assert_eq!(trained.config.labels(), ["LABEL_0", "LABEL_1"]);
    assert_eq!(trained.config.problem_type, Some(ProblemType::Regression));
    // The report from the exported model's own outputs: MSE and MAE over both outputs, the
    // correlations the mean of each target's (SciPy's).
    let pipeline =
        TextClassificationPipeline::from_pretrained(trained.exported.to_str().unwrap(), &device)
            .unwrap();
    let texts: Vec<&str> = valid.iter().map(|e| e.text.as_str()).collect();
    let outputs: Vec<Vec<f64>> = pipeline
        .predict(&texts)
        .unwrap()
        .into_iter()
        .map(|p| p.logits.iter().map(|&v| f64::from(v)).collect())
        .collect();
    let targets: Vec<Vec<f64>> = valid
        .iter()
        .map(|e| e.targets().unwrap().iter().map(|&v| f64::from(v)).collect())
        .collect();
    let cells: Vec<(f64, f64)> = outputs
        .iter()
        .flatten()
        .copied()
        .zip(targets.iter().flatten().copied())
        .collect();
    let mse = cells.iter().map(|(p, t)| (p - t).powi(2)).sum::<f64>() / cells.len() as f64;
    let mae = cells.iter().map(|(p, t)| (p - t).abs()).sum::<f64>() / cells.len() as f64;
    let column = |rows: &[Vec<f64>], c: usize| rows.iter().map(|r| r[c]).collect::<Vec<f64>>();
    let mean_of = |score: fn(&[f64], &[f64]) -> Option<f64>| {
        (score(&column(&outputs, 0), &column(&targets, 0)).unwrap()
            + score(&column(&outputs, 1), &column(&targets, 1)).unwrap())
            / 2.0
    };
    let report = &trained.report;
    assert_eq!((report.examples, report.outputs), (7, 2));
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() < 1e-4, "{what}: {a} vs {b}");
    close(report.mse.unwrap(), mse, "mse");
    close(report.mae.unwrap(), mae, "mae");
    close(report.pearson.unwrap(), mean_of(pearsonr), "pearson");
    close(report.spearmanr.unwrap(), mean_of(spearmanr), "spearmanr");
    let _ = std::fs::remove_dir_all(&output);
}
