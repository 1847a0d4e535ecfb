//! Fine-tuning, as `Trainer.train()` does it: the recipe of [`TrainingConfig`] on Burn's learner.

use std::path::Path;

use burn::tensor::Device;
use burnbert_data::classification::{LabelSet, TextExample};
use burnbert_data::question_answering::SquadExample;
use burnbert_data::token_classification::{TagSet, TaggedSentence};
use burnbert_model::BertConfig;
use burnbert_model::weights::HfModel;
pub use burnbert_train::classification::TrainedClassifier;
pub use burnbert_train::evaluate::ClassificationReport;
pub use burnbert_train::question_answering::TrainedReader;
pub use burnbert_train::seqeval::SeqevalReport;
pub use burnbert_train::token_classification::TrainedTagger;
pub use burnbert_train::{
    LrSchedulerType, TrainError, TrainingConfig, classification, evaluate, optim,
    question_answering, run, schedule, seqeval, squad, token_classification,
};

use crate::{
    BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, Error,
    Pretrained, from_folder_with_config, source,
};

/// The pretrained encoder of `model` (an HF folder or hub id) under a fresh head for `labels`,
/// on the autodiff side of `device`. The head is drawn from the device's generator seeded with
/// `args.seed`, as HF seeds before `from_pretrained`.
fn starting_point<M: HfModel>(
    model: &str,
    labels: Option<&[String]>,
    args: &TrainingConfig,
    device: &Device,
) -> Result<(std::path::PathBuf, Pretrained<M>), Error> {
    args.validate()?;
    let folder = source::resolve(model)?;
    let mut config = BertConfig::from_file(folder.join(source::CONFIG))?;
    if let Some(labels) = labels {
        config = config.with_labels(labels);
    }
    device.seed(args.seed);
    let autodiff = device.clone().autodiff();
    autodiff.seed(args.seed);
    let bert = from_folder_with_config::<M>(&folder, config, &autodiff)?;
    if let Some(warning) = bert.report.warning() {
        eprintln!("warning: {warning}");
    }
    Ok((folder, bert))
}

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
    let labels = LabelSet::from_examples(train);
    let (folder, bert) =
        starting_point::<BertForSequenceClassification>(model, Some(labels.names()), args, device)?;
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

/// Fine-tunes `model` (an HF folder or hub id) as a token classifier (NER) on `train`,
/// validating on `valid` with seqeval's entity scores, into `output` (checkpoints, metric logs,
/// `metrics.json`, and the exported HF folder `output/model`). The tag set comes from `train`;
/// a tag of `valid` outside it is an error naming its file and line.
pub fn fine_tune_tagger(
    model: &str,
    args: &TrainingConfig,
    train: &[TaggedSentence],
    valid: &[TaggedSentence],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedTagger, Error> {
    let tags = TagSet::from_sentences(train)?;
    for sentence in valid {
        tags.ids(sentence)?;
    }
    let (folder, bert) =
        starting_point::<BertForTokenClassification>(model, Some(&tags.names()), args, device)?;
    let run = burnbert_train::run::Run {
        output,
        tokenizer_folder: &folder,
        resume_from_epoch,
    };
    Ok(
        burnbert_train::token_classification::train_token_classification(
            args,
            &bert.config,
            bert.model,
            &bert.tokenizer,
            &tags,
            train,
            valid,
            run,
            device,
        )?,
    )
}

/// Fine-tunes `model` (an HF folder or hub id) for extractive question answering on `train`
/// questions (contexts in windows of `args.max_length` tokens overlapping by `args.doc_stride`),
/// validating the loss on `valid` after every epoch and scoring the exported model on `valid`
/// with the official SQuAD exact match and F1.
pub fn fine_tune_reader(
    model: &str,
    args: &TrainingConfig,
    train: &[SquadExample],
    valid: &[SquadExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedReader, Error> {
    let (folder, bert) = starting_point::<BertForQuestionAnswering>(model, None, args, device)?;
    let run = burnbert_train::run::Run {
        output,
        tokenizer_folder: &folder,
        resume_from_epoch,
    };
    Ok(
        burnbert_train::question_answering::train_question_answering(
            args,
            &bert.config,
            bert.model,
            &bert.tokenizer,
            train,
            valid,
            run,
            device,
        )?,
    )
}
