//! Continued pre-training with Burn's learner: blocks of text masked anew in every epoch (the
//! draws seeded by the run's seed, the block and the epoch, so a resumed run masks as the
//! uninterrupted one), the decoder run on the masked tokens only, the loss and perplexity in
//! the dashboard, the validation blocks masked once for all epochs.

mod masking;

use crate::batches::{Batch, Batches};
use std::path::Path;
use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::tensor::ExecutionError;
use burn::train::SupervisedTraining;
use burn::train::metric::{
    Adaptor, ItemLazy, LossInput, LossMetric, Metric, MetricName, PerplexityInput,
    PerplexityMetric,
};
use burnbert_data::{BertTokenizer, DataError, Encoded, PaddedBatch};
use burnbert_model::loss::{CrossEntropyOptions, IGNORE_INDEX, cross_entropy_with};
use burnbert_model::{BertConfig, BertForMaskedLM, BertInput};
use burnbert_train::step::{FineTuning, TaskModel, loss_input};
use burnbert_train::task::{HfTask, Task, Trained, export_hf};
use burnbert_train::trainer::Watch;
use burnbert_train::{TrainError, TrainingConfig};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use crate::tasks::masked_lm::data::{TextBlock, TextDocument, group_texts, line_by_line};
pub use masking::{MaskedBlock, Masking};

/// A block to mask, with what seeds its draws.
#[derive(Debug, Clone)]
pub struct MaskedLMItem {
    /// The tokens and what masking needs of them.
    pub block: TextBlock,
    /// Its index in its set.
    pub index: usize,
    /// The training epoch it is drawn in (0 for validation: masked once for all epochs).
    pub epoch: usize,
}

impl Encoded for MaskedLMItem {
    fn input_ids(&self) -> &[u32] {
        &self.block.input_ids
    }
    fn token_type_ids(&self) -> &[u32] {
        &self.block.token_type_ids
    }
    fn set_epoch(&mut self, epoch: usize) {
        self.epoch = epoch;
    }
}

/// A padded batch of masked blocks.
#[derive(Debug, Clone)]
pub struct MaskedLMBatch {
    /// Model input (chosen tokens replaced), padded to the batch's longest block.
    pub input: BertInput,
    /// Flat positions `row · seq + column` of the chosen tokens, `[n]`.
    pub positions: Tensor<1, Int>,
    /// Their original ids, `[n]`.
    pub labels: Tensor<1, Int>,
    /// Blocks in the batch.
    pub rows: usize,
    /// Label smoothing ε of the loss.
    pub label_smoothing: f32,
}

/// Masks and pads blocks (see [`Masking`]).
#[derive(Debug, Clone)]
pub struct MaskedLMBatcher {
    /// The collator's settings.
    pub masking: Masking,
    /// The run's seed.
    pub seed: u64,
    /// Id of `[PAD]`.
    pub pad_id: u32,
    /// Id of `[MASK]`.
    pub mask_id: u32,
    /// Random replacements are drawn from `0..vocab_size`.
    pub vocab_size: usize,
    /// Label smoothing ε of the training loss.
    pub label_smoothing: f32,
}

impl MaskedLMBatcher {
    /// The masks of `items`, each drawn from its own generator: seeded by the run's seed, the
    /// block's index and the epoch. When no token of the batch was chosen (a few short
    /// blocks), its first maskable token is, as `[MASK]`: HF's loss would be NaN.
    pub fn mask(&self, items: &[MaskedLMItem]) -> Vec<MaskedBlock> {
        let mut masked: Vec<MaskedBlock> = items
            .iter()
            .map(|item| {
                let mut rng = StdRng::seed_from_u64(block_seed(self.seed, item.index, item.epoch));
                self.masking
                    .mask(&item.block, &mut rng, self.mask_id, self.vocab_size)
            })
            .collect();
        let none_chosen = masked
            .iter()
            .all(|m| m.labels.iter().all(|&l| l == IGNORE_INDEX));
        if none_chosen {
            let first = items.iter().enumerate().find_map(|(row, item)| {
                let column = item.block.special_tokens_mask.iter().position(|s| !s)?;
                Some((row, column))
            });
            if let Some((row, column)) = first {
                masked[row].labels[column] = i64::from(items[row].block.input_ids[column]);
                masked[row].input_ids[column] = self.mask_id;
            }
        }
        masked
    }
}

/// The seed of a block's draws in an epoch: the run's seed, the block and the epoch mixed
/// by odd multipliers (SplitMix64's), so that neighbouring blocks and epochs draw apart.
fn block_seed(seed: u64, index: usize, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (index as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)
        ^ (epoch as u64).wrapping_mul(0x94D0_49BB_1331_11EB)
}

impl Batcher<MaskedLMItem, MaskedLMBatch> for MaskedLMBatcher {
    fn batch(&self, items: Vec<MaskedLMItem>, device: &Device) -> MaskedLMBatch {
        let masked = self.mask(&items);
        let rows: Vec<(&[u32], &[u32])> = masked
            .iter()
            .zip(&items)
            .map(|(m, item)| (m.input_ids.as_slice(), item.block.token_type_ids.as_slice()))
            .collect();
        let batch = PaddedBatch::from_ids(&rows, self.pad_id).expect("blocks are never empty");
        let (mut positions, mut labels) = (Vec::new(), Vec::new());
        for (row, m) in masked.iter().enumerate() {
            for (column, &label) in m.labels.iter().enumerate() {
                if label != IGNORE_INDEX {
                    positions.push((row * batch.seq_len + column) as i64);
                    labels.push(label);
                }
            }
        }
        let n = positions.len();
        MaskedLMBatch {
            input: batch.to_input(device),
            positions: Tensor::from_data(TensorData::new(positions, [n]), device),
            labels: Tensor::from_data(TensorData::new(labels, [n]), device),
            rows: items.len(),
            label_smoothing: self.label_smoothing,
        }
    }
}

/// What a step gives the metrics.
pub struct MaskedLMStepOutput {
    /// Mean cross-entropy over the chosen tokens.
    pub loss: Tensor<1>,
    /// Logits at the chosen tokens, `[n, vocab]`.
    pub logits: Tensor<2>,
    /// Their original ids, `[n]`.
    pub labels: Tensor<1, Int>,
    /// Blocks in the batch.
    pub rows: usize,
}

impl ItemLazy for MaskedLMStepOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        Ok(Self {
            loss: self.loss.without_autodiff(),
            logits: self.logits.without_autodiff(),
            labels: self.labels.without_autodiff(),
            rows: self.rows,
        })
    }
}

impl Adaptor<LossInput> for MaskedLMStepOutput {
    fn adapt(&self) -> LossInput {
        loss_input(&self.loss, self.rows)
    }
}

impl Adaptor<PerplexityInput> for MaskedLMStepOutput {
    fn adapt(&self) -> PerplexityInput {
        PerplexityInput::new(self.logits.clone(), self.labels.clone())
    }
}

impl TaskModel<MaskedLMBatch> for BertForMaskedLM {
    type Output = MaskedLMStepOutput;
    const HEAD: &'static str = r"^model\.cls\.";

    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel {
        &mut self.bert
    }

    fn loss(&self, batch: MaskedLMBatch) -> (Tensor<1>, MaskedLMStepOutput) {
        let (loss, logits) = if batch.label_smoothing > 0.0 {
            let logits = self.forward_at(batch.input, batch.positions);
            let options = CrossEntropyOptions {
                weight: None,
                label_smoothing: batch.label_smoothing,
            };
            let loss =
                cross_entropy_with(logits.clone(), batch.labels.clone(), IGNORE_INDEX, &options);
            (loss, logits)
        } else {
            self.forward_masked(batch.input, batch.positions, batch.labels.clone())
        };
        (
            loss.clone(),
            MaskedLMStepOutput {
                loss,
                logits,
                labels: batch.labels,
                rows: batch.rows,
            },
        )
    }
}

/// A masked language model's scores on held-out text.
#[derive(Debug, Clone, Serialize)]
pub struct MaskedLMReport {
    /// Mean cross-entropy per masked token (nats).
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
    /// Tokens masked (and predicted).
    pub masked_tokens: usize,
    /// Blocks scored.
    pub blocks: usize,
}

/// Scores `model` on `items`, masked as [`MaskedLMBatcher`] masks validation blocks (the same
/// draws in every call), `batch_size` blocks per forward pass: the mean cross-entropy over all
/// masked tokens and its exponential, the perplexity.
///
/// # Errors
/// No block to score; a loss that is not finite.
pub fn evaluate_masked_lm(
    model: &BertForMaskedLM,
    batcher: &MaskedLMBatcher,
    items: &[MaskedLMItem],
    batch_size: usize,
    device: &Device,
) -> Result<MaskedLMReport, TrainError> {
    if items.is_empty() {
        return Err(TrainError::Data(DataError::EmptyBatch));
    }
    let (mut total, mut masked_tokens) = (0.0, 0);
    for Batch { items: chunk, .. } in Batches::new("eval", items, batch_size, |b| b.input_ids().len()) {
        let first = chunk[0].index;
        let batch = batcher.batch(chunk, device);
        let n = batch.labels.dims()[0];
        let (loss, _) = model.forward_masked(batch.input, batch.positions, batch.labels);
        let loss = f64::from(loss.into_scalar::<f32>());
        if !loss.is_finite() {
            return Err(TrainError::Learner(format!(
                "the masked-LM loss of a batch of validation blocks (block {} among them) is \
                 {loss}: the model's outputs are not finite",
                first
            )));
        }
        total += loss * n as f64;
        masked_tokens += n;
    }
    let loss = total / masked_tokens as f64;
    Ok(MaskedLMReport {
        loss,
        perplexity: loss.exp(),
        masked_tokens,
        blocks: items.len(),
    })
}

/// What a masked-LM run gives back.
pub type TrainedMaskedLM = Trained<MaskedLanguageModeling>;

/// Masked-language-model (continued) pre-training, `run_mlm.py`'s task: documents grouped
/// into blocks of `max_length` tokens (or one per line, `line_by_line`), masked as
/// `DataCollatorForLanguageModeling` (`mlm_probability`, `whole_word_mask`); the loss and
/// perplexity in the dashboard; the best epoch by `loss` or `perplexity`.
#[derive(Debug, Clone)]
pub struct MaskedLanguageModeling {
    /// The collator's settings, from the recipe.
    pub masking: Masking,
    /// The run's seed.
    pub seed: u64,
    /// Rows of the model's word embeddings: random replacements stay inside the table.
    pub vocab_size: usize,
    /// Id of `[MASK]`, from the tokenizer.
    pub mask_id: u32,
    /// Label smoothing ε of the loss (`label_smoothing_factor`: HF's `LabelSmoother` applies
    /// to the masked-LM loss too, over the vocabulary).
    pub label_smoothing: f32,
}

impl MaskedLanguageModeling {
    /// The task for a model of `vocab_size` tokens, with the default masking until the
    /// recipe is read.
    pub fn new(vocab_size: usize) -> Self {
        Self {
            masking: Masking::default(),
            seed: 0,
            vocab_size,
            mask_id: 0,
            label_smoothing: 0.0,
        }
    }

    fn encode(
        &mut self,
        tokenizer: &BertTokenizer,
        documents: &[TextDocument],
        args: &TrainingConfig,
    ) -> Result<Vec<MaskedLMItem>, TrainError> {
        self.mask_id = tokenizer
            .token_to_id("[MASK]")
            .ok_or_else(|| DataError::MissingSpecialToken {
                path: tokenizer.source().to_path_buf(),
                token: "[MASK]".into(),
            })?;
        self.vocab_size = self.vocab_size.min(tokenizer.vocab_size());
        self.seed = args.seed;
        if args.class_weights.is_some() {
            return Err(TrainError::Config {
                field: "class_weights",
                message: "weights classes of a label set; masked language modeling predicts \
                          the vocabulary and does not use it"
                    .into(),
            });
        }
        self.label_smoothing = args.label_smoothing_factor as f32;
        self.masking = Masking {
            mlm_probability: args.mlm_probability,
            whole_word_mask: args.whole_word_mask,
            ..Masking::default()
        };
        if args.whole_word_mask {
            // transformers 5.x: "Random token replacement is not supported with whole word
            // masking. Setting mask_replace_prob to 1."
            self.masking.mask_replace_prob = 1.0;
            self.masking.random_replace_prob = 0.0;
        }
        let blocks = if args.line_by_line {
            line_by_line(tokenizer, documents, args.max_length)?
        } else {
            group_texts(tokenizer, documents, args.max_length)?
        };
        // A block of special tokens only has nothing to predict (its loss would be 0 / 0).
        let items: Vec<MaskedLMItem> = blocks
            .into_iter()
            .filter(|b| b.special_tokens_mask.iter().any(|s| !s))
            .enumerate()
            .map(|(index, block)| MaskedLMItem {
                block,
                index,
                epoch: 0,
            })
            .collect();
        if items.is_empty() {
            let file = documents
                .first()
                .map(|d| d.location.file.clone())
                .unwrap_or_default();
            return Err(TrainError::Data(DataError::Invalid {
                file,
                line: 1,
                message: if args.line_by_line {
                    format!(
                        "no line with a token to mask: max_length {} leaves room for the special \
                         tokens only",
                        args.max_length
                    )
                } else {
                    format!(
                        "no block of {} tokens: the text is shorter than one block (pass a \
                         smaller max_length, or line_by_line)",
                        args.max_length
                    )
                },
            }));
        }
        Ok(items)
    }
}

impl Task for MaskedLanguageModeling {
    const NAME: &'static str = "masked language modeling";
    const METRICS: &'static [&'static str] = &["loss", "perplexity"];
    type Model = BertForMaskedLM;
    type Batch = MaskedLMBatch;
    type Example = TextDocument;
    type Item = MaskedLMItem;
    type Batcher = MaskedLMBatcher;
    type Report = MaskedLMReport;

    /// Groups (or keeps by line) and keeps the masking settings and seed of `args`.
    fn encode_train(
        &mut self,
        tokenizer: &BertTokenizer,
        documents: &[TextDocument],
        args: &TrainingConfig,
    ) -> Result<Vec<MaskedLMItem>, TrainError> {
        self.encode(tokenizer, documents, args)
    }

    fn encode_valid(
        &mut self,
        tokenizer: &BertTokenizer,
        documents: &[TextDocument],
        args: &TrainingConfig,
    ) -> Result<Vec<MaskedLMItem>, TrainError> {
        self.encode(tokenizer, documents, args)
    }

    fn batcher(&self, tokenizer: &BertTokenizer) -> MaskedLMBatcher {
        MaskedLMBatcher {
            masking: self.masking,
            seed: self.seed,
            pad_id: tokenizer.pad_id(),
            mask_id: self.mask_id,
            vocab_size: self.vocab_size,
            label_smoothing: self.label_smoothing,
        }
    }

    fn metrics(
        &self,
        training: SupervisedTraining<FineTuning<Self::Model, Self::Batch>>,
    ) -> SupervisedTraining<FineTuning<Self::Model, Self::Batch>> {
        training.metrics((LossMetric::new(), PerplexityMetric::new()))
    }

    fn watch(&self, metric_for_best_model: &str) -> Watch {
        match metric_for_best_model {
            "perplexity" => Watch::lowest(&PerplexityMetric::new()),
            _ => Watch::loss(),
        }
    }

    fn config(&self, config: &BertConfig) -> BertConfig {
        config.clone()
    }

    /// The chosen epoch's loss and perplexity over the validation blocks' masked tokens.
    fn evaluate(
        &self,
        model: &BertForMaskedLM,
        tokenizer: &BertTokenizer,
        _documents: &[TextDocument],
        items: &[MaskedLMItem],
        args: &TrainingConfig,
        _epoch_loss: Option<f64>,
        device: &Device,
    ) -> Result<MaskedLMReport, TrainError> {
        evaluate_masked_lm(
            model,
            &self.batcher(tokenizer),
            items,
            args.per_device_eval_batch_size,
            device,
        )
    }

    fn save(
        &self,
        model: &BertForMaskedLM,
        config: &BertConfig,
        tokenizer_folder: &Path,
        out: &Path,
    ) -> Result<(), TrainError> {
        export_hf(model, config, tokenizer_folder, out)
    }

    fn epoch_metrics(&self) -> Vec<(&'static str, MetricName)> {
        vec![(
            "valid_perplexity_per_epoch",
            Arc::new(PerplexityMetric::new().name().to_string()),
        )]
    }
}

impl HfTask for MaskedLanguageModeling {
    fn from_data(
        checkpoint: &BertConfig,
        _train: &[TextDocument],
        _valid: &[TextDocument],
    ) -> Result<Self, TrainError> {
        Ok(Self::new(checkpoint.vocab_size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(epoch: usize) -> Vec<MaskedLMItem> {
        (0..8)
            .map(|index| {
                let n = 40;
                MaskedLMItem {
                    block: TextBlock {
                        input_ids: (0..n).map(|i| 5 + ((i * 7 + index) % 50) as u32).collect(),
                        token_type_ids: vec![0; n],
                        special_tokens_mask: (0..n).map(|i| i == 0 || i == n - 1).collect(),
                        word_starts: (0..n).map(|i| i != 0 && i != n - 1).collect(),
                    },
                    index,
                    epoch,
                }
            })
            .collect()
    }

    fn batcher(seed: u64) -> MaskedLMBatcher {
        MaskedLMBatcher {
            masking: Masking::default(),
            seed,
            pad_id: 0,
            mask_id: 4,
            vocab_size: 60,
            label_smoothing: 0.0,
        }
    }

    #[test]
    fn each_epoch_draws_its_own_masks_and_replays_them() {
        let b = batcher(42);
        assert_eq!(b.mask(&items(2)), b.mask(&items(2)), "an epoch replays");
        assert_ne!(b.mask(&items(1)), b.mask(&items(2)), "epochs draw anew");
        assert_ne!(b.mask(&items(1)), batcher(43).mask(&items(1)), "seeds draw apart");
        let masked = b.mask(&items(1));
        assert_ne!(masked[0], masked[1], "blocks draw apart");
    }

    #[test]
    fn a_batch_carries_the_chosen_positions_and_their_ids() {
        let device = Device::flex();
        let items = items(1);
        let b = batcher(7);
        let masked = b.mask(&items);
        let batch = b.batch(items.clone(), &device);
        let positions: Vec<i64> = batch.positions.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        let labels: Vec<i64> = batch.labels.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        let seq = 40;
        let mut expected = (Vec::new(), Vec::new());
        for (row, m) in masked.iter().enumerate() {
            for (column, &label) in m.labels.iter().enumerate() {
                if label != -100 {
                    expected.0.push((row * seq + column) as i64);
                    expected.1.push(label);
                }
            }
        }
        assert!(!expected.0.is_empty());
        assert_eq!((positions, labels), expected);
        let ids: Vec<i64> = batch.input.input_ids.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        assert_eq!(ids[..seq], masked[0].input_ids.iter().map(|&i| i as i64).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn a_batch_with_no_draw_masks_its_first_maskable_token() {
        let b = MaskedLMBatcher {
            masking: Masking {
                mlm_probability: 1e-12,
                ..Masking::default()
            },
            ..batcher(0)
        };
        let masked = b.mask(&items(1)[..2]);
        assert_eq!(masked[0].labels[1], i64::from(items(1)[0].block.input_ids[1]));
        assert_eq!(masked[0].input_ids[1], 4);
        let chosen = masked.iter().flat_map(|m| &m.labels).filter(|&&l| l != -100).count();
        assert_eq!(chosen, 1);
    }

    #[test]
    fn whole_words_are_always_masked_and_class_weights_are_refused() {
        use crate::tasks::masked_lm::data::TextDocument;
        use burnbert_data::Location;
        let tokenizer = BertTokenizer::from_folder(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/tiny-bert-mlm"
        ))
        .unwrap();
        let documents = [TextDocument {
            text: "the movie was great and the story was fun".into(),
            location: Location {
                file: "d.txt".into(),
                line: 1,
            },
        }];
        let mut task = MaskedLanguageModeling::new(60);
        let args = TrainingConfig {
            whole_word_mask: true,
            max_length: 8,
            ..TrainingConfig::default()
        };
        task.encode_train(&tokenizer, &documents, &args).unwrap();
        assert_eq!(task.masking.mask_replace_prob, 1.0);
        assert_eq!(task.masking.random_replace_prob, 0.0);
        assert_eq!(task.mask_id, tokenizer.token_to_id("[MASK]").unwrap());
        let args = TrainingConfig {
            class_weights: Some(burnbert_train::ClassWeights::Given(vec![1.0, 2.0])),
            ..args
        };
        let err = task
            .encode_train(&tokenizer, &documents, &args)
            .unwrap_err()
            .to_string();
        assert!(err.contains("class_weights"), "{err}");
    }

    #[test]
    fn label_smoothing_reaches_the_masked_lm_loss() {
        let device = Device::flex();
        // The fixture's weights have a large spread: its predictions are far from uniform.
        let model = crate::from_pretrained::<BertForMaskedLM>(
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tiny-bert-mlm"),
            &device,
        )
        .unwrap()
        .model;
        let mut b = batcher(5);
        let plain = model.loss(b.batch(items(1), &device)).0;
        b.label_smoothing = 0.2;
        let batch = b.batch(items(1), &device);
        let logits = model.forward_at(batch.input.clone(), batch.positions.clone());
        let options = CrossEntropyOptions {
            weight: None,
            label_smoothing: 0.2,
        };
        let expected = cross_entropy_with(logits, batch.labels.clone(), IGNORE_INDEX, &options);
        let smoothed = model.loss(batch).0;
        let tolerance = burn::tensor::Tolerance::absolute(1e-6);
        smoothed
            .clone()
            .into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), tolerance);
        assert!((smoothed.into_scalar::<f32>() - plain.into_scalar::<f32>()).abs() > 1e-2);
    }
}
