//! `--task sequence-classification`: train, eval and predict a classifier.

use std::path::Path;

use anyhow::{Context, Result};
use crate::BertForSequenceClassification;
use crate::burn::tensor::Device;
use super::data::{self, Column, Columns, LabelSet, TextExample};
use crate::pipeline::TextClassificationPipeline;
use crate::model::ProblemType;
use super::train::{ClassificationBatcher, encode_examples, evaluate};
use crate::train::sklearn::MultiLabelReport;
use super::train::SequenceClassification;
use super::train::multi_label_classification::{
    MultiLabelBatcher, MultiLabelClassification, encode_label_lists, evaluate_multi_label,
};
use crate::train::task::HfTask;
use super::train::regression::{
    RegressionBatcher, RegressionReport, SequenceRegression, encode_targets, evaluate_regressor,
};
use serde_json::json;

use crate::cli::jobs::{DataArgs, EvalJob, PredictJob, TrainJob, load, print, say};

/// The columns `args` name.
fn columns(args: &DataArgs) -> Columns {
    let column = |s: &str| s.parse::<Column>().expect("infallible");
    Columns {
        text: column(&args.text_column),
        text_pair: args.text_pair_column.as_deref().map(column),
        label: column(&args.label_column),
        has_header: !args.no_header,
        label_delimiter: args.label_delimiter.clone(),
    }
}

/// A CSV/TSV/JSONL file, or an aclImdb folder (`split` of it), read with the columns of `args`.
fn read(args: &DataArgs, path: &Path, split: &str) -> Result<Vec<TextExample>> {
    Ok(if path.is_dir() {
        data::read_aclimdb(path, split)?
    } else {
        data::read_file(path, &columns(args))?
    })
}

/// Fine-tunes a classifier and prints its validation scores.
pub fn train(job: &mut TrainJob, columns: &DataArgs, device: &Device) -> Result<()> {
    let (train, valid) = job.sets(
        "examples",
        |path, split| read(columns, path, split),
        |examples| crate::data::split::split(examples, job.validation_split, job.args.seed),
    )?;
    // Lists of real numbers are several regression targets, not label names: checked first.
    if data::is_regression(&train) {
        let outputs = train[0].targets().map_or(1, |t| t.len());
        eprintln!(
            "the labels are real numbers: a regression ({outputs} output(s), MSE), as run_glue.py \
             reads them"
        );
        return fine_tune::<SequenceRegression>(job, &train, &valid, device, regression_scores);
    }
    if data::is_multi_label(&train) {
        eprintln!("the labels are lists: a multi-label classification (a sigmoid per label, BCE)");
        return fine_tune::<MultiLabelClassification>(job, &train, &valid, device, |r| {
            format!("valid {}", multi_label_scores(r))
        });
    }
    fine_tune::<SequenceClassification>(job, &train, &valid, device, |r| {
        format!(
            "valid accuracy {:.4}, macro F1 {:.4}, loss {:.4}",
            r.accuracy,
            r.macro_f1,
            r.loss.unwrap_or(f64::NAN)
        )
    })
}

/// Fine-tunes the task `T` and prints the chosen epoch, its validation `scores` and the folder
/// of the exported model.
fn fine_tune<T: HfTask<Example = TextExample>>(
    job: &TrainJob,
    train: &[TextExample],
    valid: &[TextExample],
    device: &Device,
    scores: impl Fn(&T::Report) -> String,
) -> Result<()> {
    let trained = crate::train::fine_tune::<T>(
        &job.model,
        &job.args,
        train,
        valid,
        &job.output,
        job.resume_from_epoch,
        device,
    )?;
    say(&format!(
        "{}: {}; model saved to {}",
        trained.chosen,
        scores(&trained.report),
        trained.exported.display()
    ));
    Ok(())
}

/// A multi-label classifier's scores on one line.
fn multi_label_scores(r: &MultiLabelReport) -> String {
    format!(
        "micro F1 {:.4}, macro F1 {:.4}, samples F1 {:.4}, subset accuracy {:.4}, loss {:.4}",
        r.micro_f1,
        r.macro_f1,
        r.samples_f1,
        r.subset_accuracy,
        r.loss.unwrap_or(f64::NAN)
    )
}

/// A regressor's scores on one line.
fn regression_scores(r: &RegressionReport) -> String {
    let f = |v: Option<f64>| v.map_or("nan".to_string(), |v| format!("{v:.4}"));
    format!(
        "valid MSE {}, MAE {}, Pearson {}, Spearman {} ({} examples)",
        f(r.mse),
        f(r.mae),
        f(r.pearson),
        f(r.spearmanr),
        r.examples
    )
}

/// Accuracy, macro and per-class P/R/F1, loss and confusion matrix on labelled data; for a
/// regressor (`problem_type` `regression`), MSE, MAE, Pearson and Spearman; for a multi-label
/// classifier, scikit-learn's multi-label scores.
pub fn eval(job: &EvalJob, columns: &DataArgs, device: &Device) -> Result<()> {
    let bert = load::<BertForSequenceClassification>(&job.model, device)?;
    if bert.config.problem_type == Some(ProblemType::Regression) {
        let examples = read(columns, &job.data, "test")?;
        let max = job.max_length.unwrap_or(bert.max_length());
        let items = encode_targets(&bert.tokenizer, &examples, max, bert.config.num_labels())?;
        let batcher = RegressionBatcher {
            pad_id: bert.tokenizer.pad_id(),
        };
        let report = evaluate_regressor(&bert.model, &batcher, &items, job.batch_size, device);
        let plain = regression_scores(&report).replacen("valid ", "", 1);
        print(job.json, &json!(report), &plain);
        return Ok(());
    }
    if bert.config.problem_type == Some(ProblemType::MultiLabelClassification) {
        let labels = LabelSet::from_names(bert.config.labels());
        let examples = read(columns, &job.data, "test")?;
        let max = job.max_length.unwrap_or(bert.max_length());
        let items = encode_label_lists(&bert.tokenizer, &examples, &labels, max)?;
        let batcher = MultiLabelBatcher {
            pad_id: bert.tokenizer.pad_id(),
        };
        let report =
            evaluate_multi_label(&bert.model, &batcher, &items, &labels, job.batch_size, device);
        let mut plain = format!("{} ({} examples)\n", multi_label_scores(&report), items.len());
        for c in &report.per_label {
            plain += &format!(
                "  {:<12} P {:.4} R {:.4} F1 {:.4} support {}\n",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        print(job.json, &json!(report), plain.trim_end());
        return Ok(());
    }
    let labels = LabelSet::from_names(bert.config.labels());
    let examples = read(columns, &job.data, "test")?;
    let max = job.max_length.unwrap_or(bert.max_length());
    let encoded = encode_examples(&bert.tokenizer, &examples, &labels, max)?;
    let batcher = ClassificationBatcher {
        pad_id: bert.tokenizer.pad_id(),
    };
    let report = evaluate(
        &bert.model,
        &batcher,
        &encoded,
        &labels,
        job.batch_size,
        device,
    )?;
    let mut plain = format!(
        "accuracy {:.4}  macro P {:.4} R {:.4} F1 {:.4}  loss {:.4}  ({} examples)\n",
        report.accuracy,
        report.macro_precision,
        report.macro_recall,
        report.macro_f1,
        report.loss.unwrap_or(f64::NAN),
        encoded.len()
    );
    for c in &report.per_class {
        plain += &format!(
            "  {:<12} P {:.4} R {:.4} F1 {:.4} support {}\n",
            c.label, c.precision, c.recall, c.f1, c.support
        );
    }
    print(job.json, &json!(report), plain.trim_end());
    Ok(())
}

/// The label and probabilities of each input, `batch_size` inputs per forward pass.
pub fn predict(job: PredictJob, device: &Device) -> Result<()> {
    let bert = load::<BertForSequenceClassification>(&job.model, device)?;
    let max = job.max_length.unwrap_or(bert.max_length());
    let multi_label = bert.config.problem_type == Some(ProblemType::MultiLabelClassification);
    let names = bert.config.labels();
    let classifier = TextClassificationPipeline::new(bert, device)
        .with_max_length(max)
        .with_batch_size(job.batch_size);
    job.refuse_answer_flags("sequence classification")?;
    if !multi_label {
        job.refuse_threshold("a single-label classifier or a regressor")?;
    }
    let threshold = job.threshold.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&threshold) {
        anyhow::bail!("--threshold is a probability, in [0, 1]; got {threshold}");
    }
    job.check_fields("sequence classification", &["text", "text_pair"])?;
    let pairs = job
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let text = input.text.clone().with_context(|| {
                format!(
                    "{}`text` is required for sequence classification",
                    job.place(i)
                )
            })?;
            Ok((text, input.text_pair.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    // All inputs at once: the pipeline batches them by length and keeps their order.
    let predictions = classifier.predict_pairs(&pairs).or_else(|e| {
        // Which input the error is about: each alone, until one fails.
        for (i, pair) in pairs.iter().enumerate() {
            let alone = classifier.predict_pairs(std::slice::from_ref(pair));
            job.at(i, alone)?;
        }
        Err(anyhow::Error::from(e))
    })?;
    for p in predictions {
        if multi_label {
            // Every label whose probability is above the threshold, as
            // `run_classification.py` predicts (`sigmoid(logits) > 0.5`).
            let labels: Vec<&String> = names
                .iter()
                .zip(&p.probabilities)
                .filter(|(_, probability)| **probability > threshold)
                .map(|(name, _)| name)
                .collect();
            let mut value = json!(p);
            value["labels"] = json!(labels);
            let plain = labels.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ");
            print(job.json, &value, &format!("[{plain}]"));
            continue;
        }
        let best = p.probabilities.iter().cloned().fold(f32::MIN, f32::max);
        print(job.json, &json!(p), &format!("{} ({best:.4})", p.label));
    }
    Ok(())
}
