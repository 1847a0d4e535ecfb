//! The shared cases (`tests/cases/*`, each with its README, inputs and fixtures): inputs a user
//! tried, with the value `transformers` / scikit-learn / the SQuAD scripts give for them.

mod common;

use serde_json::Value;

use common::*;

/// 14 words, 16 tokens in the tiny vocabulary.
const T: &str = "the movie was great and the story was fun but i hate that actor";

/// `burnbert eval MODEL --data DATA EXTRA --json`.
fn eval(model: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["eval", arg(model), "--data", arg(data)];
    args.extend_from_slice(extra);
    args.push("--json");
    json(&args)
}

fn encode(model: &std::path::Path, extra: &[&str]) -> Value {
    let mut args = vec!["encode", arg(model)];
    args.extend_from_slice(extra);
    args.push("--json");
    json(&args)
}

#[test]
fn case_01_truncation_and_padding_saved_in_tokenizer_json_are_ignored() {
    let fixture = case("case-01-tokenizer-json-baked-truncation/fixture");
    let baked = fixture.join("tiny-bert-baked");
    // transformers: tok(T)["input_ids"], the saved truncation at 8 ignored.
    let out = encode(&baked, &["--text", T, "--max-length", "40"]);
    assert_eq!(
        ints(&out["input_ids"]),
        [2, 5, 8, 10, 12, 17, 5, 23, 10, 59, 18, 19, 57, 22, 24, 3]
    );
    assert_eq!(out["truncated"], false);
    // tok(T, truncation=True, max_length=10)
    let out = encode(&baked, &["--text", T, "--max-length", "10"]);
    assert_eq!(ints(&out["input_ids"]), [2, 5, 8, 10, 12, 17, 5, 23, 10, 3]);
    assert_eq!(out["truncated"], true);
    // The saved padding (Fixed 12) does not leak in.
    let out = encode(&baked, &["--text", "hello world"]);
    assert_eq!(ints(&out["input_ids"]), [2, 32, 33, 3]);
    // A pair, on the two-segment copy.
    let tokcls = fixture.join("tiny-bert-tokcls-baked");
    let out = encode(
        &tokcls,
        &[
            "--text",
            "john lives in paris",
            "--text-pair",
            "the movie was great and the story was fun",
            "--max-length",
            "40",
        ],
    );
    assert_eq!(
        ints(&out["input_ids"]),
        [2, 39, 40, 41, 42, 3, 5, 8, 10, 12, 17, 5, 23, 10, 59, 3]
    );
    assert_eq!(
        ints(&out["token_type_ids"]),
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    );
    // NER: every one of the 14 words is tagged, not the 6 the saved truncation kept.
    let out = json(&["predict", arg(&tokcls), "--text", T, "--json"]);
    let words: Vec<i64> = out["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["word"].as_i64().unwrap())
        .collect();
    assert_eq!(words, (0..14).collect::<Vec<i64>>());
}

#[test]
fn case_02_special_tokens_in_the_text_are_one_id_whatever_the_tokenizer_file() {
    for model in ["tiny-bert", "tiny-bert-seqcls"] {
        let model = assets(model);
        // transformers' AutoTokenizer on each folder (tiny-bert-seqcls has only vocab.txt).
        for (text, ids) in [
            ("the [MASK] was great", vec![2, 5, 4, 10, 12, 3]),
            ("hello [SEP] world", vec![2, 32, 3, 33, 3]),
            ("[UNK] is bad", vec![2, 1, 11, 13, 3]),
            ("the [mask] was great", vec![2, 5, 1, 1, 1, 10, 12, 3]),
        ] {
            let out = encode(&model, &["--text", text]);
            assert_eq!(ints(&out["input_ids"]), ids, "{} {text}", model.display());
        }
    }
    // AutoModelForSequenceClassification's logits for [2, 5, 4, 10, 12, 3] (transformers 5.23.0).
    let out = json(&[
        "predict",
        arg(&assets("tiny-bert-seqcls")),
        "--text",
        "the [MASK] was great",
        "--json",
    ]);
    assert_close(&floats(&out["logits"]), &[0.721767, -0.665035, 0.207621]);
}

#[test]
fn case_03_ids_past_a_table_are_errors_and_max_length_is_capped() {
    let dir = case("case-03-token-type-and-vocab-out-of-range");
    let tiny = assets("tiny-bert");
    // A pair on a model with one token type: PyTorch raises IndexError.
    let err = failed(burnbert(&[
        "encode",
        arg(&tiny),
        "--text",
        "hello",
        "--text-pair",
        "world",
    ]));
    assert!(
        err.contains("token type 1") && err.contains("type_vocab_size is 1"),
        "{err}"
    );
    // A token id past vocab_size.
    let vocab61 = dir.join("fixture/tiny-bert-seqcls-vocab61");
    let err = failed(burnbert(&["predict", arg(&vocab61), "--text", "zebra"]));
    assert!(
        err.contains("token id 60 ('zebra')") && err.contains("vocab_size is 60"),
        "{err}"
    );
    // A larger tokenizer is fine while the ids fit.
    let out = json(&["predict", arg(&vocab61), "--text", "the movie", "--json"]);
    assert_eq!(out["logits"].as_array().unwrap().len(), 3);
    // --max-length above the 40 positions is capped, with a warning (62 tokens of text).
    let text = std::fs::read_to_string(dir.join("long.csv")).unwrap();
    let long = text.lines().nth(1).unwrap().split(',').next().unwrap();
    let out = succeeded(burnbert(&[
        "encode",
        arg(&tiny),
        "--text",
        long,
        "--max-length",
        "100",
        "--json",
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("max_position_embeddings (40)"), "{stderr}");
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["input_ids"].as_array().unwrap().len(), 40);
    assert_eq!(value["truncated"], true);
    // Training with the default max_length 128 on the 40-position model: capped, trains.
    let run = scratch("case03-train");
    let data = dir.join("long.csv");
    let out = succeeded(burnbert(&[
        "train",
        arg(&assets("tiny-bert-seqcls")),
        "--data",
        arg(&data),
        "--validation",
        arg(&data),
        "--epochs",
        "1",
        "--batch-size",
        "2",
        "--output",
        arg(&run.join("out")),
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("max_length 128"), "{stderr}");
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("out/training_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["max_length"], 40);
}

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

    // Real-valued labels: a regression set, refused with a message (not 4 classes).
    let run = scratch("case13");
    let sts = dir.join("sts-train.csv");
    let seqcls = assets("tiny-bert-seqcls");
    let err = failed(burnbert(&[
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
        "--output",
        arg(&run.join("a")),
    ]));
    assert!(err.contains("real numbers"), "{err}");

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
fn case_14_casing_follows_tokenizer_config_json() {
    let fixture = case("case-14-do-lower-case-resolution/fixture");
    // transformers 5.23.0's AutoTokenizer on each folder.
    for (folder, text, ids) in [
        (
            "tiny-bert-json-but-config-cased",
            "Hello World",
            [2, 1, 1, 3],
        ),
        (
            "tiny-bert-vocab-only-no-config",
            "Hello World",
            [2, 32, 33, 3],
        ),
        (
            "tiny-bert-vocab-lower-keep-accents",
            "Héllo wörld",
            [2, 1, 1, 3],
        ),
        (
            "tiny-bert-vocab-lower-keep-accents",
            "Hello World",
            [2, 32, 33, 3],
        ),
    ] {
        let out = encode(&fixture.join(folder), &["--text", text]);
        assert_eq!(ints(&out["input_ids"]), ids, "{folder} {text}");
    }
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
