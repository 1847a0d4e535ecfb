//! The tokenizer cases: saved truncation, special tokens typed in a text, ids past a table,
//! casing.

use serde_json::Value;

use crate::common::*;
use crate::{T, encode};

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
