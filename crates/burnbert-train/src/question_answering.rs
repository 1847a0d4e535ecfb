//! Fine-tuning extractive question answering (SQuAD) with Burn's learner: windows of the
//! question and the context with the answer's start and end tokens; in the dashboard the loss
//! and, after each epoch, the official exact match and F1 of the validation questions, whose
//! post-processed answers are scored again at the end.

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::train::SupervisedTraining;
use burn::train::metric::{Adaptor, ItemLazy, LearningRateMetric, LossInput, LossMetric};
use burnbert_data::question_answering::{QaFeature, SquadExample, qa_features};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::weights::save_folder;
use burnbert_model::{BertConfig, BertForQuestionAnswering, BertInput};
use serde::Serialize;

use crate::run::{Run, TaskModel, Watch, check_metric, fit, loaders, prepare};
use crate::squad::{
    Postprocess, PredictedAnswer, SquadMetric, SquadScore, SquadScores, WindowLogits, postprocess,
    squad_scores,
};
use crate::{TrainError, TrainingConfig};

/// A window with its answer positions, as the data loader holds it.
#[derive(Debug, Clone)]
pub struct QaItem {
    /// WordPiece ids.
    pub input_ids: Vec<u32>,
    /// Segment ids (0 question, 1 context).
    pub token_type_ids: Vec<u32>,
    /// Answer start token (0: not in this window).
    pub start_position: usize,
    /// Answer end token.
    pub end_position: usize,
    /// Index of the window in its set's features (for the EM / F1 of the validation set).
    pub feature: usize,
}

burnbert_data::impl_encoded!(QaItem);

impl QaItem {
    /// The items of `features`, in order.
    pub fn of_features(features: &[QaFeature]) -> Vec<Self> {
        features
            .iter()
            .enumerate()
            .map(|(feature, f)| Self {
                input_ids: f.encoding.input_ids.clone(),
                token_type_ids: f.encoding.token_type_ids.clone(),
                start_position: f.start_position,
                end_position: f.end_position,
                feature,
            })
            .collect()
    }
}

/// A padded batch of windows and their answer positions.
#[derive(Debug, Clone)]
pub struct QaBatch {
    /// Model input, padded to the batch's longest window.
    pub input: BertInput,
    /// `[batch]`.
    pub start_positions: Tensor<1, Int>,
    /// `[batch]`.
    pub end_positions: Tensor<1, Int>,
    /// Index of each window in its set's features.
    pub features: Vec<usize>,
}

/// Pads each batch to its own longest window.
#[derive(Debug, Clone)]
pub struct QaBatcher {
    /// Id of `[PAD]`.
    pub pad_id: u32,
}

impl Batcher<QaItem, QaBatch> for QaBatcher {
    fn batch(&self, items: Vec<QaItem>, device: &Device) -> QaBatch {
        let batch = PaddedBatch::of_items(&items, self.pad_id);
        let positions = |f: fn(&QaItem) -> usize| {
            let v: Vec<i64> = items.iter().map(|i| f(i) as i64).collect();
            Tensor::from_data(TensorData::new(v, [items.len()]), device)
        };
        QaBatch {
            input: batch.to_input(device),
            start_positions: positions(|i| i.start_position),
            end_positions: positions(|i| i.end_position),
            features: items.iter().map(|i| i.feature).collect(),
        }
    }
}

/// What a step gives the metrics.
pub struct QaOutput {
    /// Mean of the start and end cross-entropies.
    pub loss: Tensor<1>,
    /// The windows' logits, for the validation EM / F1.
    pub logits: WindowLogits,
}

impl ItemLazy for QaOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        let logits = self.logits;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            logits: WindowLogits {
                start_logits: logits.start_logits.without_autodiff(),
                end_logits: logits.end_logits.without_autodiff(),
                features: logits.features,
            },
        })
    }
}

impl Adaptor<WindowLogits> for QaOutput {
    fn adapt(&self) -> WindowLogits {
        self.logits.clone()
    }
}

impl Adaptor<LossInput> for QaOutput {
    fn adapt(&self) -> LossInput {
        LossInput::new(self.loss.clone())
    }
}

impl TaskModel for BertForQuestionAnswering {
    type Batch = QaBatch;
    type Output = QaOutput;
    const HEAD: &'static str = r"^model\.qa_outputs\.";

    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel {
        &mut self.bert
    }

    fn loss(&self, batch: QaBatch) -> (Tensor<1>, QaOutput) {
        let out = self.forward_with_labels(batch.input, batch.start_positions, batch.end_positions);
        let loss = out.loss.expect("positions were given");
        let logits = WindowLogits {
            start_logits: out.start_logits.detach(),
            end_logits: out.end_logits.detach(),
            features: batch.features,
        };
        (loss.clone(), QaOutput { loss, logits })
    }
}

/// Window sizes of QA features (`transformers`' `max_length` and `doc_stride`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Windows {
    /// Tokens per window, question included (384).
    pub max_length: usize,
    /// Overlap of consecutive windows, in tokens (128).
    pub doc_stride: usize,
}

impl Default for Windows {
    fn default() -> Self {
        Self {
            max_length: 384,
            doc_stride: 128,
        }
    }
}

/// Scores of a QA model: the official EM / F1 and its answers.
#[derive(Debug, Clone, Serialize)]
pub struct QaReport {
    /// EM and F1 in percent.
    pub scores: SquadScores,
    /// Windows read.
    pub features: usize,
    /// One answer per question, in order.
    #[serde(skip)]
    pub predictions: Vec<PredictedAnswer>,
}

/// What a QA run gives back.
#[derive(Debug)]
pub struct TrainedReader {
    /// The exported model.
    pub model: BertForQuestionAnswering,
    /// Its config.
    pub config: BertConfig,
    /// The epoch the exported model comes from (1-based).
    pub epoch: usize,
    /// Its scores on the validation questions.
    pub report: QaReport,
    /// The HF folder written.
    pub exported: std::path::PathBuf,
}

#[derive(Serialize)]
struct Summary<'a> {
    epoch: usize,
    epochs_run: usize,
    windows: Windows,
    valid: &'a QaReport,
    valid_loss_per_epoch: Vec<Option<f64>>,
    valid_exact_match_per_epoch: Vec<Option<f64>>,
    valid_f1_per_epoch: Vec<Option<f64>>,
}

/// Fine-tunes `model` on `train` questions (windows of `args.max_length` tokens overlapping by
/// `args.doc_stride`), validating the loss and the official EM / F1 on `valid` after every
/// epoch, then scores the chosen epoch's model (the last, or the best by `metric_for_best_model`:
/// `loss`, `exact_match` or `f1`) on `valid` and exports it.
#[allow(clippy::too_many_arguments)]
pub fn train_question_answering(
    args: &TrainingConfig,
    config: &BertConfig,
    model: BertForQuestionAnswering,
    tokenizer: &BertTokenizer,
    train: &[SquadExample],
    valid: &[SquadExample],
    run: Run<'_>,
    device: &Device,
) -> Result<TrainedReader, TrainError> {
    check_metric(args, "question answering", &["loss", "exact_match", "f1"])?;
    let watched = match args.metric_for_best_model.as_str() {
        "exact_match" => Some(SquadScore::ExactMatch),
        "f1" => Some(SquadScore::F1),
        _ => None,
    };
    let dir = prepare(args, &run, train.len(), valid.len())?;
    let windows = Windows {
        max_length: args.max_length,
        doc_stride: args.doc_stride,
    };
    let train_features = qa_features(tokenizer, train, windows.max_length, windows.doc_stride)?;
    let train_items = QaItem::of_features(&train_features);
    drop(train_features);
    let valid_features = Arc::new(qa_features(
        tokenizer,
        valid,
        windows.max_length,
        windows.doc_stride,
    )?);
    let valid_items = QaItem::of_features(&valid_features);
    let batcher = QaBatcher {
        pad_id: tokenizer.pad_id(),
    };
    let examples = train_items.len();
    let (loader_train, loader_valid) = loaders(
        train_items,
        valid_items,
        batcher,
        args,
        dir.resume_from_epoch(),
        device,
    );
    let options = Postprocess::for_examples(valid, args.null_score_diff_threshold as f32);
    let valid_examples = Arc::new(valid.to_vec());
    let squad = |score| {
        SquadMetric::new(
            score,
            valid_examples.clone(),
            valid_features.clone(),
            options,
        )
    };
    let training = SupervisedTraining::new(dir.path(), loader_train, loader_valid)
        .metrics((LossMetric::new(),))
        .metric_valid_numeric(squad(SquadScore::ExactMatch))
        .metric_valid_numeric(squad(SquadScore::F1))
        .metric_train_numeric(LearningRateMetric::new());
    let watch = match watched {
        Some(score) => Watch::highest(&squad(score)),
        None => Watch::loss(),
    };
    let fitted = fit(args, &dir, training, watch, examples, model, device)?;
    let model = fitted.model;
    let report = evaluate_reader(
        &model,
        tokenizer,
        valid,
        &valid_features,
        args.per_device_eval_batch_size,
        options,
        &device.clone().inner(),
    )?;
    let exported = dir.export_dir();
    save_folder(&model, config, run.tokenizer_folder, &exported)?;
    dir.write_json(
        "metrics.json",
        &Summary {
            epoch: fitted.epoch,
            epochs_run: fitted.epochs_run,
            windows,
            valid: &report,
            valid_loss_per_epoch: fitted.losses,
            valid_exact_match_per_epoch: dir.record().values(SquadScore::ExactMatch.metric_name()),
            valid_f1_per_epoch: dir.record().values(SquadScore::F1.metric_name()),
        },
    )?;
    Ok(TrainedReader {
        model,
        config: config.clone(),
        epoch: fitted.epoch,
        report,
        exported,
    })
}

/// The start logits and the end logits of one window, `[seq]` each.
pub type StartEndLogits = (Vec<f32>, Vec<f32>);

/// The start and end logits of every feature, in batches.
pub fn feature_logits(
    model: &BertForQuestionAnswering,
    tokenizer: &BertTokenizer,
    features: &[QaFeature],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<StartEndLogits>, TrainError> {
    let mut logits = Vec::with_capacity(features.len());
    for chunk in features.chunks(batch_size.max(1)) {
        let encodings: Vec<_> = chunk.iter().map(|f| f.encoding.clone()).collect();
        let batch = PaddedBatch::new(&encodings, tokenizer.pad_id())?;
        let (start, end) = model.forward(batch.to_input(device));
        let [b, seq] = start.dims();
        let floats = |t: Tensor<2>| {
            t.into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("floats")
        };
        let (start, end) = (floats(start), floats(end));
        for row in 0..b {
            logits.push((
                start[row * seq..(row + 1) * seq].to_vec(),
                end[row * seq..(row + 1) * seq].to_vec(),
            ));
        }
    }
    Ok(logits)
}

/// Answers `examples` (whose windows are `features`) and scores the answers with the official
/// SQuAD EM / F1.
pub fn evaluate_reader(
    model: &BertForQuestionAnswering,
    tokenizer: &BertTokenizer,
    examples: &[SquadExample],
    features: &[QaFeature],
    batch_size: usize,
    options: Postprocess,
    device: &Device,
) -> Result<QaReport, TrainError> {
    let model = model.clone().fork(device);
    let logits = feature_logits(&model, tokenizer, features, batch_size, device)?;
    let predictions = postprocess(examples, features, &logits, options);
    Ok(QaReport {
        scores: squad_scores(examples, &predictions),
        features: features.len(),
        predictions,
    })
}
