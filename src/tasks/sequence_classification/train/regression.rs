//! Regression on texts or text pairs (STS-B's similarity scores): `run_glue.py`'s task when the
//! label column holds real numbers. One output (`num_labels` 1), or one per target when the
//! labels are lists of numbers; `problem_type` `regression`, the mean squared error over every
//! output as the loss (`MSELoss`); scored with MSE and MAE over every output (scikit-learn's
//! `uniform_average`), and Pearson's and Spearman's correlations as SciPy computes them (the
//! mean of each target's, with several) ([`burnbert_train::scipy`]).

use crate::batches::{Batch, Batches};
use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::train::SupervisedTraining;
use burn::train::metric::{LossMetric, Metric, MetricName};
use crate::tasks::sequence_classification::data::TextExample;
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::{BertConfig, BertForSequenceClassification, ProblemType, SequenceLabels};
use serde::Serialize;

use super::{FineTuning, SequenceBatch};
use burnbert_train::task::{HfTask, Task, Trained, export_hf};
use burnbert_train::epoch_metric::ValuePredictions;
use burnbert_train::loss::refuse_cross_entropy_options;
use burnbert_train::trainer::Watch;
use burnbert_train::{TrainError, TrainingConfig};

/// A tokenized example and its target.
#[derive(Debug, Clone)]
pub struct RegressionItem {
    /// WordPiece ids with `[CLS]`/`[SEP]`.
    pub input_ids: Vec<u32>,
    /// Segment ids.
    pub token_type_ids: Vec<u32>,
    /// The target values, one per output.
    pub targets: Vec<f32>,
}

burnbert_data::impl_encoded!(RegressionItem);

/// Tokenizes `examples` (truncated to `max_length`) with their labels read as `outputs`
/// numbers each; a label that is not a finite number, or a list of another length, is an error
/// naming its file and line.
pub fn encode_targets(
    tokenizer: &BertTokenizer,
    examples: &[TextExample],
    max_length: usize,
    outputs: usize,
) -> Result<Vec<RegressionItem>, TrainError> {
    examples
        .iter()
        .map(|e| {
            let targets = e.targets()?;
            if targets.len() != outputs {
                return Err(TrainError::Data(burnbert_data::DataError::Invalid {
                    file: e.location.file.clone(),
                    line: e.location.line,
                    message: format!(
                        "label `{}` has {} target(s), the regression {outputs}",
                        e.label,
                        targets.len()
                    ),
                }));
            }
            let encoding = e.encode(tokenizer, max_length)?;
            Ok(RegressionItem {
                input_ids: encoding.input_ids,
                token_type_ids: encoding.token_type_ids,
                targets,
            })
        })
        .collect()
}

/// Pads each batch to its own longest sequence; the targets as `[batch, outputs]`.
#[derive(Debug, Clone)]
pub struct RegressionBatcher {
    /// Id of `[PAD]`.
    pub pad_id: u32,
}

impl Batcher<RegressionItem, SequenceBatch> for RegressionBatcher {
    fn batch(&self, items: Vec<RegressionItem>, device: &Device) -> SequenceBatch {
        let batch = PaddedBatch::of_items(&items, self.pad_id);
        let width = items.first().map_or(1, |e| e.targets.len());
        let targets: Vec<f32> = items.iter().flat_map(|e| e.targets.clone()).collect();
        SequenceBatch {
            input: batch.to_input(device),
            labels: SequenceLabels::Targets(Tensor::from_data(
                TensorData::new(targets, [items.len(), width]),
                device,
            )),
            cross_entropy: Default::default(),
        }
    }
}

/// A regressor's scores on labelled examples: GLUE's STS-B metrics (Pearson, Spearman) and the
/// errors, each `None` where SciPy gives NaN (a constant prediction or target). With several
/// targets, MSE and MAE are over every output and the correlations the mean of each target's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressionReport {
    /// Mean squared error (the loss).
    pub mse: Option<f64>,
    /// Mean absolute error.
    pub mae: Option<f64>,
    /// Pearson's r of predictions and targets.
    pub pearson: Option<f64>,
    /// Spearman's rho of predictions and targets.
    pub spearmanr: Option<f64>,
    /// Examples scored.
    pub examples: usize,
    /// Outputs (targets) per example.
    pub outputs: usize,
}

/// What a training run gives back.
pub type TrainedRegressor = Trained<SequenceRegression>;

/// Regression with [`BertForSequenceClassification`] (an output per target, `problem_type`
/// `regression`): the MSE loss, MSE, MAE, Pearson and Spearman in the dashboard, the best epoch
/// by any of them.
#[derive(Debug, Clone)]
pub struct SequenceRegression {
    /// The outputs' names (`id2label`): the checkpoint's when it has as many, else `LABEL_i`.
    pub labels: Vec<String>,
}

impl Task for SequenceRegression {
    const NAME: &'static str = "regression";
    const METRICS: &'static [&'static str] = &["loss", "mse", "mae", "pearson", "spearmanr"];
    type Model = BertForSequenceClassification;
    type Batch = SequenceBatch;
    type Example = TextExample;
    type Item = RegressionItem;
    type Batcher = RegressionBatcher;
    type Report = RegressionReport;

    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<RegressionItem>, TrainError> {
        refuse_cross_entropy_options(args, Self::NAME)?;
        encode_targets(tokenizer, examples, args.max_length, self.labels.len())
    }

    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<RegressionItem>, TrainError> {
        encode_targets(tokenizer, examples, args.max_length, self.labels.len())
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> RegressionBatcher {
        RegressionBatcher {
            pad_id: tokenizer.pad_id(),
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>> {
        let [mse, mae, pearson, spearman] = ValuePredictions::metrics().map(|(_, metric)| metric);
        training.metrics((LossMetric::new(), mse, mae, pearson, spearman))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        match ValuePredictions::metrics()
            .into_iter()
            .find(|(name, _)| *name == metric_for_best_model)
        {
            Some((_, metric)) if metric.higher_is_better() => Watch::highest(&metric),
            Some((_, metric)) => Watch::lowest(&metric),
            None => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        let mut config = config.clone().with_labels(&self.labels);
        config.problem_type = Some(ProblemType::Regression);
        config
    }

    fn evaluate(
        &self,
        model: &BertForSequenceClassification,
        tokenizer: &BertTokenizer,
        _examples: &[TextExample],
        items: &[RegressionItem],
        args: &TrainingConfig,
        _epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<RegressionReport, TrainError> {
        Ok(evaluate_regressor(
            model,
            &self.batcher(tokenizer),
            items,
            args.per_device_eval_batch_size,
            device,
        ))
    }

    fn save(
        &self,
        model: &BertForSequenceClassification,
        config: &BertConfig,
        tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError> {
        export_hf(model, config, tokenizer_folder, out)
    }

    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)> {
        let [_, _, (_, pearson), (_, spearman)] = ValuePredictions::metrics();
        vec![
            ("valid_pearson_per_epoch", pearson.name()),
            ("valid_spearmanr_per_epoch", spearman.name()),
        ]
    }
}

impl HfTask for SequenceRegression {
    /// An output per target (one, as `run_glue.py` sets `num_labels = 1` for real-valued
    /// labels; as many as each list has), named as the checkpoint's when it has as many, else
    /// `LABEL_i`. A label of `train` that is not a finite number, or a list of another length
    /// than the first's, is an error naming its file and line (those of `valid` when they are
    /// encoded).
    fn from_data(
        checkpoint: &BertConfig,
        train: &[TextExample],
        _valid: &[TextExample],
    ) -> Result<Self, TrainError> {
        let outputs = match train.first() {
            Some(first) => first.targets()?.len(),
            None => 1,
        };
        for example in train {
            let targets = example.targets()?;
            if targets.len() != outputs {
                return Err(TrainError::Data(burnbert_data::DataError::Invalid {
                    file: example.location.file.clone(),
                    line: example.location.line,
                    message: format!(
                        "label `{}` has {} target(s), the first example {outputs}",
                        example.label,
                        targets.len()
                    ),
                }));
            }
        }
        let named = checkpoint.labels();
        let labels = if checkpoint.id2label.is_some() && named.len() == outputs {
            named
        } else {
            (0..outputs).map(|i| format!("LABEL_{i}")).collect()
        };
        Ok(Self { labels })
    }
}

/// Scores a regressor on encoded examples: its outputs against the targets (see
/// [`RegressionReport`]).
pub fn evaluate_regressor(
    model: &BertForSequenceClassification,
    batcher: &RegressionBatcher,
    items: &[RegressionItem],
    batch_size: usize,
    device: &Device,
) -> RegressionReport {
    let model = model.clone().fork(device);
    let outputs = items.first().map_or(1, |e| e.targets.len());
    let mut scores = ValuePredictions::default();
    let batches = Batches::new("eval", items, batch_size, |e| e.input_ids.len());
    for Batch { items: chunk, .. } in batches {
        scores.targets.extend(
            chunk
                .iter()
                .flat_map(|e| e.targets.iter().map(|&t| f64::from(t))),
        );
        let batch = batcher.batch(chunk, device);
        let [rows, _] = batch.input.input_ids.dims();
        let logits = model.forward(batch.input).slice([0..rows, 0..outputs]);
        let values = logits.into_data().convert::<f64>().try_to_vec::<f64>();
        scores.predictions.extend(values.expect("f64 after convert"));
    }
    scores.outputs = outputs;
    let finite = |v: f64| v.is_finite().then_some(v);
    RegressionReport {
        mse: finite(scores.mse()),
        mae: finite(scores.mae()),
        pearson: finite(scores.pearson()),
        spearmanr: finite(scores.spearmanr()),
        examples: items.len(),
        outputs,
    }
}
