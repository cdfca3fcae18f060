//! Learning rates: a constant or a schedule of the optimizer's step, as Keras's
//! `keras.optimizers.schedules`.

use std::fmt;
use std::sync::Arc;

use super::target::TrainError;

/// A learning rate that depends on the step: how many updates the optimizer has applied
/// before this one (Keras calls the schedule with `optimizer.iterations`, 0 on the first).
pub trait Schedule: fmt::Debug + Send + Sync {
    /// The learning rate for the update after `step` others.
    fn learning_rate(&self, step: u64) -> f32;
}

/// An optimizer's learning rate.
#[derive(Clone, Debug)]
pub enum LearningRate {
    /// The same for every step.
    Constant(f32),
    /// Keras's `ExponentialDecay`.
    ExponentialDecay(ExponentialDecay),
    /// Keras's `PiecewiseConstantDecay`.
    PiecewiseConstant(PiecewiseConstant),
    /// Any other schedule.
    Custom(Arc<dyn Schedule>),
}

impl LearningRate {
    /// The learning rate for the update after `step` others.
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::ExponentialDecay(s) => s.learning_rate(step),
            LearningRate::PiecewiseConstant(s) => s.learning_rate(step),
            LearningRate::Custom(s) => s.learning_rate(step),
        }
    }
}

impl From<f32> for LearningRate {
    fn from(lr: f32) -> LearningRate {
        LearningRate::Constant(lr)
    }
}

impl From<ExponentialDecay> for LearningRate {
    fn from(s: ExponentialDecay) -> LearningRate {
        LearningRate::ExponentialDecay(s)
    }
}

impl From<PiecewiseConstant> for LearningRate {
    fn from(s: PiecewiseConstant) -> LearningRate {
        LearningRate::PiecewiseConstant(s)
    }
}

/// `initial_learning_rate · decay_rate ^ (step / decay_steps)`, the exponent floored when
/// `staircase`. Computed in `f32`, as Keras computes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDecay {
    initial_learning_rate: f32,
    decay_steps: f32,
    decay_rate: f32,
    staircase: bool,
}

impl ExponentialDecay {
    /// The schedule; an error unless `decay_steps > 0`, as Keras requires.
    pub fn new(
        initial_learning_rate: f32,
        decay_steps: f32,
        decay_rate: f32,
        staircase: bool,
    ) -> Result<ExponentialDecay, TrainError> {
        if decay_steps.is_nan() || decay_steps <= 0.0 {
            return Err(TrainError::new(format!(
                "ExponentialDecay: decay_steps must be > 0, got {decay_steps}"
            )));
        }
        Ok(ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        })
    }
}

impl Schedule for ExponentialDecay {
    fn learning_rate(&self, step: u64) -> f32 {
        let mut p = step as f32 / self.decay_steps;
        if self.staircase {
            p = p.floor();
        }
        self.initial_learning_rate * self.decay_rate.powf(p)
    }
}

/// `values[0]` up to and including step `boundaries[0]`, `values[i]` for steps in
/// `(boundaries[i − 1], boundaries[i]]`, and the last value after the last boundary.
#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseConstant {
    boundaries: Vec<u64>,
    values: Vec<f32>,
}

impl PiecewiseConstant {
    /// The schedule; an error unless there is one more value than boundaries and the
    /// boundaries increase.
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<PiecewiseConstant, TrainError> {
        if values.len() != boundaries.len() + 1 {
            return Err(TrainError::new(format!(
                "PiecewiseConstant: {} boundaries need {} values, got {}",
                boundaries.len(),
                boundaries.len() + 1,
                values.len()
            )));
        }
        if boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(TrainError::new(format!(
                "PiecewiseConstant: boundaries must increase, got {boundaries:?}"
            )));
        }
        Ok(PiecewiseConstant { boundaries, values })
    }
}

impl Schedule for PiecewiseConstant {
    fn learning_rate(&self, step: u64) -> f32 {
        // The number of boundaries strictly below `step` is the index of its value.
        let i = self.boundaries.partition_point(|&b| b < step);
        self.values[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_decay_as_keras() {
        // Keras 3.15.1: ExponentialDecay(0.1, decay_steps=3, decay_rate=0.96)(0..5).
        let s = ExponentialDecay::new(0.1, 3.0, 0.96, false).unwrap();
        let keras = [0.1f32, 0.098_648_48, 0.097_315_23, 0.096, 0.094_702_54];
        for (step, want) in keras.into_iter().enumerate() {
            let got = s.learning_rate(step as u64);
            assert!(
                (got - want).abs() <= 1e-7 * want,
                "step {step}: {got} vs {want}"
            );
        }
        // Staircase: 0.1 · 0.96^floor(step / 3).
        let s = LearningRate::from(ExponentialDecay::new(0.1, 3.0, 0.96, true).unwrap());
        assert_eq!(
            [s.at(2), s.at(3), s.at(6)],
            [0.1, 0.1 * 0.96, 0.1 * 0.96f32.powi(2)]
        );
        assert!(ExponentialDecay::new(0.1, 0.0, 0.5, false).is_err());
        assert!(ExponentialDecay::new(0.1, f32::NAN, 0.5, false).is_err());
    }

    #[test]
    fn piecewise_constant_as_keras() {
        // Keras 3.15.1: PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])(0..8).
        let s = PiecewiseConstant::new(vec![2, 5], vec![1.0, 0.5, 0.1]).unwrap();
        let got: Vec<f32> = (0..8).map(|i| s.learning_rate(i)).collect();
        assert_eq!(got, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]);
        assert_eq!(
            PiecewiseConstant::new(vec![], vec![0.3])
                .unwrap()
                .learning_rate(9),
            0.3
        );
        let e = PiecewiseConstant::new(vec![2, 5], vec![1.0]).unwrap_err();
        assert_eq!(
            e.message,
            "PiecewiseConstant: 2 boundaries need 3 values, got 1"
        );
        assert!(PiecewiseConstant::new(vec![5, 2], vec![1.0, 0.5, 0.1]).is_err());
    }

    #[test]
    fn constant_and_custom() {
        #[derive(Debug)]
        struct Halving;
        impl Schedule for Halving {
            fn learning_rate(&self, step: u64) -> f32 {
                0.5f32.powi(step as i32)
            }
        }
        assert_eq!(LearningRate::from(0.01).at(1_000_000), 0.01);
        let custom = LearningRate::Custom(Arc::new(Halving));
        assert_eq!(custom.at(3), 0.125);
    }
}
