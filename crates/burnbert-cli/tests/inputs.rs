//! Inputs found by trying the binary as a user would, beyond the shared cases: each gets
//! transformers' value or a clear error.

mod common;

use std::path::Path;

use serde_json::Value;

use common::*;

/// A scratch copy of `assets/NAME` with `edit` applied to its config.json.
fn model_with(name: &str, tag: &str, edit: impl FnOnce(&mut Value)) -> Scratch {
    let dir = scratch(tag);
    copy_model(name, &dir);
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn a_word_without_pieces_is_scored_as_run_ner_scores_it() {
    // "\u200b" has no WordPiece: run_ner.py's alignment gives it no label, so it is in neither
    // the gold nor the predicted sequence. The tiny tagger predicts I-PER for both other words:
    // gold [B-PER, O] against [I-PER, I-PER] is F1 0 and token accuracy 0 (seqeval 1.2.2).
    let dir = scratch("pieceless");
    let data = dir.join("zw.jsonl");
    std::fs::write(
        &data,
        "{\"tokens\": [\"John\", \"\\u200b\", \"Paris\"], \"tags\": [\"B-PER\", \"O\", \"O\"]}\n",
    )
    .unwrap();
    let out = json(&[
        "eval",
        arg(&assets("tiny-bert-tokcls")),
        "--data",
        arg(&data),
        "--json",
    ]);
    assert_eq!(out["overall"]["f1"].as_f64(), Some(0.0), "{out}");
    assert_eq!(out["token_accuracy"].as_f64(), Some(0.0), "{out}");
}

#[test]
fn configs_pytorch_refuses_are_errors() {
    for (tag, field, value, message) in [
        ("decoder", "is_decoder", Value::Bool(true), "is_decoder"),
        ("pad", "pad_token_id", 99.into(), "pad_token_id"),
        ("labels", "num_labels", 2.into(), "id2label has 3 labels"),
    ] {
        let model = model_with("tiny-bert-seqcls", tag, |c| c[field] = value);
        let err = failed(burnbert(&["predict", arg(&model), "--text", "the movie"]));
        assert!(
            err.contains(message) && err.contains("config.json"),
            "{err}"
        );
    }
}

#[test]
fn tokenizer_json_wordpiece_settings_are_bert_tokenizers() {
    // transformers 5 rebuilds WordPiece from the vocabulary ([UNK], ##, 100 characters).
    let dir = scratch("wordpiece");
    copy_model("tiny-bert", &dir);
    let mut tokenizer: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer.json")).unwrap())
            .unwrap();
    tokenizer["model"]["max_input_chars_per_word"] = 5.into();
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    let out = json(&[
        "encode",
        arg(&dir),
        "--text",
        "the unaffable movie",
        "--json",
    ]);
    assert_eq!(ints(&out["input_ids"]), [2, 5, 29, 30, 31, 8, 3]);
}

#[test]
fn a_max_length_too_short_for_the_input_names_max_length() {
    let err = failed(burnbert(&[
        "predict",
        arg(&assets("tiny-bert-seqcls")),
        "--text",
        "the movie was great",
        "--text-pair",
        "john",
        "--max-length",
        "2",
    ]));
    assert!(err.contains("max_length 2"), "{err}");
}

#[test]
fn squad_ids_are_unique() {
    let dir = scratch("squad-ids");
    let data = dir.join("dup.json");
    let qa = serde_json::json!({"id": "a", "question": "where", "answers": [{"text": "paris", "answer_start": 14}]});
    let doc = serde_json::json!({"data": [{"title": "t", "paragraphs": [
        {"context": "john lives in paris", "qas": [qa.clone(), qa]}]}]});
    std::fs::write(&data, doc.to_string()).unwrap();
    let err = failed(burnbert(&[
        "eval",
        arg(&assets("tiny-bert-qa")),
        "--data",
        arg(&data),
    ]));
    assert!(
        err.contains("qas[1].id") && err.contains("used twice"),
        "{err}"
    );
}

/// `burnbert train` of the tiny classifier on four sentences, `extra` flags added.
fn train(output: &Path, data: &Path, extra: &[&str]) -> std::process::Output {
    let model = assets("tiny-bert-seqcls");
    let mut args = vec![
        "train",
        arg(&model),
        "--data",
        arg(data),
        "--validation",
        arg(data),
        "--batch-size",
        "2",
        "--output",
        arg(output),
    ];
    args.extend_from_slice(extra);
    burnbert(&args)
}

#[test]
fn a_run_folder_is_resumed_with_its_recipe_or_replaced() {
    let dir = scratch("run-folder");
    let data = dir.join("tr.csv");
    std::fs::write(
        &data,
        "text,label\nthe movie was great,positive\na boring film,negative\njohn lives in paris,neutral\nthe actor was bad,negative\n",
    )
    .unwrap();
    let output = dir.join("run");
    succeeded(train(&output, &data, &["--epochs", "2"]));
    // Another run into it: refused, the first run's files untouched.
    let err = failed(train(&output, &data, &["--epochs", "2"]));
    assert!(err.contains("--overwrite-output-dir"), "{err}");
    // A resume with another number of epochs (another schedule): refused, naming the field.
    let err = failed(train(
        &output,
        &data,
        &["--epochs", "1", "--resume-from-epoch", "1"],
    ));
    assert!(err.contains("num_train_epochs"), "{err}");
    let err = failed(train(
        &output,
        &data,
        &[
            "--epochs",
            "2",
            "--resume-from-epoch",
            "1",
            "--overwrite-output-dir",
        ],
    ));
    assert!(err.contains("not both"), "{err}");
    let err = failed(train(
        &output,
        &data,
        &["--epochs", "2", "--resume-from-epoch", "5"],
    ));
    assert!(err.contains("no checkpoint of epoch 5"), "{err}");
    // A file of the user's survives --overwrite-output-dir.
    std::fs::write(output.join("notes.txt"), "mine").unwrap();
    succeeded(train(
        &output,
        &data,
        &["--epochs", "1", "--overwrite-output-dir"],
    ));
    assert_eq!(
        std::fs::read_to_string(output.join("notes.txt")).unwrap(),
        "mine"
    );
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["epochs_run"], 1);
}

#[test]
fn a_head_of_another_size_is_an_error_or_a_new_head() {
    // The tiny classifier's head has 3 labels; this data has 2 (run_glue.py: a size mismatch
    // unless --ignore_mismatched_sizes).
    let dir = scratch("head-size");
    let data = dir.join("two.csv");
    std::fs::write(
        &data,
        "text,label\nthe movie was great,good\na boring film,bad\ni love this story,good\nthe actor was bad,bad\n",
    )
    .unwrap();
    let err = failed(train(&dir.join("a"), &data, &["--epochs", "1"]));
    assert!(
        err.contains("label sets differ") && err.contains("--ignore-mismatched-sizes"),
        "{err}"
    );
    let out = succeeded(train(
        &dir.join("b"),
        &data,
        &["--epochs", "1", "--ignore-mismatched-sizes"],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shapes did not match"), "{stderr}");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("b/model/config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["id2label"],
        serde_json::json!({"0": "bad", "1": "good"})
    );
}
