//! AdamW as `transformers` sets it up, on Burn's optimizer groups, and clipping of the global
//! gradient norm.
//!
//! Burn's `AdamWConfig` defaults to ε 1e-5 and decays every parameter; its gradient clipping is
//! per tensor. HF's recipe: ε 1e-8, no decay on biases and LayerNorm weights, and
//! `clip_grad_norm_` over all gradients at once, which is written here.

use burn::grad_clipping::GradientClipping;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::{Module, ModuleVisitor, Param, ParamGroup};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::TrainingConfig;
use crate::schedule::WarmupSchedule;

/// Parameter paths without weight decay: biases and LayerNorm `gamma`/`beta`
/// (HF: `"bias" in name or "LayerNorm" in name`).
pub const NO_DECAY: [&str; 2] = [r"(^|\.)bias$", r"layer_norm\.(gamma|beta)$"];

fn adamw(config: &TrainingConfig, weight_decay: f64) -> AdamWConfig {
    AdamWConfig::new()
        .with_beta_1(config.adam_beta1 as f32)
        .with_beta_2(config.adam_beta2 as f32)
        .with_epsilon(config.adam_epsilon as f32)
        .with_weight_decay(weight_decay as f32)
}

/// AdamW with `weight_decay` on every parameter but biases and LayerNorm weights.
pub fn optimizer(config: &TrainingConfig) -> ModuleOptimizer {
    let no_decay = ParamGroup::from_any_regexes(NO_DECAY.to_vec()).expect("valid regexes");
    adamw(config, config.weight_decay).init().with_group(
        no_decay,
        adamw(config, 0.0).build(),
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
