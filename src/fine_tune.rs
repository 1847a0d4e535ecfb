//! Fine-tuning from an HF folder or hub id, as `Trainer.train()` does it after HF's example
//! scripts have built the model: the recipe of [`TrainingConfig`] on Burn's learner, for any
//! [`HfTask`].

use std::path::Path;

use burn::tensor::Device;
use burnbert_model::{BertConfig, ModelError};
use burnbert_train::task::{HfTask, Trained};
use burnbert_train::trainer::Run;
use burnbert_train::{TrainError, TrainingConfig};

use crate::{Error, load_folder, source};

/// Fine-tunes `model` (an HF folder or hub id) for the task `T` on `train`, validating on
/// `valid`, into `output` (checkpoints, metric logs, `epochs.json`, `metrics.json`, and the
/// exported HF folder `output/model`); `resume_from_epoch` continues an interrupted run from
/// that epoch's checkpoint.
///
/// The task is [`HfTask::from_data`] (its labels, from the data and the checkpoint's
/// `config.json`), the model the checkpoint's encoder under the task's head: a head of the
/// checkpoint's kept when it fits, else drawn from the device's generator seeded with
/// `args.seed`, as HF seeds before `from_pretrained`. `args.max_length` is capped at the model's
/// positions (with a warning), as HF's example scripts cap `max_seq_length`.
///
/// # Errors
/// A bad recipe, folder, data file or label set; a head of the checkpoint whose size is not the
/// task's ("label sets differ", unless `args.ignore_mismatched_sizes`); a run that fails.
pub fn fine_tune<T: HfTask>(
    model: &str,
    args: &TrainingConfig,
    train: &[T::Example],
    valid: &[T::Example],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<Trained<T>, Error> {
    args.validate()?;
    let folder = source::resolve(model)?;
    let checkpoint = BertConfig::from_file(folder.join(source::CONFIG))?;
    let task = T::from_data(&checkpoint, train, valid)?;
    let config = task.config(&checkpoint);
    device.seed(args.seed);
    let autodiff = device.clone().autodiff();
    autodiff.seed(args.seed);
    let bert = load_folder::<T::Model>(&folder, config, args.ignore_mismatched_sizes, &autodiff)
        .map_err(|e| match e {
            Error::Model(ModelError::ShapeMismatch {
                tensor, found, expected, ..
            }) if tensor.starts_with("classifier.") || tensor.starts_with("qa_outputs.") => {
                Error::Train(TrainError::Labels(format!(
                    "label sets differ: the checkpoint's head {tensor} has {} rows, the data's label set {}: pass \
                     --ignore-mismatched-sizes to train a new head",
                    found.first().copied().unwrap_or(0),
                    expected.first().copied().unwrap_or(0),
                )))
            }
            other => other,
        })?;
    if let Some(warning) = bert.report.warning() {
        eprintln!("warning: {warning}");
    }
    let mut args = args.clone();
    args.max_length = bert.tokenizer.cap_max_length(args.max_length);
    let run = Run {
        output,
        tokenizer_folder: &folder,
        resume_from_epoch,
    };
    Ok(burnbert_train::task::fine_tune(
        task,
        &args,
        &bert.config,
        bert.model,
        &bert.tokenizer,
        train,
        valid,
        run,
        device,
    )?)
}
