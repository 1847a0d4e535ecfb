//! Running a model over many inputs, as `burnbert eval` and `predict --file` do: batches of
//! inputs of similar length (so that little of each batch is padding), results put back in the
//! inputs' order, and progress on stderr — a bar on a terminal (`indicatif`), else a line
//! every 10 batches, as `transformers`' evaluation loop shows tqdm's bar.
//!
//! Each input's output does not depend on the other inputs of its batch (padding is masked),
//! so the order of the batches changes no result beyond float rounding.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns the progress reports of evaluation and batch prediction off (they are on), as
/// `transformers.utils.logging.disable_progress_bar()` does.
pub fn disable_progress() {
    QUIET.store(true, Ordering::Relaxed);
}

/// Batches of `batch_size` (at least 1) indices into `lengths`, longest first: stable, so
/// inputs of equal length keep their order.
pub fn by_length(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// One batch: the inputs' indices and copies of the inputs.
pub struct Batch<T> {
    /// Indices into the inputs.
    pub indices: Vec<usize>,
    /// The inputs at those indices.
    pub items: Vec<T>,
}

/// The batches of `items` by length ([`by_length`]), each reported as done to the progress
/// display when the next is asked for (the last when the iterator is dropped).
pub struct Batches<'a, T> {
    items: &'a [T],
    order: std::vec::IntoIter<Vec<usize>>,
    pending: usize,
    progress: Progress,
}

impl<'a, T: Clone> Batches<'a, T> {
    /// Batches of `items`, `batch_size` each, by `length` (tokens), reported as `what`
    /// (`"eval"`, `"predict"`).
    pub fn new(
        what: &str,
        items: &'a [T],
        batch_size: usize,
        length: impl Fn(&T) -> usize,
    ) -> Self {
        let lengths: Vec<usize> = items.iter().map(length).collect();
        let order = by_length(&lengths, batch_size);
        // A single batch needs no progress: the result follows at once.
        let shown = if order.len() > 1 { items.len() } else { 0 };
        Self {
            items,
            order: order.into_iter(),
            pending: 0,
            progress: Progress::new(what, shown),
        }
    }
}

impl<T: Clone> Iterator for Batches<'_, T> {
    type Item = Batch<T>;

    fn next(&mut self) -> Option<Batch<T>> {
        self.progress.advance(std::mem::take(&mut self.pending));
        let indices = self.order.next()?;
        self.pending = indices.len();
        let items = indices.iter().map(|&i| self.items[i].clone()).collect();
        Some(Batch { indices, items })
    }
}

impl<T> Drop for Batches<'_, T> {
    fn drop(&mut self) {
        self.progress.advance(self.pending);
        self.progress.finish();
    }
}

/// The items of `iter`, one at a time, each reported as done to the progress display when the
/// next is asked for (the last when the iterator is dropped): `predict --file` over tasks that
/// run an input at a time. Nothing is shown for fewer than 2 items.
pub fn one_by_one<I: ExactSizeIterator>(what: &str, iter: I) -> OneByOne<I> {
    let n = iter.len();
    OneByOne {
        iter,
        pending: 0,
        progress: Progress::new(what, if n > 1 { n } else { 0 }),
    }
}

/// See [`one_by_one`].
pub struct OneByOne<I> {
    iter: I,
    pending: usize,
    progress: Progress,
}

impl<I: Iterator> Iterator for OneByOne<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.progress.advance(std::mem::take(&mut self.pending));
        let item = self.iter.next()?;
        self.pending = 1;
        Some(item)
    }
}

impl<I> Drop for OneByOne<I> {
    fn drop(&mut self) {
        self.progress.advance(self.pending);
        self.progress.finish();
    }
}

/// Results given per batch (`indices`, one result each), put back in the inputs' order.
///
/// # Panics
/// When the batches do not cover `0..n` exactly once.
pub fn in_order<R>(n: usize, batches: impl IntoIterator<Item = (Vec<usize>, Vec<R>)>) -> Vec<R> {
    let mut slots: Vec<Option<R>> = (0..n).map(|_| None).collect();
    for (indices, results) in batches {
        assert_eq!(indices.len(), results.len(), "a result per input");
        for (i, r) in indices.into_iter().zip(results) {
            slots[i] = Some(r);
        }
    }
    slots
        .into_iter()
        .map(|r| r.expect("every input in a batch"))
        .collect()
}

/// Progress over `total` inputs on stderr: an `indicatif` bar on a terminal, else a line every
/// 10 batches (and at the end); nothing after [`disable_progress`] or for 0 inputs.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    what: String,
    total: usize,
    done: usize,
    batches: usize,
    start: Instant,
}

impl Progress {
    /// Batches between two lines when stderr is not a terminal.
    pub const EVERY: usize = 10;

    /// Progress of `what` over `total` inputs.
    pub fn new(what: &str, total: usize) -> Self {
        let on = !QUIET.load(Ordering::Relaxed) && total > 0;
        let terminal = std::io::stderr().is_terminal();
        let bar = (on && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{prefix} {bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}]",
            )
            .expect("a valid template");
            bar.set_style(style);
            bar.set_prefix(what.to_string());
            bar
        });
        Self {
            bar,
            lines: on && !terminal,
            what: what.into(),
            total,
            done: 0,
            batches: 0,
            start: Instant::now(),
        }
    }

    /// Counts `n` more inputs done (a batch); nothing for 0.
    pub fn advance(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.done += n;
        self.batches += 1;
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        } else if self.lines
            && (self.batches.is_multiple_of(Self::EVERY) || self.done == self.total)
        {
            let seconds = self.start.elapsed().as_secs_f64();
            eprintln!(
                "{}: {}/{} ({:.0} %), {:.1} inputs/s",
                self.what,
                self.done,
                self.total,
                100.0 * self.done as f64 / self.total as f64,
                self.done as f64 / seconds.max(1e-9)
            );
        }
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_go_longest_first_and_results_come_back_in_order() {
        let lengths = [3, 9, 1, 9, 5];
        assert_eq!(
            by_length(&lengths, 2),
            vec![vec![1, 3], vec![4, 0], vec![2]]
        );
        let items: Vec<usize> = lengths.to_vec();
        let batches: Vec<(Vec<usize>, Vec<String>)> = Batches::new("test", &items, 2, |&l| l)
            .map(|b| {
                let doubled = b.items.iter().map(|l| format!("{}", l * 2)).collect();
                (b.indices, doubled)
            })
            .collect();
        assert_eq!(batches[0].1, ["18", "18"]);
        assert_eq!(in_order(5, batches), ["6", "18", "2", "18", "10"]);
    }
}
