//! The model gives PyTorch's numbers: tiny random-init BERTs with odd shapes and the real
//! all-MiniLM-L6-v2, against `transformers`' outputs in `assets/reference/` (written by
//! `tests/reference/make_reference.py`). Runs on the backend `BURN_DEVICE` names.

mod common;

use burnbert::burn::prelude::*;
use burnbert::model::weights::{self, HfModel};
use burnbert::model::{Bert, SequenceLabels};
use burnbert::{
    BertConfig, BertForMaskedLM, BertForQuestionAnswering, BertForSequenceClassification,
    BertForTokenClassification, BertModel,
};
use common::*;

fn load<M: HfModel<Family = Bert>>(
    folder: &str,
    file: &str,
    device: &Device,
) -> (M, weights::LoadReport) {
    let config = BertConfig::from_file(assets(folder).join("config.json")).unwrap();
    let mut model = M::init(&config, device);
    let report = weights::load_weights(&mut model, &assets(folder).join(file)).unwrap();
    (model, report)
}

#[test]
fn encoder_matches_pytorch_from_safetensors() {
    let device = device();
    let reference = &reference("tiny.json")["tiny-bert"];
    let (model, report) = load::<BertModel>("tiny-bert", "model.safetensors", &device);
    assert_eq!(report.missing, Vec::<String>::new());
    assert_eq!(report.unused, Vec::<String>::new());
    let out = model.forward(bert_input(reference, &device));
    assert_close(
        "last_hidden_state",
        out.last_hidden_state,
        &reference["last_hidden_state"],
    );
    assert_close(
        "pooler_output",
        out.pooler_output.unwrap(),
        &reference["pooler_output"],
    );
}

#[test]
fn encoder_matches_pytorch_from_a_legacy_pytorch_bin() {
    // pytorch_model.bin has the `bert.` prefix and TF-era LayerNorm gamma/beta names.
    let device = device();
    let reference = &reference("tiny.json")["tiny-bert"];
    let (model, report) = load::<BertModel>("tiny-bert", "pytorch_model.bin", &device);
    assert_eq!(report.loaded, 2 * 16 + 5 + 2);
    assert_eq!(report.missing, Vec::<String>::new());
    let out = model.forward(bert_input(reference, &device));
    assert_close(
        "last_hidden_state (.bin)",
        out.last_hidden_state,
        &reference["last_hidden_state"],
    );
    assert_close(
        "pooler_output (.bin)",
        out.pooler_output.unwrap(),
        &reference["pooler_output"],
    );
}

#[test]
fn sequence_classification_logits_loss_and_gradients_match_pytorch() {
    let device = device().autodiff();
    let reference = &reference("tiny.json")["tiny-bert-seqcls"];
    let mut config = BertConfig::from_file(assets("tiny-bert-seqcls/config.json")).unwrap();
    // PyTorch's gradients were taken in eval mode: no dropout.
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    let mut model = config.init_sequence_classification(&device);
    weights::load_weights(&mut model, &assets("tiny-bert-seqcls/model.safetensors")).unwrap();

    let labels: Vec<i64> = serde_json::from_value(reference["labels"].clone()).unwrap();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [2]), &device);
    let out = model.forward_with_labels(
        bert_input(reference, &device),
        SequenceLabels::Classes(labels),
    );
    assert_close("logits", out.logits.clone(), &reference["logits"]);
    let loss = out.loss.unwrap();
    let loss_value = loss.clone().into_scalar::<f32>();
    let expected_loss = reference["loss"].as_f64().unwrap() as f32;
    assert!(
        (loss_value - expected_loss).abs() <= tolerance(),
        "loss {loss_value} vs {expected_loss}"
    );

    let grads = loss.backward();
    let grad = |p: &burnbert::burn::module::Param<Tensor<2>>| p.grad(&grads).expect("a gradient");
    let layer0 = &model.bert.encoder.layer[0];
    // Burn's Linear weights are [in, out]: transposed to PyTorch's [out, in].
    assert_close(
        "d loss / d classifier.weight",
        grad(&model.classifier.weight).transpose(),
        &reference["grads"]["classifier.weight"],
    );
    assert_close(
        "d loss / d layer.0 query.weight",
        grad(&layer0.attention.self_attention.query.weight).transpose(),
        &reference["grads"]["bert.encoder.layer.0.attention.self.query.weight"],
    );
    assert_close(
        "d loss / d position_embeddings",
        grad(&model.bert.embeddings.position_embeddings.weight),
        &reference["grads"]["bert.embeddings.position_embeddings.weight"],
    );
    let gamma = model.bert.encoder.layer[1]
        .output
        .layer_norm
        .gamma
        .grad(&grads)
        .unwrap();
    assert_close(
        "d loss / d layer.1 LayerNorm.weight",
        gamma,
        &reference["grads"]["bert.encoder.layer.1.output.LayerNorm.weight"],
    );
    let pooler_bias = model
        .bert
        .pooler
        .as_ref()
        .unwrap()
        .dense
        .bias
        .as_ref()
        .unwrap()
        .grad(&grads)
        .unwrap();
    assert_close(
        "d loss / d pooler.dense.bias",
        pooler_bias,
        &reference["grads"]["bert.pooler.dense.bias"],
    );
}

#[test]
fn token_classification_matches_pytorch() {
    let device = device();
    let reference = &reference("tiny.json")["tiny-bert-tokcls"];
    let (model, report) =
        load::<BertForTokenClassification>("tiny-bert-tokcls", "model.safetensors", &device);
    assert!(
        report.missing.is_empty() && report.unused.is_empty(),
        "{report:?}"
    );
    assert_close(
        "token logits",
        model.forward(bert_input(reference, &device)),
        &reference["logits"],
    );
}

#[test]
fn question_answering_matches_pytorch() {
    let device = device();
    let reference = &reference("tiny.json")["tiny-bert-qa"];
    let (model, _) = load::<BertForQuestionAnswering>("tiny-bert-qa", "model.safetensors", &device);
    let (start, end) = model.forward(bert_input(reference, &device));
    assert_close("start_logits", start, &reference["start_logits"]);
    assert_close("end_logits", end, &reference["end_logits"]);
}

#[test]
fn masked_lm_matches_pytorch() {
    let device = device();
    let reference = &reference("tiny_mlm.json");
    let (model, report) = load::<BertForMaskedLM>("tiny-bert-mlm", "model.safetensors", &device);
    assert!(
        report.missing.is_empty() && report.unused.is_empty(),
        "{report:?}"
    );
    let labels: Vec<Vec<i64>> = serde_json::from_value(reference["labels"].clone()).unwrap();
    let [rows, seq] = [labels.len(), labels[0].len()];
    let labels =
        Tensor::<2, Int>::from_data(TensorData::new(labels.concat(), [rows, seq]), &device);
    let out = model.forward_with_labels(bert_input(reference, &device), labels);
    assert_close("masked LM logits", out.logits, &reference["logits"]);
    let loss = out.loss.unwrap().into_scalar::<f32>();
    let expected = reference["loss"].as_f64().unwrap() as f32;
    assert!(
        (loss - expected).abs() <= tolerance(),
        "{loss} vs {expected}"
    );
}

#[test]
fn masked_lm_gradients_match_pytorch_through_the_tied_decoder() {
    let device = device().autodiff();
    let reference = &reference("tiny_mlm.json");
    let mut config = BertConfig::from_file(assets("tiny-bert-mlm/config.json")).unwrap();
    // PyTorch's gradients were taken in eval mode: no dropout.
    config.hidden_dropout_prob = 0.0;
    config.attention_probs_dropout_prob = 0.0;
    let mut model = config.init_masked_lm(&device);
    weights::load_weights(&mut model, &assets("tiny-bert-mlm/model.safetensors")).unwrap();
    let labels: Vec<Vec<i64>> = serde_json::from_value(reference["labels"].clone()).unwrap();
    let [rows, seq] = [labels.len(), labels[0].len()];
    // The training path: the decoder at the labelled positions only.
    let (positions, targets): (Vec<i64>, Vec<i64>) = labels
        .concat()
        .into_iter()
        .enumerate()
        .filter(|(_, l)| *l != -100)
        .map(|(i, l)| (i as i64, l))
        .unzip();
    let n = positions.len();
    assert!(rows * seq > n);
    let (loss, _) = model.forward_masked(
        bert_input(reference, &device),
        Tensor::from_data(TensorData::new(positions, [n]), &device),
        Tensor::from_data(TensorData::new(targets, [n]), &device),
    );
    let grads = loss.backward();
    // The word embeddings' gradient holds the decoder's part: without it, it would hold only
    // the lookup's rows.
    assert_close(
        "d loss / d word_embeddings (lookup + tied decoder)",
        model
            .bert
            .embeddings
            .word_embeddings
            .weight
            .grad(&grads)
            .unwrap(),
        &reference["grads"]["bert.embeddings.word_embeddings.weight"],
    );
    let dense = &model.cls.predictions.transform.dense.weight;
    assert_close(
        "d loss / d cls.predictions.transform.dense.weight",
        dense.grad(&grads).unwrap().transpose(),
        &reference["grads"]["cls.predictions.transform.dense.weight"],
    );
    assert_close(
        "d loss / d cls.predictions.bias",
        model.cls.predictions.bias.grad(&grads).unwrap(),
        &reference["grads"]["cls.predictions.bias"],
    );
}

#[test]
fn a_masked_lm_checkpoint_read_as_a_classifier_reports_its_unused_head() {
    let device = device();
    let (_, report) =
        load::<BertForSequenceClassification>("tiny-bert-mlm", "model.safetensors", &device);
    assert_eq!(
        report.unused,
        [
            "cls.predictions.bias",
            "cls.predictions.transform.LayerNorm.bias",
            "cls.predictions.transform.LayerNorm.weight",
            "cls.predictions.transform.dense.bias",
            "cls.predictions.transform.dense.weight",
        ]
    );
}

#[test]
fn a_bare_encoder_checkpoint_gives_a_fresh_head_and_reports_it() {
    // HF: "Some weights of BertForSequenceClassification were not initialized from the model
    // checkpoint ... and are newly initialized: ['classifier.bias', 'classifier.weight']".
    let device = device();
    let (model, report) =
        load::<BertForSequenceClassification>("tiny-bert", "model.safetensors", &device);
    assert_eq!(report.missing, ["classifier.bias", "classifier.weight"]);
    assert!(report.unused.is_empty());
    let reference = &reference("tiny.json")["tiny-bert"];
    let pooled = model
        .bert
        .forward(bert_input(reference, &device))
        .pooler_output
        .unwrap();
    assert_close("pooler under bert.", pooled, &reference["pooler_output"]);
    // And a tagger has no pooler: the checkpoint's pooler is unused (named as the tagger would).
    let (_, report) = load::<BertForTokenClassification>("tiny-bert", "model.safetensors", &device);
    assert_eq!(
        report.unused,
        ["bert.pooler.dense.bias", "bert.pooler.dense.weight"]
    );
}

#[test]
fn minilm_matches_pytorch_and_the_published_embedding() {
    let Some(folder) = minilm() else {
        return;
    };
    let device = device();
    let reference = reference("minilm.json");
    let bert = burnbert::from_pretrained::<BertModel>(folder.to_str().unwrap(), &device).unwrap();
    assert!(
        bert.report.missing.is_empty() && bert.report.unused.is_empty(),
        "{:?}",
        bert.report
    );

    // The tokenizer gives transformers' ids (and ASSETS.md's known answers).
    let texts: Vec<String> = serde_json::from_value(reference["texts"].clone()).unwrap();
    let encodings: Vec<_> = texts
        .iter()
        .map(|t| bert.tokenizer.encode(t, None, 512).unwrap())
        .collect();
    assert_eq!(
        encodings[0].input_ids,
        [101, 2023, 2003, 2019, 2742, 6251, 102]
    );
    assert_eq!(
        encodings[1].input_ids,
        [101, 7592, 1010, 2088, 999, 14477, 20961, 3468, 102]
    );
    let batch = burnbert::data::PaddedBatch::new(&encodings, bert.tokenizer.pad_id()).unwrap();
    let expected_ids: Vec<Vec<i64>> =
        serde_json::from_value(reference["inputs"]["input_ids"].clone()).unwrap();
    assert_eq!(batch.input_ids, expected_ids.concat());

    let out = bert.model.forward(batch.to_input(&device));
    assert_close(
        "MiniLM last_hidden_state",
        out.last_hidden_state.clone(),
        &reference["last_hidden_state"],
    );
    assert_close(
        "MiniLM pooler_output",
        out.pooler_output.unwrap(),
        &reference["pooler_output"],
    );
    let embedding =
        burnbert::pipeline::mean_pooled_normalized(out.last_hidden_state, batch.mask(&device));
    assert_close(
        "MiniLM sentence embedding",
        embedding.clone(),
        &reference["mean_pooled_normalized"],
    );
    let first: Vec<f32> = embedding
        .slice([0..1, 0..5])
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for (a, b) in first
        .iter()
        .zip([0.06766, 0.06350, 0.04871, 0.07930, 0.03745])
    {
        assert!((a - b).abs() < 1e-5, "{first:?}");
    }

    // The same two texts padded to 128 tokens: 256 rows, so the encoder's products are large
    // ones (`ops::flex::sgemm` on an AVX2 CPU; this batch's 18 rows take gemm). Padding changes
    // no output at the first `seq_len` positions.
    let seq = 128;
    let pad = |values: &[i64], fill: i64| -> Vec<i64> {
        values
            .chunks(batch.seq_len)
            .flat_map(|row| {
                let padding = std::iter::repeat_n(fill, seq - batch.seq_len);
                row.iter().copied().chain(padding)
            })
            .collect()
    };
    let long = burnbert::data::PaddedBatch {
        batch_size: batch.batch_size,
        seq_len: seq,
        input_ids: pad(&batch.input_ids, bert.tokenizer.pad_id().into()),
        attention_mask: pad(&batch.attention_mask, 0),
        token_type_ids: pad(&batch.token_type_ids, 0),
    };
    let out = bert.model.forward(long.to_input(&device));
    assert_close(
        "MiniLM last_hidden_state, padded to 128 tokens",
        out.last_hidden_state
            .clone()
            .slice([0..batch.batch_size, 0..batch.seq_len]),
        &reference["last_hidden_state"],
    );
    assert_close(
        "MiniLM sentence embedding, padded to 128 tokens",
        burnbert::pipeline::mean_pooled_normalized(out.last_hidden_state, long.mask(&device)),
        &reference["mean_pooled_normalized"],
    );
}
