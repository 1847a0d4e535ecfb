//! `--task masked-lm`: continue pre-training on raw text, score perplexity, fill masks.

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::data::{TextDocument, read_documents};
use crate::BertForMaskedLM;
use crate::burn::tensor::Device;
use crate::pipeline::FillMaskPipeline;
use crate::train::TrainingConfig;

use crate::cli::jobs::{DataArgs, EvalJob, PredictJob, TrainJob, load, print, say};

/// Trains on the documents of a text file and prints the validation perplexity.
pub fn train(job: &mut TrainJob, columns: &DataArgs, device: &Device) -> Result<()> {
    columns.refuse("masked language modeling")?;
    let separator = columns.documents.unwrap_or_default();
    let (train, valid) = job.sets(
        "documents",
        |path, _| Ok(read_documents(path, separator)?),
        |documents| first_for_validation(documents, job.validation_split),
    )?;
    let trained = super::fine_tune_masked_lm(
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
        "{}: valid perplexity {:.4} (loss {:.4} over {} masked tokens in {} blocks); model \
         saved to {}",
        trained.chosen,
        r.perplexity,
        r.loss,
        r.masked_tokens,
        r.blocks,
        trained.exported.display()
    ));
    Ok(())
}

/// `run_mlm.py`'s `validation_split_percentage` split: the first `fraction` of the documents
/// validate (`train[:5%]`), the rest train, in file order.
fn first_for_validation(
    mut documents: Vec<TextDocument>,
    fraction: f64,
) -> (Vec<TextDocument>, Vec<TextDocument>) {
    let n = documents.len();
    let mut n_valid = (n as f64 * fraction).round() as usize;
    if fraction > 0.0 && n >= 2 {
        n_valid = n_valid.clamp(1, n - 1);
    }
    let train = documents.split_off(n_valid.min(n));
    (train, documents)
}

/// Perplexity of a masked language model on the documents of a text file (grouped into blocks
/// of `--max-length`, masked with the default rate and seed, the same draws every time).
pub fn eval(job: &EvalJob, columns: &DataArgs, device: &Device) -> Result<()> {
    columns.refuse("masked language modeling")?;
    let bert = load::<BertForMaskedLM>(&job.model, device)?;
    let documents = read_documents(&job.data, columns.documents.unwrap_or_default())?;
    let args = TrainingConfig {
        max_length: job.max_length.unwrap_or(bert.max_length()),
        per_device_eval_batch_size: job.batch_size,
        ..TrainingConfig::default()
    };
    let report = super::evaluate_documents(&bert, &documents, &args, device)?;
    let plain = format!(
        "perplexity {:.4}  loss {:.4}  ({} masked tokens in {} blocks of {} tokens)",
        report.perplexity, report.loss, report.masked_tokens, report.blocks, args.max_length
    );
    print(job.json, &json!(report), &plain);
    Ok(())
}

/// The top-k tokens at each `[MASK]` of each input.
pub fn predict(job: PredictJob, device: &Device) -> Result<()> {
    let bert = load::<BertForMaskedLM>(&job.model, device)?;
    let max = job.max_length.unwrap_or(bert.max_length());
    let mut fill = FillMaskPipeline::new(bert, device).with_max_length(max);
    if let Some(k) = job.top_k {
        fill = fill.with_top_k(k);
    }
    job.refuse_answer_flags("masked language modeling")?;
    job.refuse_threshold("masked language modeling")?;
    job.check_fields("masked language modeling", &["text"])?;
    for (i, input) in crate::batches::one_by_one("predict", job.inputs.iter().enumerate()) {
        let text = input.text.as_deref().with_context(|| {
            format!(
                "{}`text` (with [MASK]) is required for masked language modeling",
                job.place(i)
            )
        })?;
        let masks = job.at(i, fill.predict(&[text]))?.remove(0);
        if masks.is_empty() {
            bail!("{}no [MASK] in the input", job.place(i));
        }
        let plain = masks
            .iter()
            .enumerate()
            .map(|(m, candidates)| {
                let lines = candidates
                    .iter()
                    .map(|c| format!("{}\t{:.4}\t{}", c.token_str, c.score, c.sequence))
                    .collect::<Vec<_>>()
                    .join("\n");
                if masks.len() > 1 {
                    format!("[MASK] {}:\n{lines}", m + 1)
                } else {
                    lines
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        // The pipeline's output: a list for one [MASK], a list of lists for several.
        let value = if masks.len() == 1 {
            json!(masks[0])
        } else {
            json!(masks)
        };
        print(job.json, &value, &plain);
    }
    Ok(())
}
