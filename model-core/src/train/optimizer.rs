//! Keras 3's optimizers: the same defaults, the same update rules, in `f32` and in the same
//! order of operations as `keras/src/optimizers/*.py`.
//!
//! Parameters and their gradients are passed by position, as slices; each optimizer keeps
//! its per-parameter variables (Keras's "slots": momentums, velocities) for the parameter
//! at the same position on every step. `iterations` counts the steps applied, as Keras's
//! `optimizer.iterations`; the learning rate of a step is the schedule at `iterations`
//! before the step, and Adam's bias correction uses `iterations + 1`.
//!
//! Hyper-parameters are `f64`, as Keras's are Python floats: Keras computes `1 − β` in double
//! precision and rounds the result to `f32`, which moves an update by up to 1e-5 of itself
//! against computing it from an `f32` β; this module does the same.
//!
//! Not here (Keras's base-optimizer options): gradient clipping, `weight_decay` on optimizers
//! other than AdamW, EMA, loss scaling and gradient accumulation.

use std::fmt;

use super::schedule::LearningRate;
use super::target::TrainError;

/// Updates parameters from their gradients.
///
/// An optimizer implements [`step`](Self::step), [`name`](Self::name) and the two accessors
/// to its [`OptimizerState`]; the step count, the learning rate and `reset` come from that
/// state. A `step` that succeeds ends with [`OptimizerState::advance`].
///
/// ```
/// use model_core::train::{Optimizer, OptimizerState, TrainError};
///
/// /// Gradient descent without slots.
/// #[derive(Debug)]
/// struct Plain(OptimizerState);
///
/// impl Optimizer for Plain {
///     fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), TrainError> {
///         let lr = self.0.learning_rate();
///         for (w, g) in params.iter_mut().zip(grads) {
///             w.iter_mut().zip(*g).for_each(|(w, g)| *w -= lr * g);
///         }
///         self.0.advance();
///         Ok(())
///     }
///
///     fn name(&self) -> &'static str {
///         "Plain"
///     }
///
///     fn state(&self) -> &OptimizerState {
///         &self.0
///     }
///
///     fn state_mut(&mut self) -> &mut OptimizerState {
///         &mut self.0
///     }
/// }
///
/// let mut plain = Plain(OptimizerState::new(0.5));
/// let mut w = [1.0f32, 2.0];
/// plain.step(&mut [&mut w], &[&[1.0, -1.0]])?;
/// assert_eq!((w, plain.iterations(), plain.learning_rate()), ([0.5, 2.5], 1, 0.5));
/// plain.reset();
/// assert_eq!((plain.iterations(), plain.learning_rate()), (0, 0.5));
/// # Ok::<(), TrainError>(())
/// ```
pub trait Optimizer: fmt::Debug + Send {
    /// Applies one update: `params[i]` moves along `grads[i]`. The number of parameters and
    /// their sizes are fixed by the first step; a step that disagrees with them, or with
    /// its own gradients, is an error and changes nothing.
    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), TrainError>;

    /// Keras's class name (`"SGD"`, `"Adam"`, `"AdamW"`, `"RMSprop"`).
    fn name(&self) -> &'static str;

    /// The learning rate, the step count and the slots.
    fn state(&self) -> &OptimizerState;

    /// The learning rate, the step count and the slots, to change.
    fn state_mut(&mut self) -> &mut OptimizerState;

    /// The number of steps applied (Keras's `optimizer.iterations`).
    fn iterations(&self) -> u64 {
        self.state().iterations()
    }

    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f32 {
        self.state().learning_rate()
    }

    /// Forgets every slot and sets `iterations` to 0, as a freshly built optimizer. An
    /// optimizer with variables outside its state clears them too.
    fn reset(&mut self) {
        self.state_mut().reset();
    }
}

/// The optimizer Keras's `optimizers.get(name)` gives, with its defaults: `"sgd"`,
/// `"adam"`, `"adamw"` or `"rmsprop"`, in any case.
pub fn optimizer_from_name(name: &str) -> Option<Box<dyn Optimizer>> {
    Some(match name.to_ascii_lowercase().as_str() {
        "sgd" => Box::new(Sgd::default()),
        "adam" => Box::new(Adam::default()),
        "adamw" => Box::new(AdamW::default()),
        "rmsprop" => Box::new(RmsProp::default()),
        _ => return None,
    })
}

/// What every optimizer keeps besides its hyper-parameters: the learning rate, the step
/// count and, per parameter, its slots.
#[derive(Clone, Debug)]
pub struct OptimizerState {
    /// A constant or a schedule of [`iterations`](Self::iterations).
    pub learning_rate: LearningRate,
    iterations: u64,
    /// The slot kinds per parameter (fixed on the first step).
    kinds: usize,
    /// Per parameter, `kinds` slots of the parameter's size, one after another.
    data: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// A fresh optimizer's state: no step applied, no slot built.
    pub fn new(learning_rate: impl Into<LearningRate>) -> OptimizerState {
        OptimizerState {
            learning_rate: learning_rate.into(),
            iterations: 0,
            kinds: 0,
            data: Vec::new(),
        }
    }

    /// The number of steps applied.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// The learning rate the next step will use: the schedule at `iterations`.
    pub fn learning_rate(&self) -> f32 {
        self.learning_rate.at(self.iterations)
    }

    /// Counts a step applied; the last thing a successful [`Optimizer::step`] does.
    pub fn advance(&mut self) {
        self.iterations += 1;
    }

    /// Back to a fresh optimizer's state, keeping the learning rate.
    pub fn reset(&mut self) {
        *self = OptimizerState::new(self.learning_rate.clone());
    }

    /// Checks the step's shapes, building `kinds` zeroed slots per parameter on the first
    /// step.
    fn prepare(
        &mut self,
        name: &str,
        params: &[&mut [f32]],
        grads: &[&[f32]],
        kinds: usize,
    ) -> Result<(), TrainError> {
        if params.len() != grads.len() {
            return Err(TrainError::new(format!(
                "{name}: {} parameters but {} gradients",
                params.len(),
                grads.len()
            )));
        }
        if let Some(i) = (0..params.len()).find(|&i| params[i].len() != grads[i].len()) {
            return Err(TrainError::new(format!(
                "{name}: parameter {i} has {} values but its gradient {}",
                params[i].len(),
                grads[i].len()
            )));
        }
        if self.data.is_empty() && self.iterations == 0 {
            self.kinds = kinds;
            self.data = params.iter().map(|p| vec![0.0; p.len() * kinds]).collect();
            return Ok(());
        }
        if self.kinds != kinds {
            return Err(TrainError::new(format!(
                "{name}: built with {} slots per parameter, this step needs {kinds} \
                 (a hyper-parameter changed after the first step); call `reset` first",
                self.kinds
            )));
        }
        let same = self.data.len() == params.len()
            && (kinds == 0
                || self
                    .data
                    .iter()
                    .zip(params)
                    .all(|(d, p)| d.len() == p.len() * kinds));
        if !same {
            let built: Vec<usize> = self.data.iter().map(|d| d.len() / kinds.max(1)).collect();
            let now: Vec<usize> = params.iter().map(|p| p.len()).collect();
            return Err(TrainError::new(format!(
                "{name}: built for parameters of sizes {built:?}, this step has {now:?}; \
                 call `reset` to train other parameters"
            )));
        }
        Ok(())
    }

    /// Parameter `p`'s slots, `kinds` slices of its size.
    fn of(&mut self, p: usize, len: usize) -> std::slice::ChunksExactMut<'_, f32> {
        self.data[p].chunks_exact_mut(len.max(1))
    }
}

/// Gradient descent, with momentum (Keras's `SGD`).
///
/// `w −= lr·g`; with momentum, `v = momentum·v − lr·g` then `w += v`, or with Nesterov
/// `w += momentum·v − lr·g`.
#[derive(Clone, Debug)]
pub struct Sgd {
    /// In `[0, 1]`; default 0.
    pub momentum: f64,
    /// Default false.
    pub nesterov: bool,
    /// The learning rate (default 0.01), the step count and the momentums.
    pub state: OptimizerState,
}

impl Default for Sgd {
    fn default() -> Sgd {
        Sgd::new(0.01)
    }
}

impl Sgd {
    /// Plain gradient descent at `learning_rate`.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Sgd {
        Sgd {
            momentum: 0.0,
            nesterov: false,
            state: OptimizerState::new(learning_rate),
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), TrainError> {
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(TrainError::new(format!(
                "SGD: momentum must be in [0, 1], got {}",
                self.momentum
            )));
        }
        let with_momentum = self.momentum != 0.0;
        self.state
            .prepare("SGD", params, grads, usize::from(with_momentum))?;
        let lr = self.state.learning_rate();
        let mu = self.momentum as f32;
        for (p, (w, g)) in params.iter_mut().zip(grads).enumerate() {
            if with_momentum {
                let m = self.state.of(p, w.len()).next().unwrap_or_default();
                for ((w, &g), m) in w.iter_mut().zip(*g).zip(m) {
                    *m = *m * mu - g * lr;
                    *w += if self.nesterov { *m * mu - g * lr } else { *m };
                }
            } else {
                for (w, &g) in w.iter_mut().zip(*g) {
                    *w -= g * lr;
                }
            }
        }
        self.state.advance();
        Ok(())
    }

    fn name(&self) -> &'static str {
        "SGD"
    }

    fn state(&self) -> &OptimizerState {
        &self.state
    }

    fn state_mut(&mut self) -> &mut OptimizerState {
        &mut self.state
    }
}

/// Adam (Keras's `Adam`): `m += (g − m)(1 − β₁)`, `v += (g² − v)(1 − β₂)`,
/// `w −= m·α / (√v + ε)` with `α = lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ)`, `t = iterations + 1`.
#[derive(Clone, Debug)]
pub struct Adam {
    /// Default 0.9.
    pub beta_1: f64,
    /// Default 0.999.
    pub beta_2: f64,
    /// Default 1e-7.
    pub epsilon: f64,
    /// Use the largest `v` seen (AMSGrad); default false.
    pub amsgrad: bool,
    /// The learning rate (default 0.001), the step count, momentums, velocities (and their
    /// maxima with AMSGrad).
    pub state: OptimizerState,
}

impl Default for Adam {
    fn default() -> Adam {
        Adam::new(0.001)
    }
}

impl Adam {
    /// Adam at `learning_rate`, Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> Adam {
        Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            state: OptimizerState::new(learning_rate),
        }
    }
}

/// The step shared by Adam and AdamW (after AdamW's decay).
fn adam_step(
    name: &str,
    state: &mut OptimizerState,
    params: &mut [&mut [f32]],
    grads: &[&[f32]],
    (beta_1, beta_2, epsilon, amsgrad): (f64, f64, f64, bool),
    weight_decay: Option<f64>,
) -> Result<(), TrainError> {
    state.prepare(name, params, grads, if amsgrad { 3 } else { 2 })?;
    let lr = state.learning_rate();
    let t = (state.iterations + 1) as f32;
    // As Keras: the powers of β in f32, `1 − β` in f64 rounded to f32.
    let (b1, b2) = (beta_1 as f32, beta_2 as f32);
    let alpha = lr * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
    let (one_minus_b1, one_minus_b2) = ((1.0 - beta_1) as f32, (1.0 - beta_2) as f32);
    let (epsilon, weight_decay) = (epsilon as f32, weight_decay.map(|wd| wd as f32));
    for (p, (w, g)) in params.iter_mut().zip(grads).enumerate() {
        if let Some(wd) = weight_decay {
            // Keras's `_apply_weight_decay`, before the update: w −= w·wd·lr.
            for w in w.iter_mut() {
                *w -= *w * wd * lr;
            }
        }
        let mut slots = state.of(p, w.len());
        let (Some(m), Some(v)) = (slots.next(), slots.next()) else {
            continue; // an empty parameter
        };
        let k = AdamFactors {
            alpha,
            one_minus_b1,
            one_minus_b2,
            epsilon,
        };
        adam_update(w, g, m, v, slots.next(), k);
    }
    state.advance();
    Ok(())
}

/// The factors of one Adam step.
#[derive(Clone, Copy)]
struct AdamFactors {
    alpha: f32,
    one_minus_b1: f32,
    one_minus_b2: f32,
    epsilon: f32,
}

/// One parameter's Adam update: `m`, `v` (and AMSGrad's maximum `v_hat`) and `w`, element
/// by element. Compiled for AVX-512 too, where the CPU has it: the same operations in the
/// same order (square root and division are exactly rounded on every path), so the same
/// values bit for bit, 16 at a time.
fn adam_update(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_hat: Option<&mut [f32]>,
    k: AdamFactors,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { adam_update_avx512(w, g, m, v, v_hat, k) };
    }
    adam_body(w, g, m, v, v_hat, k)
}

/// [`adam_body`] compiled for AVX-512.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn adam_update_avx512(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_hat: Option<&mut [f32]>,
    k: AdamFactors,
) {
    adam_body(w, g, m, v, v_hat, k)
}

#[inline(always)]
fn adam_body(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_hat: Option<&mut [f32]>,
    k: AdamFactors,
) {
    let AdamFactors {
        alpha,
        one_minus_b1,
        one_minus_b2,
        epsilon,
    } = k;
    // Zipped slices, without indices, so that the loops vectorize.
    let each = w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
    match v_hat {
        None => {
            for (((w, &g), m), v) in each {
                *m += (g - *m) * one_minus_b1;
                *v += (g * g - *v) * one_minus_b2;
                *w -= *m * alpha / (v.sqrt() + epsilon);
            }
        }
        Some(h) => {
            for ((((w, &g), m), v), h) in each.zip(h.iter_mut()) {
                *m += (g - *m) * one_minus_b1;
                *v += (g * g - *v) * one_minus_b2;
                *h = h.max(*v);
                *w -= *m * alpha / (h.sqrt() + epsilon);
            }
        }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), TrainError> {
        let hyper = (self.beta_1, self.beta_2, self.epsilon, self.amsgrad);
        adam_step("Adam", &mut self.state, params, grads, hyper, None)
    }

    fn name(&self) -> &'static str {
        "Adam"
    }

    fn state(&self) -> &OptimizerState {
        &self.state
    }

    fn state_mut(&mut self) -> &mut OptimizerState {
        &mut self.state
    }
}

/// Adam with decoupled weight decay (Keras's `AdamW`): before each Adam update,
/// `w −= w·weight_decay·lr`, on every parameter (biases included, as Keras does unless told
/// to exclude some).
#[derive(Clone, Debug)]
pub struct AdamW {
    /// Default 0.004.
    pub weight_decay: f64,
    /// Default 0.9.
    pub beta_1: f64,
    /// Default 0.999.
    pub beta_2: f64,
    /// Default 1e-7.
    pub epsilon: f64,
    /// Default false.
    pub amsgrad: bool,
    /// The learning rate (default 0.001), the step count, momentums, velocities (and their
    /// maxima with AMSGrad).
    pub state: OptimizerState,
}

impl Default for AdamW {
    fn default() -> AdamW {
        AdamW::new(0.001)
    }
}

impl AdamW {
    /// AdamW at `learning_rate`, Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdamW {
        AdamW {
            weight_decay: 0.004,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            state: OptimizerState::new(learning_rate),
        }
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), TrainError> {
        let hyper = (self.beta_1, self.beta_2, self.epsilon, self.amsgrad);
        let wd = Some(self.weight_decay);
        adam_step("AdamW", &mut self.state, params, grads, hyper, wd)
    }

    fn name(&self) -> &'static str {
        "AdamW"
    }

    fn state(&self) -> &OptimizerState {
        &self.state
    }

    fn state_mut(&mut self) -> &mut OptimizerState {
        &mut self.state
    }
}

/// RMSprop (Keras's `RMSprop`): `v = ρv + (1 − ρ)g²`, `w −= lr·g / √(v + ε)`; centered,
/// `a = ρa + (1 − ρ)g` and the denominator `√(v − a² + ε)`; with momentum, the increment
/// goes through `s = momentum·s + increment`, `w −= s`.
#[derive(Clone, Debug)]
pub struct RmsProp {
    /// Default 0.9.
    pub rho: f64,
    /// Default 0.
    pub momentum: f64,
    /// Default 1e-7.
    pub epsilon: f64,
    /// Default false.
    pub centered: bool,
    /// The learning rate (default 0.001), the step count, velocities (momentums, average
    /// gradients when used).
    pub state: OptimizerState,
}

impl Default for RmsProp {
    fn default() -> RmsProp {
        RmsProp::new(0.001)
    }
}

impl RmsProp {
    /// RMSprop at `learning_rate`, Keras's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> RmsProp {
        RmsProp {
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            state: OptimizerState::new(learning_rate),
        }
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, params: &mut [&mut [f32]], grads: &[&[f32]]) -> Result<(), TrainError> {
        let with_momentum = self.momentum > 0.0;
        let kinds = 1 + usize::from(with_momentum) + usize::from(self.centered);
        self.state.prepare("RMSprop", params, grads, kinds)?;
        let lr = self.state.learning_rate();
        let (rho, one_minus_rho) = (self.rho as f32, (1.0 - self.rho) as f32);
        let (mu, eps) = (self.momentum as f32, self.epsilon as f32);
        for (p, (w, g)) in params.iter_mut().zip(grads).enumerate() {
            let mut slots = self.state.of(p, w.len());
            let Some(v) = slots.next() else {
                continue; // an empty parameter
            };
            let mut s = if with_momentum { slots.next() } else { None };
            let mut a = if self.centered { slots.next() } else { None };
            for (i, (w, &g)) in w.iter_mut().zip(*g).enumerate() {
                v[i] = rho * v[i] + one_minus_rho * (g * g);
                let denominator = match a.as_deref_mut() {
                    Some(a) => {
                        a[i] = rho * a[i] + one_minus_rho * g;
                        v[i] - a[i] * a[i] + eps
                    }
                    None => v[i] + eps,
                };
                let increment = lr * g / denominator.sqrt();
                match s.as_deref_mut() {
                    Some(s) => {
                        s[i] = mu * s[i] + increment;
                        *w -= s[i];
                    }
                    None => *w -= increment,
                }
            }
        }
        self.state.advance();
        Ok(())
    }

    fn name(&self) -> &'static str {
        "RMSprop"
    }

    fn state(&self) -> &OptimizerState {
        &self.state
    }

    fn state_mut(&mut self) -> &mut OptimizerState {
        &mut self.state
    }
}

#[cfg(test)]
mod tests {
    use super::super::schedule::{ExponentialDecay, PiecewiseConstant};
    use super::*;

    /// Three steps on two parameters, `[1, −2, 0.5]` and `[0.3]`.
    const GRADS: [([f32; 3], [f32; 1]); 3] = [
        ([0.1, -0.2, 0.3], [0.5]),
        ([-0.4, 0.5, 0.05], [-0.25]),
        ([0.2, 0.2, -0.1], [1.0]),
    ];

    #[test]
    fn the_avx512_adam_update_gives_the_baselines_values() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            let n = 1000; // not a multiple of 16: the loops' tails too
            let f = |m: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * m) % 101) as f32 / 50.0 - 1.0)
                    .collect()
            };
            let k = AdamFactors {
                alpha: 0.003,
                one_minus_b1: 0.1,
                one_minus_b2: 0.001,
                epsilon: 1e-7,
            };
            let g = f(7);
            let v0: Vec<f32> = f(11).iter().map(|x| x.abs()).collect();
            for amsgrad in [false, true] {
                let mut a = (f(3), f(5), v0.clone(), v0.clone());
                let mut b = a.clone();
                adam_body(
                    &mut a.0,
                    &g,
                    &mut a.1,
                    &mut a.2,
                    amsgrad.then_some(&mut a.3),
                    k,
                );
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe {
                    adam_update_avx512(
                        &mut b.0,
                        &g,
                        &mut b.1,
                        &mut b.2,
                        amsgrad.then_some(&mut b.3),
                        k,
                    )
                };
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                for (x, y) in [(&a.0, &b.0), (&a.1, &b.1), (&a.2, &b.2), (&a.3, &b.3)] {
                    assert_eq!(bits(x), bits(y), "amsgrad {amsgrad}");
                }
                assert_ne!(a.0, f(3), "the update changed nothing");
            }
        }
    }

    /// The parameters after each of the three steps.
    fn run(opt: &mut dyn Optimizer) -> Vec<[f32; 4]> {
        let (mut w1, mut w2) = ([1.0f32, -2.0, 0.5], [0.3f32]);
        let mut out = Vec::new();
        for (g1, g2) in GRADS {
            opt.step(&mut [&mut w1, &mut w2], &[&g1, &g2]).unwrap();
            out.push([w1[0], w1[1], w1[2], w2[0]]);
        }
        assert_eq!(opt.iterations(), 3);
        out
    }

    /// Each step's parameters against Keras's, within about an `f32` ulp.
    fn assert_keras(name: &str, got: &[[f32; 4]], keras: [[f64; 4]; 3]) {
        for (step, (g, k)) in got.iter().zip(keras).enumerate() {
            for (a, b) in g.iter().zip(k) {
                assert!(
                    (f64::from(*a) - b).abs() <= 1.2e-7 * (1.0 + b.abs()),
                    "{name} step {}: {g:?} vs Keras {k:?}",
                    step + 1
                );
            }
        }
    }

    #[test]
    fn defaults_are_keras_defaults() {
        let s = Sgd::default();
        assert_eq!(
            (s.state.learning_rate.at(0), s.momentum, s.nesterov),
            (0.01, 0.0, false)
        );
        let a = Adam::default();
        assert_eq!(
            (
                a.state.learning_rate.at(0),
                a.beta_1,
                a.beta_2,
                a.epsilon,
                a.amsgrad
            ),
            (0.001, 0.9, 0.999, 1e-7, false)
        );
        let w = AdamW::default();
        assert_eq!(
            (w.state.learning_rate.at(0), w.weight_decay, w.beta_2),
            (0.001, 0.004, 0.999)
        );
        let r = RmsProp::default();
        assert_eq!(
            (
                r.state.learning_rate.at(0),
                r.rho,
                r.momentum,
                r.epsilon,
                r.centered
            ),
            (0.001, 0.9, 0.0, 1e-7, false)
        );
        for (name, keras) in [
            ("sgd", "SGD"),
            ("Adam", "Adam"),
            ("ADAMW", "AdamW"),
            ("rmsprop", "RMSprop"),
        ] {
            assert_eq!(optimizer_from_name(name).unwrap().name(), keras);
        }
        assert!(optimizer_from_name("adagrad").is_none());
    }

    #[test]
    fn sgd_by_hand_and_as_keras() {
        let got = run(&mut Sgd::default());
        // By hand: w −= 0.01·g, step by step.
        assert_eq!(
            got[0],
            [1.0 - 0.001, -2.0 + 0.002, 0.5 - 0.003, 0.3 - 0.005]
        );
        assert_keras(
            "SGD",
            &got,
            [
                [0.999, -1.998, 0.497, 0.295],
                [1.003, -2.003, 0.4965, 0.2975],
                [1.001, -2.005, 0.4975, 0.2875],
            ],
        );
        // Momentum 0.9: v₂ = 0.9·(−0.001) − 0.01·(−0.4) = 0.0031, w = 0.999 + 0.0031.
        let got = run(&mut Sgd {
            momentum: 0.9,
            ..Sgd::default()
        });
        assert!((got[1][0] - 1.0021).abs() < 1e-6);
        assert_keras(
            "SGD(momentum=0.9)",
            &got,
            [
                [0.999, -1.998, 0.497, 0.295],
                [1.0021, -2.0012, 0.4938, 0.293],
                [1.00289, -2.00608, 0.49192, 0.2812],
            ],
        );
        // Nesterov: step 1 moves by 0.5·v − lr·g = 1.5·(−0.01) for g = 0.1.
        let got = run(&mut Sgd {
            momentum: 0.5,
            nesterov: true,
            ..Sgd::new(0.1)
        });
        assert_keras(
            "SGD(0.1, momentum=0.5, nesterov=True)",
            &got,
            [
                [0.985, -1.97, 0.455, 0.225],
                [1.0425, -2.04, 0.44, 0.25],
                [1.02125, -2.08, 0.45, 0.1],
            ],
        );
    }

    #[test]
    fn adam_by_hand_and_as_keras() {
        let got = run(&mut Adam::default());
        // Step 1: m = 0.1g, v = 0.001g², α = 0.001·√0.001 / 0.1, so the move is
        // 0.001 · |g|/(|g| + ε/√0.001) ≈ 0.001 against the gradient's sign.
        let first = |g: f64| 0.001 * g.abs() / (g.abs() + 1e-7 / 0.001f64.sqrt());
        assert!((f64::from(got[0][0]) - (1.0 - first(0.1))).abs() < 1e-7);
        assert!((f64::from(got[0][1]) - (-2.0 + first(0.2))).abs() < 1e-7);
        assert_keras(
            "Adam",
            &got,
            [
                [0.999_000_01, -1.999_000_07, 0.499_000_01, 0.299_000_02],
                [0.999_559_52, -1.999_442_34, 0.498_216_69, 0.298_733_68],
                [0.999_669_67, -1.999_985_22, 0.497_841_24, 0.298_075_59],
            ],
        );
        let got = run(&mut Adam {
            amsgrad: true,
            ..Adam::new(0.01)
        });
        assert_keras(
            "Adam(0.01, amsgrad=True)",
            &got,
            [
                [0.990_000_37, -1.990_000_25, 0.490_000_16, 0.290_000_14],
                [0.995_595_28, -1.994_422_32, 0.482_167_04, 0.287_336_83],
                [0.996_697_01, -1.999_851_70, 0.478_412_54, 0.280_755_76],
            ],
        );
    }

    #[test]
    fn adamw_decays_before_the_adam_step() {
        let got = run(&mut AdamW::default());
        // Step 1: 1 − 1·0.004·0.001 = 0.999996, then Adam's ≈ −0.001.
        assert!((got[0][0] - (0.999_996 - 0.001)).abs() < 1e-6);
        assert_keras(
            "AdamW",
            &got,
            [
                [0.998_996_02, -1.998_992_09, 0.498_998_02, 0.298_998_83],
                [0.999_551_53, -1.999_426_36, 0.498_212_70, 0.298_731_30],
                [0.999_657_69, -1.999_961_26, 0.497_835_25, 0.298_072_01],
            ],
        );
        let got = run(&mut AdamW {
            weight_decay: 0.5,
            ..AdamW::new(0.1)
        });
        assert_keras(
            "AdamW(0.1, weight_decay=0.5)",
            &got,
            [
                [0.850_003_84, -1.800_002_22, 0.375_001_73, 0.185_001_34],
                [0.863_453_03, -1.754_222_87, 0.277_920_51, 0.149_117_99],
                [0.831_297_64, -1.720_805_53, 0.226_479_59, 0.075_851_36],
            ],
        );
    }

    #[test]
    fn rmsprop_by_hand_and_as_keras() {
        let got = run(&mut RmsProp::default());
        // Step 1: v = 0.1g², w −= 0.001·g/√(0.1g² + 1e-7) ≈ 0.001/√0.1 = 0.0031623.
        let first = 0.001 * 0.1 / (0.1f64 * 0.01 + 1e-7).sqrt();
        assert!((f64::from(got[0][0]) - (1.0 - first)).abs() < 1e-7);
        assert_keras(
            "RMSprop",
            &got,
            [
                [0.996_837_85, -1.996_837_74, 0.496_837_74, 0.296_837_75],
                [0.999_914_77, -1.999_794_24, 0.496_290_56, 0.298_312_16],
                [0.998_471_80, -2.000_953_91, 0.497_374_27, 0.295_493_57],
            ],
        );
        let got = run(&mut RmsProp {
            momentum: 0.5,
            centered: true,
            ..RmsProp::new(0.01)
        });
        assert_keras(
            "RMSprop(0.01, momentum=0.5, centered=True)",
            &got,
            [
                [0.966_668_55, -1.966_667_18, 0.466_666_88, 0.266_666_77],
                [0.981_685_94, -1.980_110_29, 0.444_158_70, 0.264_847_96],
                [0.974_741_16, -1.998_923_42, 0.443_973_66, 0.234_051_32],
            ],
        );
    }

    #[test]
    fn schedules_use_the_iterations_before_the_step() {
        let exp = ExponentialDecay::new(0.1, 2.0, 0.5, false).unwrap();
        let mut sgd = Sgd::new(exp);
        assert_eq!(sgd.learning_rate(), 0.1);
        let got = run(&mut sgd);
        assert!((sgd.learning_rate() - 0.1 * 0.5f32.powf(1.5)).abs() < 1e-8);
        assert_keras(
            "SGD(ExponentialDecay(0.1, 2, 0.5))",
            &got,
            [
                [0.99, -1.98, 0.47, 0.25],
                [1.018_284_32, -2.015_355_35, 0.466_464_46, 0.267_677_67],
                [1.008_284_33, -2.025_355_34, 0.471_464_46, 0.217_677_67],
            ],
        );
        let got = run(&mut Sgd::new(
            ExponentialDecay::new(0.1, 2.0, 0.5, true).unwrap(),
        ));
        assert_keras(
            "SGD(ExponentialDecay(0.1, 2, 0.5, staircase=True))",
            &got,
            [
                [0.99, -1.98, 0.47, 0.25],
                [1.03, -2.03, 0.465, 0.275],
                [1.02, -2.04, 0.47, 0.225],
            ],
        );
        let pw = PiecewiseConstant::new(vec![1, 2], vec![0.1, 0.01, 0.001]).unwrap();
        let got = run(&mut Sgd::new(pw));
        assert_keras(
            "SGD(PiecewiseConstantDecay([1, 2], [0.1, 0.01, 0.001]))",
            &got,
            [
                [0.99, -1.98, 0.47, 0.25],
                [1.03, -2.03, 0.465, 0.275],
                [1.028, -2.032, 0.466, 0.265],
            ],
        );
    }

    #[test]
    fn shape_mismatches_are_errors_and_change_nothing() {
        let mut adam = Adam::default();
        let (mut w1, mut w2) = ([1.0f32, 2.0], [3.0f32]);
        let e = adam
            .step(&mut [&mut w1, &mut w2], &[&[0.1, 0.1]])
            .unwrap_err();
        assert_eq!(e.message, "Adam: 2 parameters but 1 gradients");
        let e = adam
            .step(&mut [&mut w1, &mut w2], &[&[0.1], &[0.1]])
            .unwrap_err();
        assert_eq!(
            e.message,
            "Adam: parameter 0 has 2 values but its gradient 1"
        );
        assert_eq!((adam.iterations(), w1, w2), (0, [1.0, 2.0], [3.0]));
        adam.step(&mut [&mut w1, &mut w2], &[&[0.1, 0.1], &[0.1]])
            .unwrap();
        let mut w3 = [0.0f32; 3];
        let e = adam
            .step(&mut [&mut w1, &mut w3], &[&[0.1, 0.1], &[0.1; 3]])
            .unwrap_err();
        assert!(e
            .message
            .contains("built for parameters of sizes [2, 1], this step has [2, 3]"));
        adam.reset();
        adam.step(&mut [&mut w1, &mut w3], &[&[0.1, 0.1], &[0.1; 3]])
            .unwrap();
        assert_eq!(adam.iterations(), 1);

        let mut sgd = Sgd::default();
        sgd.step(&mut [&mut w1], &[&[0.1, 0.1]]).unwrap();
        sgd.momentum = 0.9;
        assert!(sgd
            .step(&mut [&mut w1], &[&[0.1, 0.1]])
            .unwrap_err()
            .message
            .contains("call `reset` first"));
        sgd.momentum = 1.5;
        assert!(sgd
            .step(&mut [&mut w1], &[&[0.1, 0.1]])
            .unwrap_err()
            .message
            .contains("momentum must be in [0, 1]"));
        // Empty parameters are fine.
        let mut e: [f32; 0] = [];
        let mut rms = RmsProp::default();
        rms.step(&mut [&mut e], &[&[]]).unwrap();
        rms.step(&mut [&mut e], &[&[]]).unwrap();
    }
}
