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

use crate::schedule::WarmupSchedule;
use crate::TrainingConfig;

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
    adamw(config, config.weight_decay).init().with_group(no_decay, adamw(config, 0.0).build(), None::<GradientClipping>)
}

/// The learning-rate schedule over `total_steps`, with `head_learning_rate` for the parameters
/// matching `head` (a path regex) when set.
pub fn scheduler(config: &TrainingConfig, total_steps: usize, head: &str) -> ModuleLrScheduler {
    let warmup = config.warmup(total_steps);
    let schedule = |peak| WarmupSchedule::new(peak, warmup, total_steps, config.lr_scheduler_type);
    let scheduler = ModuleLrScheduler::new(schedule(config.learning_rate));
    match config.head_learning_rate {
        Some(lr) => scheduler.with_group(ParamGroup::from_any_regexes(vec![head]).expect("valid regex"), schedule(lr)),
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
            let s = grad.powf_scalar(2.0).sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            let factor: Tensor<D> = self.factor.clone().unsqueeze();
            self.grads.register::<D>(param.id, grad * factor);
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`: scales every gradient by
/// `min(1, max_norm / (‖g‖₂ + 1e-6))`, `‖g‖₂` over all gradients together. Stays on the device
/// (no read-back of the norm).
pub fn clip_global_norm<M: Module>(model: &M, mut grads: GradientsParams, max_norm: f64) -> GradientsParams {
    let mut norm = SquaredNorm { grads: &grads, sum: None };
    model.visit(&mut norm);
    let Some(squared) = norm.sum else { return grads };
    let factor = squared.sqrt().add_scalar(1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
    model.visit(&mut Scale { grads: &mut grads, factor });
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
        let device = Device::flex().autodiff();
        let model = Two { a: LinearConfig::new(3, 2).init(&device), b: LinearConfig::new(2, 1).init(&device) };
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
        let grads = GradientsParams::from_grads(model.b.forward(model.a.forward(x)).sum().backward(), &model);
        let n = global_norm(&model, &grads);
        assert!(n < 1000.0);
        assert_eq!(global_norm(&model, &clip_global_norm(&model, grads, 1000.0)), n);
    }

    #[test]
    fn no_decay_patterns_match_hf_names() {
        let group = ParamGroup::from_any_regexes(NO_DECAY.to_vec()).unwrap();
        let id = burn::module::ParamId::new();
        for (path, decays) in [
            ("model.bert.encoder.layer.0.attention.output.layer_norm.gamma", false),
            ("model.bert.embeddings.layer_norm.beta", false),
            ("model.classifier.bias", false),
            ("model.classifier.weight", true),
            ("model.bert.encoder.layer.0.intermediate.dense.weight", true),
        ] {
            assert_eq!(!group.matches(&id, Some(path)), decays, "{path}");
        }
    }
}
