//! The checkpoint layouts hub folders come in, loaded as `transformers` loads them: weights in
//! float16, bfloat16 or float64 converted to float32, sharded safetensors and `.bin` read
//! through their index (`tests/fixtures/`, made by `tests/reference/make_checkpoint_variants.py`
//! with the outputs transformers gives for each); config sizes checked against the file before
//! anything is allocated.

mod common;

use std::path::{Path, PathBuf};

use burnbert::data::PaddedBatch;
use burnbert::{BertModel, from_pretrained};
use common::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn half_double_and_sharded_checkpoints_give_transformers_outputs() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("checkpoint_variants.json")).unwrap(),
    )
    .unwrap();
    let device = device();
    for name in [
        "tiny-bert-f16",
        "tiny-bert-bf16",
        "tiny-bert-f64",
        "tiny-bert-sharded",
        "tiny-bert-sharded-bin",
    ] {
        let bert = from_pretrained::<BertModel>(fixture(name).to_str().unwrap(), &device)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(bert.report.missing.is_empty(), "{name}: {:?}", bert.report);
        let encoding = bert.tokenizer.encode("hello world", None, 40).unwrap();
        let batch = PaddedBatch::new(&[encoding], bert.tokenizer.pad_id()).unwrap();
        let hidden = bert
            .model
            .forward(batch.to_input(&device))
            .last_hidden_state;
        let [_, seq, h] = hidden.dims();
        assert_close(name, hidden.reshape([seq, h]), &reference[name]);
    }
}

/// A scratch copy of `assets/tiny-bert` whose config.json has `field` set to `value`.
fn with_config(field: &str, value: serde_json::Value, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("burnbert-ckpt-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(assets("tiny-bert")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    config[field] = value;
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn config_sizes_are_checked_before_allocation() {
    let device = device();
    let load = |dir: &Path| {
        from_pretrained::<BertModel>(dir.to_str().unwrap(), &device)
            .unwrap_err()
            .to_string()
    };
    // Sizes the weights disagree with: named, with both shapes.
    let err = load(&with_config("vocab_size", 61.into(), "vocab"));
    assert!(
        err.contains("vocab_size") && err.contains("[61, 12]"),
        "{err}"
    );
    // 3 · 2³⁰: a multiple of the 3 heads, so only the weights' shapes can refuse it.
    let err = load(&with_config("hidden_size", (3u64 << 30).into(), "hidden"));
    assert!(
        err.contains("hidden_size") && err.contains("[60, 12]"),
        "{err}"
    );
    // Absurd sizes with no tensor to compare: refused before any allocation.
    let err = load(&with_config(
        "num_hidden_layers",
        (1u64 << 32).into(),
        "layers",
    ));
    assert!(err.contains("parameters"), "{err}");
    let err = load(&with_config("model_type", "roberta".into(), "type"));
    assert!(
        err.contains("model_type") && err.contains("roberta"),
        "{err}"
    );
}
