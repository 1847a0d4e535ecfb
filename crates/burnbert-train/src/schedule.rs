//! Learning-rate schedules with a warmup that starts from 0, as `transformers`'
//! `get_{linear,cosine,constant}_schedule_with_warmup` compute them. Written here because Burn's
//! linear scheduler cannot start at a learning rate of 0.

use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;

use crate::LrSchedulerType;

/// `peak · λ(step)`: `λ = step / warmup` during warmup, then linear or half-cosine decay to 0
/// at `total` (or constant). Step `s` is the `s`-th optimizer step, from 0.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmupSchedule {
    /// The peak learning rate.
    pub peak: f64,
    /// Warmup steps.
    pub warmup: usize,
    /// Total optimizer steps.
    pub total: usize,
    /// What follows the warmup.
    pub kind: LrSchedulerType,
    /// The learning rate is 0 before this step (parameters frozen until then).
    pub frozen_until: usize,
    step: usize,
}

impl WarmupSchedule {
    /// A schedule at its first step.
    pub fn new(peak: f64, warmup: usize, total: usize, kind: LrSchedulerType) -> Self {
        Self {
            peak,
            warmup,
            total,
            kind,
            frozen_until: 0,
            step: 0,
        }
    }

    /// The same schedule at 0 before step `step`: the parameters it drives stay exactly as they
    /// are (AdamW's update and its decoupled decay both scale with the learning rate).
    pub fn frozen_until(self, step: usize) -> Self {
        Self {
            frozen_until: step,
            ..self
        }
    }

    /// The multiplier `λ` of step `s` (HF's `lr_lambda`).
    pub fn lambda(&self, s: usize) -> f64 {
        if s < self.warmup {
            return s as f64 / self.warmup.max(1) as f64;
        }
        let after = (s - self.warmup) as f64;
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        match self.kind {
            LrSchedulerType::Constant => 1.0,
            LrSchedulerType::Linear => ((self.total as f64 - s as f64) / span).max(0.0),
            LrSchedulerType::Cosine => {
                (0.5 * (1.0 + (std::f64::consts::PI * after / span).cos())).max(0.0)
            }
        }
    }
}

impl LrScheduler for WarmupSchedule {
    fn step(&mut self) -> LearningRate {
        let lr = if self.step < self.frozen_until {
            0.0
        } else {
            self.peak * self.lambda(self.step)
        };
        self.step += 1;
        lr
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("step", self.step as u64)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(step) = record.scalar::<u64>("step") {
            self.step = step as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_with_warmup_matches_transformers() {
        // get_linear_schedule_with_warmup(opt, 2, 6) with lr 1.0, read before each opt.step():
        let mut s = WarmupSchedule::new(1.0, 2, 6, LrSchedulerType::Linear);
        let lrs: Vec<f64> = (0..7).map(|_| s.step()).collect();
        assert_eq!(lrs, [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]);
        // No warmup: the first step runs at the peak (the PyTorch sentiment reference).
        let mut s = WarmupSchedule::new(5e-5, 0, 4, LrSchedulerType::Linear);
        assert_eq!(s.step(), 5e-5);
        // Cosine: half-way through decay is half the peak.
        let s = WarmupSchedule::new(1.0, 2, 6, LrSchedulerType::Cosine);
        assert!((s.lambda(4) - 0.5).abs() < 1e-12);
        let s = WarmupSchedule::new(1.0, 2, 6, LrSchedulerType::Constant);
        assert_eq!((s.lambda(1), s.lambda(5)), (0.5, 1.0));
    }

    #[test]
    fn frozen_until_a_step_then_the_same_schedule() {
        let mut s = WarmupSchedule::new(1.0, 2, 6, LrSchedulerType::Linear).frozen_until(3);
        let lrs: Vec<f64> = (0..7).map(|_| s.step()).collect();
        assert_eq!(lrs, [0.0, 0.0, 0.0, 0.75, 0.5, 0.25, 0.0]);
    }

    #[test]
    fn the_step_survives_a_checkpoint() {
        let mut s = WarmupSchedule::new(1.0, 2, 6, LrSchedulerType::Linear);
        s.step();
        s.step();
        s.step();
        let mut resumed = WarmupSchedule::new(1.0, 2, 6, LrSchedulerType::Linear);
        resumed.load_record(s.to_record());
        assert_eq!(resumed.step(), s.step());
    }
}
