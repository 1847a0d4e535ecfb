//! `--task token-classification`: train, eval and predict a tagger (NER).

use anyhow::{Context, Result};
use crate::BertForTokenClassification;
use crate::burn::tensor::Device;
use crate::data::split::split;
use super::data::{TagSet, read_tagged};
use crate::pipeline::TokenClassificationPipeline;
use super::train::evaluate_tagger;
use serde_json::json;

use crate::cli::jobs::{DataArgs, EvalJob, PredictJob, TrainJob, load, print, say};

/// Fine-tunes a tagger on CoNLL or JSONL sentences and prints its validation scores.
pub fn train(job: &mut TrainJob, columns: &DataArgs, device: &Device) -> Result<()> {
    columns.refuse("token classification")?;
    let (train, valid) = job.sets(
        "sentences",
        |path, _| Ok(read_tagged(path)?),
        |sentences| split(sentences, job.validation_split, job.args.seed),
    )?;
    let trained = super::fine_tune_tagger(
        &job.model,
        &job.args,
        &train,
        &valid,
        &job.output,
        job.resume_from_epoch,
        device,
    )?;
    let r = &trained.report;
    say(&format!(
        "{}: valid entity F1 {:.4} (P {:.4}, R {:.4}), token accuracy {:.4}; model saved to {}",
        trained.chosen,
        r.overall.f1,
        r.overall.precision,
        r.overall.recall,
        r.token_accuracy,
        trained.exported.display()
    ));
    Ok(())
}

/// seqeval's entity P/R/F1 overall and per type, token accuracy and loss on tagged sentences.
pub fn eval(job: &EvalJob, columns: &DataArgs, device: &Device) -> Result<()> {
    columns.refuse("token classification")?;
    let bert = load::<BertForTokenClassification>(&job.model, device)?;
    let tags = TagSet::from_names(bert.config.labels());
    let sentences = read_tagged(&job.data)?;
    let max = job.max_length.unwrap_or(bert.max_length());
    let report = evaluate_tagger(
        &bert.model,
        &bert.tokenizer,
        &tags,
        &sentences,
        max,
        job.batch_size,
        device,
    )?;
    let mut plain = format!(
        "entity P {:.4} R {:.4} F1 {:.4}  token accuracy {:.4}  loss {:.4}  ({} sentences)\n",
        report.overall.precision,
        report.overall.recall,
        report.overall.f1,
        report.token_accuracy,
        report.loss.unwrap_or(f64::NAN),
        report.sentences
    );
    for (kind, c) in &report.per_type {
        plain += &format!(
            "  {kind:<8} P {:.4} R {:.4} F1 {:.4} support {}\n",
            c.precision, c.recall, c.f1, c.support
        );
    }
    print(job.json, &json!(report), plain.trim_end());
    Ok(())
}

/// The tag of each token and the entities (words merged, character spans) of each input.
pub fn predict(job: PredictJob, device: &Device) -> Result<()> {
    let bert = load::<BertForTokenClassification>(&job.model, device)?;
    let max = job.max_length.unwrap_or(bert.max_length());
    let tagger = TokenClassificationPipeline::new(bert, device).with_max_length(max);
    job.refuse_answer_flags("token classification")?;
    job.refuse_threshold("token classification")?;
    job.check_fields("token classification", &["text"])?;
    for (i, input) in crate::batches::one_by_one("predict", job.inputs.iter().enumerate()) {
        let text = input.text.as_deref().with_context(|| {
            format!(
                "{}`text` is required for token classification",
                job.place(i)
            )
        })?;
        let tags = job.at(i, tagger.tokens(&[text]))?.remove(0);
        let entities = job.at(i, tagger.predict(&[text]))?.remove(0);
        let plain = tags
            .iter()
            .map(|t| format!("{}\t{}\t{:.4}", t.token, t.label, t.score))
            .collect::<Vec<_>>()
            .join("\n");
        let plain = entities.iter().fold(plain, |p, e| {
            p + &format!(
                "\n{} [{}..{}] {} ({:.4})",
                e.word, e.start, e.end, e.entity_group, e.score
            )
        });
        print(
            job.json,
            &json!({ "tokens": tags, "entities": entities }),
            &plain,
        );
    }
    Ok(())
}
