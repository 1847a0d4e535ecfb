//! `--task question-answering`: train, eval and predict an extractive reader (SQuAD).

use anyhow::{Result, bail};
use crate::BertForQuestionAnswering;
use crate::burn::tensor::Device;
use super::data::{SquadExample, qa_features, read_squad};
use crate::data::split::split;
use crate::pipeline::{AnswerOptions, QuestionAnsweringPipeline};
use super::train::evaluate_reader;
use super::squad::Postprocess;
use serde_json::json;

use crate::cli::jobs::{DataArgs, EvalJob, PredictJob, TrainJob, load, print, say};

/// The windows' length when neither a flag nor the model says otherwise, as in `transformers`'
/// `run_qa.py`.
const MAX_LENGTH: usize = 384;

/// Fine-tunes a reader on SQuAD JSON and prints its validation EM and F1.
pub fn train(job: &mut TrainJob, columns: &DataArgs, device: &Device) -> Result<()> {
    columns.refuse("question answering")?;
    if !job.max_length_given {
        job.args.max_length = MAX_LENGTH;
    }
    let (train, valid) = job.sets(
        "questions",
        |path, _| Ok(read_squad(path)?),
        |questions| split_articles(questions, job.validation_split, job.args.seed),
    )?;
    let trained = super::fine_tune_reader(
        &job.model,
        &job.args,
        &train,
        &valid,
        &job.output,
        job.resume_from_epoch,
        device,
    )?;
    let s = &trained.report.scores;
    say(&format!(
        "{}: valid exact match {:.2}, F1 {:.2} ({} questions); model saved to {}",
        trained.chosen,
        s.exact_match,
        s.f1,
        s.questions,
        trained.exported.display()
    ));
    Ok(())
}

/// SQuAD questions split by article: the last `fraction` of the articles (at least one) for
/// validation, so no context is in both. A file of one article is split by question (seeded).
fn split_articles(
    questions: Vec<SquadExample>,
    fraction: f64,
    seed: u64,
) -> (Vec<SquadExample>, Vec<SquadExample>) {
    let articles = questions
        .iter()
        .map(|q| q.article)
        .max()
        .map_or(0, |a| a + 1);
    if articles < 2 {
        return split(questions, fraction, seed);
    }
    let first_valid =
        articles - ((articles as f64 * fraction).ceil() as usize).clamp(1, articles.max(1));
    questions.into_iter().partition(|q| q.article < first_valid)
}

/// The official SQuAD exact match and F1 on a SQuAD JSON file.
pub fn eval(job: &EvalJob, columns: &DataArgs, device: &Device) -> Result<()> {
    columns.refuse("question answering")?;
    let bert = load::<BertForQuestionAnswering>(&job.model, device)?;
    let questions = read_squad(&job.data)?;
    let max = job.max_length.unwrap_or(bert.max_length().min(MAX_LENGTH));
    let features = qa_features(&bert.tokenizer, &questions, max, job.doc_stride)?;
    let report = evaluate_reader(
        &bert.model,
        &bert.tokenizer,
        &questions,
        &features,
        job.batch_size,
        Postprocess::for_examples(&questions, job.null_score_diff_threshold),
        device,
    )?;
    let s = &report.scores;
    let mut plain = format!(
        "exact match {:.2}  F1 {:.2}  ({} questions, {} windows)",
        s.exact_match, s.f1, s.questions, report.features
    );
    for (name, part) in [("HasAns", s.has_answer), ("NoAns", s.no_answer)] {
        if let Some(p) = part {
            plain += &format!(
                "\n{name}: exact match {:.2}  F1 {:.2}  ({} questions)",
                p.exact_match, p.f1, p.questions
            );
        }
    }
    // The answers as the official scripts read them (`predictions.json`: id → text).
    let predictions: serde_json::Map<String, serde_json::Value> = questions
        .iter()
        .zip(&report.predictions)
        .map(|(q, p)| (q.id.clone(), json!(p.text)))
        .collect();
    let value = json!({
        "scores": report.scores,
        "features": report.features,
        "predictions": predictions,
    });
    print(job.json, &value, &plain);
    Ok(())
}

/// The answer to each question in its context: text, character span and score.
pub fn predict(job: PredictJob, device: &Device) -> Result<()> {
    let bert = load::<BertForQuestionAnswering>(&job.model, device)?;
    let max = job.max_length.unwrap_or(bert.max_length().min(MAX_LENGTH));
    let reader = QuestionAnsweringPipeline::new(bert, device)
        .with_max_length(max)
        .with_options(AnswerOptions {
            doc_stride: job.doc_stride,
            max_answer_len: job.max_answer_length.unwrap_or(AnswerOptions::default().max_answer_len),
        });
    job.refuse_threshold("question answering")?;
    job.check_fields("question answering", &["question", "context"])?;
    for (i, input) in crate::batches::one_by_one("predict", job.inputs.iter().enumerate()) {
        let (Some(question), Some(context)) = (&input.question, &input.context) else {
            bail!(
                "{}`question` and `context` are required for question answering",
                job.place(i)
            );
        };
        let a = job.at(i, reader.predict(&[(question, context)]))?.remove(0);
        let plain = format!("{} [{}..{}] ({:.4})", a.text, a.start, a.end, a.score);
        print(job.json, &json!(a), &plain);
    }
    Ok(())
}
