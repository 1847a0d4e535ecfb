//! Fine-tuning, as `Trainer.train()` does it: the recipe of [`TrainingConfig`] on Burn's learner.

use std::path::Path;

use burn::tensor::Device;
use burnbert_data::classification::{LabelSet, TextExample};
use burnbert_data::question_answering::SquadExample;
use burnbert_data::token_classification::{TagSet, TaggedSentence};
use burnbert_model::weights::HfModel;
use burnbert_model::{Bert, BertConfig, ModelError, ProblemType};
pub use burnbert_train::classification::TrainedClassifier;
pub use burnbert_train::evaluate::ClassificationReport;
pub use burnbert_train::question_answering::TrainedReader;
pub use burnbert_train::seqeval::SeqevalReport;
pub use burnbert_train::token_classification::TrainedTagger;
pub use burnbert_train::{
    LrSchedulerType, TrainError, TrainingConfig, classification, evaluate, optim,
    question_answering, run_dir, schedule, seqeval, squad, step, task, token_classification,
    trainer,
};

use crate::{
    BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, Error,
    Pretrained, load_folder, source,
};

/// The pretrained encoder of `model` (an HF folder or hub id) under a fresh head for `labels`,
/// on the autodiff side of `device`. The head is drawn from the device's generator seeded with
/// `args.seed`, as HF seeds before `from_pretrained`. `args.max_length` is capped at the
/// model's positions (with a warning), as HF's example scripts cap `max_seq_length`.
fn starting_point<M: HfModel<Family = Bert>>(
    model: &str,
    labels: Option<&[String]>,
    problem_type: Option<ProblemType>,
    args: &TrainingConfig,
    device: &Device,
) -> Result<(std::path::PathBuf, Pretrained<M>, TrainingConfig), Error> {
    args.validate()?;
    let folder = source::resolve(model)?;
    let mut config = BertConfig::from_file(folder.join(source::CONFIG))?;
    if let Some(labels) = labels {
        config = config.with_labels(labels);
    }
    if problem_type.is_some() {
        config.problem_type = problem_type;
    }
    device.seed(args.seed);
    let autodiff = device.clone().autodiff();
    autodiff.seed(args.seed);
    let bert = load_folder::<M>(&folder, config, args.ignore_mismatched_sizes, &autodiff)
        .map_err(|e| match e {
            Error::Model(ModelError::ShapeMismatch {
                tensor, found, expected, ..
            }) if tensor.starts_with("classifier.") || tensor.starts_with("qa_outputs.") => {
                Error::Labels(format!(
                    "label sets differ: the checkpoint's head {tensor} has {} rows, the data's label set {}: pass \
                     --ignore-mismatched-sizes to train a new head",
                    found.first().copied().unwrap_or(0),
                    expected.first().copied().unwrap_or(0),
                ))
            }
            other => other,
        })?;
    if let Some(warning) = bert.report.warning() {
        eprintln!("warning: {warning}");
    }
    let mut args = args.clone();
    args.max_length = bert.tokenizer.cap_max_length(args.max_length);
    Ok((folder, bert, args))
}

/// The labels to train a sequence classifier with, as `run_glue.py` picks them: the
/// checkpoint's own `id2label` order when its names are the data's (compared without case),
/// so that a fine-tuned head keeps its rows; else the data's labels, sorted. Float labels
/// (a regression set, which `run_glue.py` detects from the column's type) are an error.
pub fn classifier_labels(model: &str, train: &[TextExample]) -> Result<LabelSet, Error> {
    let data = LabelSet::from_examples(train);
    // datasets reads a column of numbers written with a point or an exponent (1.0, 4.8, 1e-3)
    // as float64, and run_glue.py then trains a regression; integers (0, 1, -1) are classes.
    let numbers = data.names().iter().all(|l| l.trim().parse::<f64>().is_ok());
    let floats = data
        .names()
        .iter()
        .any(|l| l.trim().parse::<i64>().is_err());
    if numbers && floats {
        return Err(Error::Labels(format!(
            "the labels look like real numbers ({}): a regression target, which burnbert does \
             not train yet; use class names or integer class ids",
            data.names()
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let folder = source::resolve(model)?;
    let checkpoint = BertConfig::from_file(folder.join(source::CONFIG))?;
    let named = checkpoint.labels();
    let default = named
        .iter()
        .enumerate()
        .all(|(i, l)| *l == format!("LABEL_{i}"));
    if default || checkpoint.id2label.is_none() {
        return Ok(data);
    }
    let mut model_names: Vec<String> = named.iter().map(|l| l.to_lowercase()).collect();
    let mut data_names: Vec<String> = data.names().iter().map(|l| l.to_lowercase()).collect();
    model_names.sort();
    data_names.sort();
    if model_names == data_names {
        // The checkpoint's order, spelled as the data spells them.
        let order = named
            .iter()
            .map(|m| {
                data.names()
                    .iter()
                    .find(|d| d.to_lowercase() == m.to_lowercase())
                    .cloned()
                    .expect("same names")
            })
            .collect();
        return Ok(LabelSet::from_names(order));
    }
    eprintln!(
        "warning: the model was trained with labels ({}) that are not the data's ({}): the \
         model's labels are ignored",
        named.join(", "),
        data.names().join(", ")
    );
    Ok(data)
}

/// Fine-tunes `model` (an HF folder or hub id) as a sequence classifier on `train`, validating on
/// `valid`, into `output` (checkpoints, metric logs, `metrics.json`, and the exported HF folder
/// `output/model`). The label set is [`classifier_labels`]'; a label of `valid` outside it is
/// an error. `resume_from_epoch` continues an interrupted run from that epoch's checkpoint.
pub fn fine_tune_classifier(
    model: &str,
    args: &TrainingConfig,
    train: &[TextExample],
    valid: &[TextExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedClassifier, Error> {
    let labels = classifier_labels(model, train)?;
    // Class labels: a single-label classifier, whatever problem type the checkpoint names.
    let (folder, bert, args) = starting_point::<BertForSequenceClassification>(
        model,
        Some(labels.names()),
        Some(ProblemType::SingleLabelClassification),
        args,
        device,
    )?;
    let run = burnbert_train::classification::Run {
        output,
        tokenizer_folder: &folder,
        resume_from_epoch,
    };
    Ok(
        burnbert_train::classification::train_sequence_classification(
            &args,
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
    let (folder, bert, args) = starting_point::<BertForTokenClassification>(
        model,
        Some(&tags.names()),
        None,
        args,
        device,
    )?;
    let args = &args;
    let run = burnbert_train::trainer::Run {
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
    let (folder, bert, args) =
        starting_point::<BertForQuestionAnswering>(model, None, None, args, device)?;
    let args = &args;
    let run = burnbert_train::trainer::Run {
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
