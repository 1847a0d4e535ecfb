//! Fine-tuning extractive question answering (SQuAD) with Burn's learner: windows of the
//! question and the context with the answer's start and end tokens; in the dashboard the loss
//! and, after each epoch, the official exact match and F1 of the validation questions, whose
//! post-processed answers are scored again at the end.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::train::SupervisedTraining;
use burn::train::metric::{Adaptor, ItemLazy, LossInput, LossMetric, MetricName};
use crate::tasks::question_answering::data::{QaFeature, SquadExample, qa_features};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::{BertConfig, BertForQuestionAnswering, BertInput};
use serde::Serialize;

use crate::tasks::question_answering::squad::{
    Postprocess, PredictedAnswer, SquadMetric, SquadScore, SquadScores, WindowLogits,
};
use burnbert_train::step::{FineTuning, TaskModel, loss_input};
use burnbert_train::task::{HfTask, Task, Trained, export_hf, fine_tune};
use burnbert_train::loss::refuse_cross_entropy_options;
use burnbert_train::trainer::{Run, Watch};
use burnbert_train::{TrainError, TrainingConfig};

mod evaluate;

pub use evaluate::{StartEndLogits, evaluate_reader, feature_logits};

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
        loss_input(&self.loss, self.logits.features.len())
    }
}

impl TaskModel<QaBatch> for BertForQuestionAnswering {
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
pub type TrainedReader = Trained<QuestionAnswering>;

/// Extractive question answering (`run_qa.py`'s task): question + context windows of
/// `max_length` tokens overlapping by `doc_stride`, the answer's start and end tokens as
/// targets; the loss and, after each validation epoch, the official exact match and F1 of the
/// post-processed answers in the dashboard; the best epoch by `loss`, `exact_match` or `f1`.
#[derive(Debug, Clone, Default)]
pub struct QuestionAnswering {
    /// The validation questions and their windows, kept for the EM / F1 (set when they are
    /// encoded).
    valid: Arc<Vec<SquadExample>>,
    valid_features: Arc<Vec<QaFeature>>,
    options: Postprocess,
}

impl QuestionAnswering {
    fn squad(&self, score: SquadScore) -> SquadMetric {
        SquadMetric::new(
            score,
            self.valid.clone(),
            self.valid_features.clone(),
            self.options,
        )
    }
}

impl Task for QuestionAnswering {
    const NAME: &'static str = "question answering";
    const METRICS: &'static [&'static str] = &["loss", "exact_match", "f1"];
    type Model = BertForQuestionAnswering;
    type Batch = QaBatch;
    type Example = SquadExample;
    type Item = QaItem;
    type Batcher = QaBatcher;
    type Report = QaReport;

    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[SquadExample],
        args: &TrainingConfig,
    ) -> Result<Vec<QaItem>, TrainError> {
        refuse_cross_entropy_options(args, Self::NAME)?;
        let features = qa_features(tokenizer, examples, args.max_length, args.doc_stride)?;
        Ok(QaItem::of_features(&features))
    }

    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[SquadExample],
        args: &TrainingConfig,
    ) -> Result<Vec<QaItem>, TrainError> {
        let features = qa_features(tokenizer, examples, args.max_length, args.doc_stride)?;
        let items = QaItem::of_features(&features);
        self.valid = Arc::new(examples.to_vec());
        self.valid_features = Arc::new(features);
        self.options = Postprocess::for_examples(examples, args.null_score_diff_threshold as f32);
        Ok(items)
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> QaBatcher {
        QaBatcher {
            pad_id: tokenizer.pad_id(),
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>> {
        training
            .metrics((LossMetric::new(),))
            .metric_valid_numeric(self.squad(SquadScore::ExactMatch))
            .metric_valid_numeric(self.squad(SquadScore::F1))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        match metric_for_best_model {
            "exact_match" => Watch::highest(&self.squad(SquadScore::ExactMatch)),
            "f1" => Watch::highest(&self.squad(SquadScore::F1)),
            _ => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        config.clone()
    }

    fn evaluate(
        &self,
        model: &BertForQuestionAnswering,
        tokenizer: &BertTokenizer,
        examples: &[SquadExample],
        _items: &[QaItem],
        args: &TrainingConfig,
        _epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<QaReport, TrainError> {
        evaluate_reader(
            model,
            tokenizer,
            examples,
            &self.valid_features,
            args.per_device_eval_batch_size,
            self.options,
            device,
        )
    }

    fn save(
        &self,
        model: &BertForQuestionAnswering,
        config: &BertConfig,
        tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError> {
        export_hf(model, config, tokenizer_folder, out)
    }

    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)> {
        let name = |score: SquadScore| Arc::new(score.metric_name().to_string());
        vec![
            ("valid_exact_match_per_epoch", name(SquadScore::ExactMatch)),
            ("valid_f1_per_epoch", name(SquadScore::F1)),
        ]
    }

    fn summary_fields(&self, args: &TrainingConfig) -> Vec<(&'static str, serde_json::Value)> {
        let windows = Windows {
            max_length: args.max_length,
            doc_stride: args.doc_stride,
        };
        vec![(
            "windows",
            serde_json::to_value(windows).expect("plain data serializes"),
        )]
    }
}

impl HfTask for QuestionAnswering {
    /// `run_qa.py`'s task: nothing to take from the data or the checkpoint.
    fn from_data(
        _checkpoint: &BertConfig,
        _train: &[SquadExample],
        _valid: &[SquadExample],
    ) -> Result<Self, TrainError> {
        Ok(Self::default())
    }
}

/// Fine-tunes `model` on `train` questions (windows of `args.max_length` tokens overlapping by
/// `args.doc_stride`), validating the loss and the official EM / F1 on `valid` after every
/// epoch, then scores the chosen epoch's model (the last, or the best by `metric_for_best_model`:
/// `loss`, `exact_match` or `f1`) on `valid` and exports it: [`fine_tune`] with
/// [`QuestionAnswering`].
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
    let task = QuestionAnswering::default();
    fine_tune(
        task, args, config, model, tokenizer, train, valid, run, device,
    )
}
