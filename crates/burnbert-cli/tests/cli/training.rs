//! Training, evaluating and resuming a classifier from CSV; an unwritable output.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

#[test]
fn train_then_eval_a_classifier_from_csv() {
    let dir = scratch("train");
    write_csv(&dir, "train.csv", "review,sentiment", 24);
    std::fs::write(
        dir.join("dev.csv"),
        "review,sentiment\ngreat film,positive\nbad movie,negative\na film,neutral\n",
    )
    .unwrap();
    let output = dir.join("run");
    // A recipe file, one of whose values a flag (in HF's spelling) overrides.
    std::fs::write(
        dir.join("recipe.toml"),
        "learning_rate = 5e-4\nweight_decay = 0.01\nwarmup_ratio = 0.1\n",
    )
    .unwrap();
    let out = burnbert(&[
        "train",
        assets("tiny-bert-seqcls").to_str().unwrap(),
        "--data",
        dir.join("train.csv").to_str().unwrap(),
        "--validation",
        dir.join("dev.csv").to_str().unwrap(),
        "--text-column",
        "review",
        "--label-column",
        "sentiment",
        "--config",
        dir.join("recipe.toml").to_str().unwrap(),
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--learning_rate",
        "1e-3",
        "--class-weights",
        "balanced",
        "--label-smoothing-factor",
        "0.1",
        "--output",
        output.to_str().unwrap(),
    ]);
    let out = succeeded(out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valid accuracy"), "{stdout}");
    let recipe: Value = serde_json::from_str(
        &std::fs::read_to_string(output.join("training_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(recipe["class_weights"], "balanced");
    assert_eq!(recipe["label_smoothing_factor"], 0.1);
    // The merged recipe: the flags' values over the file's, the file's over the defaults.
    assert_eq!(
        (
            &recipe["learning_rate"],
            &recipe["weight_decay"],
            &recipe["warmup_ratio"],
            &recipe["num_train_epochs"],
            &recipe["per_device_train_batch_size"],
            &recipe["adam_epsilon"],
        ),
        (
            &Value::from(1e-3),
            &Value::from(0.01),
            &Value::from(0.1),
            &Value::from(2),
            &Value::from(4),
            &Value::from(1e-8)
        )
    );
    for f in [
        "model/config.json",
        "model/model.safetensors",
        "metrics.json",
        "training_config.json",
        "checkpoint/model-2.bpk",
    ] {
        assert!(output.join(f).is_file(), "{f}");
    }
    let model = output.join("model");
    let eval = |data: &str, extra: &[&str]| {
        let data = dir.join(data);
        let mut args = vec![
            "eval",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ];
        args.extend(["--text-column", "review", "--label-column", "sentiment"]);
        args.extend(extra);
        burnbert(&args)
    };
    let out = eval("dev.csv", &["--json"]);
    let out = succeeded(out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["confusion_matrix"].as_array().unwrap().len(), 3);
    assert_eq!(report["per_class"][0]["label"], "negative");
    let total: u64 = report["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);

    // A label the model does not know is an error naming file and line.
    std::fs::write(
        dir.join("bad.csv"),
        "review,sentiment\ngreat film,positive\nmeh,mixed\n",
    )
    .unwrap();
    let out = eval("bad.csv", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.csv:3") && stderr.contains("'mixed'"),
        "{stderr}"
    );
    // Batch size 0 is refused before anything runs.
    let out = burnbert(&[
        "train",
        assets("tiny-bert-seqcls").to_str().unwrap(),
        "--data",
        "x.csv",
        "--batch-size",
        "0",
        "--output",
        "y",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("per_device_train_batch_size"));
    // Loss settings that do not fit are errors naming them.
    let train_with = |flags: &[&str]| {
        let mut args: Vec<String> = vec![
            "train".into(),
            assets("tiny-bert-seqcls").to_str().unwrap().to_string(),
            "--data".into(),
            dir.join("train.csv").to_str().unwrap().to_string(),
            "--text-column".into(),
            "review".into(),
            "--label-column".into(),
            "sentiment".into(),
            "--output".into(),
            dir.join("refused").to_str().unwrap().to_string(),
        ];
        args.extend(flags.iter().map(|f| f.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        String::from_utf8_lossy(&burnbert(&args).stderr).to_string()
    };
    let stderr = train_with(&["--class-weights", "1,2"]);
    assert!(
        stderr.contains("class_weights") && stderr.contains("2 weights for 3 labels"),
        "{stderr}"
    );
    let stderr = train_with(&["--class-weights", "1,two,3"]);
    assert!(stderr.contains("'two' is not a number"), "{stderr}");
    let stderr = train_with(&["--label-smoothing-factor", "1.5"]);
    assert!(
        stderr.contains("label_smoothing_factor") && stderr.contains("[0, 1)"),
        "{stderr}"
    );
    // Negative values reach the setting's own check rather than clap's "unexpected argument".
    let stderr = train_with(&["--label-smoothing-factor", "-0.1"]);
    assert!(stderr.contains("label_smoothing_factor"), "{stderr}");
    let stderr = train_with(&["--class-weights", "-1,2,3"]);
    assert!(
        stderr.contains("class_weights") && stderr.contains("not negative"),
        "{stderr}"
    );
    let stderr = train_with(&["--metric-for-best-model", "pearson"]);
    assert!(stderr.contains("matthews_correlation"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bytes of each tensor of a safetensors file, by name (the header's metadata order is
/// not fixed, so files are compared tensor by tensor).
fn tensors(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .into_iter()
        .filter(|(name, _)| name != "__metadata__")
        .map(|(name, info)| {
            let range = floats(&info["data_offsets"]);
            (name, data[range[0] as usize..range[1] as usize].to_vec())
        })
        .collect()
}

/// A CSV of `n` labelled rows in `dir/name`, under `header` (text column, label column).
fn write_csv(dir: &Path, name: &str, header: &str, n: usize) -> PathBuf {
    let rows = [
        ("the movie was great", "positive"),
        ("a bad boring film", "negative"),
        ("it was a film", "neutral"),
    ];
    let mut csv = format!("{header}\n");
    for i in 0..n {
        let (text, label) = rows[i % 3];
        csv += &format!("\"{text} {i}\",{label}\n");
    }
    let path = dir.join(name);
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one() {
    let dir = scratch("resume");
    let train = write_csv(&dir, "train.csv", "text,label", 300);
    let valid = write_csv(&dir, "valid.csv", "text,label", 6);
    let model = assets("tiny-bert-seqcls");
    // Dropout is on (0.1 in the fixture's config), so the dropout generator must resume too.
    let args = |output: &Path| -> Vec<String> {
        [
            "train",
            model.to_str().unwrap(),
            "--data",
            train.to_str().unwrap(),
            "--validation",
            valid.to_str().unwrap(),
            "--epochs",
            "3",
            "--batch-size",
            "2",
            "--learning-rate",
            "1e-3",
            "--output",
            output.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let whole = dir.join("whole");
    succeeded(burnbert(
        &args(&whole).iter().map(String::as_str).collect::<Vec<_>>(),
    ));

    // Kill the second run as soon as epoch 1's checkpoint is complete: mid-epoch 2.
    let killed = dir.join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_burnbert"))
        .env(
            "BURN_DEVICE",
            std::env::var("BURN_DEVICE").unwrap_or_else(|_| "flex".into()),
        )
        .args(args(&killed))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let epoch_1 = ["model-1.bpk", "optim-1.bpk", "scheduler-1.bpk"]
        .map(|f| killed.join("checkpoint").join(f));
    while !epoch_1.iter().all(|f| f.is_file()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(killed.join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    // A kill can land mid-write of epoch 2; the partial file never takes a checkpoint's name.
    eprintln!(
        "killed with {leftovers:?} partial; model-2.bpk written: {}",
        killed.join("checkpoint/model-2.bpk").exists()
    );

    let mut resume = args(&killed);
    resume.extend(["--resume-from-epoch".into(), "1".into()]);
    succeeded(burnbert(
        &resume.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let weights = |run: &Path| tensors(&run.join("model/model.safetensors"));
    let resumed = weights(&killed);
    assert_eq!(resumed.len(), 16 * 2 + 5 + 2 + 2);
    assert!(
        weights(&whole) == resumed,
        "the resumed run's weights differ from the uninterrupted run's"
    );
    assert!(
        tensors(&model.join("model.safetensors"))["classifier.weight"]
            != resumed["classifier.weight"],
        "training changed nothing"
    );

    // The export loads in transformers with the logits burnbert gives (when PyTorch is here).
    let check =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/check_trained.py");
    let text = "the movie was great 7";
    let ours = json(&[
        "predict",
        whole.join("model").to_str().unwrap(),
        "--text",
        text,
        "--json",
    ]);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    match Command::new(&python)
        .arg(&check)
        .arg(whole.join("model"))
        .arg(text)
        .output()
    {
        Ok(out) if out.status.success() => {
            let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_close(&floats(&ours["logits"]), &floats(&theirs["logits"]));
            assert_eq!(ours["label"], theirs["label"]);
        }
        other => burnbert_assets::testing::skip(&format!(
            "transformers could not load the export: {other:?}"
        )),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unwritable_output_is_an_error_naming_it() {
    let dir = scratch("unwritable");
    let train = write_csv(&dir, "train.csv", "text,label", 6);
    // A path below a regular file cannot be created, even by root.
    std::fs::write(dir.join("file"), "").unwrap();
    let output = dir.join("file/run");
    let out = burnbert(&[
        "train",
        assets("tiny-bert-seqcls").to_str().unwrap(),
        "--data",
        train.to_str().unwrap(),
        "--validation",
        train.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(output.to_str().unwrap()), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--report-to tensorboard`: TensorBoard's own reader (tensorboard 2.21.0) reads the event
/// file back with a value per optimizer step (accumulation counted), each group's learning
/// rate on HF's schedule, the validation metrics of each epoch and the recipe.
/// The run's TensorBoard events as TensorBoard's own reader reads them (`None`, the test
/// skipped, without python3 and tensorboard 2.21.0).
fn read_events(output: &Path) -> Option<Value> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/read_tensorboard.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let read = Command::new(&python)
        .arg(&script)
        .arg(output.join("runs"))
        .output();
    match read {
        Ok(out) if out.status.success() => Some(serde_json::from_slice(&out.stdout).unwrap()),
        other => {
            burnbert_assets::testing::skip(&format!(
                "python3 with tensorboard 2.21.0 could not read the events: {other:?}"
            ));
            None
        }
    }
}

/// A scalar's `(step, value)` points in [`read_events`]' output.
fn series(events: &Value, tag: &str) -> Vec<(i64, f64)> {
    let scalars = &events["scalars"];
    scalars[tag]
        .as_array()
        .unwrap_or_else(|| {
            panic!(
                "no {tag} in {:?}",
                scalars.as_object().map(|o| o.keys().collect::<Vec<_>>())
            )
        })
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

/// HF's `--eval_strategy steps`: validations (and so checkpoints, the best model and early
/// stopping) every N optimizer steps, across epoch ends, with gradient accumulation ending a
/// group at each epoch's end; a resume from a checkpoint in the middle of an epoch ends with
/// the weights of the uninterrupted run, bit for bit.
#[test]
fn a_step_based_run_validates_and_saves_at_its_steps_and_resumes_mid_epoch() {
    let dir = scratch("steps");
    // 30 examples in batches of 4: 8 batches an epoch, 3 a step: steps of 3, 3 and 2 batches,
    // 6 steps in 2 epochs. Validation every 2 steps (after steps 2, 4, 6; the second interval
    // crosses the epoch's end), a checkpoint every 4 and at the end.
    let train = write_csv(&dir, "train.csv", "text,label", 30);
    let valid = write_csv(&dir, "valid.csv", "text,label", 6);
    let model = assets("tiny-bert-seqcls");
    let args = |output: &Path| -> Vec<String> {
        [
            "train",
            model.to_str().unwrap(),
            "--data",
            train.to_str().unwrap(),
            "--validation",
            valid.to_str().unwrap(),
            "--num_train_epochs",
            "2",
            "--per_device_train_batch_size",
            "4",
            "--gradient_accumulation_steps",
            "3",
            "--learning_rate",
            "1e-3",
            "--eval_strategy",
            "steps",
            "--eval_steps",
            "2",
            "--save_steps",
            "4",
            "--logging_steps",
            "2",
            "--report_to",
            "tensorboard",
            "--output_dir",
            output.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let whole = dir.join("whole");
    let out = succeeded(burnbert(
        &args(&whole).iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("intervals 1..=3"), "{log}");
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["evaluated_at_steps"], serde_json::json!([2, 4, 6]));
    assert_eq!(metrics["global_step"], 6);
    assert_eq!(metrics["valid_loss_per_epoch"].as_array().unwrap().len(), 3);
    let checkpoints = |run: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(run.join("checkpoint"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("model-"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(checkpoints(&whole), ["model-2.bpk", "model-3.bpk"]);
    // The log history: training values every 2 steps, a validation after steps 2, 4 and 6.
    let history: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(whole.join("log_history.json")).unwrap())
            .unwrap();
    let steps_of = |key: &str| -> Vec<u64> {
        history
            .iter()
            .filter(|e| e.get(key).is_some())
            .map(|e| e["step"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(steps_of("eval_loss"), [2, 4, 6]);
    assert_eq!(steps_of("loss"), [2, 4, 6]);
    assert_eq!(steps_of("learning_rate/head"), [2, 4, 6]);
    let eval_loss: Vec<f64> = history
        .iter()
        .filter_map(|e| e.get("eval_loss")?.as_f64())
        .collect();
    let recorded: Vec<f64> = metrics["valid_loss_per_epoch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (logged, recorded) in eval_loss.iter().zip(&recorded) {
        assert!((logged - recorded).abs() <= 1e-9 * recorded.abs().max(1.0));
    }
    // HF's names and scales: `eval_accuracy` a fraction, equal to the record's percentage.
    let accuracy: Vec<f64> = history
        .iter()
        .filter_map(|e| e.get("eval_accuracy")?.as_f64())
        .collect();
    let recorded_accuracy = metrics["valid_accuracy_per_epoch"].as_array().unwrap();
    assert_eq!(accuracy.len(), 3);
    for (logged, recorded) in accuracy.iter().zip(recorded_accuracy) {
        assert!((logged * 100.0 - recorded.as_f64().unwrap()).abs() < 1e-9);
    }
    assert!(history.iter().any(|e| e.get("eval_f1").is_some()));
    assert!(
        history
            .iter()
            .any(|e| e.get("matthews_correlation").is_some())
    );
    // The report, and `burnbert report` redraws the same page from the run's files.
    let report = std::fs::read_to_string(whole.join("report.html")).unwrap();
    assert!(report.matches("<svg").count() >= 4, "{report}");
    assert!(report.contains("Validation accuracy"), "{report}");
    assert!(report.contains("<h3>confusion_matrix</h3>"), "{report}");
    std::fs::remove_file(whole.join("report.html")).unwrap();
    succeeded(burnbert(&["report", whole.to_str().unwrap()]));
    assert_eq!(
        std::fs::read_to_string(whole.join("report.html")).unwrap(),
        report
    );

    if let Some(events) = read_events(&whole) {
        let steps = |tag: &str| -> Vec<i64> { series(&events, tag).iter().map(|p| p.0).collect() };
        assert_eq!(steps("eval/loss"), [2, 4, 6]);
        assert_eq!(steps("train/loss"), [2, 4, 6]);
        assert_eq!(steps("train/grad_norm"), [2, 4, 6]);
        let recorded = metrics["valid_loss_per_epoch"][1].as_f64().unwrap();
        let logged = series(&events, "eval/loss")[1].1;
        assert!((logged - recorded).abs() <= 1e-6 * recorded.abs().max(1.0));
    }

    // Resume from the checkpoint after step 4, in the middle of epoch 2, as if the run had
    // been stopped before its last interval.
    let resumed = dir.join("resumed");
    std::fs::create_dir_all(resumed.join("checkpoint")).unwrap();
    for entry in std::fs::read_dir(&whole).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "metrics.json" {
            std::fs::copy(&path, resumed.join(path.file_name().unwrap())).unwrap();
        }
    }
    for kind in ["model", "optim", "scheduler"] {
        let name = format!("{kind}-2.bpk");
        std::fs::copy(
            whole.join("checkpoint").join(&name),
            resumed.join("checkpoint").join(&name),
        )
        .unwrap();
    }
    let mut resume = args(&resumed);
    resume.extend(["--resume-from-epoch".into(), "2".into()]);
    succeeded(burnbert(
        &resume.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let weights = |run: &Path| tensors(&run.join("model/model.safetensors"));
    assert!(
        weights(&whole) == weights(&resumed),
        "the resumed run's weights differ from the uninterrupted run's"
    );
    assert!(
        tensors(&model.join("model.safetensors"))["classifier.weight"]
            != weights(&resumed)["classifier.weight"],
        "training changed nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tensorboard_reads_the_runs_events_back() {
    let dir = scratch("tensorboard");
    let train = write_csv(&dir, "train.csv", "text,label", 40);
    let valid = write_csv(&dir, "valid.csv", "text,label", 6);
    let output = dir.join("run");
    succeeded(burnbert(&[
        "train",
        assets("tiny-bert-seqcls").to_str().unwrap(),
        "--data",
        train.to_str().unwrap(),
        "--validation",
        valid.to_str().unwrap(),
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--gradient-accumulation-steps",
        "2",
        "--learning-rate",
        "1e-3",
        "--head-learning-rate",
        "2e-3",
        "--warmup-steps",
        "2",
        "--report_to",
        "tensorboard",
        "--output",
        output.to_str().unwrap(),
    ]));
    let Some(events) = read_events(&output) else {
        return;
    };
    let series = |tag: &str| series(&events, tag);
    // 40 examples in batches of 4, two batches per optimizer step: 5 steps an epoch.
    let steps: Vec<i64> = (1..=10).collect();
    for tag in ["train/loss", "train/grad_norm", "train/learning_rate"] {
        let values = series(tag);
        assert_eq!(
            values.iter().map(|v| v.0).collect::<Vec<_>>(),
            steps,
            "{tag}"
        );
    }
    assert!(series("train/grad_norm").iter().all(|v| v.1 > 0.0));
    // HF's linear schedule with 2 warmup steps over 10: optimizer step s uses the factor of
    // scheduler step s - 1 (0 at the first step).
    let factor = |s: i64| {
        let k = (s - 1) as f64;
        if k < 2.0 { k / 2.0 } else { (10.0 - k) / 8.0 }
    };
    for (tag, peak) in [
        ("train/learning_rate/head", 2e-3),
        ("train/learning_rate/layer_0", 1e-3),
        ("train/learning_rate/embeddings", 1e-3),
    ] {
        for (step, lr) in series(tag) {
            let expected = peak * factor(step);
            assert!(
                (lr - expected).abs() <= 1e-7 * peak,
                "{tag} at {step}: {lr} vs {expected}"
            );
        }
    }
    // The validation metrics at the step that ends each epoch, equal to the run's record.
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(output.join("metrics.json")).unwrap())
            .unwrap();
    let eval_loss = series("eval/loss");
    assert_eq!(eval_loss.iter().map(|v| v.0).collect::<Vec<_>>(), [5, 10]);
    let recorded = metrics["valid_loss_per_epoch"][1].as_f64().unwrap();
    assert!((eval_loss[1].1 - recorded).abs() <= 1e-6 * recorded.abs().max(1.0));
    assert_eq!(series("eval/accuracy").len(), 2);
    let recipe = events["texts"]["args/text_summary"].as_str().unwrap();
    assert!(
        recipe.contains("\"report_to\": \"tensorboard\""),
        "{recipe}"
    );
    assert!(recipe.contains("\"head_learning_rate\": 0.002"), "{recipe}");
    let _ = std::fs::remove_dir_all(&dir);
}
