//! `inspect`, `encode` and `predict` on the fixtures and MiniLM; errors as messages.

use serde_json::{Value, json};

use crate::common::*;

use crate::reference;

#[test]
fn inspect_reports_config_head_and_parameters() {
    let out = json(&[
        "inspect",
        assets("tiny-bert-seqcls").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out["head"], "sequence-classification");
    assert_eq!(
        out["labels"],
        serde_json::json!(["negative", "neutral", "positive"])
    );
    // transformers: sum(p.numel() for p in BertForSequenceClassification(config).parameters())
    // = 3760 (encoder, 1 token type) + 12 (second token type) + 39 (classifier 12x3 + 3).
    assert_eq!(out["parameters"], 3760 + 12 + 39);
    assert_eq!(out["num_attention_heads"], 3);
    assert_eq!(out["hidden_act"], "gelu");
    assert_eq!(out["missing_tensors"], serde_json::json!([]));
}

#[test]
fn encode_prints_ids_and_pytorchs_pooled_output() {
    let reference = &reference()["tiny-bert"];
    let text = reference["texts"][0].as_str().unwrap();
    let out = json(&[
        "encode",
        assets("tiny-bert").to_str().unwrap(),
        "--text",
        text,
        "--json",
    ]);
    assert_eq!(out["input_ids"], reference["inputs"]["input_ids"][0]);
    let pooled = floats(&reference["pooler_output"]["data"]);
    assert_close(&floats(&out["pooler_output"]), &pooled[..12]);
    assert_eq!(floats(&out["mean_pooled"]).len(), 12);
    let norm: f64 = floats(&out["mean_pooled_normalized"])
        .iter()
        .map(|x| x * x)
        .sum();
    assert!((norm - 1.0).abs() < 1e-5);
}

#[test]
fn predict_sequence_pair_gives_pytorchs_logits() {
    let reference = &reference()["tiny-bert-seqcls"];
    let pair = &reference["pairs"][0];
    let out = json(&[
        "predict",
        assets("tiny-bert-seqcls").to_str().unwrap(),
        "--text",
        pair[0].as_str().unwrap(),
        "--text-pair",
        pair[1].as_str().unwrap(),
        "--json",
    ]);
    let logits = floats(&reference["logits"]["data"]);
    assert_close(&floats(&out["logits"]), &logits[..3]);
    let best = (0..3)
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
        .unwrap();
    assert_eq!(out["label"], ["negative", "neutral", "positive"][best]);
    let sum: f64 = floats(&out["probabilities"]).iter().sum();
    assert!((sum - 1.0).abs() < 1e-5);
}

#[test]
fn predict_tags_tokens_and_answers_questions() {
    let out = json(&[
        "predict",
        assets("tiny-bert-tokcls").to_str().unwrap(),
        "--text",
        "John lives in Paris",
        "--json",
    ]);
    let tokens = out["tokens"].as_array().unwrap();
    let words: Vec<&str> = tokens
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["john", "lives", "in", "paris"]);
    assert_eq!(
        (tokens[3]["start"].as_u64(), tokens[3]["end"].as_u64()),
        (Some(14), Some(19))
    );
    let labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
    assert!(
        tokens
            .iter()
            .all(|t| labels.contains(&t["label"].as_str().unwrap()))
    );

    let context = "John lives in Paris, and works for Acme Corp.";
    let out = json(&[
        "predict",
        assets("tiny-bert-qa").to_str().unwrap(),
        "--question",
        "Who lives in Paris?",
        "--context",
        context,
        "--json",
    ]);
    let (start, end) = (
        out["start"].as_u64().unwrap() as usize,
        out["end"].as_u64().unwrap() as usize,
    );
    assert!(start < end && end <= context.len());
    assert_eq!(out["text"], context[start..end]);
}

#[test]
fn errors_are_messages_not_panics() {
    let out = burnbert(&[
        "encode",
        assets("tiny-bert").to_str().unwrap(),
        "--text",
        " ",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: empty text: nothing to encode"
    );

    let out = burnbert(&[
        "predict",
        assets("tiny-bert").to_str().unwrap(),
        "--text",
        "hi",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --task"));

    let out = burnbert(&["inspect", "/no/such/model"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/model"));

    let out = burnbert(&[
        "--device",
        "tpu",
        "inspect",
        assets("tiny-bert").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown device 'tpu'"));
}

#[test]
fn minilm_sentence_embedding_is_the_published_one() {
    let Some([folder]) = burnbert_assets::testing::cached_or_skip([&burnbert_assets::MINILM])
    else {
        return;
    };
    let out = json(&[
        "encode",
        folder.to_str().unwrap(),
        "--text",
        "This is an example sentence",
        "--json",
    ]);
    assert_eq!(
        out["input_ids"],
        serde_json::json!([101, 2023, 2003, 2019, 2742, 6251, 102])
    );
    let embedding = floats(&out["mean_pooled_normalized"]);
    for (a, b) in embedding
        .iter()
        .zip([0.06766, 0.06350, 0.04871, 0.07930, 0.03745])
    {
        assert!((a - b).abs() < 1e-5, "{:?}", &embedding[..5]);
    }
}

#[test]
fn predict_over_a_file_prints_one_json_line_per_input() {
    let reference = &reference()["tiny-bert-seqcls"];
    let pair = &reference["pairs"][0];
    let dir = scratch("predict");
    let inputs = dir.join("inputs.jsonl");
    let first = json!({"text": pair[0], "text_pair": pair[1]});
    std::fs::write(
        &inputs,
        format!("{first}\n\nthe movie was great\n{{\"text\": \"a bad film\"}}\n"),
    )
    .unwrap();
    let model = assets("tiny-bert-seqcls");
    let out = burnbert(&[
        "predict",
        model.to_str().unwrap(),
        "--file",
        inputs.to_str().unwrap(),
        "--batch-size",
        "2",
    ]);
    let out = succeeded(out);
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    // Padded in a batch with a shorter text, the pair's logits are still PyTorch's.
    assert_close(
        &floats(&lines[0]["logits"]),
        &floats(&reference["logits"]["data"])[..3],
    );
    let alone = json(&[
        "predict",
        model.to_str().unwrap(),
        "--text",
        "a bad film",
        "--json",
    ]);
    assert_close(&floats(&lines[2]["logits"]), &floats(&alone["logits"]));

    std::fs::write(&inputs, "good\n{\"txt\": 1}\n").unwrap();
    let out = burnbert(&[
        "predict",
        model.to_str().unwrap(),
        "--file",
        inputs.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("inputs.jsonl: input 2") && stderr.contains("`text` is required"),
        "{stderr}"
    );
    std::fs::write(&inputs, "{\"text\": \n").unwrap();
    let out = burnbert(&[
        "predict",
        model.to_str().unwrap(),
        "--file",
        inputs.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("inputs.jsonl:1"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn predict_refuses_inputs_its_head_would_ignore_and_names_the_failing_line() {
    let tagger = assets("tiny-bert-tokcls");
    let stderr = failed(burnbert(&[
        "predict",
        arg(&tagger),
        "--text",
        "John lives in Paris",
        "--text-pair",
        "and works in Berlin",
    ]));
    assert!(
        stderr.contains("--text-pair is not read by token classification, which reads --text"),
        "{stderr}"
    );

    let stderr = failed(burnbert(&[
        "predict",
        arg(&tagger),
        "--text",
        "John lives in Paris",
        "--max-answer-length",
        "30",
    ]));
    assert!(
        stderr.contains(
            "--max-answer-length is for question answering; token classification does not read it"
        ),
        "{stderr}"
    );

    let dir = scratch("predict-fields");
    let inputs = dir.join("inputs.jsonl");
    std::fs::write(
        &inputs,
        "{\"question\": \"Who?\", \"context\": \"John.\"}\n",
    )
    .unwrap();
    let classifier = assets("tiny-bert-seqcls");
    let stderr = failed(burnbert(&[
        "predict",
        arg(&classifier),
        "--file",
        arg(&inputs),
    ]));
    assert!(
        stderr.contains("inputs.jsonl: input 1 (line 1): `question` is not read by sequence classification, which reads `text` and `text_pair`"),
        "{stderr}"
    );

    // An input the tokenizer refuses, batched with a good one: the error names its line.
    std::fs::write(&inputs, "a good film\n\n{\"text\": \" \"}\nthe end\n").unwrap();
    let stderr = failed(burnbert(&[
        "predict",
        arg(&classifier),
        "--file",
        arg(&inputs),
        "--batch-size",
        "2",
    ]));
    assert!(
        stderr.contains("inputs.jsonl: input 2 (line 3): empty text: nothing to encode"),
        "{stderr}"
    );
    std::fs::write(&inputs, "\n{\"text\": \" \"}\n").unwrap();
    let stderr = failed(burnbert(&["predict", arg(&tagger), "--file", arg(&inputs)]));
    assert!(
        stderr.contains("inputs.jsonl: input 1 (line 2): empty text"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_stops_reading_ends_predict_quietly() {
    // `burnbert predict --file ... | head -1`: the pipe closes before the last lines are written.
    let dir = scratch("predict-pipe");
    let inputs = dir.join("inputs.txt");
    std::fs::write(&inputs, "a good film\n".repeat(200)).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_burnbert"))
        .env("BURN_DEVICE", "flex")
        .args([
            "predict",
            arg(&assets("tiny-bert-seqcls")),
            "--file",
            arg(&inputs),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
