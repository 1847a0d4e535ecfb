//! Bad input gets a clear error naming the file, field or tensor, never a panic.

mod common;

use std::path::{Path, PathBuf};

use burnbert::model::weights;
use burnbert::{BertConfig, BertForSequenceClassification, BertModel, Error, ModelError};
use common::*;

/// A scratch copy of a fixture folder.
fn copy_fixture(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("burnbert-bad-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(assets(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn load(folder: &Path) -> Result<burnbert::Pretrained<BertForSequenceClassification>, Error> {
    burnbert::from_pretrained(folder.to_str().unwrap(), &device())
}

#[test]
fn malformed_config_names_the_file_and_line() {
    let dir = copy_fixture("tiny-bert-seqcls", "config");
    std::fs::write(
        dir.join("config.json"),
        "{\n  \"hidden_size\": 12,\n  \"num_attention_heads\": 3,,\n}",
    )
    .unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("config.json") && err.contains("line 3"),
        "{err}"
    );

    std::fs::write(
        dir.join("config.json"),
        r#"{"hidden_size": 12, "num_attention_heads": 5}"#,
    )
    .unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("hidden_size 12 is not a multiple of num_attention_heads 5"),
        "{err}"
    );
}

#[test]
fn truncated_safetensors_is_an_error_naming_the_file() {
    let dir = copy_fixture("tiny-bert-seqcls", "truncated");
    let weights = dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(&dir).unwrap_err();
    assert!(
        matches!(err, Error::Model(ModelError::Weights { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    std::fs::write(&weights, b"not a safetensors file").unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("cannot read weights"),
        "{err}"
    );
}

#[test]
fn missing_vocab_and_weights_name_what_was_looked_for() {
    let dir = copy_fixture("tiny-bert-seqcls", "novocab");
    std::fs::remove_file(dir.join("vocab.txt")).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.json and vocab.txt") && err.contains(dir.to_str().unwrap()),
        "{err}"
    );

    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let err = load(&dir).unwrap_err().to_string();
    assert!(
        err.contains("model.safetensors or model.safetensors.index.json or pytorch_model.bin")
            && err.contains(dir.to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn a_wrong_shaped_tensor_names_the_tensor_and_both_shapes() {
    // The checkpoint's classifier has 3 labels; a config with 5 asks for a [5, 12] weight.
    // (HF: "size mismatch for classifier.weight: copying a param with shape [3, 12] from
    // checkpoint, the shape in current model is [5, 12]".)
    let mut config = BertConfig::from_file(assets("tiny-bert-seqcls/config.json")).unwrap();
    config = config.with_num_labels(5);
    let err = burnbert::from_folder_with_config::<BertForSequenceClassification>(
        &assets("tiny-bert-seqcls"),
        config,
        &device(),
    )
    .unwrap_err();
    match err {
        Error::Model(ModelError::ShapeMismatch {
            tensor,
            expected,
            found,
            ..
        }) => {
            assert!(
                tensor == "classifier.weight" || tensor == "classifier.bias",
                "{tensor}"
            );
            if tensor == "classifier.weight" {
                assert_eq!((expected, found), (vec![5, 12], vec![3, 12]));
            } else {
                assert_eq!((expected, found), (vec![5], vec![3]));
            }
        }
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
}

#[test]
fn a_file_of_another_model_is_an_error() {
    let dir = copy_fixture("tiny-bert", "other");
    let mut model = BertConfig::from_file(dir.join("config.json"))
        .unwrap()
        .init_model(true, &device());
    // A safetensors file none of whose tensors belong to BERT.
    let other = dir.join("other.safetensors");
    let header = br#"{"lm_head.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&1.0f32.to_le_bytes());
    std::fs::write(&other, bytes).unwrap();
    let err = weights::load_weights(&mut model, &other)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("other.safetensors") && err.contains("lm_head.weight"),
        "{err}"
    );
}

#[test]
fn a_pickle_that_would_run_code_is_refused_and_runs_nothing() {
    let dir = copy_fixture("tiny-bert", "pickle");
    let marker = dir.join("pwned");
    // pickle protocol 2: os.system("touch <marker>")
    let command = format!("touch {}", marker.display());
    let mut pickle = b"\x80\x02cos\nsystem\nq\x00X".to_vec();
    pickle.extend_from_slice(&(command.len() as u32).to_le_bytes());
    pickle.extend_from_slice(command.as_bytes());
    pickle.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    let bin = dir.join("pytorch_model.bin");
    std::fs::write(&bin, pickle).unwrap();
    let mut model = BertConfig::from_file(dir.join("config.json"))
        .unwrap()
        .init_model(true, &device());
    let err = weights::load_weights::<BertModel>(&mut model, &bin)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pytorch_model.bin"), "{err}");
    assert!(!marker.exists(), "the pickle's code ran");
}

#[test]
fn empty_and_overlong_texts() {
    let bert = load(&assets("tiny-bert-seqcls")).unwrap();
    let err = bert
        .tokenizer
        .encode("", None, bert.max_length())
        .unwrap_err()
        .to_string();
    assert_eq!(err, "empty text: nothing to encode");
    // 40 positions in this model: a long text is cut to 40 tokens, [SEP] last, and runs.
    let long = "the movie was very good and the story was great ".repeat(100);
    let encoding = bert
        .tokenizer
        .encode(&long, None, bert.max_length())
        .unwrap();
    assert_eq!(
        (
            encoding.len(),
            encoding.truncated,
            *encoding.input_ids.last().unwrap()
        ),
        (40, true, 3)
    );
    let batch = burnbert::data::PaddedBatch::new(&[encoding], bert.tokenizer.pad_id()).unwrap();
    assert_eq!(bert.model.forward(batch.to_input(&device())).dims(), [1, 3]);
}
