//! The inference pipelines against `transformers.pipeline` on the tiny models
//! (`assets/reference/pipelines.json`, written by `tests/reference/make_pipelines.py`; the
//! fill-mask outputs in `tiny_mlm.json`, by `make_reference.py`).

mod common;

use burnbert::pipeline::{
    AnswerOptions, FeatureExtractionPipeline, FillMaskPipeline, QuestionAnsweringPipeline,
    TextClassificationPipeline, TokenClassificationPipeline,
};
use common::*;
use serde_json::Value;

fn close(what: &str, actual: f32, expected: &Value) {
    let expected = expected.as_f64().unwrap() as f32;
    assert!(
        (actual - expected).abs() <= tolerance(),
        "{what}: {actual} vs transformers' {expected}"
    );
}

fn strings(values: &Value) -> Vec<&str> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect()
}

fn path(name: &str) -> String {
    assets(name).to_str().unwrap().to_string()
}

#[test]
fn text_classification_gives_the_pipelines_scores_in_any_batch_size() {
    let reference = &reference("pipelines.json")["text-classification"];
    let pairs: Vec<(String, Option<String>)> = reference["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().into(),
                p[1].as_str().map(String::from),
            )
        })
        .collect();
    let classifier =
        TextClassificationPipeline::from_pretrained(&path("tiny-bert-seqcls"), &device()).unwrap();
    let together = classifier.predict_pairs(&pairs).unwrap();
    let classifier = classifier.with_batch_size(1);
    let alone = classifier.predict_pairs(&pairs).unwrap();
    let labels = classifier.pretrained.config.labels();
    for ((ours, one), theirs) in together
        .iter()
        .zip(&alone)
        .zip(reference["outputs"].as_array().unwrap())
    {
        // top_k=None: every label, most probable first.
        assert_eq!(ours.label, theirs[0]["label"]);
        for t in theirs.as_array().unwrap() {
            let id = labels.iter().position(|l| *l == t["label"]).unwrap();
            close("probability", ours.probabilities[id], &t["score"]);
        }
        for (a, b) in ours.logits.iter().zip(&one.logits) {
            assert!((a - b).abs() < 1e-5, "batch of 2 {a} vs alone {b}");
        }
    }
}

#[test]
fn token_classification_gives_the_pipelines_tokens_and_entities() {
    let reference = &reference("pipelines.json")["token-classification"];
    let texts = strings(&reference["texts"]);
    let tagger =
        TokenClassificationPipeline::from_pretrained(&path("tiny-bert-tokcls"), &device()).unwrap();
    let tokens = tagger.tokens(&texts).unwrap();
    for (ours, theirs) in tokens.iter().zip(reference["tokens"].as_array().unwrap()) {
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len());
        for (o, t) in ours.iter().zip(theirs) {
            assert_eq!(
                (o.token.as_str(), o.label.as_str(), o.start, o.end),
                (
                    t["word"].as_str().unwrap(),
                    t["entity"].as_str().unwrap(),
                    t["start"].as_u64().unwrap() as usize,
                    t["end"].as_u64().unwrap() as usize
                )
            );
            close("token score", o.score, &t["score"]);
        }
    }
    // aggregation_strategy="first". The pipeline's `word` is its tokens decoded (lower-cased by
    // this uncased vocabulary); burnbert's is the text itself, so it is not compared.
    let entities = tagger.predict(&texts).unwrap();
    for ((ours, theirs), text) in entities
        .iter()
        .zip(reference["entities"].as_array().unwrap())
        .zip(&texts)
    {
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len());
        for (o, t) in ours.iter().zip(theirs) {
            assert_eq!(
                (o.entity_group.as_str(), o.start, o.end),
                (
                    t["entity_group"].as_str().unwrap(),
                    t["start"].as_u64().unwrap() as usize,
                    t["end"].as_u64().unwrap() as usize
                )
            );
            // Offsets count characters, as Python's do.
            let covered: String = text.chars().skip(o.start).take(o.end - o.start).collect();
            assert_eq!(o.word, covered);
            close("entity score", o.score, &t["score"]);
        }
    }
}

#[test]
fn question_answering_gives_the_pipelines_answers() {
    let reference = &reference("pipelines.json")["question-answering"];
    let inputs: Vec<(&str, &str)> = reference["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
        .collect();
    let number = |key: &str| reference[key].as_u64().unwrap() as usize;
    let mut reader = QuestionAnsweringPipeline::from_pretrained(&path("tiny-bert-qa"), &device())
        .unwrap()
        .with_max_length(number("max_seq_len"))
        .with_options(AnswerOptions {
            doc_stride: Some(number("doc_stride")),
            max_answer_len: number("max_answer_len"),
        });
    let answers = reader.predict(&inputs).unwrap();
    for (ours, theirs) in answers.iter().zip(reference["answers"].as_array().unwrap()) {
        assert_eq!(
            (ours.text.as_str(), ours.start, ours.end),
            (
                theirs["answer"].as_str().unwrap(),
                theirs["start"].as_u64().unwrap() as usize,
                theirs["end"].as_u64().unwrap() as usize
            )
        );
        close("answer score", ours.score, &theirs["score"]);
    }
    // The settings the pipeline refuses.
    for (doc_stride, max_answer_len, setting) in [
        (Some(16), 0, "max_answer_len"),
        (Some(41), 15, "doc_stride"),
    ] {
        reader.options = AnswerOptions {
            doc_stride,
            max_answer_len,
        };
        match reader.predict(&inputs[..1]) {
            Err(burnbert::Error::Setting { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!("{setting}: {other:?}"),
        }
    }
}

#[test]
fn feature_extraction_gives_the_pipelines_hidden_states_and_unit_embeddings() {
    let reference = &reference("pipelines.json")["feature-extraction"];
    let texts = strings(&reference["texts"]);
    let encoder =
        FeatureExtractionPipeline::from_pretrained(&path("tiny-bert"), &device()).unwrap();
    let embeddings = encoder.predict(&texts).unwrap();
    for ((text, theirs), embedding) in texts
        .iter()
        .zip(reference["last_hidden_state"].as_array().unwrap())
        .zip(&embeddings)
    {
        let features = encoder.features(text, None).unwrap();
        let theirs = theirs.as_array().unwrap();
        assert_eq!(features.last_hidden_state.len(), theirs.len());
        for (row, t) in features.last_hidden_state.iter().zip(theirs) {
            for (a, b) in row.iter().zip(t.as_array().unwrap()) {
                close("last_hidden_state", *a, b);
            }
        }
        // The batch's embedding is the text's own, and has unit norm.
        for (a, b) in embedding.iter().zip(&features.mean_pooled_normalized) {
            assert!((a - b).abs() < 1e-5);
        }
        let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

#[test]
fn fill_mask_gives_the_pipelines_tokens_and_sequences() {
    let reference = &reference("tiny_mlm.json")["fill_mask"];
    let texts = strings(&reference["texts"]);
    let top_k = reference["top_k"].as_u64().unwrap() as usize;
    let fill = FillMaskPipeline::from_pretrained(&path("tiny-bert-mlm"), &device())
        .unwrap()
        .with_top_k(top_k);
    let outputs = fill.predict(&texts).unwrap();
    for (ours, theirs) in outputs.iter().zip(reference["outputs"].as_array().unwrap()) {
        // One [MASK] per text: the pipeline gives one list.
        assert_eq!(ours.len(), 1);
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours[0].len(), theirs.len());
        for (o, t) in ours[0].iter().zip(theirs) {
            assert_eq!(o.token, t["token"].as_u64().unwrap() as u32);
            assert_eq!(o.token_str, t["token_str"].as_str().unwrap());
            assert_eq!(o.sequence, t["sequence"].as_str().unwrap());
            close("fill-mask score", o.score, &t["score"]);
        }
    }
    // Batched as one: the same candidates as alone.
    let alone = fill.with_batch_size(1).predict(&texts).unwrap();
    assert_eq!(
        alone
            .iter()
            .flatten()
            .flatten()
            .map(|p| p.token)
            .collect::<Vec<_>>(),
        outputs
            .iter()
            .flatten()
            .flatten()
            .map(|p| p.token)
            .collect::<Vec<_>>()
    );
    let fill = FillMaskPipeline::from_pretrained(&path("tiny-bert-mlm"), &device()).unwrap();
    let err = fill
        .predict(&["the movie was great"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("no mask token ([MASK])"), "{err}");
    let two = fill.predict(&["the [MASK] was [MASK] ."]).unwrap();
    assert_eq!(two[0].len(), 2);
    assert_eq!(two[0][0].len(), 5, "top_k 5 by default");
    assert!(
        two[0][0][0].sequence.starts_with("[CLS] the "),
        "{}",
        two[0][0][0].sequence
    );
    assert!(two[0][0][0].sequence.contains("[MASK]"));
}
