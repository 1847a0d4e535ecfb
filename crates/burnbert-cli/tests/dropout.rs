//! Dropout in training, against PyTorch's as a distribution: the tiny classifier with every
//! dropout probability at p, fine-tuned for 90 steps over 12 seeds on both sides
//! (`tests/reference/dropout_pytorch.py`, `assets/reference/dropout_losses.json`). The draws
//! differ, so single runs differ; the mean final loss over the seeds must agree (Welch's t
//! within 3.5), and without dropout both sides fit the sentences.

mod common;

use serde_json::Value;

use common::*;

/// Mean and variance (n - 1) of a sample.
fn moments(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

#[test]
fn training_with_dropout_matches_pytorch_in_distribution() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(assets("reference/dropout_losses.json")).unwrap(),
    )
    .unwrap();
    let data = assets("reference/dropout_train.csv");
    let root = scratch("dropout");
    for p in ["0.0", "0.1", "0.3"] {
        let model = copy_model("tiny-bert-seqcls", &root.join(format!("model-{p}")));
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(model.join("config.json")).unwrap())
                .unwrap();
        let prob: f64 = p.parse().unwrap();
        config["hidden_dropout_prob"] = prob.into();
        config["attention_probs_dropout_prob"] = prob.into();
        std::fs::write(model.join("config.json"), config.to_string()).unwrap();
        let pytorch = floats(&reference["losses"][p]);
        let ours: Vec<f64> = (0..pytorch.len())
            .map(|seed| {
                let out = root.join(format!("run-{p}-{seed}"));
                let seed = seed.to_string();
                succeeded(burnbert(&[
                    "train",
                    arg(&model),
                    "--data",
                    arg(&data),
                    "--validation",
                    arg(&data),
                    "--epochs",
                    "15",
                    "--learning-rate",
                    "1e-2",
                    "--batch-size",
                    "8",
                    "--max-length",
                    "16",
                    "--seed",
                    &seed,
                    "--output",
                    arg(&out),
                ]));
                let metrics: Value = serde_json::from_str(
                    &std::fs::read_to_string(out.join("metrics.json")).unwrap(),
                )
                .unwrap();
                metrics["valid"]["loss"].as_f64().unwrap()
            })
            .collect();
        let ((m1, v1), (m2, v2)) = (moments(&ours), moments(&pytorch));
        let n = ours.len() as f64;
        let t = (m1 - m2) / ((v1 + v2) / n).sqrt();
        println!(
            "p {p}: burnbert {m1:.4} ± {:.4}, PyTorch {m2:.4} ± {:.4}, t {t:.2}",
            v1.sqrt(),
            v2.sqrt()
        );
        assert!(
            t.abs() < 3.5,
            "p {p}: mean loss {m1} against PyTorch's {m2} (t = {t})"
        );
        if p == "0.0" {
            assert!(m1 < 0.05, "without dropout the sentences are learnt: {m1}");
        }
    }
}
