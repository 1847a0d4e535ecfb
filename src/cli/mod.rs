//! The `burnbert` command (the `cli` feature; the binary is the `burnbert-cli` crate): train,
//! evaluate and predict with each task of [`tasks`](crate::tasks), inspect and encode with a
//! model. Its grammar is in `args.rs`, the flags every task shares in `jobs.rs`, and what each
//! task does in the `cli.rs` of its module.

mod args;
mod inspect;
pub(crate) mod jobs;
mod recipe;

use std::process::ExitCode;

use crate::BertConfig;
use crate::burn::tensor::Device;
use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::args::{Cli, Command};
use crate::cli::inspect::{encode, inspect};
use crate::cli::jobs::{EvalJob, PredictInput, PredictJob, TrainJob, read_inputs};
use crate::tasks::TaskName;

/// Runs the command of the process's arguments: exit status 0, or 1 after printing the error
/// (usage errors included).
pub fn main() -> ExitCode {
    crate::allocator::tune();
    // Exit status 0 for --help / --version, 1 for every error, usage errors included.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let device = crate::device::resolve(cli.device.as_deref())?;
    run_command(cli.command, &device)
}

fn run_command(command: Command, device: &Device) -> Result<()> {
    let device = device.clone();
    match command {
        Command::Inspect { model, json } => inspect(&model, json, &device),
        Command::Encode {
            model,
            text,
            text_pair,
            max_length,
            json,
        } => encode(
            &model,
            &text,
            text_pair.as_deref(),
            max_length,
            json,
            &device,
        ),
        Command::Train {
            model,
            task,
            data,
            validation,
            validation_split,
            columns,
            config,
            output,
            resume_from_epoch,
            recipe,
        } => {
            refuse_documents(task, &columns)?;
            if let Some(flag) = recipe.masked_lm_flags().first()
                && task != TaskName::MaskedLM
            {
                anyhow::bail!(
                    "{flag} is for masked language modeling; {} does not read it",
                    task.name()
                );
            }
            if !(0.0..1.0).contains(&validation_split) {
                anyhow::bail!("--validation-split {validation_split}: must be in [0, 1)");
            }
            let mut args = match &config {
                Some(path) => crate::train::TrainingConfig::from_file(path)?,
                None => crate::train::TrainingConfig::default(),
            };
            let max_length_given = recipe.max_length.is_some() || config.is_some();
            recipe.apply(&mut args);
            args.validate()?;
            let mut job = TrainJob {
                model,
                data,
                validation,
                validation_split,
                output,
                resume_from_epoch,
                args,
                max_length_given,
            };
            task.train(&mut job, &columns, &device)
        }
        Command::Eval {
            model,
            data,
            columns,
            batch_size,
            max_length,
            doc_stride,
            null_score_diff_threshold,
            json,
        } => {
            let folder = crate::source::resolve(&model)?;
            let task = TaskName::of(&BertConfig::from_file(folder.join("config.json"))?);
            let job = EvalJob {
                model,
                data,
                batch_size,
                max_length,
                doc_stride,
                null_score_diff_threshold,
                json,
            };
            // A folder without a head is read as a classifier, whose head then comes fresh.
            let task = task.unwrap_or(TaskName::SequenceClassification);
            refuse_documents(task, &columns)?;
            task.eval(&job, &columns, &device)
        }
        Command::Predict {
            model,
            text,
            text_pair,
            question,
            context,
            task,
            max_length,
            max_answer_length,
            doc_stride,
            file,
            batch_size,
            threshold,
            top_k,
            json,
        } => {
            let folder = crate::source::resolve(&model)?;
            let config = BertConfig::from_file(folder.join("config.json"))?;
            let task = task.or_else(|| TaskName::of(&config)).with_context(|| {
                format!(
                    "{}: config.json names no task head in `architectures`; pass --task",
                    folder.display()
                )
            })?;
            let (inputs, json) = match &file {
                Some(path) => (read_inputs(path)?, true),
                None => (
                    vec![PredictInput {
                        text,
                        text_pair,
                        question,
                        context,
                        line: 0,
                    }],
                    json,
                ),
            };
            let job = PredictJob {
                model: folder.to_string_lossy().to_string(),
                inputs,
                file,
                max_length,
                max_answer_length,
                doc_stride,
                batch_size,
                threshold,
                top_k,
                json,
            };
            if top_k.is_some() && task != TaskName::MaskedLM {
                anyhow::bail!(
                    "--top-k is for masked language modeling (fill-mask); {} does not read it",
                    task.name()
                );
            }
            task.predict(job, &device)
        }
        Command::Report { output } => {
            let path = crate::train::report::write(&output)?;
            println!("{}", path.display());
            Ok(())
        }
    }
}

/// An error when `--documents` (how masked-LM text files separate documents) is given to
/// another task.
fn refuse_documents(task: TaskName, columns: &crate::cli::jobs::DataArgs) -> Result<()> {
    if columns.documents.is_some() && task != TaskName::MaskedLM {
        anyhow::bail!(
            "--documents is for masked language modeling's text files; {} does not read it",
            task.name()
        );
    }
    Ok(())
}
