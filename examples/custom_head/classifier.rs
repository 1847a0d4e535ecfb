//! A classifier of the user's own, as people hand-write one around `BertModel`: dropout and a
//! linear layer on the `[CLS]` hidden state, and a loss of their choosing. burnbert trains it
//! with its recipe, learner, checkpoints and metrics through its `Task` seam
//! (`burnbert::train::task`): [`BertClassifier`] says how a batch becomes a loss
//! (`TaskModel`), [`CustomClassification`] what the task encodes, shows, scores and saves.

use std::path::Path;

use burnbert::burn::nn::loss::CrossEntropyLossConfig;
use burnbert::burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burnbert::burn::prelude::*;
use burnbert::burn::train::metric::{AccuracyMetric, LossMetric, Metric, MetricName};
use burnbert::burn::train::{ClassificationOutput, SupervisedTraining};
use burnbert::data::BertTokenizer;
use burnbert::tasks::sequence_classification::{
    ClassificationBatch, ClassificationBatcher, EncodedExample, FineTuning, encode_examples,
};
use burnbert::tasks::sequence_classification::{LabelSet, TextExample};
use burnbert::train::step::TaskModel;
use burnbert::train::task::Task;
use burnbert::train::trainer::Watch;
use burnbert::train::{TrainError, TrainingConfig};
use burnbert::{BertConfig, BertInput, BertModel};

/// `BertModel` → `[CLS]` hidden state → dropout → linear.
#[derive(Module, Debug)]
pub struct BertClassifier {
    /// The pretrained encoder (its pooler unused, so dropped).
    pub bert: BertModel,
    /// Dropout on the `[CLS]` state, `hidden_dropout_prob`.
    pub dropout: Dropout,
    /// `[hidden, num_labels]`.
    pub classifier: Linear,
}

impl BertClassifier {
    /// `bert` (of `config`) under a fresh head of `num_labels` outputs, drawn from `device`'s
    /// generator.
    pub fn new(
        mut bert: BertModel,
        config: &BertConfig,
        num_labels: usize,
        device: &Device,
    ) -> Self {
        bert.pooler = None;
        Self {
            bert,
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
            classifier: LinearConfig::new(config.hidden_size, num_labels).init(device),
        }
    }

    /// Logits of each label.
    ///
    /// # Shapes
    /// - input: `[batch, seq]` tensors
    /// - output: `[batch, num_labels]`
    pub fn forward(&self, input: BertInput) -> Tensor<2> {
        let hidden = self.bert.forward(input).last_hidden_state;
        let [batch, _, width] = hidden.dims();
        let cls = hidden
            .slice([0..batch, 0..1, 0..width])
            .reshape([batch, width]);
        self.classifier.forward(self.dropout.forward(cls))
    }
}

impl TaskModel<ClassificationBatch> for BertClassifier {
    type Output = ClassificationOutput;
    const HEAD: &'static str = r"^model\.classifier\.";

    fn bert_mut(&mut self) -> &mut BertModel {
        &mut self.bert
    }

    /// Burn's cross-entropy, the loss of the user's choosing here.
    fn loss(&self, batch: ClassificationBatch) -> (Tensor<1>, ClassificationOutput) {
        let logits = self.forward(batch.input);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.labels.clone());
        (
            loss.clone(),
            ClassificationOutput::new(loss, logits, batch.labels),
        )
    }
}

/// The chosen model's accuracy on the validation texts.
#[derive(Debug, serde::Serialize)]
pub struct Accuracy {
    /// Fraction of the texts classified right.
    pub accuracy: f64,
    /// Texts scored.
    pub examples: usize,
}

/// Classifying texts into `labels` with a [`BertClassifier`].
pub struct CustomClassification {
    /// The label set, in id order.
    pub labels: LabelSet,
}

impl Task for CustomClassification {
    const NAME: &'static str = "custom classification";
    const METRICS: &'static [&'static str] = &["loss", "accuracy"];
    type Model = BertClassifier;
    type Batch = ClassificationBatch;
    type Example = TextExample;
    type Item = EncodedExample;
    type Batcher = ClassificationBatcher;
    type Report = Accuracy;

    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<EncodedExample>, TrainError> {
        encode_examples(tokenizer, examples, &self.labels, args.max_length)
    }

    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        examples: &[TextExample],
        args: &TrainingConfig,
    ) -> Result<Vec<EncodedExample>, TrainError> {
        self.encode_train(tokenizer, examples, args)
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> ClassificationBatcher {
        ClassificationBatcher {
            pad_id: tokenizer.pad_id(),
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<BertClassifier, ClassificationBatch>>,
    ) -> SupervisedTraining<FineTuning<BertClassifier, ClassificationBatch>> {
        training.metrics((AccuracyMetric::new(), LossMetric::new()))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        match metric_for_best_model {
            "accuracy" => Watch::highest(&AccuracyMetric::new()),
            _ => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        config.clone().with_labels(self.labels.names())
    }

    fn evaluate(
        &self,
        model: &BertClassifier,
        tokenizer: &BertTokenizer,
        _examples: &[TextExample],
        items: &[EncodedExample],
        args: &TrainingConfig,
        _epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<Accuracy, TrainError> {
        use burnbert::burn::data::dataloader::batcher::Batcher;
        let model = model.clone().fork(device);
        let batcher = self.batcher(tokenizer);
        let mut right = 0;
        for chunk in items.chunks(args.per_device_eval_batch_size.max(1)) {
            let batch = batcher.batch(chunk.to_vec(), device);
            let predicted = model.forward(batch.input).argmax(1).reshape([chunk.len()]);
            right += predicted
                .equal(batch.labels)
                .int()
                .sum()
                .into_scalar::<i64>() as usize;
        }
        Ok(Accuracy {
            accuracy: right as f64 / items.len().max(1) as f64,
            examples: items.len(),
        })
    }

    /// Burn's own record (`OUTPUT/model/model.bpk`): this model is no HF class.
    fn save(
        &self,
        model: &BertClassifier,
        _config: &BertConfig,
        _tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError> {
        let io = |source| TrainError::Io {
            path: out.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(out).map_err(io)?;
        // Written beside its place and renamed into it: the file is whole or absent.
        let partial = out.join(format!(".model.bpk.partial-{}", std::process::id()));
        model
            .clone()
            .save_file(&partial)
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
        std::fs::rename(&partial, out.join("model.bpk")).map_err(io)
    }

    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)> {
        vec![("valid_accuracy_per_epoch", AccuracyMetric::new().name())]
    }
}
