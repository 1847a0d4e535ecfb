//! AdamW as `transformers` sets it up, on Burn's optimizer groups, and clipping of the global
//! gradient norm.
//!
//! Burn's `AdamWConfig` defaults to ε 1e-5 and decays every parameter; its gradient clipping is
//! per tensor. HF's recipe: ε 1e-8, no decay on biases and LayerNorm weights, and
//! `clip_grad_norm_` over all gradients at once, which is written here.

use burn::grad_clipping::GradientClipping;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::{Module, ModuleVisitor, Param, ParamGroup};
use burn::optim::{
    AdamWConfig, AdamWState, AdaptiveMomentumState, GradientsParams, LearningRate, ModuleOptimizer,
    Optimizer,
};
use burn::prelude::*;
use burnbert_model::ops::AdamWStep;

use crate::TrainingConfig;
use crate::schedule::WarmupSchedule;

/// Parameter paths without weight decay: biases and LayerNorm `gamma`/`beta`
/// (HF: `"bias" in name or "LayerNorm" in name`).
pub const NO_DECAY: [&str; 2] = [r"(^|\.)bias$", r"layer_norm\.(gamma|beta)$"];

/// Burn's AdamW (`burn-optim` 0.22.1), stepping through burnbert's fused kernel where the model
/// crate has one ([`burnbert_model::ops::adamw`]: f32 on flex) and through Burn's own `AdamW`
/// elsewhere. Its state is Burn's [`AdamWState`], so its records are Burn's and either resumes
/// the other's, and the kernel's steps equal Burn's to the bit.
#[derive(Clone)]
pub struct AdamW {
    burn: burn::optim::AdamW,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    weight_decay: f32,
}

impl AdamW {
    /// AdamW with `config`'s β₁, β₂ and ε and decoupled weight decay `weight_decay`.
    pub fn new(config: &TrainingConfig, weight_decay: f64) -> Self {
        let (beta_1, beta_2) = (config.adam_beta1 as f32, config.adam_beta2 as f32);
        let (epsilon, weight_decay) = (config.adam_epsilon as f32, weight_decay as f32);
        let burn = AdamWConfig::new()
            .with_beta_1(beta_1)
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(weight_decay)
            .build();
        Self {
            burn,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
        }
    }
}

impl Optimizer for AdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, moments) = match state {
            Some(AdamWState {
                momentum:
                    AdaptiveMomentumState {
                        time,
                        moment_1,
                        moment_2,
                        max_moment_2: None,
                    },
            }) => (time + 1, Some([moment_1, moment_2])),
            None => (1, None),
            // AMSGrad's state: Burn's step.
            state => return self.burn.step(lr, tensor, grad, state),
        };
        let step = AdamWStep {
            lr,
            time,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
        };
        match burnbert_model::ops::adamw(&step, (tensor, grad, moments)) {
            Ok([tensor, moment_1, moment_2]) => {
                let momentum = AdaptiveMomentumState::new(time, moment_1, moment_2);
                (tensor, Some(AdamWState::new(momentum)))
            }
            Err((tensor, grad, moments)) => {
                let state = moments.map(|[moment_1, moment_2]| {
                    AdamWState::new(AdaptiveMomentumState::new(time - 1, moment_1, moment_2))
                });
                self.burn.step(lr, tensor, grad, state)
            }
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        burn::optim::AdamW::to_device(state, device)
    }
}

/// AdamW with `weight_decay` on every parameter but biases and LayerNorm weights.
pub fn optimizer(config: &TrainingConfig) -> ModuleOptimizer {
    let no_decay = ParamGroup::from_any_regexes(NO_DECAY.to_vec()).expect("valid regexes");
    ModuleOptimizer::from(AdamW::new(config, config.weight_decay)).with_group(
        no_decay,
        AdamW::new(config, 0.0),
        None::<GradientClipping>,
    )
}

/// Freezes what `config` freezes (no gradients are computed for it) when it stays frozen for the
/// whole run; with `unfreeze_after_epochs` the scheduler holds those parts instead.
pub fn freeze(bert: &mut burnbert_model::BertModel, config: &TrainingConfig) {
    if config.unfreeze_after_epochs.is_some() {
        return;
    }
    if config.freeze_embeddings || config.freeze_encoder {
        bert.embeddings = bert.embeddings.clone().no_grad();
    }
    let frozen_layers = if config.freeze_encoder {
        bert.encoder.layer.len()
    } else {
        config.freeze_layers
    };
    for layer in bert.encoder.layer.iter_mut().take(frozen_layers) {
        *layer = layer.clone().no_grad();
    }
    if config.freeze_encoder {
        bert.pooler = bert.pooler.take().map(|p| p.no_grad());
    }
}

/// Where the parts of a task model sit in its parameter paths, for per-part learning rates.
#[derive(Debug, Clone, Copy)]
pub struct ModelParts<'a> {
    /// Encoder layers.
    pub layers: usize,
    /// Regex of the head's parameter paths (`^model\.classifier\.`).
    pub head: &'a str,
}

impl ModelParts<'_> {
    /// Each parameter group's name and a parameter path in it, for reading its learning rate:
    /// `embeddings`, `layer_0` .. `layer_{L-1}`, `pooler` and `head` (the head's path is its
    /// regex unescaped, plus `weight`: the heads' regexes are plain prefixes).
    pub fn groups(&self) -> Vec<(String, String)> {
        let head = self.head.trim_start_matches('^').replace('\\', "") + "weight";
        std::iter::once((
            "embeddings".into(),
            "model.bert.embeddings.word_embeddings.weight".into(),
        ))
        .chain((0..self.layers).map(|i| {
            (
                format!("layer_{i}"),
                format!("model.bert.encoder.layer.{i}.output.dense.weight"),
            )
        }))
        .chain([
            ("pooler".into(), "model.bert.pooler.dense.weight".into()),
            ("head".into(), head),
        ])
        .collect()
    }
}

const EMBEDDINGS: &str = r"^model\.bert\.embeddings\.";
const POOLER: &str = r"^model\.bert\.pooler\.";

fn layer(i: usize) -> String {
    format!(r"^model\.bert\.encoder\.layer\.{i}\.")
}

/// The learning-rate schedule over `total_steps`, per part of the model:
/// - `head_learning_rate` for the head when set;
/// - with `layerwise_lr_decay` = d, layer `i` of `L` at `lr · d^(L-1-i)` and the embeddings at
///   `lr · d^L` (the top layer, the pooler and the head at `lr`);
/// - with `unfreeze_after_epochs` = K, the frozen parts at 0 for the first K epochs
///   (`steps_per_epoch` optimizer steps each), then on the schedule.
pub fn scheduler(
    config: &TrainingConfig,
    total_steps: usize,
    steps_per_epoch: usize,
    parts: ModelParts<'_>,
) -> ModuleLrScheduler {
    let warmup = config.warmup(total_steps);
    let thaw = config
        .unfreeze_after_epochs
        .map_or(0, |k| k * steps_per_epoch);
    let schedule = |peak: f64, frozen: bool| {
        let s = WarmupSchedule::new(peak, warmup, total_steps, config.lr_scheduler_type);
        if frozen { s.frozen_until(thaw) } else { s }
    };
    let group = |regex: &str| ParamGroup::from_any_regexes(vec![regex]).expect("valid regex");
    let lr = config.learning_rate;
    let decay = config.layerwise_lr_decay.unwrap_or(1.0);
    let thawing = thaw > 0;
    let mut scheduler = ModuleLrScheduler::new(schedule(lr, false));
    if thawing && config.freeze_encoder {
        scheduler = scheduler.with_group(group(POOLER), schedule(lr, true));
    }
    for i in 0..parts.layers {
        let frozen = thawing && (config.freeze_encoder || i < config.freeze_layers);
        if frozen || decay != 1.0 {
            let peak = lr * decay.powi((parts.layers - 1 - i) as i32);
            scheduler = scheduler.with_group(group(&layer(i)), schedule(peak, frozen));
        }
    }
    let frozen = thawing && (config.freeze_encoder || config.freeze_embeddings);
    if frozen || decay != 1.0 {
        scheduler = scheduler.with_group(
            group(EMBEDDINGS),
            schedule(lr * decay.powi(parts.layers as i32), frozen),
        );
    }
    match config.head_learning_rate {
        Some(head_lr) => scheduler.with_group(group(parts.head), schedule(head_lr, false)),
        None => scheduler,
    }
}

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let s = grad.square().sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, grad.mul_scalar(self.factor));
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`: scales every gradient by
/// `min(1, max_norm / (‖g‖₂ + 1e-6))`, `‖g‖₂` over all gradients together. Burn has no
/// global-norm clipping (its `GradientClipping` is per parameter), hence this.
pub fn clip_global_norm<M: Module>(
    model: &M,
    grads: GradientsParams,
    max_norm: f64,
) -> GradientsParams {
    let norm = global_norm(model, &grads);
    clip_to_global_norm(model, grads, max_norm, norm)
}

/// [`clip_global_norm`] with the norm already read back (the train step reads it once, for its
/// non-finite guard): the gradients are only touched when they must shrink, where PyTorch
/// multiplies them all by 1.
pub fn clip_to_global_norm<M: Module>(
    model: &M,
    mut grads: GradientsParams,
    max_norm: f64,
    norm: f64,
) -> GradientsParams {
    let factor = max_norm / (norm + 1e-6);
    if factor < 1.0 {
        model.visit(&mut Scale {
            grads: &mut grads,
            factor,
        });
    }
    grads
}

/// The global gradient norm, for logging and tests.
pub fn global_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
    let mut norm = SquaredNorm { grads, sum: None };
    model.visit(&mut norm);
    norm.sum.map_or(0.0, |s| s.sqrt().into_scalar::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Two {
        a: Linear,
        b: Linear,
    }

    #[test]
    fn clips_the_norm_of_all_gradients_together() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let model = Two {
            a: LinearConfig::new(3, 2).init(&device),
            b: LinearConfig::new(2, 1).init(&device),
        };
        let x = Tensor::<2>::from_data([[1.0, -2.0, 3.0]], &device);
        let loss = model.b.forward(model.a.forward(x)).sum() * 10.0;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let before = global_norm(&model, &grads);
        assert!(before > 1.0, "{before}");
        let clipped = clip_global_norm(&model, grads, 1.0);
        let after = global_norm(&model, &clipped);
        assert!((after - 1.0).abs() < 1e-5, "{after}");
        // Under the bound, nothing changes.
        let x = Tensor::<2>::from_data([[1.0, -2.0, 3.0]], &device);
        let grads = GradientsParams::from_grads(
            model.b.forward(model.a.forward(x)).sum().backward(),
            &model,
        );
        let n = global_norm(&model, &grads);
        assert!(n < 1000.0);
        assert_eq!(
            global_norm(&model, &clip_global_norm(&model, grads, 1000.0)),
            n
        );
    }

    /// Burn's own AdamW, set up as `optimizer` sets up burnbert's.
    fn burns_optimizer(config: &TrainingConfig) -> ModuleOptimizer {
        let burns = |weight_decay: f64| {
            AdamWConfig::new()
                .with_beta_1(config.adam_beta1 as f32)
                .with_beta_2(config.adam_beta2 as f32)
                .with_epsilon(config.adam_epsilon as f32)
                .with_weight_decay(weight_decay as f32)
        };
        let no_decay = ParamGroup::from_any_regexes(NO_DECAY.to_vec()).unwrap();
        burns(config.weight_decay)
            .init()
            .with_group(no_decay, burns(0.0).build(), None)
    }

    fn bits(model: &Two) -> Vec<Vec<u32>> {
        let tensors = [
            model.a.weight.val().flatten::<1>(0, 1),
            model.a.bias.as_ref().unwrap().val(),
            model.b.weight.val().flatten::<1>(0, 1),
            model.b.bias.as_ref().unwrap().val(),
        ];
        tensors
            .iter()
            .map(|t| {
                let data = t.clone().into_data();
                data.iter::<f32>().map(f32::to_bits).collect()
            })
            .collect()
    }

    #[test]
    fn adamw_steps_and_records_are_burns() {
        let _rng = crate::DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
        let device = Device::flex().autodiff();
        let config = TrainingConfig {
            weight_decay: 0.01,
            ..Default::default()
        };
        // 300 × 200 weights: several of the kernel's parallel chunks.
        let model = Two {
            a: LinearConfig::new(300, 200).init(&device),
            b: LinearConfig::new(200, 1).init(&device),
        };
        let grads = |model: &Two, step: usize| {
            let x: Vec<f32> = (0..4 * 300)
                .map(|i| ((i * 7 + step * 13) % 17) as f32 / 8.0 - 1.0)
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [4, 300]), &device);
            let loss = model.b.forward(model.a.forward(x)).powi_scalar(2).mean();
            GradientsParams::from_grads(loss.backward(), model)
        };
        // The kernel takes these tensors (else this would compare Burn's AdamW with itself).
        let step = AdamWStep {
            lr: 1e-3,
            time: 1,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.01,
        };
        let param = model.a.weight.val().inner();
        let taken = burnbert_model::ops::adamw(&step, (param.clone(), param, None));
        assert!(taken.is_ok(), "f32 on flex takes burnbert's kernel");
        let (mut ours, mut burns) = (optimizer(&config), burns_optimizer(&config));
        let initial = bits(&model);
        let (mut a, mut b) = (model.clone(), model);
        for step in 0..3 {
            let lr = 1e-3 * (step + 1) as f64;
            a = ours.step(lr, a.clone(), grads(&a, step));
            b = burns.step(lr, b.clone(), grads(&b, step));
            assert_eq!(bits(&a), bits(&b), "step {step}");
        }
        assert!(
            bits(&a)
                .iter()
                .zip(&initial)
                .all(|(now, before)| now != before)
        );
        // Each optimizer's record resumes the other: one more step from each, crossed.
        let mut ours_from_burns = optimizer(&config).load_record(burns.to_record());
        let mut burns_from_ours = burns_optimizer(&config).load_record(ours.to_record());
        let (a2, b2) = (
            ours_from_burns.step(2e-3, a.clone(), grads(&a, 3)),
            burns_from_ours.step(2e-3, b.clone(), grads(&b, 3)),
        );
        let uninterrupted = ours.step(2e-3, a.clone(), grads(&a, 3));
        assert_eq!(bits(&a2), bits(&uninterrupted));
        assert_eq!(bits(&b2), bits(&uninterrupted));
        // A fresh optimizer (no moments) steps differently: the records carried them.
        let fresh = optimizer(&config).step(2e-3, a.clone(), grads(&a, 3));
        assert_ne!(bits(&fresh), bits(&uninterrupted));
    }

    #[test]
    fn learning_rate_per_part() {
        let config = TrainingConfig {
            learning_rate: 1.0,
            layerwise_lr_decay: Some(0.5),
            head_learning_rate: Some(3.0),
            freeze_embeddings: true,
            unfreeze_after_epochs: Some(1),
            ..Default::default()
        };
        let mut scheduler = scheduler(
            &config,
            10,
            2,
            ModelParts {
                layers: 3,
                head: r"^model\.classifier\.",
            },
        );
        let id = burn::module::ParamId::new();
        let at = |lrs: &burn::lr_scheduler::module_lr_scheduler::ModuleLearningRate, path: &str| {
            lrs.lr_from_param(id, Some(path))
        };
        let first = scheduler.step();
        assert_eq!(
            at(&first, "model.bert.embeddings.word_embeddings.weight"),
            0.0
        );
        assert_eq!(
            at(&first, "model.bert.encoder.layer.0.output.dense.weight"),
            0.25
        );
        assert_eq!(
            at(&first, "model.bert.encoder.layer.2.output.dense.weight"),
            1.0
        );
        assert_eq!(at(&first, "model.bert.pooler.dense.weight"), 1.0);
        assert_eq!(at(&first, "model.classifier.weight"), 3.0);
        scheduler.step();
        let third = scheduler.step(); // epoch 2: thawed, at λ = 0.8
        assert!(
            (at(&third, "model.bert.embeddings.word_embeddings.weight") - 0.125 * 0.8).abs()
                < 1e-12
        );
    }

    #[test]
    fn no_decay_patterns_match_hf_names() {
        let group = ParamGroup::from_any_regexes(NO_DECAY.to_vec()).unwrap();
        let id = burn::module::ParamId::new();
        for (path, decays) in [
            (
                "model.bert.encoder.layer.0.attention.output.layer_norm.gamma",
                false,
            ),
            ("model.bert.embeddings.layer_norm.beta", false),
            ("model.classifier.bias", false),
            ("model.classifier.weight", true),
            ("model.bert.encoder.layer.0.intermediate.dense.weight", true),
        ] {
            assert_eq!(!group.matches(&id, Some(path)), decays, "{path}");
        }
    }
}
