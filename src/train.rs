//! Fine-tuning, as `Trainer.train()` does it: the recipe of [`TrainingConfig`] on Burn's learner.

use std::path::Path;

use burn::tensor::Device;
use burnbert_data::classification::{LabelSet, TextExample};
use burnbert_model::BertConfig;
pub use burnbert_train::classification::TrainedClassifier;
pub use burnbert_train::evaluate::ClassificationReport;
pub use burnbert_train::{
    LrSchedulerType, TrainError, TrainingConfig, classification, evaluate, optim, schedule,
};

use crate::{BertForSequenceClassification, Error, from_folder_with_config, source};

/// Fine-tunes `model` (an HF folder or hub id) as a sequence classifier on `train`, validating on
/// `valid`, into `output` (checkpoints, metric logs, `metrics.json`, and the exported HF folder
/// `output/model`). The label set comes from `train`; a label of `valid` outside it is an error.
/// `resume_from_epoch` continues an interrupted run from that epoch's checkpoint.
pub fn fine_tune_classifier(
    model: &str,
    args: &TrainingConfig,
    train: &[TextExample],
    valid: &[TextExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedClassifier, Error> {
    args.validate()?;
    let labels = LabelSet::from_examples(train);
    let folder = source::resolve(model)?;
    let config = BertConfig::from_file(folder.join(source::CONFIG))?.with_labels(labels.names());
    // The head is drawn from the device's generator: seeded, as HF seeds it before from_pretrained.
    device.seed(args.seed);
    let autodiff = device.clone().autodiff();
    autodiff.seed(args.seed);
    let bert =
        from_folder_with_config::<BertForSequenceClassification>(&folder, config, &autodiff)?;
    if let Some(warning) = bert.report.warning() {
        eprintln!("warning: {warning}");
    }
    let run = burnbert_train::classification::Run {
        output,
        tokenizer_folder: &folder,
        resume_from_epoch,
    };
    Ok(
        burnbert_train::classification::train_sequence_classification(
            args,
            &bert.config,
            bert.model,
            &bert.tokenizer,
            &labels,
            train,
            valid,
            run,
            device,
        )?,
    )
}
