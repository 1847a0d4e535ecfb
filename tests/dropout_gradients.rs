//! Dropout in one training step, against PyTorch's as a distribution: a token classifier in
//! training mode (every dropout site active) on one fixed padded batch, over many draws
//! (`tests/reference/dropout_gradients.py`, `assets/reference/dropout_gradients.json`). The
//! draws differ between the two, so single steps differ; the mean and variance of the loss and
//! the mean of every compared gradient entry must agree within their sampling error. A mask with
//! the wrong rate or scale, one shared between sites or draws, or a backward pass that does not
//! reuse the forward's mask moves them. Runs on the backend `BURN_DEVICE` names.

mod common;

use burnbert::burn::module::Param;
use burnbert::burn::prelude::*;
use burnbert::model::weights;
use burnbert::{BertConfig, BertForTokenClassification};
use common::*;
use serde_json::Value;

/// The tests draw from the device's one seeded generator: one at a time, so that each draws the
/// same masks in every run.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Running sums of draws, per entry.
#[derive(Default)]
struct Moments {
    n: f64,
    sum: Vec<f64>,
    squares: Vec<f64>,
}

impl Moments {
    fn add(&mut self, xs: &[f32]) {
        if self.sum.is_empty() {
            self.sum = vec![0.0; xs.len()];
            self.squares = vec![0.0; xs.len()];
        }
        for ((s, q), &x) in self.sum.iter_mut().zip(&mut self.squares).zip(xs) {
            *s += x as f64;
            *q += (x as f64) * (x as f64);
        }
        self.n += 1.0;
    }

    fn mean(&self) -> Vec<f64> {
        self.sum.iter().map(|s| s / self.n).collect()
    }

    fn var(&self) -> Vec<f64> {
        let mean = self.mean();
        self.squares
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q - self.n * m * m) / (self.n - 1.0))
            .collect()
    }
}

fn floats(value: &Value) -> Vec<f64> {
    serde_json::from_value(value["data"].clone()).unwrap()
}

fn input(record: &Value, device: &Device) -> (burnbert::BertInput, Tensor<2, Int>) {
    let labels: Vec<Vec<i64>> = serde_json::from_value(record["labels"].clone()).unwrap();
    let shape = [labels.len(), labels[0].len()];
    let labels = Tensor::from_data(TensorData::new(labels.concat(), shape), device);
    (bert_input(record, device), labels)
}

/// The compared parameters (HF names), one after each kind of dropout site.
const NAMES: [&str; 5] = [
    "classifier.weight",
    "bert.encoder.layer.0.attention.self.query.weight",
    "bert.encoder.layer.0.attention.self.value.weight",
    "bert.encoder.layer.0.output.dense.weight",
    "bert.embeddings.LayerNorm.weight",
];

/// `(loss moments, gradient moments per compared parameter)` over `draws` training-mode steps.
fn draw(
    model: &BertForTokenClassification,
    record: &Value,
    draws: usize,
    device: &Device,
) -> (Moments, Vec<Moments>) {
    let mut loss_moments = Moments::default();
    let mut moments: Vec<Moments> = NAMES.iter().map(|_| Moments::default()).collect();
    // Of each `[out, in]` weight, the gradients of the outputs the reference kept.
    let kept = record["rows"].as_u64().map(|r| r as usize);
    for _ in 0..draws {
        let (bert_input, labels) = input(record, device);
        let loss = model.forward_with_labels(bert_input, labels).loss.unwrap();
        loss_moments.add(&[loss.clone().into_scalar::<f32>()]);
        let grads = loss.backward();
        let layer0 = &model.bert.encoder.layer[0];
        // Burn's Linear weights are [in, out]: transposed to PyTorch's [out, in].
        let rows = |p: &Param<Tensor<2>>| {
            let g = p.grad(&grads).unwrap().transpose();
            let [rows, cols] = g.dims();
            g.slice([0..kept.unwrap_or(rows), 0..cols])
        };
        let values = [
            rows(&model.classifier.weight).into_data(),
            rows(&layer0.attention.self_attention.query.weight).into_data(),
            rows(&layer0.attention.self_attention.value.weight).into_data(),
            rows(&layer0.output.dense.weight).into_data(),
            model
                .bert
                .embeddings
                .layer_norm
                .gamma
                .grad(&grads)
                .unwrap()
                .into_data(),
        ];
        for (m, v) in moments.iter_mut().zip(values) {
            m.add(&v.try_into_vec::<f32>().unwrap());
        }
    }
    (loss_moments, moments)
}

/// burnbert's draws against PyTorch's: the loss's mean (Welch's t within 4) and standard deviation
/// (ratio within `sd_bounds`), and each gradient entry's mean (z² averaged over the entries
/// within [0.5, 2]; 1 when the expectations agree).
fn assert_same_distribution(
    label: &str,
    model: &BertForTokenClassification,
    record: &Value,
    sd_bounds: (f64, f64),
    device: &Device,
) {
    let n2 = record["draws"].as_f64().unwrap();
    let n1 = n2;
    let (loss, moments) = draw(model, record, n1 as usize, device);
    let (m1, v1) = (loss.mean()[0], loss.var()[0]);
    let (m2, v2) = (
        record["loss_mean"].as_f64().unwrap(),
        record["loss_var"].as_f64().unwrap(),
    );
    let t = (m1 - m2) / (v1 / n1 + v2 / n2).sqrt();
    let ratio = (v1 / v2).sqrt();
    println!(
        "{label}: loss mean {m1:.5} vs PyTorch {m2:.5} (t {t:.2}), sd {:.5} vs {:.5} (ratio {ratio:.3})",
        v1.sqrt(),
        v2.sqrt()
    );
    assert!(
        t.abs() < 4.0,
        "{label}: mean loss {m1} against PyTorch's {m2} (t = {t})"
    );
    assert!(
        (sd_bounds.0..=sd_bounds.1).contains(&ratio),
        "{label}: the loss's sd is {ratio} times PyTorch's"
    );
    for (name, m) in NAMES.iter().zip(&moments) {
        let (mean, var) = (m.mean(), m.var());
        let (pm, pv) = (
            floats(&record["grad_mean"][name]),
            floats(&record["grad_var"][name]),
        );
        assert_eq!(mean.len(), pm.len(), "{name}");
        let z2: Vec<f64> = mean
            .iter()
            .zip(&var)
            .zip(pm.iter().zip(&pv))
            .filter(|((_, v), (_, w))| **v + **w > 0.0)
            .map(|((a, v), (b, w))| (a - b).powi(2) / (v / n1 + w / n2))
            .collect();
        let chi = z2.iter().sum::<f64>() / z2.len() as f64;
        let sd_ratio = (var.iter().sum::<f64>() / pv.iter().sum::<f64>()).sqrt();
        println!(
            "  d loss / d {name}: mean z² {chi:.3} over {} entries, sd ratio {sd_ratio:.3}",
            z2.len()
        );
        assert!(
            (0.5..=2.0).contains(&chi),
            "{label}: d loss / d {name}: mean z² {chi}"
        );
        assert!(
            (sd_bounds.0..=sd_bounds.1).contains(&sd_ratio),
            "{label}: d loss / d {name}: sd {sd_ratio} times PyTorch's"
        );
    }
}

#[test]
fn a_training_step_with_dropout_matches_pytorch_in_distribution_tiny() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let device = device().autodiff();
    device.seed(0);
    let reference = reference("dropout_gradients.json");
    let record = &reference["tiny"];
    let mut config = BertConfig::from_file(assets("tiny-bert-tokcls/config.json")).unwrap();
    config.hidden_dropout_prob = record["dropout"].as_f64().unwrap();
    config.attention_probs_dropout_prob = config.hidden_dropout_prob;
    let mut model = config.init_token_classification(&device);
    weights::load_weights(&mut model, &assets("tiny-bert-tokcls/model.safetensors")).unwrap();
    assert_same_distribution("tiny", &model, record, (0.9, 1.1), &device);
}

#[test]
fn a_training_step_with_dropout_matches_pytorch_in_distribution_minilm() {
    let Some(folder) = minilm() else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let device = device().autodiff();
    device.seed(0);
    let reference = reference("dropout_gradients.json");
    let record = &reference["minilm"];
    let labels: Vec<String> = (0..9).map(|i| format!("LABEL_{i}")).collect();
    let config = BertConfig::from_file(folder.join("config.json"))
        .unwrap()
        .with_labels(&labels);
    assert_eq!(
        config.hidden_dropout_prob,
        record["dropout"].as_f64().unwrap()
    );
    let mut model = config.init_token_classification(&device);
    weights::load_weights(&mut model, &folder.join("model.safetensors")).unwrap();
    // The reference's head: weight[o][i] = 0.05·sin(hidden·o + i + 1), bias 0.
    let hidden = config.hidden_size;
    let weight: Vec<f32> = (0..9 * hidden)
        .map(|k| (0.05 * ((k + 1) as f64).sin()) as f32)
        .collect();
    let weight = Tensor::<2>::from_data(TensorData::new(weight, [9, hidden]), &device);
    model.classifier.weight = Param::from_tensor(weight.transpose());
    model.classifier.bias = Some(Param::from_tensor(Tensor::zeros([9], &device)));
    assert_same_distribution("minilm", &model, record, (0.8, 1.25), &device);
}
