//! Token classification: seqeval's scores against seqeval itself, windows over long sentences,
//! and all-MiniLM-L6-v2 learning CoNLL-2003 entities (the full comparison with PyTorch is a
//! command: `--example conll_ner`, see docs/measurements.md).

mod common;

use burnbert::BertForTokenClassification;
use burnbert::data::BertTokenizer;
use burnbert::pipeline::TokenClassificationPipeline;
use burnbert::tasks::sequence_classification::Location;
use burnbert::tasks::token_classification::fine_tune_tagger;
use burnbert::tasks::token_classification::seqeval::seqeval;
use burnbert::tasks::token_classification::{TagSet, TaggedSentence, read_conll, windows};
use burnbert::tasks::token_classification::{encode_sentences, evaluate_tagger};
use burnbert::train::TrainingConfig;
use common::*;

#[test]
fn scores_are_seqevals() {
    let reference = reference("seqeval.json");
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 40);
    for case in cases {
        let gold: Vec<Vec<String>> = serde_json::from_value(case["gold"].clone()).unwrap();
        let pred: Vec<Vec<String>> = serde_json::from_value(case["pred"].clone()).unwrap();
        let r = seqeval(&gold, &pred);
        let close = |a: f64, key: &str| (a - case[key].as_f64().unwrap()).abs() < 1e-12;
        assert!(
            close(r.overall.precision, "precision") && close(r.overall.recall, "recall"),
            "{case}"
        );
        assert!(
            close(r.overall.f1, "f1") && close(r.token_accuracy, "accuracy"),
            "{case}"
        );
        let per_type = case["per_type"].as_object().unwrap();
        assert_eq!(r.per_type.len(), per_type.len(), "{case}");
        for (kind, s) in per_type {
            let ours = &r.per_type[kind];
            assert!(
                (ours.f1 - s["f1"].as_f64().unwrap()).abs() < 1e-12,
                "{kind} in {case}"
            );
            assert_eq!(
                ours.support as u64,
                s["support"].as_u64().unwrap(),
                "{kind} in {case}"
            );
        }
    }
}

fn sentence(words: &[&str], tags: &[&str]) -> TaggedSentence {
    TaggedSentence {
        words: words.iter().map(|w| w.to_string()).collect(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        location: Location {
            file: "test".into(),
            line: 1,
        },
        lines: vec![1; words.len()],
    }
}

#[test]
fn long_sentences_are_windowed_not_cut() {
    let tokenizer = BertTokenizer::from_folder(assets("tiny-bert")).unwrap();
    // 30 words, "unaffable" is 3 pieces: 36 pieces, far over a max_length of 12.
    let mut words = Vec::new();
    let mut tags = Vec::new();
    for _ in 0..10 {
        words.extend(["john", "unaffable", "paris"]);
        tags.extend(["B-PER", "O", "B-LOC"]);
    }
    // An entity across words 11 and 12.
    (tags[11], tags[12]) = ("B-ORG", "I-ORG");
    let windows = windows(&tokenizer, &words, 12).unwrap();
    assert!(windows.len() >= 4);
    let mut next = 0;
    for w in &windows {
        assert_eq!(
            w.first_word, next,
            "windows follow each other, no word twice"
        );
        assert!(w.encoding.len() <= 12 && !w.encoding.truncated);
        next += w.words;
    }
    assert_eq!(next, words.len(), "every word in a window");

    // Labels: the first piece of each word; merged back, the gold tags come out whole, so an
    // entity that a window boundary cuts is still one entity.
    let s = sentence(&words, &tags);
    let set = TagSet::from_sentences(std::slice::from_ref(&s)).unwrap();
    let encoded = encode_sentences(&tokenizer, std::slice::from_ref(&s), &set, 12, false).unwrap();
    let mut merged = vec![None; words.len()];
    for w in &encoded {
        for (k, token) in w.first_pieces.iter().enumerate() {
            merged[w.first_word + k] = Some(set.names()[w.labels[token.unwrap()] as usize].clone());
        }
        let labelled = w.labels.iter().filter(|&&l| l >= 0).count();
        assert_eq!(labelled, w.first_pieces.len(), "one label per word");
    }
    let merged: Vec<String> = merged.into_iter().map(Option::unwrap).collect();
    assert_eq!(merged, tags);
    assert!(
        encoded.iter().any(|w| w.first_word == 12),
        "a window boundary cuts the ORG entity"
    );
    let r = seqeval(&[tags.clone()], &[merged]);
    assert_eq!((r.overall.f1, r.overall.support), (1.0, 20 - 2 + 1));
    assert_eq!(r.per_type["ORG"].support, 1);

    // A model tags every word of a sentence longer than its input.
    let device = device();
    let mut tagger = TokenClassificationPipeline::from_pretrained(
        assets("tiny-bert-tokcls").to_str().unwrap(),
        &device,
    )
    .unwrap()
    .with_batch_size(3)
    .with_max_length(12);
    let predicted = tagger.word_tags(std::slice::from_ref(&words)).unwrap();
    assert!(predicted[0].iter().all(Option::is_some));
    tagger.max_length = 40;
    let whole = tagger.word_tags(std::slice::from_ref(&words)).unwrap();
    assert_eq!(whole[0].len(), words.len());
}

#[test]
fn minilm_learns_conll_entities() {
    let Some([model, data]) = burnbert_assets::testing::cached_or_skip([
        &burnbert_assets::MINILM,
        &burnbert_assets::CONLL2003,
    ]) else {
        return;
    };
    let train = read_conll(&data.join("train.txt")).unwrap();
    let valid = read_conll(&data.join("valid.txt")).unwrap();
    assert_eq!((train.len(), valid.len()), (14041, 3250));
    let (train, valid) = (&train[..1600], &valid[..300]);
    let device = device();
    let tags = TagSet::from_sentences(train).unwrap();
    assert_eq!(
        tags.names(),
        [
            "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER", "O"
        ]
    );

    // The untrained head: no better than chance.
    let config = burnbert::BertConfig::from_file(model.join("config.json"))
        .unwrap()
        .with_labels(&tags.names());
    let untrained =
        burnbert::from_folder_with_config::<BertForTokenClassification>(&model, config, &device)
            .unwrap();
    let before = evaluate_tagger(
        &untrained.model,
        &untrained.tokenizer,
        &tags,
        valid,
        128,
        64,
        &device,
    )
    .unwrap();

    let output = std::env::temp_dir().join(format!("burnbert-ner-{}", std::process::id()));
    let args = TrainingConfig {
        learning_rate: 1e-4,
        max_steps: Some(100),
        per_device_train_batch_size: 16,
        per_device_eval_batch_size: 64,
        weight_decay: 0.01,
        max_length: 128,
        seed: 0,
        ..TrainingConfig::default()
    };
    let trained = fine_tune_tagger(
        model.to_str().unwrap(),
        &args,
        train,
        valid,
        &output,
        None,
        &device,
    )
    .unwrap();
    let r = &trained.report;
    println!(
        "entity F1 {:.4} (P {:.4} R {:.4}), token accuracy {:.4}; untrained F1 {:.4}, token accuracy {:.4}",
        r.overall.f1,
        r.overall.precision,
        r.overall.recall,
        r.token_accuracy,
        before.overall.f1,
        before.token_accuracy
    );
    assert!(
        before.overall.f1 < 0.1,
        "untrained {:.4}",
        before.overall.f1
    );
    assert!(r.overall.f1 > 0.35, "entity F1 {:.4}", r.overall.f1);
    assert!(r.token_accuracy > 0.85);
    assert_eq!(r.sentences, 300);
    // 100 steps of 16 sentences: one epoch, stopped at max_steps.
    let steps = std::fs::read_to_string(output.join("train/epoch-1/Loss.log"))
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with("final"))
        .count();
    assert_eq!(steps, 100);
    for f in [
        "model/config.json",
        "model/model.safetensors",
        "metrics.json",
        "checkpoint/model-1.bpk",
    ] {
        assert!(output.join(f).is_file(), "{f}");
    }
    let exported = burnbert::BertConfig::from_file(output.join("model/config.json")).unwrap();
    assert_eq!(exported.labels(), tags.names());
    let _ = std::fs::remove_dir_all(&output);
}
