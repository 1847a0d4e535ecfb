//! The label and metric cases: macro averages, TSV quotes, SQuAD v2's null answers, one-label
//! heads and problem types, entity groups.

use serde_json::Value;

use crate::common::*;
use crate::eval;

#[test]
fn case_04_macro_averages_are_over_the_labels_that_occur() {
    let data = case("case-04-macro-average-absent-labels/test.csv");
    let out = eval(&assets("tiny-bert-seqcls"), &data, &[]);
    // sklearn.metrics.precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    assert_close(
        &[
            out["accuracy"].as_f64().unwrap(),
            out["macro_precision"].as_f64().unwrap(),
            out["macro_recall"].as_f64().unwrap(),
            out["macro_f1"].as_f64().unwrap(),
            out["loss"].as_f64().unwrap(),
        ],
        &[2.0 / 3.0, 0.8, 2.0 / 3.0, 0.625, 0.840572],
    );
    assert_eq!(
        out["confusion_matrix"],
        serde_json::json!([[3, 0, 0], [0, 0, 0], [2, 0, 1]])
    );
}

#[test]
fn case_05_tsv_fields_keep_their_quotes() {
    let data = case("case-05-tsv-leading-quote/test.tsv");
    let out = eval(&assets("tiny-bert-seqcls"), &data, &[]);
    // csv.reader(..., delimiter="\t", quoting=csv.QUOTE_NONE): 4 rows; the model says negative.
    let supports: Vec<i64> = out["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support"].as_i64().unwrap())
        .collect();
    assert_eq!(supports, [1, 1, 2]);
    assert_close(
        &[
            out["accuracy"].as_f64().unwrap(),
            out["loss"].as_f64().unwrap(),
        ],
        &[0.25, 1.138114],
    );
}

#[test]
fn case_06_squad_v2_answers_nothing_when_the_null_score_wins() {
    let dir = case("case-06-squad-v2-null-answers");
    let model = dir.join("fixture/tiny-bert-qa-null");
    let data = dir.join("dev-v2.json");
    let score = |threshold: &str| {
        let flags = ["--max-length", "40", "--doc-stride", "8"];
        eval(
            &model,
            &data,
            &[&flags[..], &["--null-score-diff-threshold", threshold]].concat(),
        )
    };
    // run_qa.py --version_2_with_negative (null_score_diff_threshold 0.0) and squad_v2.
    let out = score("0.0");
    let scores = &out["scores"];
    assert_close(
        &[
            scores["exact_match"].as_f64().unwrap(),
            scores["f1"].as_f64().unwrap(),
            scores["has_answer"]["exact_match"].as_f64().unwrap(),
            scores["no_answer"]["exact_match"].as_f64().unwrap(),
        ],
        &[100.0 / 3.0, 100.0 / 3.0, 100.0 / 3.0, 100.0 / 3.0],
    );
    let answers: Vec<&str> = ["has-1", "has-2", "none-1", "none-2", "has-3", "none-3"]
        .iter()
        .map(|id| out["predictions"][id].as_str().unwrap())
        .collect();
    assert_eq!(answers, ["", "in", "in", "lives", "movie", ""]);
    // A threshold above none-3's +0.0697 and below has-1's +0.1423 lets none-3 answer.
    let out = score("0.1");
    assert_eq!(
        out["predictions"]["none-3"],
        "movie was boring but the story"
    );
    assert_eq!(out["predictions"]["has-1"], "");
}

#[test]
fn case_13_one_label_heads_and_problem_types() {
    let dir = case("case-13-regression-and-num-labels-1");
    let fixture = dir.join("fixture");
    let predict = |model: &str, extra: &[&str]| {
        let model = fixture.join(model);
        let mut args = vec!["predict", arg(&model), "--text", "the movie was great"];
        args.extend_from_slice(extra);
        args.push("--json");
        json(&args)
    };
    // pipeline("text-classification"): a sigmoid on a one-label head, the raw score for
    // problem_type "regression".
    let out = predict("tiny-bert-one-label", &[]);
    assert_eq!(out["label"], "LABEL_0");
    assert_close(&floats(&out["probabilities"]), &[0.635920]);
    assert_close(&floats(&out["logits"]), &[0.557701]);
    let out = predict("tiny-bert-regression", &[]);
    assert_close(&floats(&out["probabilities"]), &[0.557701]);
    let out = predict(
        "tiny-bert-one-label",
        &["--text-pair", "the film was great"],
    );
    assert_close(&floats(&out["probabilities"]), &[0.682619]);
    assert_close(&floats(&out["logits"]), &[0.765835]);

    // Real-valued labels: a regression (num_labels 1, MSE), as run_glue.py reads them, not 4
    // classes. The checkpoint's 3-class head does not fit one output: an error, as
    // from_pretrained's, unless --ignore-mismatched-sizes.
    let run = scratch("case13");
    let sts = dir.join("sts-train.csv");
    let seqcls = assets("tiny-bert-seqcls");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            arg(&seqcls),
            "--data",
            arg(&sts),
            "--validation",
            arg(&sts),
            "--text-column",
            "sentence1",
            "--text-pair-column",
            "sentence2",
            "--epochs",
            "1",
            "--batch-size",
            "2",
        ];
        args.extend_from_slice(extra);
        burnbert(&args)
    };
    let err = failed(train(&["--output", arg(&run.join("a0"))]));
    assert!(
        err.contains("label sets differ") && err.contains("--ignore-mismatched-sizes"),
        "{err}"
    );
    let a = run.join("a");
    succeeded(train(&["--output", arg(&a), "--ignore-mismatched-sizes"]));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("model/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["problem_type"], "regression");
    assert_eq!(config["id2label"], serde_json::json!({"0": "LABEL_0"}));
    // The run's scores are `eval`'s, and its MSE is the mean of the squared errors of the
    // scores `predict` gives (the raw output, as the pipeline gives it for a regression).
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("metrics.json")).unwrap()).unwrap();
    let model = a.join("model");
    let eval = json(&[
        "eval",
        arg(&model),
        "--data",
        arg(&sts),
        "--text-column",
        "sentence1",
        "--text-pair-column",
        "sentence2",
        "--json",
    ]);
    assert_eq!(eval["examples"], 4);
    for key in ["mse", "mae", "pearson", "spearmanr"] {
        assert_close(
            &[metrics["valid"][key].as_f64().unwrap()],
            &[eval[key].as_f64().unwrap()],
        );
    }
    let rows = [
        ("the movie was great", "the film was great", 4.8f32),
        ("i love this story", "i hate this story", 1.2),
        ("john lives in paris", "john lives in berlin", 2.5),
        ("the actor was bad", "the actor was not good", 4.0),
    ];
    let squared: Vec<f64> = rows
        .iter()
        .map(|(text, pair, target)| {
            let out = json(&[
                "predict",
                arg(&model),
                "--text",
                text,
                "--text-pair",
                pair,
                "--json",
            ]);
            assert_eq!(out["label"], "LABEL_0");
            (out["probabilities"][0].as_f64().unwrap() - *target as f64).powi(2)
        })
        .collect();
    assert_close(
        &[squared.iter().sum::<f64>() / 4.0],
        &[eval["mse"].as_f64().unwrap()],
    );

    // A multi-label checkpoint trained on single-label data: a single-label classifier.
    let three = dir.join("three-class.csv");
    let multilabel = fixture.join("tiny-bert-seqcls-multilabel");
    succeeded(burnbert(&[
        "train",
        arg(&multilabel),
        "--data",
        arg(&three),
        "--validation",
        arg(&three),
        "--epochs",
        "1",
        "--batch-size",
        "2",
        "--output",
        arg(&run.join("c")),
    ]));
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("c/model/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["problem_type"], "single_label_classification");
}

#[test]
fn case_15_entity_groups_of_labels_without_a_bio_prefix() {
    let model = case("case-15-entity-groups-without-bio-prefix/fixture/tiny-bert-tokcls-io");
    let out = json(&[
        "predict",
        arg(&model),
        "--text",
        "the movie was great in paris",
        "--json",
    ]);
    // The token-classification pipeline: every word PERSON_NAME, one group named by the
    // whole label, its score the mean of the words'.
    let scores: Vec<f64> = out["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["label"], "PERSON_NAME");
            t["score"].as_f64().unwrap()
        })
        .collect();
    assert_close(&scores, &[0.6930, 0.6204, 0.5964, 0.6820, 0.5897, 0.6844]);
    let entities = out["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1);
    assert_eq!(entities[0]["entity_group"], "PERSON_NAME");
    assert_eq!(entities[0]["word"], "the movie was great in paris");
    assert_eq!(
        (entities[0]["start"].as_i64(), entities[0]["end"].as_i64()),
        (Some(0), Some(28))
    );
    assert!((entities[0]["score"].as_f64().unwrap() - 0.6443).abs() < 1e-4);
}
