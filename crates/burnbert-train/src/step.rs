//! The training step of a task model as Burn's learner runs it, with HF's optimizer step:
//! accumulated gradients averaged, a stop on a non-finite gradient norm, global-norm clipping.

use std::marker::PhantomData;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::train::metric::{ItemLazy, LossInput};
use burn::train::{InferenceStep, Interrupter, TrainOutput, TrainStep};

use crate::{TrainingConfig, optim};

/// Stops a run whose gradients stop being finite (a loss of NaN or infinity): the update is
/// skipped, so no non-finite weight reaches a checkpoint, and Burn's learner is interrupted
/// before it checkpoints the epoch, so the last good checkpoint stays the last one.
#[derive(Clone, Default)]
pub struct NonFiniteGuard {
    interrupter: Option<Interrupter>,
    tripped: Arc<Mutex<Option<(f64, usize)>>>,
    steps: Arc<AtomicUsize>,
}

impl std::fmt::Debug for NonFiniteGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NonFiniteGuard({:?})", self.tripped())
    }
}

impl NonFiniteGuard {
    pub(crate) fn new(interrupter: Interrupter) -> Self {
        Self {
            interrupter: Some(interrupter),
            ..Self::default()
        }
    }

    /// The non-finite gradient norm and the optimizer step it appeared at, if any.
    pub fn tripped(&self) -> Option<(f64, usize)> {
        *self.tripped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a step; false (and the run stopped) when `norm` is not finite.
    fn check(&self, norm: f64) -> bool {
        let step = self.steps.fetch_add(1, Ordering::Relaxed) + 1;
        if norm.is_finite() {
            return true;
        }
        self.tripped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert((norm, step));
        if let Some(interrupter) = &self.interrupter {
            interrupter.stop(Some("the gradients are not finite"));
        }
        false
    }
}

/// What each optimizer step leaves for the loggers that Burn's metrics do not carry: the global
/// gradient norm (before clipping, as HF logs `grad_norm`) and the learning rate of every
/// parameter group. Off (nothing kept) unless [`StepTelemetry::probing`] made it.
#[derive(Clone, Default)]
pub struct StepTelemetry {
    /// Each group's name and a parameter path in it (`None`: off).
    probes: Option<Arc<Vec<(String, String)>>>,
    steps: Arc<Mutex<std::collections::VecDeque<StepRecord>>>,
}

/// One optimizer step's gradient norm and learning rates (see [`StepTelemetry`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The global gradient norm, before clipping.
    pub grad_norm: f64,
    /// Each parameter group's name and learning rate.
    pub learning_rates: Vec<(String, f64)>,
}

impl std::fmt::Debug for StepTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StepTelemetry({})", self.probes.is_some())
    }
}

impl StepTelemetry {
    /// Telemetry that reads the learning rate of each group `(name, a parameter path in it)`.
    pub fn probing(groups: Vec<(String, String)>) -> Self {
        Self {
            probes: Some(Arc::new(groups)),
            steps: Arc::default(),
        }
    }

    /// Keeps a step's record, when on.
    fn record(&self, grad_norm: f64, lr: &ModuleLearningRate) {
        let Some(probes) = &self.probes else { return };
        let id = burn::module::ParamId::new();
        let learning_rates = probes
            .iter()
            .map(|(name, path)| (name.clone(), lr.lr_from_param(id, Some(path))))
            .collect();
        self.steps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(StepRecord {
                grad_norm,
                learning_rates,
            });
    }

    /// The oldest record not read yet: the next optimizer step's. Burn's learner may hand its
    /// metrics to the loggers on another thread, later than the steps run, so a logger reads
    /// one record per step it logs rather than what is there when it logs.
    pub fn next(&self) -> Option<StepRecord> {
        self.steps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }
}

/// A batch's mean loss as Burn's `LossMetric` should weigh it: once per example. Burn weighs
/// each batch's loss by the length of this tensor, so the epoch's value is then the mean over
/// the examples, as HF's `eval_loss` (each batch's mean repeated batch-size times), not the mean
/// of the batch means, which a smaller last batch would skew.
pub fn loss_input(loss: &Tensor<1>, batch_size: usize) -> LossInput {
    LossInput::new(loss.clone().reshape([1]).repeat_dim(0, batch_size.max(1)))
}

/// A task model: how one of its batches (`Batch`) becomes a loss and the item Burn's metrics
/// read, as HF's `XxxForYyy.forward(labels=...)` gives the loss. The batch is the trait's
/// parameter, so that a task's module, which defines its batch, can implement it for a head of
/// the model crate (`impl TaskModel<SequenceBatch> for BertForSequenceClassification`).
pub trait TaskModel<Batch>: Module + burn::module::ModuleDisplay + 'static {
    /// What the metrics read (loss included).
    type Output: ItemLazy + 'static;
    /// Regex of the head's parameter paths in [`FineTuning`] (`^model\.classifier\.`).
    const HEAD: &'static str;

    /// The encoder under the head.
    fn bert_mut(&mut self) -> &mut burnbert_model::BertModel;

    /// The forward pass with labels: the mean loss and the metrics' item.
    fn loss(&self, batch: Batch) -> (Tensor<1>, Self::Output);
}

/// A task model as Burn's learner trains it, with the recipe's optimizer step: HF's averaging
/// of accumulated gradients (Burn sums them), the stop on a non-finite gradient norm, and
/// global-norm clipping. `B` is the batch it trains on.
#[derive(Module, Debug)]
pub struct FineTuning<M: Module, B> {
    /// The task model.
    pub model: M,
    /// Global gradient-norm bound (0: off).
    #[module(skip)]
    pub max_grad_norm: f64,
    /// Forward passes per optimizer step.
    #[module(skip)]
    pub accumulation: usize,
    /// Watches the gradient norm.
    #[module(skip)]
    pub guard: NonFiniteGuard,
    /// Keeps each step's gradient norm and learning rates for the loggers.
    #[module(skip)]
    pub telemetry: StepTelemetry,
    /// The batch type (no data).
    #[module(skip)]
    pub batch: PhantomData<B>,
}

impl<M: Module, B: Clone + std::fmt::Debug + Send> FineTuning<M, B> {
    /// `model` with the recipe's clipping and accumulation, its guard unset (for use outside
    /// Burn's learner, as the tests do).
    pub fn new(model: M, args: &TrainingConfig) -> Self {
        Self {
            model,
            max_grad_norm: args.max_grad_norm,
            accumulation: args.gradient_accumulation_steps,
            guard: NonFiniteGuard::default(),
            telemetry: StepTelemetry::default(),
            batch: PhantomData,
        }
    }
}

impl<M: TaskModel<B>, B: Clone + Send + Sync + std::fmt::Debug + 'static> TrainStep
    for FineTuning<M, B>
{
    type Input = B;
    type Output = M::Output;

    fn step(&self, batch: B) -> TrainOutput<M::Output> {
        let (loss, output) = self.model.loss(batch);
        let grads = (loss / self.accumulation as f32).backward();
        TrainOutput::new(self, grads, output)
    }

    fn optimize(
        self,
        optimizer: &mut ModuleOptimizer,
        lr: ModuleLearningRate,
        grads: GradientsParams,
    ) -> Self {
        // One read-back per optimizer step: the norm, to catch a loss gone NaN or infinite and
        // to clip with.
        let norm = optim::global_norm(&self, &grads);
        if !self.guard.check(norm) {
            return self;
        }
        self.telemetry.record(norm, &lr);
        let grads = if self.max_grad_norm > 0.0 {
            optim::clip_to_global_norm(&self, grads, self.max_grad_norm, norm)
        } else {
            grads
        };
        optimizer.step(lr, self, grads)
    }
}

impl<M: TaskModel<B>, B: Clone + Send + Sync + std::fmt::Debug + 'static> InferenceStep
    for FineTuning<M, B>
{
    type Input = B;
    type Output = M::Output;

    fn step(&self, batch: B) -> M::Output {
        self.model.loss(batch).1
    }
}
