//! A model saved by burnbert loads in `transformers` with the same logits.
//! Needs Python with `transformers` (CI has it; `BURNBERT_REQUIRE_ASSETS=1` makes its absence
//! a failure rather than a skip).

mod common;

use std::process::Command;

use burnbert::burn::prelude::*;
use burnbert::model::weights::HfModel;
use burnbert::{
    BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, Pretrained,
};
use common::*;
use serde_json::{Value, json};

fn python_has_transformers() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import transformers, torch"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip("python3 with transformers and torch is not available");
    }
    ok
}

/// Saves `bert` (after changing its weights, so that the export is not the fixture copied
/// back) and returns transformers' outputs on the reference inputs.
fn export_and_reload<M: HfModel>(bert: &Pretrained<M>, inputs: &Value, name: &str) -> Value {
    let dir =
        std::env::temp_dir().join(format!("burnbert-roundtrip-{}-{name}", std::process::id()));
    let folder = dir.join("model");
    burnbert::save_pretrained(&bert.model, &bert.config, &bert.folder, &folder).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "vocab.txt",
        "tokenizer_config.json",
    ] {
        assert!(folder.join(f).is_file(), "{f} written");
    }
    let inputs_path = dir.join("inputs.json");
    std::fs::write(&inputs_path, inputs.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(assets("../tests/reference/check_export.py"))
        .arg(&folder)
        .arg(&inputs_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn values(v: &Value) -> Value {
    let data: Vec<f32> = serde_json::from_value(v.clone()).unwrap();
    json!({"shape": [data.len()], "data": data})
}

/// Moves every weight a little, so that a copy of the fixture would not pass for an export.
fn perturbed<M: HfModel>(mut bert: Pretrained<M>) -> Pretrained<M> {
    use burnbert::burn::module::{ModuleMapper, Param};
    struct Nudge;
    impl ModuleMapper for Nudge {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| t.clone() + t.sin() * 0.1)
        }
    }
    bert.model = bert.model.map(&mut Nudge);
    bert
}

#[test]
fn sequence_classifier_round_trips_through_transformers() {
    if !python_has_transformers() {
        return;
    }
    let device = device();
    let reference = &reference("tiny.json")["tiny-bert-seqcls"];
    let bert = perturbed(
        burnbert::from_pretrained::<BertForSequenceClassification>(
            assets("tiny-bert-seqcls").to_str().unwrap(),
            &device,
        )
        .unwrap(),
    );
    let ours = bert
        .model
        .forward(bert_input(reference, &device))
        .reshape([-1]);
    let theirs = export_and_reload(&bert, &reference["inputs"], "seqcls");
    assert_eq!(theirs["labels"], json!(["negative", "neutral", "positive"]));
    assert_close("exported sequence logits", ours, &values(&theirs["logits"]));
}

#[test]
fn token_classifier_and_qa_round_trip_through_transformers() {
    if !python_has_transformers() {
        return;
    }
    let device = device();
    let reference = &reference("tiny.json")["tiny-bert-tokcls"];
    let bert = perturbed(
        burnbert::from_pretrained::<BertForTokenClassification>(
            assets("tiny-bert-tokcls").to_str().unwrap(),
            &device,
        )
        .unwrap(),
    );
    let ours = bert
        .model
        .forward(bert_input(reference, &device))
        .reshape([-1]);
    let theirs = export_and_reload(&bert, &reference["inputs"], "tokcls");
    assert_eq!(theirs["labels"][1], "B-PER");
    assert_close("exported token logits", ours, &values(&theirs["logits"]));

    let reference = &common::reference("tiny.json")["tiny-bert-qa"];
    let bert = perturbed(
        burnbert::from_pretrained::<BertForQuestionAnswering>(
            assets("tiny-bert-qa").to_str().unwrap(),
            &device,
        )
        .unwrap(),
    );
    let (start, end) = bert.model.forward(bert_input(reference, &device));
    let theirs = export_and_reload(&bert, &reference["inputs"], "qa");
    assert_close(
        "exported start logits",
        start.reshape([-1]),
        &values(&theirs["start_logits"]),
    );
    assert_close(
        "exported end logits",
        end.reshape([-1]),
        &values(&theirs["end_logits"]),
    );
}

#[test]
fn masked_lm_round_trips_through_transformers() {
    if !python_has_transformers() {
        return;
    }
    let device = device();
    let reference = &reference("tiny_mlm.json");
    let bert = perturbed(
        burnbert::from_pretrained::<BertForMaskedLM>(
            assets("tiny-bert-mlm").to_str().unwrap(),
            &device,
        )
        .unwrap(),
    );
    let ours = bert
        .model
        .forward(bert_input(reference, &device))
        .reshape([-1]);
    // transformers ties the decoder back to the (nudged) word embeddings it reads.
    let theirs = export_and_reload(&bert, &reference["inputs"], "mlm");
    assert_close(
        "exported masked-LM logits",
        ours,
        &values(&theirs["logits"]),
    );
}
