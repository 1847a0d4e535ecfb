//! A model of the user's own trains through burnbert's `Task` seam from outside the crate: the
//! hand-written `BertClassifier` of `examples/custom_head/` (all-MiniLM-L6-v2 under dropout and
//! a linear layer on `[CLS]`, Burn's cross-entropy) fine-tuned on 800 Pang & Lee sentences with
//! the recipe, Burn's learner, checkpoints, metrics and its own save.

mod common;

#[path = "../examples/custom_head/classifier.rs"]
mod classifier;

use burnbert::burn::data::dataloader::batcher::Batcher;
use burnbert::burn::prelude::*;
use burnbert::data::split::split;
use burnbert::tasks::sequence_classification::{ClassificationBatcher, encode_examples};
use burnbert::tasks::sequence_classification::{Columns, LabelSet, read_file};
use burnbert::train::TrainingConfig;
use burnbert::train::task::fine_tune;
use burnbert::train::trainer::Run;
use burnbert::{BertModel, from_pretrained};
use classifier::{BertClassifier, CustomClassification};
use common::*;

#[test]
fn a_custom_head_trains_with_the_recipe_learner_checkpoints_and_metrics() {
    let Some([model, data]) = burnbert_assets::testing::cached_or_skip([
        &burnbert_assets::MINILM,
        &burnbert_assets::PANG_LEE,
    ]) else {
        return;
    };
    let sentences = read_file(
        &data.join("sentences.csv"),
        &Columns::label_text_no_header(),
    )
    .unwrap();
    let (train, valid) = split(sentences, 0.1, 0);
    let (train, valid) = (&train[..800], &valid[..200]);
    let output = std::env::temp_dir().join(format!("burnbert-custom-head-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&output);
    let args = TrainingConfig {
        learning_rate: 1e-4,
        num_train_epochs: 2,
        per_device_train_batch_size: 16,
        per_device_eval_batch_size: 64,
        weight_decay: 0.01,
        max_length: 64,
        seed: 0,
        ..TrainingConfig::default()
    };
    let device = device();
    let bert = from_pretrained::<BertModel>(model.to_str().unwrap(), &device).unwrap();
    let labels = LabelSet::from_examples(train);
    device.seed(args.seed);
    let head = BertClassifier::new(bert.model, &bert.config, labels.len(), &device);
    let run = Run {
        output: &output,
        tokenizer_folder: &bert.folder,
        resume_from_epoch: None,
    };
    let task = CustomClassification {
        labels: labels.clone(),
    };
    let trained = fine_tune(
        task,
        &args,
        &bert.config,
        head,
        &bert.tokenizer,
        train,
        valid,
        run,
        &device,
    )
    .unwrap();
    println!("{:?}", trained.report);

    // It learns: chance is 0.5 on these balanced sentences (the HF head reaches > 0.7 on the
    // same data in tests/train_classifier.rs).
    assert!(trained.report.accuracy > 0.7, "{:?}", trained.report);
    assert_eq!(trained.report.examples, 200);
    assert_eq!(trained.epoch, 2);
    // Burn's learner checkpointed every epoch, and its validation accuracy of the last epoch
    // (percent, in metrics.json) is the accuracy of the returned model scored afresh.
    for f in [
        "checkpoint/model-1.bpk",
        "checkpoint/model-2.bpk",
        "epochs.json",
    ] {
        assert!(output.join(f).is_file(), "{f}");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("metrics.json")).unwrap())
            .unwrap();
    let per_epoch = metrics["valid_accuracy_per_epoch"].as_array().unwrap();
    assert_eq!(per_epoch.len(), 2);
    let last = per_epoch[1].as_f64().unwrap() / 100.0;
    assert!(
        (last - trained.report.accuracy).abs() < 1e-9,
        "{last} vs {}",
        trained.report.accuracy
    );
    assert_eq!(metrics["valid_loss_per_epoch"].as_array().unwrap().len(), 2);

    // The task's own save: Burn's record, which loads back into the same logits.
    let saved = output.join("model/model.bpk");
    let fresh = BertClassifier::new(
        bert.config.init_model(false, &device),
        &bert.config,
        labels.len(),
        &device,
    );
    let reloaded = fresh.load_file(&saved);
    let items = encode_examples(&bert.tokenizer, &valid[..8], &labels, args.max_length).unwrap();
    let batch = ClassificationBatcher {
        pad_id: bert.tokenizer.pad_id(),
    }
    .batch(items, &device);
    let a = trained
        .model
        .clone()
        .fork(&device)
        .forward(batch.input.clone())
        .into_data();
    let b = reloaded.forward(batch.input).into_data();
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&output);
}
