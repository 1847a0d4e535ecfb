//! A training data loader whose epochs can be replayed, and whose Burn epochs are the run's
//! validation intervals.
//!
//! Burn's `DataLoaderBuilder::shuffle(seed)` draws every epoch from one generator that runs on
//! across epochs, and its learner, resumed from a checkpoint, starts that generator (and the
//! device's, which draws dropout masks) afresh: a resumed run sees other orders and masks than
//! an uninterrupted one. Here epoch `e`'s order depends only on `(seed, e)`, and the dropout
//! generator is seeded at the start of each Burn epoch from `(seed, that epoch)`.
//!
//! Burn's learner validates (and checkpoints, and stops early) once per epoch of its loader.
//! HF's `eval_strategy = "steps"` validates every `eval_steps` optimizer steps, across epoch
//! ends; so one Burn epoch of this loader is one validation interval ("round", a [`StepPlan`]):
//! a pass over the data with `eval_strategy = "epoch"`, else `eval_steps` optimizer steps, taken
//! from as many passes as they span. A resume from any round's checkpoint then replays the
//! rest of the run.
//!
//! It also groups examples of similar length into batches (`group_by_length`, HF's
//! `LengthGroupedSampler`). Written here because Burn has no per-epoch seeding and no
//! step-based validation; it plugs into Burn's learner through Burn's `DataLoader` trait.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::prelude::*;
use burnbert_data::Encoded;
use burnbert_data::split::seeded_shuffle;

use crate::TrainingConfig;

/// HF's `LengthGroupedSampler` sorts by length within groups of 50 batches.
const MEGA_BATCH: usize = 50;

/// How a run's optimizer steps lie on its batches, as HF's `Trainer` lays them: an epoch's
/// batches are grouped `accumulation` at a time into optimizer steps, the epoch's last step
/// taking what is left; the steps run on across epochs, `steps_per_round` of them between
/// validations (the last round ends with the run's last step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPlan {
    /// Batches of a pass over the training set.
    pub batches_per_epoch: usize,
    /// Batches per optimizer step.
    pub accumulation: usize,
    /// Optimizer steps between validations.
    pub steps_per_round: usize,
    /// Optimizer steps of the run.
    pub total_steps: usize,
}

/// One batch of a round: its epoch (1-based), its index among the epoch's batches, and
/// whether it ends an optimizer step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedBatch {
    /// The pass over the data it belongs to (1-based).
    pub epoch: usize,
    /// Its index among that pass's batches.
    pub index: usize,
    /// Whether the optimizer steps after it.
    pub ends_step: bool,
}

impl StepPlan {
    /// The plan of a run of `args` on `examples` training examples.
    pub fn new(args: &TrainingConfig, examples: usize) -> Self {
        Self {
            batches_per_epoch: examples.div_ceil(args.per_device_train_batch_size.max(1)),
            accumulation: args.gradient_accumulation_steps.max(1),
            steps_per_round: args.steps_per_evaluation(examples).max(1),
            total_steps: args.total_steps(examples),
        }
    }

    /// Optimizer steps of an epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.batches_per_epoch.div_ceil(self.accumulation).max(1)
    }

    /// Rounds (validation intervals) of the run.
    pub fn rounds(&self) -> usize {
        self.total_steps.div_ceil(self.steps_per_round)
    }

    /// The optimizer steps (0-based) of round `round` (1-based).
    pub fn round_steps(&self, round: usize) -> Range<usize> {
        let start = round.saturating_sub(1).saturating_mul(self.steps_per_round);
        let end = round.saturating_mul(self.steps_per_round);
        start.min(self.total_steps)..end.min(self.total_steps)
    }

    /// The epoch (1-based) of step `step` (0-based) and the indices of its batches there.
    pub fn step_batches(&self, step: usize) -> (usize, Range<usize>) {
        let per_epoch = self.steps_per_epoch();
        let k = step % per_epoch;
        let start = k * self.accumulation;
        let end = ((k + 1) * self.accumulation).min(self.batches_per_epoch);
        (step / per_epoch + 1, start..end)
    }

    /// The batches of round `round` (1-based), in the order they train.
    pub fn round_batches(&self, round: usize) -> Vec<PlannedBatch> {
        let mut batches = Vec::new();
        for step in self.round_steps(round) {
            let (epoch, range) = self.step_batches(step);
            let last = range.end.saturating_sub(1);
            batches.extend(range.map(|index| PlannedBatch {
                epoch,
                index,
                ends_step: index == last,
            }));
        }
        batches
    }
}

/// Batches of a shuffled, in-memory training set; see the module docs.
pub struct EpochLoader<I, O> {
    items: Arc<Vec<I>>,
    lengths: Option<Arc<Vec<usize>>>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    seed: u64,
    /// Rounds started so far (shared by the copies `to_device` and `slice` make).
    round: Arc<AtomicUsize>,
    device: Device,
    range: Option<Range<usize>>,
    plan: StepPlan,
}

impl<I: Clone + Send + Sync + 'static, O: 'static> EpochLoader<I, O> {
    /// A loader of `items` in batches of `batch_size`, shuffled from `seed` every epoch, one
    /// epoch per round until [`Self::plan`] sets other rounds. `completed_rounds` is the number
    /// of rounds already run (a resumed run's checkpoint).
    pub fn new(
        items: Vec<I>,
        batcher: impl Batcher<I, O> + 'static,
        batch_size: usize,
        seed: u64,
        completed_rounds: usize,
        device: &Device,
    ) -> Self {
        let batch_size = batch_size.max(1);
        let batches_per_epoch = items.len().div_ceil(batch_size);
        Self {
            items: Arc::new(items),
            lengths: None,
            batcher: Arc::new(batcher),
            batch_size,
            seed,
            round: Arc::new(AtomicUsize::new(completed_rounds)),
            device: device.clone(),
            range: None,
            plan: StepPlan {
                batches_per_epoch,
                accumulation: 1,
                steps_per_round: batches_per_epoch.max(1),
                total_steps: usize::MAX,
            },
        }
    }

    /// Runs the rounds of `plan` (made for these items and batch size): its validation
    /// intervals, accumulation groups and last step.
    pub fn plan(mut self, plan: StepPlan) -> Self {
        debug_assert_eq!(
            plan.batches_per_epoch,
            self.items.len().div_ceil(self.batch_size)
        );
        self.plan = plan;
        self
    }

    /// Groups items of similar `lengths` (one per item) into the same batches, as HF's
    /// `group_by_length`: shuffled, then sorted longest first within groups of 50 batches.
    pub fn group_by_length(mut self, lengths: Vec<usize>) -> Self {
        assert_eq!(lengths.len(), self.items.len(), "one length per item");
        self.lengths = Some(Arc::new(lengths));
        self
    }

    /// The seed of epoch (or round) `epoch` (1-based): splitmix of the run's seed and it.
    pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (epoch as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9)
    }

    /// The order of the items in epoch `epoch` (1-based).
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.items.len()).collect();
        seeded_shuffle(&mut order, Self::epoch_seed(self.seed, epoch));
        if let Some(lengths) = &self.lengths {
            let group = self.batch_size * MEGA_BATCH;
            for chunk in order.chunks_mut(group) {
                chunk.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
            }
            // The longest item first, so that a batch too large for memory fails at once.
            if let Some(longest) =
                (0..order.len()).max_by_key(|&k| (lengths[order[k]], std::cmp::Reverse(k)))
            {
                order.swap(0, longest);
            }
        }
        order
    }

    /// The batches of round `round` (1-based): each one's epoch, item indices, and whether it
    /// ends a step short of `accumulation` batches before the round ends.
    fn round_batches(&self, round: usize) -> Vec<RoundBatch> {
        let mut orders: Vec<(usize, Vec<usize>)> = Vec::new();
        let planned = self.plan.round_batches(round);
        let count = planned.len();
        let mut batches = Vec::with_capacity(count);
        for (k, batch) in planned.into_iter().enumerate() {
            if orders.last().is_none_or(|(e, _)| *e != batch.epoch) {
                orders.push((batch.epoch, self.order(batch.epoch)));
            }
            let order = &orders.last().expect("pushed above").1;
            let start = (batch.index * self.batch_size).min(order.len());
            let end = (start + self.batch_size).min(order.len());
            batches.push(RoundBatch {
                epoch: batch.epoch,
                items: order[start..end].to_vec(),
                short_step: batch.ends_step
                    && k + 1 < count
                    && batch.index + 1 == self.plan.batches_per_epoch
                    && !self
                        .plan
                        .batches_per_epoch
                        .is_multiple_of(self.plan.accumulation),
            });
        }
        if let Some(range) = &self.range {
            // Burn's multi-device strategies split a round's items.
            let mut seen = 0;
            for batch in &mut batches {
                let first = seen;
                seen += batch.items.len();
                let keep = range.start.max(first).min(seen) - first
                    ..range.end.max(first).min(seen) - first;
                batch.items = batch.items[keep].to_vec();
            }
            batches.retain(|b| !b.items.is_empty());
        }
        batches
    }
}

/// A batch of a round (see [`EpochLoader::round_batches`]).
struct RoundBatch {
    epoch: usize,
    items: Vec<usize>,
    short_step: bool,
}

// By hand: `derive(Clone)` would ask the batch type `O` to be `Clone` too.
impl<I, O> Clone for EpochLoader<I, O> {
    fn clone(&self) -> Self {
        Self {
            items: self.items.clone(),
            lengths: self.lengths.clone(),
            batcher: self.batcher.clone(),
            batch_size: self.batch_size,
            seed: self.seed,
            round: self.round.clone(),
            device: self.device.clone(),
            range: self.range.clone(),
            plan: self.plan,
        }
    }
}

impl<I: Clone + Encoded + Send + Sync + 'static, O: Send + 'static> DataLoader<O>
    for EpochLoader<I, O>
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let round = self.round.fetch_add(1, Ordering::SeqCst) + 1;
        // Dropout masks of this round are drawn from the same state as in an uninterrupted run.
        self.device
            .seed(Self::epoch_seed(self.seed, round).rotate_left(17));
        let batches = self.round_batches(round);
        let total = batches.iter().map(|b| b.items.len()).sum();
        Box::new(EpochIter {
            loader: self,
            batches,
            next: 0,
            processed: 0,
            total,
        })
    }

    fn num_items(&self) -> usize {
        let round = (self.round.load(Ordering::SeqCst) + 1).min(self.plan.rounds().max(1));
        self.round_batches(round)
            .iter()
            .map(|b| b.items.len())
            .sum()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            device: device.clone(),
            ..self.clone()
        })
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self {
            range: Some(start..end),
            ..self.clone()
        })
    }
}

struct EpochIter<'a, I, O> {
    loader: &'a EpochLoader<I, O>,
    batches: Vec<RoundBatch>,
    next: usize,
    processed: usize,
    total: usize,
}

impl<I: Clone + Encoded, O> Iterator for EpochIter<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.batches.get(self.next)?;
        self.next += 1;
        self.processed += batch.items.len();
        let items = batch
            .items
            .iter()
            .map(|&i| {
                let mut item = self.loader.items[i].clone();
                item.set_epoch(batch.epoch);
                item
            })
            .collect();
        Some(Ok(self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I: Clone + Encoded, O> DataLoaderIterator<O> for EpochIter<'_, I, O> {
    /// Items of the round so far. After a batch that ends an epoch's short last step inside
    /// the round, the progress reads complete: Burn's learner ends a gradient-accumulation
    /// group at a completed progress (or after `accumulation` batches), and HF's `Trainer`
    /// ends one at each epoch's end.
    fn progress(&self) -> Progress {
        let short_step = self
            .next
            .checked_sub(1)
            .and_then(|k| self.batches.get(k))
            .is_some_and(|b| b.short_step);
        let processed = if short_step {
            self.total
        } else {
            self.processed
        };
        Progress::new(processed, self.total, Some("items".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An item that is its index.
    #[derive(Clone, Debug)]
    struct Id(usize);
    impl Encoded for Id {
        fn input_ids(&self) -> &[u32] {
            &[]
        }
        fn token_type_ids(&self) -> &[u32] {
            &[]
        }
    }
    fn ids(n: usize) -> Vec<Id> {
        (0..n).map(Id).collect()
    }

    #[derive(Clone)]
    struct Ids;
    impl Batcher<Id, Vec<usize>> for Ids {
        fn batch(&self, items: Vec<Id>, _device: &Device) -> Vec<usize> {
            items.into_iter().map(|i| i.0).collect()
        }
    }

    fn epoch_batches(loader: &EpochLoader<Id, Vec<usize>>) -> Vec<Vec<usize>> {
        loader.iter().map(|b| b.unwrap()).collect()
    }

    #[test]
    fn a_resumed_loader_replays_the_epochs_of_an_uninterrupted_one() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let full = EpochLoader::new(ids(10), Ids, 3, 7, 0, &device);
        let first = epoch_batches(&full);
        let second = epoch_batches(&full);
        assert_ne!(first, second, "each epoch has its own order");
        assert_eq!(first.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
        let mut all: Vec<usize> = first.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let resumed = EpochLoader::new(ids(10), Ids, 3, 7, 1, &device);
        assert_eq!(epoch_batches(&resumed), second);
        let other_seed = EpochLoader::new(ids(10), Ids, 3, 8, 0, &device);
        assert_ne!(epoch_batches(&other_seed), first);
    }

    fn plan(batches_per_epoch: usize, accumulation: usize, round: usize, total: usize) -> StepPlan {
        StepPlan {
            batches_per_epoch,
            accumulation,
            steps_per_round: round,
            total_steps: total,
        }
    }

    #[test]
    fn the_last_round_ends_with_the_last_step() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        // 4 batches an epoch, max_steps 6 (epoch rounds): the second epoch stops after 2.
        let loader = EpochLoader::new(ids(10), Ids, 3, 7, 0, &device).plan(plan(4, 1, 4, 6));
        assert_eq!(epoch_batches(&loader).len(), 4);
        assert_eq!(epoch_batches(&loader).len(), 2);
        assert_eq!(epoch_batches(&loader).len(), 0);
    }

    #[test]
    fn step_rounds_run_across_epochs_and_replay_after_resume() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let by_epoch = EpochLoader::new(ids(10), Ids, 3, 7, 0, &device);
        let epochs = [epoch_batches(&by_epoch), epoch_batches(&by_epoch)].concat();
        // Validation every 3 steps, 8 steps in all: rounds of 3, 3 and 2 batches.
        let every3 = plan(4, 1, 3, 8);
        let loader = EpochLoader::new(ids(10), Ids, 3, 7, 0, &device).plan(every3);
        let rounds: Vec<_> = (0..3).map(|_| epoch_batches(&loader)).collect();
        assert_eq!(rounds.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 2]);
        assert_eq!(
            rounds.concat(),
            epochs,
            "the same batches as epoch by epoch"
        );
        let resumed = EpochLoader::new(ids(10), Ids, 3, 7, 2, &device).plan(every3);
        assert_eq!(epoch_batches(&resumed), rounds[2]);
    }

    #[test]
    fn an_epochs_short_last_step_ends_its_accumulation_group() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        // 4 batches an epoch, 3 per step: steps [0 1 2] [3] | [0 1 2] [3]; rounds of 3 steps.
        let p = plan(4, 3, 3, 4);
        assert_eq!(p.steps_per_epoch(), 2);
        assert_eq!(p.rounds(), 2);
        let ends: Vec<(usize, usize, bool)> = p
            .round_batches(1)
            .iter()
            .map(|b| (b.epoch, b.index, b.ends_step))
            .collect();
        assert_eq!(
            ends,
            [
                (1, 0, false),
                (1, 1, false),
                (1, 2, true),
                (1, 3, true),
                (2, 0, false),
                (2, 1, false),
                (2, 2, true)
            ]
        );
        let loader = EpochLoader::new(ids(10), Ids, 3, 7, 0, &device).plan(p);
        let mut iter = loader.iter();
        let mut completed = Vec::new();
        while iter.next().is_some() {
            completed.push(iter.progress().is_completed());
        }
        // Burn's learner steps after 3 batches, at the epoch's end, and at the round's end.
        assert_eq!(completed, [false, false, false, true, false, false, true]);
        assert_eq!(epoch_batches(&loader).len(), 1);
    }

    #[test]
    fn dropout_draws_replay_after_resume() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let draw =
            || Tensor::<1>::random([6], burn::tensor::Distribution::Default, &device).into_data();
        let full = EpochLoader::new(ids(4), Ids, 2, 3, 0, &device);
        drop(full.iter());
        drop(full.iter());
        let second = draw();
        let resumed = EpochLoader::new(ids(4), Ids, 2, 3, 1, &device);
        drop(resumed.iter());
        assert_eq!(draw(), second);
    }

    #[test]
    fn grouping_by_length_makes_batches_of_similar_length() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let lengths: Vec<usize> = (0..40).map(|i| (i * 7919) % 97).collect();
        let loader =
            EpochLoader::new(ids(40), Ids, 4, 1, 0, &device).group_by_length(lengths.clone());
        let batches = epoch_batches(&loader);
        assert_eq!(
            lengths[batches[0][0]],
            *lengths.iter().max().unwrap(),
            "the longest item comes first"
        );
        // Batch spans: sorted batches span far less than random ones.
        let span = |b: &Vec<usize>| {
            let l: Vec<usize> = b.iter().map(|&i| lengths[i]).collect();
            l.iter().max().unwrap() - l.iter().min().unwrap()
        };
        let grouped: usize = batches.iter().map(span).sum();
        let random: usize = epoch_batches(&EpochLoader::new(ids(40), Ids, 4, 1, 0, &device))
            .iter()
            .map(span)
            .sum();
        assert!(grouped * 3 < random, "{grouped} vs {random}");
        let mut all = batches.concat();
        all.sort();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
    }
}
