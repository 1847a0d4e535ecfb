//! Regression (real-valued labels, `run_glue.py`'s STS-B path) through the one fine-tuning path:
//! one output trained with the MSE, exported with `problem_type` `regression`, scored as SciPy
//! scores it.

mod common;

use burnbert::model::ProblemType;
use burnbert::tasks::sequence_classification::TextExample;
use burnbert::tasks::sequence_classification::{
    RegressionBatcher, encode_targets, evaluate_regressor,
};
use burnbert::tasks::sequence_classification::{fine_tune_classifier, fine_tune_regressor};
use burnbert::train::TrainingConfig;
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
    let items = encode_targets(&reloaded.tokenizer, &valid, 128).unwrap();
    let batcher = RegressionBatcher {
        pad_id: reloaded.tokenizer.pad_id(),
    };
    let again = evaluate_regressor(&reloaded.model, &batcher, &items, 2, &device);
    assert!((again.mse.unwrap() - report.mse.unwrap()).abs() < 1e-5);
    assert!((again.pearson.unwrap() - report.pearson.unwrap()).abs() < 1e-5);
    let _ = std::fs::remove_dir_all(&output);
}
