//! Keras's losses: the value, reduced as Keras reduces it (`"sum_over_batch_size"`: the mean
//! of the per-row losses), and its gradient with respect to the model's output.
//!
//! Probabilities are clipped to `[1e-7, 1 − 1e-7]` (Keras's `epsilon()`) before their
//! logarithm, and the gradient is zero where the clip bites, as it is through Keras's
//! `clip`. Categorical probabilities are first divided by their row's sum, as Keras does.
//! `from_logits` losses use a stable log-softmax / log-sigmoid. Sums are taken in `f64`.
//!
//! The usual classifier ends in `softmax` (or `sigmoid`) and is trained on the
//! crossentropy of its probabilities. The gradient with respect to those probabilities
//! ([`Loss::loss_and_grad`]) is large and badly conditioned where a probability is small;
//! chained through the activation's backward pass it collapses to `p − y`.
//! [`Loss::loss_and_logit_grad`] gives that product directly, the gradient with respect to
//! the activation's input, as Keras's TensorFlow backend does when it finds a softmax or
//! sigmoid under the loss.

use super::target::{check_target, rows, Target, TrainError};
use crate::layer::Activation;

/// Keras's `backend.epsilon()`.
const EPSILON: f32 = 1e-7;

/// A loss function, with Keras's semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// `-Σ y·log(p)` per row, against one-hot (or probability) targets ([`Target::Dense`]).
    CategoricalCrossentropy {
        /// Whether the output is logits rather than probabilities.
        from_logits: bool,
    },
    /// `-log(p[class])` per row, against class ids ([`Target::Classes`]).
    SparseCategoricalCrossentropy {
        /// Whether the output is logits rather than probabilities.
        from_logits: bool,
    },
    /// `-(y·log(p) + (1 − y)·log(1 − p))`, the mean over each row, against 0/1 targets.
    BinaryCrossentropy {
        /// Whether the output is logits rather than probabilities.
        from_logits: bool,
    },
    /// `(y − p)²`, the mean over each row.
    MeanSquaredError,
    /// `|y − p|`, the mean over each row.
    MeanAbsoluteError,
}

/// The target of one row.
#[derive(Clone, Copy)]
enum Row<'a> {
    Dense(&'a [f32]),
    Class(usize),
}

impl Row<'_> {
    #[inline]
    fn at(&self, j: usize) -> f64 {
        match self {
            Row::Dense(t) => f64::from(t[j]),
            Row::Class(c) => f64::from(u8::from(*c == j)),
        }
    }

    fn sum(&self) -> f64 {
        match self {
            Row::Dense(t) => t.iter().map(|&v| f64::from(v)).sum(),
            Row::Class(_) => 1.0,
        }
    }
}

impl Loss {
    /// Keras's name for it, as `compile(loss=...)` takes it.
    pub const fn name(&self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
        }
    }

    /// The loss Keras's `losses.get(name)` returns (function names, their aliases `mse`
    /// and `mae`, and class names), with `from_logits = false`.
    pub fn from_name(name: &str) -> Option<Loss> {
        Some(match name {
            "categorical_crossentropy" | "CategoricalCrossentropy" => {
                Loss::CategoricalCrossentropy { from_logits: false }
            }
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits: false }
            }
            "binary_crossentropy" | "BinaryCrossentropy" => {
                Loss::BinaryCrossentropy { from_logits: false }
            }
            "mean_squared_error" | "mse" | "MSE" | "MeanSquaredError" => Loss::MeanSquaredError,
            "mean_absolute_error" | "mae" | "MAE" | "MeanAbsoluteError" => Loss::MeanAbsoluteError,
            _ => return None,
        })
    }

    /// Whether the targets are class ids ([`Target::Classes`]) rather than dense values.
    pub const fn takes_classes(&self) -> bool {
        matches!(self, Loss::SparseCategoricalCrossentropy { .. })
    }

    /// The loss of a batch: `output` is rows of `width` values (see [`Target`]).
    pub fn loss(
        &self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
    ) -> Result<f32, TrainError> {
        self.eval(output, target, width, None)
    }

    /// The loss of a batch and, written into `grad` (as long as `output`), its gradient
    /// with respect to `output`, already divided by the number of rows as Keras's mean
    /// reduction divides it.
    pub fn loss_and_grad(
        &self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
        grad: &mut [f32],
    ) -> Result<f32, TrainError> {
        self.eval(output, target, width, Some(grad))
    }

    /// The output activation [`Loss::loss_and_logit_grad`] folds in: `softmax` for the
    /// categorical crossentropies of probabilities, `sigmoid` for the binary one; `None` for
    /// the losses of logits and for regressions.
    pub const fn fused_activation(&self) -> Option<Activation> {
        match self {
            Loss::CategoricalCrossentropy { from_logits: false }
            | Loss::SparseCategoricalCrossentropy { from_logits: false } => {
                Some(Activation::Softmax)
            }
            Loss::BinaryCrossentropy { from_logits: false } => Some(Activation::Sigmoid),
            _ => None,
        }
    }

    /// For an `output` that is the [`Loss::fused_activation`] (softmax or sigmoid) of the
    /// logits `z`: the loss, the same as [`Loss::loss`] gives, and, written into `grad`, its
    /// gradient with respect to `z`, `(p − y) / rows` (divided by `width` too for the binary
    /// crossentropy, a mean over each row). This is the softmax's (or sigmoid's) backward
    /// pass and the loss's in one step: no division by a small probability, no clip.
    ///
    /// An error for a loss without a fused activation (use [`Loss::loss_and_grad`]).
    pub fn loss_and_logit_grad(
        &self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
        grad: &mut [f32],
    ) -> Result<f32, TrainError> {
        if self.fused_activation().is_none() {
            return Err(TrainError::new(format!(
                "{}{}: no output activation to fold into the gradient; use `loss_and_grad`",
                self.name(),
                if self.is_from_logits() {
                    " of logits"
                } else {
                    ""
                }
            )));
        }
        let n = self.check(output, target, width, grad.len())?;
        let loss = self.eval(output, target, width, None)?;
        match (self, target) {
            (Loss::BinaryCrossentropy { .. }, Target::Dense(t)) => {
                let scale = 1.0 / (n * width) as f64;
                for ((g, &p), &y) in grad.iter_mut().zip(output).zip(t) {
                    *g = ((f64::from(p) - f64::from(y)) * scale) as f32;
                }
            }
            _ => {
                let scale = 1.0 / n as f64;
                for r in 0..n {
                    let row = row_target(target, r, width);
                    let tsum = row.sum();
                    let (p, g) = (
                        &output[r * width..][..width],
                        &mut grad[r * width..][..width],
                    );
                    for j in 0..width {
                        g[j] = ((f64::from(p[j]) * tsum - row.at(j)) * scale) as f32;
                    }
                }
            }
        }
        Ok(loss)
    }

    fn is_from_logits(&self) -> bool {
        matches!(
            self,
            Loss::CategoricalCrossentropy { from_logits: true }
                | Loss::SparseCategoricalCrossentropy { from_logits: true }
                | Loss::BinaryCrossentropy { from_logits: true }
        )
    }

    /// Checks every length and the kind of target; returns the number of rows.
    fn check(
        &self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
        grad_len: usize,
    ) -> Result<usize, TrainError> {
        let what = self.name();
        let n = rows(what, output, width)?;
        match (self.takes_classes(), target) {
            (true, Target::Dense(_)) => {
                return Err(TrainError::new(format!(
                    "{what} takes class ids (`Target::Classes`), not dense targets; \
                     for one-hot targets use `Loss::CategoricalCrossentropy`"
                )))
            }
            (false, Target::Classes(_)) => {
                return Err(TrainError::new(format!(
                    "{what} takes dense targets (`Target::Dense`), not class ids{}",
                    if matches!(self, Loss::CategoricalCrossentropy { .. }) {
                        "; for class ids use `Loss::SparseCategoricalCrossentropy`"
                    } else {
                        ""
                    }
                )))
            }
            _ => {}
        }
        check_target(what, target, n, width)?;
        if grad_len != output.len() {
            return Err(TrainError::new(format!(
                "{what}: the gradient buffer holds {grad_len} values for {} outputs",
                output.len()
            )));
        }
        Ok(n)
    }

    fn eval(
        &self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
        mut grad: Option<&mut [f32]>,
    ) -> Result<f32, TrainError> {
        let grad_len = grad.as_ref().map_or(output.len(), |g| g.len());
        let n = self.check(output, target, width, grad_len)?;
        let mut total = 0.0f64;
        match self {
            Loss::CategoricalCrossentropy { from_logits }
            | Loss::SparseCategoricalCrossentropy { from_logits } => {
                let scale = 1.0 / n as f64;
                for r in 0..n {
                    let row = row_target(target, r, width);
                    let o = &output[r * width..][..width];
                    let g = grad.as_deref_mut().map(|g| &mut g[r * width..][..width]);
                    total += if *from_logits {
                        crossentropy_logits(o, row, g, scale)
                    } else {
                        crossentropy_probs(o, row, g, scale)
                    };
                }
                Ok((total * scale) as f32)
            }
            Loss::BinaryCrossentropy { from_logits } => {
                let Target::Dense(t) = target else {
                    unreachable!("checked")
                };
                let scale = 1.0 / (n * width) as f64;
                for (i, (&x, &y)) in output.iter().zip(t).enumerate() {
                    let (x, y) = (f64::from(x), f64::from(y));
                    let (l, d) = if *from_logits {
                        // max(x, 0) − x·y + log(1 + e^−|x|), d/dx = σ(x) − y.
                        (
                            x.max(0.0) - x * y + (-x.abs()).exp().ln_1p(),
                            sigmoid(x) - y,
                        )
                    } else {
                        let (c, inside) = clip(x);
                        let l = -(y * c.ln() + (1.0 - y) * (1.0 - c).ln());
                        (
                            l,
                            if inside {
                                -y / c + (1.0 - y) / (1.0 - c)
                            } else {
                                0.0
                            },
                        )
                    };
                    total += l;
                    if let Some(g) = grad.as_deref_mut() {
                        g[i] = (d * scale) as f32;
                    }
                }
                Ok((total * scale) as f32)
            }
            Loss::MeanSquaredError | Loss::MeanAbsoluteError => {
                let Target::Dense(t) = target else {
                    unreachable!("checked")
                };
                let squared = matches!(self, Loss::MeanSquaredError);
                let scale = 1.0 / (n * width) as f64;
                for (i, (&o, &y)) in output.iter().zip(t).enumerate() {
                    let e = f64::from(o) - f64::from(y);
                    let (l, d) = if squared {
                        (e * e, 2.0 * e)
                    } else {
                        // The gradient of |e| at 0 is 0, as Keras's `sign`.
                        (e.abs(), if e == 0.0 { 0.0 } else { e.signum() })
                    };
                    total += l;
                    if let Some(g) = grad.as_deref_mut() {
                        g[i] = (d * scale) as f32;
                    }
                }
                Ok((total * scale) as f32)
            }
        }
    }
}

fn row_target(target: Target<'_>, r: usize, width: usize) -> Row<'_> {
    match target {
        Target::Dense(t) => Row::Dense(&t[r * width..][..width]),
        Target::Classes(c) => Row::Class(c[r] as usize),
    }
}

/// Keras's clip to `[ε, 1 − ε]` (bounds as `f32`, as Keras's are), and whether `v` is
/// inside it, where the gradient passes.
fn clip(v: f64) -> (f64, bool) {
    let (lo, hi) = (f64::from(EPSILON), f64::from(1.0f32 - EPSILON));
    (v.clamp(lo, hi), (lo..=hi).contains(&v))
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `-Σ t·log(clip(o / Σo))` for one row; with `grad`, its gradient times `scale`.
fn crossentropy_probs(o: &[f32], t: Row<'_>, grad: Option<&mut [f32]>, scale: f64) -> f64 {
    let sum: f64 = o.iter().map(|&v| f64::from(v)).sum();
    let mut loss = 0.0;
    // d loss / d q_j = −t_j / c_j where the clip passes; q_j = o_j / Σo.
    let mut dot = 0.0; // Σ_j (d loss / d q_j) · q_j
    for (j, &v) in o.iter().enumerate() {
        let tj = t.at(j);
        if tj != 0.0 {
            let q = f64::from(v) / sum;
            let (c, inside) = clip(q);
            loss -= tj * c.ln();
            if inside {
                dot -= tj / c * q;
            }
        }
    }
    if let Some(g) = grad {
        // d q_j / d o_i = (δ_ij − q_j) / Σo, so d loss / d o_i = (g_i − dot) / Σo.
        for (j, (gj, &v)) in g.iter_mut().zip(o).enumerate() {
            let tj = t.at(j);
            let (c, inside) = clip(f64::from(v) / sum);
            let dq = if inside && tj != 0.0 { -tj / c } else { 0.0 };
            *gj = ((dq - dot) / sum * scale) as f32;
        }
    }
    loss
}

/// `-Σ t·log_softmax(z)` for one row; with `grad`, `(softmax(z)·Σt − t) · scale`.
fn crossentropy_logits(z: &[f32], t: Row<'_>, grad: Option<&mut [f32]>, scale: f64) -> f64 {
    let max = z
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let sum_exp: f64 = z.iter().map(|&v| (f64::from(v) - max).exp()).sum();
    let lse = max + sum_exp.ln();
    let mut loss = 0.0;
    for (j, &v) in z.iter().enumerate() {
        let tj = t.at(j);
        if tj != 0.0 {
            loss -= tj * (f64::from(v) - lse);
        }
    }
    if let Some(g) = grad {
        let tsum = t.sum();
        for (j, (gj, &v)) in g.iter_mut().zip(z).enumerate() {
            let p = (f64::from(v) - lse).exp();
            *gj = ((p * tsum - t.at(j)) * scale) as f32;
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Loss; 8] = [
        Loss::CategoricalCrossentropy { from_logits: false },
        Loss::CategoricalCrossentropy { from_logits: true },
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        Loss::SparseCategoricalCrossentropy { from_logits: true },
        Loss::BinaryCrossentropy { from_logits: false },
        Loss::BinaryCrossentropy { from_logits: true },
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
    ];

    /// Two rows of three: unnormalised positive values (so every loss applies).
    const OUT: [f32; 6] = [0.2, 0.5, 0.3, 0.6, 0.15, 0.35];
    const ONE_HOT: [f32; 6] = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    const CLASSES: [u32; 2] = [1, 0];
    /// Binary / regression targets, not all 0 or 1.
    const DENSE: [f32; 6] = [0.0, 1.0, 1.0, 0.0, 0.25, 1.0];

    fn target_for(loss: Loss) -> Target<'static> {
        match loss {
            Loss::SparseCategoricalCrossentropy { .. } => Target::Classes(&CLASSES),
            Loss::CategoricalCrossentropy { .. } => Target::Dense(&ONE_HOT),
            _ => Target::Dense(&DENSE),
        }
    }

    fn close(a: f32, b: f64, tol: f64) -> bool {
        (f64::from(a) - b).abs() <= tol * (1.0 + b.abs())
    }

    /// Central differences of `loss` at `OUT`, against the analytic gradient.
    fn check_gradient(loss: Loss, out: &[f32], target: Target<'_>) {
        let mut grad = vec![0.0; out.len()];
        loss.loss_and_grad(out, target, 3, &mut grad).unwrap();
        for i in 0..out.len() {
            let h = 1e-3f32;
            let (mut plus, mut minus) = (out.to_vec(), out.to_vec());
            plus[i] += h;
            minus[i] -= h;
            let lp = f64::from(loss.loss(&plus, target, 3).unwrap());
            let lm = f64::from(loss.loss(&minus, target, 3).unwrap());
            let numeric = (lp - lm) / f64::from(plus[i] - minus[i]);
            assert!(
                close(grad[i], numeric, 2e-3),
                "{loss:?} d/d{i}: analytic {} numeric {numeric}",
                grad[i]
            );
        }
    }

    #[test]
    fn every_gradient_matches_central_differences() {
        for loss in ALL {
            check_gradient(loss, &OUT, target_for(loss));
        }
        // Logits of either sign, far from zero too.
        let z = [-3.0f32, 0.5, 2.0, 4.0, -1.0, 0.25];
        for loss in [ALL[1], ALL[3], ALL[5], ALL[6]] {
            check_gradient(loss, &z, target_for(loss));
        }
    }

    #[test]
    fn values_worked_by_hand() {
        let l = |loss: Loss| loss.loss(&OUT, target_for(loss), 3).unwrap();
        // Each row divided by its sum (1 and 1.1): −(ln 0.5 + ln(0.6 / 1.1)) / 2.
        let cce = -(0.5f64.ln() + (0.6f64 / 1.1).ln()) / 2.0;
        assert!(close(l(ALL[0]), cce, 1e-6));
        assert!(close(l(ALL[2]), cce, 1e-6));
        // Logits: −log_softmax; row 1: −(0.5 − ln(e^.2 + e^.5 + e^.3)).
        let lse = |a: f64, b: f64, c: f64| (a.exp() + b.exp() + c.exp()).ln();
        let from_logits = ((lse(0.2, 0.5, 0.3) - 0.5) + (lse(0.6, 0.15, 0.35) - 0.6)) / 2.0;
        assert!(close(l(ALL[1]), from_logits, 1e-6));
        assert!(close(l(ALL[3]), from_logits, 1e-6));
        // BCE: mean over the six of −(y ln p + (1 − y) ln(1 − p)).
        let bce: f64 = OUT
            .iter()
            .zip(DENSE)
            .map(|(&p, y)| {
                let (p, y) = (f64::from(p), f64::from(y));
                -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
            })
            .sum::<f64>()
            / 6.0;
        assert!(close(l(ALL[4]), bce, 1e-6));
        // MSE: (0.04 + 0.25 + 0.49 + 0.36 + 0.01 + 0.4225) / 6; MAE: (.2+.5+.7+.6+.1+.65)/6.
        assert!(close(l(ALL[6]), 1.5725 / 6.0, 1e-6));
        assert!(close(l(ALL[7]), 2.75 / 6.0, 1e-6));
    }

    /// Figures printed by Keras 3.15.1 (TensorFlow 2.21) for the same inputs:
    /// `keras.losses.X()(y_true, v)` and `tf.GradientTape().gradient` of it.
    #[test]
    fn keras_figures() {
        #[rustfmt::skip]
        let at_out: [(Loss, f64, [f64; 6]); 8] = [
            (ALL[0], 0.649_641_5, [0.5, -0.5, 0.5, -0.378_787_8, 0.454_545_4, 0.454_545_4]),
            (ALL[1], 0.911_060_9, [0.144_716_5, -0.304_653_1, 0.159_936_5, -0.293_083_1, 0.131_936_0, 0.161_147_1]),
            (ALL[2], 0.649_641_5, [0.5, -0.5, 0.5, -0.378_787_8, 0.454_545_5, 0.454_545_5]),
            (ALL[3], 0.911_060_9, [0.144_716_5, -0.304_653_1, 0.159_936_5, -0.293_083_1, 0.131_936_0, 0.161_147_1]),
            (ALL[4], 0.780_424_2, [0.208_333_3, -0.333_333_3, -0.555_555_6, 0.416_666_7, -0.130_719_0, -0.476_190_5]),
            (ALL[5], 0.688_483_1, [0.091_639_0, -0.062_923_4, -0.070_926_2, 0.107_609_4, 0.047_905_0, -0.068_897_1]),
            (ALL[6], 0.262_083_3, [0.066_666_7, -0.166_666_7, -0.233_333_3, 0.2, -0.033_333_3, -0.216_666_7]),
            (ALL[7], 0.458_333_3, [1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0]),
        ];
        let z = [-3.0f32, 0.5, 2.0, 4.0, -1.0, 0.25];
        #[rustfmt::skip]
        let at_z: [(Loss, f64, [f64; 6]); 4] = [
            (ALL[1], 0.868_357_0, [0.002_739_297, -0.409_287_0, 0.406_547_6, -0.014_683_57, 0.003_270_036, 0.011_413_55]),
            (ALL[3], 0.868_357_0, [0.002_739_297, -0.409_287_0, 0.406_547_6, -0.014_683_57, 0.003_270_036, 0.011_413_55]),
            (ALL[5], 0.967_823_8, [0.007_904_313, -0.062_923_45, -0.019_867_15, 0.163_668_98, 0.003_156_904, -0.072_970_58]),
            (ALL[6], 4.729_166_5, [-1.0, -0.166_666_7, 0.333_333_3, 1.333_333_4, -0.416_666_7, -0.25]),
        ];
        let mut g = [0.0; 6];
        for (x, cases) in [(&OUT, &at_out[..]), (&z, &at_z[..])] {
            for &(loss, value, grad) in cases {
                let v = loss.loss_and_grad(x, target_for(loss), 3, &mut g).unwrap();
                assert!(close(v, value, 1e-6), "{loss:?}: {v} vs Keras {value}");
                for (a, b) in g.iter().zip(grad) {
                    assert!(close(*a, b, 1e-6), "{loss:?}: {g:?} vs Keras {grad:?}");
                }
            }
        }
    }

    #[test]
    fn clipping_keeps_the_loss_finite_and_stops_the_gradient() {
        let out = [0.0f32, 1.0, 1.0, 0.0];
        let t = [1.0f32, 0.0, 1.0, 0.0];
        let mut g = [9.0; 4];
        let loss = Loss::CategoricalCrossentropy { from_logits: false };
        let v = loss
            .loss_and_grad(&out, Target::Dense(&t), 2, &mut g)
            .unwrap();
        // Row 1: −ln(1e-7) = 16.118; row 2: −ln(1 − 1e-7 as f32).
        let want = (-(1e-7f32 as f64).ln() - ((1.0f32 - 1e-7) as f64).ln()) / 2.0;
        assert!(close(v, want, 1e-6), "{v} vs {want}");
        assert_eq!(g[0], 0.0);
        let bce = Loss::BinaryCrossentropy { from_logits: false };
        let v = bce
            .loss_and_grad(&out, Target::Dense(&t), 2, &mut g)
            .unwrap();
        assert!(v.is_finite() && g.iter().all(|&x| x == 0.0), "{v} {g:?}");
        // From logits: no overflow where a naive softmax would have one.
        let z = [1000.0f32, -1000.0];
        let v = ALL[3].loss(&z, Target::Classes(&[1]), 2).unwrap();
        assert!(close(v, 2000.0, 1e-6));
        let v = ALL[5].loss(&z, Target::Dense(&[0.0, 1.0]), 2).unwrap();
        assert!(close(v, 1000.0, 1e-6));
    }

    #[test]
    fn fused_softmax_gradient_is_p_minus_y_over_batch() {
        let p = [0.7f32, 0.2, 0.1, 0.1, 0.6, 0.3];
        let mut g = [0.0; 6];
        let loss = Loss::SparseCategoricalCrossentropy { from_logits: false };
        let v = loss
            .loss_and_logit_grad(&p, Target::Classes(&[0, 2]), 3, &mut g)
            .unwrap();
        assert!(close(v, -(0.7f64.ln() + 0.3f64.ln()) / 2.0, 1e-6));
        let want = [-0.15, 0.1, 0.05, 0.05, 0.3, -0.35];
        assert!(g.iter().zip(want).all(|(&a, b)| close(a, b, 1e-6)), "{g:?}");

        // The same as the probability gradient chained through softmax's Jacobian,
        // and as the from-logits gradient at the logits ln p.
        let mut dp = [0.0; 6];
        loss.loss_and_grad(&p, Target::Classes(&[0, 2]), 3, &mut dp)
            .unwrap();
        for r in 0..2 {
            let (pr, dr) = (&p[r * 3..][..3], &dp[r * 3..][..3]);
            let dot: f32 = pr.iter().zip(dr).map(|(a, b)| a * b).sum();
            for j in 0..3 {
                assert!((pr[j] * (dr[j] - dot) - g[r * 3 + j]).abs() < 1e-6);
            }
        }
        let z: Vec<f32> = p.iter().map(|v| v.ln()).collect();
        let mut dz = [0.0; 6];
        let lz = ALL[3]
            .loss_and_grad(&z, Target::Classes(&[0, 2]), 3, &mut dz)
            .unwrap();
        assert!((lz - v).abs() < 1e-6);
        assert!(dz.iter().zip(g).all(|(a, b)| (a - b).abs() < 1e-6));

        // One-hot targets give the same.
        let mut g2 = [0.0; 6];
        let onehot = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        ALL[0]
            .loss_and_logit_grad(&p, Target::Dense(&onehot), 3, &mut g2)
            .unwrap();
        assert_eq!(g, g2);
    }

    #[test]
    fn fused_sigmoid_gradient_is_p_minus_y_over_elements() {
        let p = [0.9f32, 0.2, 0.5, 0.4];
        let t = [1.0f32, 0.0, 0.0, 1.0];
        let mut g = [0.0; 4];
        let v = ALL[4]
            .loss_and_logit_grad(&p, Target::Dense(&t), 2, &mut g)
            .unwrap();
        let want = -(0.9f64.ln() + 0.8f64.ln() + 0.5f64.ln() + 0.4f64.ln()) / 4.0;
        assert!(close(v, want, 1e-6));
        let want = [-0.025, 0.05, 0.125, -0.15];
        assert!(g.iter().zip(want).all(|(&a, b)| close(a, b, 1e-6)), "{g:?}");
        // Chained by hand: dL/dp · p(1 − p).
        let mut dp = [0.0; 4];
        ALL[4]
            .loss_and_grad(&p, Target::Dense(&t), 2, &mut dp)
            .unwrap();
        for i in 0..4 {
            assert!((dp[i] * p[i] * (1.0 - p[i]) - g[i]).abs() < 1e-6);
        }
    }

    #[test]
    fn mismatches_are_errors_not_panics() {
        let mut g = [0.0; 6];
        let sparse = ALL[2];
        let e = |r: Result<f32, TrainError>| r.unwrap_err().message;
        assert!(
            e(sparse.loss(&OUT, Target::Dense(&ONE_HOT), 3)).contains("for one-hot targets use")
        );
        assert!(e(ALL[0].loss(&OUT, Target::Classes(&CLASSES), 3))
            .contains("use `Loss::SparseCategoricalCrossentropy`"));
        assert_eq!(
            e(sparse.loss(&OUT, Target::Classes(&[1, 3]), 3)),
            "sparse_categorical_crossentropy: class id 3 (row 1) is out of range for 3 outputs (0..3)"
        );
        assert!(e(sparse.loss(&OUT, Target::Classes(&[1]), 3)).contains("1 class ids for 2 rows"));
        assert!(e(ALL[6].loss(&OUT, Target::Dense(&DENSE[..5]), 3))
            .contains("5 target values for 6 outputs"));
        assert!(e(ALL[6].loss(&OUT, Target::Dense(&DENSE), 4)).contains("whole rows of width 4"));
        assert!(e(ALL[6].loss(&OUT, Target::Dense(&DENSE), 0)).contains("width 0"));
        assert!(e(ALL[6].loss(&[], Target::Dense(&[]), 3)).contains("0 output values"));
        assert!(
            e(ALL[6].loss_and_grad(&OUT, Target::Dense(&DENSE), 3, &mut g[..5]))
                .contains("gradient buffer holds 5")
        );
        assert!(
            e(ALL[6].loss_and_logit_grad(&OUT, Target::Dense(&DENSE), 3, &mut g))
                .contains("use `loss_and_grad`")
        );
        assert!(
            e(ALL[1].loss_and_logit_grad(&OUT, Target::Dense(&ONE_HOT), 3, &mut g))
                .contains("of logits")
        );
    }

    #[test]
    fn names() {
        for loss in [ALL[0], ALL[2], ALL[4], ALL[6], ALL[7]] {
            assert_eq!(Loss::from_name(loss.name()), Some(loss));
        }
        assert_eq!(Loss::from_name("mse"), Some(Loss::MeanSquaredError));
        assert_eq!(Loss::from_name("hinge"), None);
        assert_eq!(ALL[2].fused_activation(), Some(Activation::Softmax));
        assert_eq!(ALL[4].fused_activation(), Some(Activation::Sigmoid));
        assert_eq!(ALL[3].fused_activation(), None);
    }
}
