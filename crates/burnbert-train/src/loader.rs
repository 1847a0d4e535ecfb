//! A training data loader whose epochs can be replayed: epoch `k`'s order (and the dropout
//! generator's state at its start) depend only on `(seed, k)`.
//!
//! Burn's `DataLoaderBuilder::shuffle(seed)` draws every epoch from one generator that runs on
//! across epochs, and its learner, resumed from a checkpoint, starts that generator (and the
//! device's, which draws dropout masks) afresh: a resumed run sees other orders and masks than
//! an uninterrupted one. This loader is written here because Burn has no per-epoch seeding;
//! it plugs into Burn's learner through Burn's `DataLoader` trait. It also groups examples of
//! similar length into batches (`group_by_length`, HF's `LengthGroupedSampler`).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::prelude::*;
use burnbert_data::Encoded;
use burnbert_data::split::seeded_shuffle;

/// HF's `LengthGroupedSampler` sorts by length within groups of 50 batches.
const MEGA_BATCH: usize = 50;

/// Batches of a shuffled, in-memory training set; see the module docs.
pub struct EpochLoader<I, O> {
    items: Arc<Vec<I>>,
    lengths: Option<Arc<Vec<usize>>>,
    batcher: Arc<dyn Batcher<I, O>>,
    batch_size: usize,
    seed: u64,
    /// Epochs started so far (shared by the copies `to_device` and `slice` make).
    epoch: Arc<AtomicUsize>,
    device: Device,
    range: Option<Range<usize>>,
    max_batches: Option<usize>,
}

impl<I: Clone + Send + Sync + 'static, O: 'static> EpochLoader<I, O> {
    /// A loader of `items` in batches of `batch_size`, shuffled from `seed` every epoch.
    /// `completed_epochs` is the number of epochs already run (a resumed run's checkpoint).
    pub fn new(
        items: Vec<I>,
        batcher: impl Batcher<I, O> + 'static,
        batch_size: usize,
        seed: u64,
        completed_epochs: usize,
        device: &Device,
    ) -> Self {
        Self {
            items: Arc::new(items),
            lengths: None,
            batcher: Arc::new(batcher),
            batch_size: batch_size.max(1),
            seed,
            epoch: Arc::new(AtomicUsize::new(completed_epochs)),
            device: device.clone(),
            range: None,
            max_batches: None,
        }
    }

    /// Stops after `batches` batches in all (an epoch ends early when they run out): the
    /// recipe's `max_steps`, which Burn's learner, counting whole epochs, does not know.
    pub fn max_batches(mut self, batches: usize) -> Self {
        self.max_batches = Some(batches);
        self
    }

    /// Groups items of similar `lengths` (one per item) into the same batches, as HF's
    /// `group_by_length`: shuffled, then sorted longest first within groups of 50 batches.
    pub fn group_by_length(mut self, lengths: Vec<usize>) -> Self {
        assert_eq!(lengths.len(), self.items.len(), "one length per item");
        self.lengths = Some(Arc::new(lengths));
        self
    }

    /// The seed of epoch `epoch` (1-based): splitmix of the run's seed and the epoch.
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
            epoch: self.epoch.clone(),
            device: self.device.clone(),
            range: self.range.clone(),
            max_batches: self.max_batches,
        }
    }
}

impl<I: Clone + Encoded + Send + Sync + 'static, O: Send + 'static> DataLoader<O>
    for EpochLoader<I, O>
{
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        // Dropout masks of this epoch are drawn from the same state as in an uninterrupted run.
        self.device
            .seed(Self::epoch_seed(self.seed, epoch).rotate_left(17));
        let mut order = self.order(epoch);
        if let Some(max) = self.max_batches {
            let per_epoch = self.items.len().div_ceil(self.batch_size);
            let left = max.saturating_sub(per_epoch * (epoch - 1));
            order.truncate(left * self.batch_size);
        }
        if let Some(range) = &self.range {
            order = order[range.start.min(order.len())..range.end.min(order.len())].to_vec();
        }
        Box::new(EpochIter {
            loader: self,
            order,
            position: 0,
            epoch,
        })
    }

    fn num_items(&self) -> usize {
        let items = self.max_batches.map_or(self.items.len(), |b| {
            self.items.len().min(b * self.batch_size)
        });
        self.range
            .as_ref()
            .map_or(items, |r| r.end.min(items) - r.start.min(items))
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
    order: Vec<usize>,
    position: usize,
    epoch: usize,
}

impl<I: Clone + Encoded, O> Iterator for EpochIter<'_, I, O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.position >= self.order.len() {
            return None;
        }
        let end = (self.position + self.loader.batch_size).min(self.order.len());
        let items = self.order[self.position..end]
            .iter()
            .map(|&i| {
                let mut item = self.loader.items[i].clone();
                item.set_epoch(self.epoch);
                item
            })
            .collect();
        self.position = end;
        Some(Ok(self.loader.batcher.batch(items, &self.loader.device)))
    }
}

impl<I: Clone + Encoded, O> DataLoaderIterator<O> for EpochIter<'_, I, O> {
    fn progress(&self) -> Progress {
        Progress::new(self.position, self.order.len(), Some("items".into()))
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

    #[test]
    fn max_batches_ends_the_last_epoch_early() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex();
        let loader = EpochLoader::new(ids(10), Ids, 3, 7, 0, &device).max_batches(6);
        assert_eq!(epoch_batches(&loader).len(), 4);
        assert_eq!(epoch_batches(&loader).len(), 2);
        assert_eq!(epoch_batches(&loader).len(), 0);
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
