//! Fine-tuning a token classifier (NER) with Burn's learner: sentences cut into windows that
//! fit the model, the first piece of each word labelled, seqeval's entity scores in the
//! dashboard, and the model scored per sentence (windows merged back) at the end.

use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::train::SupervisedTraining;
use burn::train::metric::{Adaptor, ItemLazy, LossInput, LossMetric, MetricName};
use crate::tasks::token_classification::data::{
    TagSet, TaggedSentence, Window, align_labels, first_pieces, windows,
};
use burnbert_data::{BertTokenizer, PaddedBatch};
use burnbert_model::loss::{CrossEntropyOptions, IGNORE_INDEX, cross_entropy_with};
use burnbert_train::loss::cross_entropy_options;
use burnbert_model::{BertConfig, BertForTokenClassification, BertInput};

use crate::tasks::token_classification::seqeval::{SeqevalMetric, SeqevalReport, SeqevalScore, TagSequences};
use burnbert_train::step::{FineTuning, TaskModel, loss_input};
use burnbert_train::task::{HfTask, Task, Trained, export_hf, fine_tune};
use burnbert_train::trainer::{Run, Watch};
use burnbert_train::{TrainError, TrainingConfig};

mod tagging;

pub use tagging::{WordTag, evaluate_tagger};

/// A window of a sentence, tokenized, with its pieces' labels.
#[derive(Debug, Clone)]
pub struct EncodedWindow {
    /// WordPiece ids with `[CLS]`/`[SEP]`.
    pub input_ids: Vec<u32>,
    /// Segment ids (all 0).
    pub token_type_ids: Vec<u32>,
    /// One label per token: a tag id on labelled pieces, -100 elsewhere.
    pub labels: Vec<i64>,
    /// The sentence it comes from.
    pub sentence: usize,
    /// The window's first word in that sentence.
    pub first_word: usize,
    /// The token of each of the window's words' first piece.
    pub first_pieces: Vec<Option<usize>>,
}

burnbert_data::impl_encoded!(EncodedWindow);

/// Cuts `sentences` into windows of at most `max_length` tokens and labels their pieces (the
/// first piece of a word, or all with `label_all_tokens`); a tag outside `tags` is an error
/// naming its file and line.
pub fn encode_sentences(
    tokenizer: &BertTokenizer,
    sentences: &[TaggedSentence],
    tags: &TagSet,
    max_length: usize,
    label_all_tokens: bool,
) -> Result<Vec<EncodedWindow>, TrainError> {
    let continuation = tags.continuation();
    let continuation = label_all_tokens.then_some(continuation.as_slice());
    let mut encoded = Vec::new();
    for (index, sentence) in sentences.iter().enumerate() {
        let ids = tags.ids(sentence)?;
        for window in sentence_windows(tokenizer, sentence, max_length)? {
            let window_tags = &ids[window.first_word..window.first_word + window.words];
            encoded.push(EncodedWindow {
                labels: align_labels(&window.encoding.word_ids, window_tags, continuation),
                first_pieces: first_pieces(&window),
                input_ids: window.encoding.input_ids,
                token_type_ids: window.encoding.token_type_ids,
                sentence: index,
                first_word: window.first_word,
            });
        }
    }
    Ok(encoded)
}

fn sentence_windows(
    tokenizer: &BertTokenizer,
    sentence: &TaggedSentence,
    max_length: usize,
) -> Result<Vec<Window>, TrainError> {
    let words: Vec<&str> = sentence.words.iter().map(String::as_str).collect();
    windows(tokenizer, &words, max_length).map_err(|e| {
        TrainError::Data(burnbert_data::DataError::Invalid {
            file: sentence.location.file.clone(),
            line: sentence.location.line,
            message: e.to_string(),
        })
    })
}

/// A padded batch of windows and their labels.
#[derive(Debug, Clone)]
pub struct TokenClassificationBatch {
    /// Model input, padded to the batch's longest window.
    pub input: BertInput,
    /// Labels, `[batch, seq]`, -100 on padding.
    pub labels: Tensor<2, Int>,
    /// Class weights and label smoothing of the loss.
    pub cross_entropy: CrossEntropyOptions,
}

/// Pads each batch to its own longest window (dynamic padding).
#[derive(Debug, Clone)]
pub struct TokenClassificationBatcher {
    /// Id of `[PAD]`.
    pub pad_id: u32,
    /// Class weights and label smoothing of the loss.
    pub cross_entropy: CrossEntropyOptions,
}

impl Batcher<EncodedWindow, TokenClassificationBatch> for TokenClassificationBatcher {
    fn batch(&self, items: Vec<EncodedWindow>, device: &Device) -> TokenClassificationBatch {
        let batch = PaddedBatch::of_items(&items, self.pad_id);
        let mut labels = vec![IGNORE_INDEX; batch.batch_size * batch.seq_len];
        for (row, item) in items.iter().enumerate() {
            labels[row * batch.seq_len..row * batch.seq_len + item.labels.len()]
                .copy_from_slice(&item.labels);
        }
        TokenClassificationBatch {
            input: batch.to_input(device),
            labels: Tensor::from_data(
                TensorData::new(labels, [batch.batch_size, batch.seq_len]),
                device,
            ),
            cross_entropy: self.cross_entropy.clone(),
        }
    }
}

/// What a step gives the metrics.
pub struct TokenClassificationOutput {
    /// Mean loss over the labelled tokens.
    pub loss: Tensor<1>,
    /// `[batch, seq, tags]`.
    pub logits: Tensor<3>,
    /// `[batch, seq]`, -100 where not labelled.
    pub labels: Tensor<2, Int>,
}

impl ItemLazy for TokenClassificationOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            logits: self.logits.without_autodiff(),
            labels: self.labels.without_autodiff(),
        })
    }
}

impl Adaptor<LossInput> for TokenClassificationOutput {
    fn adapt(&self) -> LossInput {
        loss_input(&self.loss, self.labels.dims()[0])
    }
}

impl Adaptor<TagSequences> for TokenClassificationOutput {
    fn adapt(&self) -> TagSequences {
        let [batch, seq, _] = self.logits.dims();
        let predicted = ints(self.logits.clone().argmax(2).reshape([batch * seq]));
        let labels = ints(self.labels.clone().reshape([batch * seq]));
        let (mut gold, mut guess) = (Vec::new(), Vec::new());
        for row in 0..batch {
            let range = row * seq..(row + 1) * seq;
            let labelled = range.filter(|&i| labels[i] != IGNORE_INDEX);
            let (g, p): (Vec<usize>, Vec<usize>) = labelled
                .map(|i| (labels[i] as usize, predicted[i] as usize))
                .unzip();
            gold.push(g);
            guess.push(p);
        }
        TagSequences {
            gold,
            predicted: guess,
        }
    }
}

pub(crate) fn ints(t: Tensor<1, Int>) -> Vec<i64> {
    t.into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .expect("integer data")
}

impl TaskModel<TokenClassificationBatch> for BertForTokenClassification {
    type Output = TokenClassificationOutput;
    const HEAD: &'static str = r"^model\.classifier\.";

    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel {
        &mut self.bert
    }

    fn loss(&self, batch: TokenClassificationBatch) -> (Tensor<1>, TokenClassificationOutput) {
        let (loss, logits) = if batch.cross_entropy.is_plain() {
            let out = self.forward_with_labels(batch.input, batch.labels.clone());
            (out.loss.expect("labels were given"), out.logits)
        } else {
            let logits = self.forward(batch.input);
            let [b, seq, tags] = logits.dims();
            let loss = cross_entropy_with(
                logits.clone().reshape([b * seq, tags]),
                batch.labels.clone().reshape([b * seq]),
                IGNORE_INDEX,
                &batch.cross_entropy,
            );
            (loss, logits)
        };
        (
            loss.clone(),
            TokenClassificationOutput {
                loss,
                logits,
                labels: batch.labels,
            },
        )
    }
}

/// What a token-classification run gives back.
pub type TrainedTagger = Trained<TokenClassification>;

/// Token classification (`run_ner.py`'s task) into the tags of `tags`: sentences cut into
/// windows, the first piece of each word labelled (all pieces with `label_all_tokens`);
/// seqeval's entity P/R/F1 and the token accuracy in the dashboard; the best epoch by `loss`,
/// `accuracy` (token accuracy) or `f1` (entity F1).
#[derive(Debug, Clone)]
pub struct TokenClassification {
    /// The tag set, in id order.
    pub tags: TagSet,
    /// Class weights and label smoothing of the loss, set from the recipe and the training
    /// tags when they are encoded.
    pub cross_entropy: CrossEntropyOptions,
}

impl TokenClassification {
    /// The task over `tags`, with the plain loss until the training data is encoded.
    pub fn new(tags: TagSet) -> Self {
        Self {
            tags,
            cross_entropy: CrossEntropyOptions::default(),
        }
    }
}

impl Task for TokenClassification {
    const NAME: &'static str = "token classification";
    const METRICS: &'static [&'static str] = &["loss", "accuracy", "f1", "precision", "recall"];
    type Model = BertForTokenClassification;
    type Batch = TokenClassificationBatch;
    type Example = TaggedSentence;
    type Item = EncodedWindow;
    type Batcher = TokenClassificationBatcher;
    type Report = SeqevalReport;

    /// Encodes the sentences and sets the loss's class weights (from the labelled tokens' tags)
    /// and label smoothing from `args`.
    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        sentences: &[TaggedSentence],
        args: &TrainingConfig,
    ) -> Result<Vec<EncodedWindow>, TrainError> {
        let windows = encode_sentences(
            tokenizer,
            sentences,
            &self.tags,
            args.max_length,
            args.label_all_tokens,
        )?;
        let names = self.tags.names();
        let mut counts = vec![0; names.len()];
        for label in windows.iter().flat_map(|w| &w.labels) {
            if *label != IGNORE_INDEX {
                counts[*label as usize] += 1;
            }
        }
        self.cross_entropy = cross_entropy_options(args, &names, &counts)?;
        Ok(windows)
    }

    /// Validation windows label first pieces only, as seqeval scores words.
    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        sentences: &[TaggedSentence],
        args: &TrainingConfig,
    ) -> Result<Vec<EncodedWindow>, TrainError> {
        encode_sentences(tokenizer, sentences, &self.tags, args.max_length, false)
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> TokenClassificationBatcher {
        TokenClassificationBatcher {
            pad_id: tokenizer.pad_id(),
            cross_entropy: self.cross_entropy.clone(),
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>> {
        let names = self.tags.names();
        training.metrics((
            LossMetric::new(),
            SeqevalMetric::new(names.clone(), SeqevalScore::F1),
            SeqevalMetric::new(names.clone(), SeqevalScore::Precision),
            SeqevalMetric::new(names.clone(), SeqevalScore::Recall),
            SeqevalMetric::new(names, SeqevalScore::TokenAccuracy),
        ))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        let names = self.tags.names();
        match metric_for_best_model {
            "f1" => Watch::highest(&SeqevalMetric::new(names, SeqevalScore::F1)),
            "accuracy" => Watch::highest(&SeqevalMetric::new(names, SeqevalScore::TokenAccuracy)),
            "precision" => Watch::highest(&SeqevalMetric::new(names, SeqevalScore::Precision)),
            "recall" => Watch::highest(&SeqevalMetric::new(names, SeqevalScore::Recall)),
            _ => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        config.clone().with_labels(&self.tags.names())
    }

    /// Seqeval's scores of the sentences, with the chosen epoch's validation loss.
    fn evaluate(
        &self,
        model: &BertForTokenClassification,
        tokenizer: &BertTokenizer,
        sentences: &[TaggedSentence],
        _items: &[EncodedWindow],
        args: &TrainingConfig,
        epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<SeqevalReport, TrainError> {
        let mut report = evaluate_tagger(
            model,
            tokenizer,
            &self.tags,
            sentences,
            args.max_length,
            args.per_device_eval_batch_size,
            device,
        )?;
        report.loss = epoch_loss;
        Ok(report)
    }

    fn save(
        &self,
        model: &BertForTokenClassification,
        config: &BertConfig,
        tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError> {
        export_hf(model, config, tokenizer_folder, out)
    }

    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)> {
        vec![(
            "valid_entity_f1_per_epoch",
            Arc::new(SeqevalScore::F1.metric_name().to_string()),
        )]
    }
}

impl HfTask for TokenClassification {
    /// The tags of `train`, sorted (`run_ner.py`'s label list); a tag of `valid` outside them is
    /// an error naming its file and line.
    fn from_data(
        _checkpoint: &BertConfig,
        train: &[TaggedSentence],
        valid: &[TaggedSentence],
    ) -> Result<Self, TrainError> {
        let tags = TagSet::from_sentences(train)?;
        for sentence in valid {
            tags.ids(sentence)?;
        }
        Ok(Self::new(tags))
    }
}

/// Fine-tunes `model` (its config's labels set to `tags`) on `train`, validating on `valid`
/// after every epoch: [`fine_tune`] with [`TokenClassification`].
#[allow(clippy::too_many_arguments)]
pub fn train_token_classification(
    args: &TrainingConfig,
    config: &BertConfig,
    model: BertForTokenClassification,
    tokenizer: &BertTokenizer,
    tags: &TagSet,
    train: &[TaggedSentence],
    valid: &[TaggedSentence],
    run: Run<'_>,
    device: &Device,
) -> Result<TrainedTagger, TrainError> {
    let task = TokenClassification::new(tags.clone());
    fine_tune(
        task, args, config, model, tokenizer, train, valid, run, device,
    )
}
