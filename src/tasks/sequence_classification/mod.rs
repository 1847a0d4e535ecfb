//! Sequence classification, `run_glue.py` / `run_classification.py`'s task, on
//! `BertForSequenceClassification`: one label per text or text pair (softmax, cross-entropy),
//! a real-valued score (`problem_type` regression: MSE), or a set of labels (multi-label: a
//! sigmoid per label, BCE), as the data's labels decide.
//!
//! - [`data`]: CSV / TSV / JSONL files with chosen columns and the aclImdb folder layout; the
//!   label set, and the rules that tell a regression or multi-label set from its labels.
//! - [`train`]: items, batches, the head's loss, Burn's metrics and scikit-learn's / SciPy's
//!   scores; [`SequenceClassification`], [`SequenceRegression`], [`MultiLabelClassification`].
//! - [`pipeline`]: [`TextClassificationPipeline`], labels and probabilities (or the raw score).
//! - `cli`: `burnbert train / eval / predict --task sequence-classification`.

use std::path::Path;

use burn::tensor::Device;
use burnbert_train::TrainingConfig;

use crate::Error;
use crate::fine_tune::fine_tune;

#[cfg(feature = "cli")]
pub(crate) mod cli;
pub mod data;
pub mod pipeline;
pub mod train;

pub use data::*;
pub use pipeline::*;
pub use train::multi_label_classification::*;
pub use train::regression::*;
pub use train::*;

/// [`fine_tune`] as a sequence classifier ([`SequenceClassification`]): the label set as
/// `run_glue.py` picks it (the checkpoint's `id2label` order when its names are the data's);
/// a label of `valid` outside it is an error.
pub fn fine_tune_classifier(
    model: &str,
    args: &TrainingConfig,
    train: &[TextExample],
    valid: &[TextExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedClassifier, Error> {
    fine_tune::<SequenceClassification>(
        model,
        args,
        train,
        valid,
        output,
        resume_from_epoch,
        device,
    )
}

/// [`fine_tune`] as a multi-label classifier ([`MultiLabelClassification`]): labels given as
/// lists (JSONL), a sigmoid per label trained with binary cross-entropy, scored with
/// scikit-learn's multi-label metrics (micro / macro / samples F1, subset accuracy).
pub fn fine_tune_multi_label_classifier(
    model: &str,
    args: &TrainingConfig,
    train: &[TextExample],
    valid: &[TextExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedMultiLabelClassifier, Error> {
    fine_tune::<MultiLabelClassification>(
        model,
        args,
        train,
        valid,
        output,
        resume_from_epoch,
        device,
    )
}

/// [`fine_tune`] as a regressor ([`SequenceRegression`]): one output trained with the mean
/// squared error on real-valued labels (`run_glue.py`'s STS-B), scored with MSE, MAE, Pearson
/// and Spearman; a label that is not a number is an error naming its file and line.
pub fn fine_tune_regressor(
    model: &str,
    args: &TrainingConfig,
    train: &[TextExample],
    valid: &[TextExample],
    output: &Path,
    resume_from_epoch: Option<usize>,
    device: &Device,
) -> Result<TrainedRegressor, Error> {
    fine_tune::<SequenceRegression>(model, args, train, valid, output, resume_from_epoch, device)
}
