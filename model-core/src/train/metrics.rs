//! Metrics as Keras computes and names them: accuracy (sparse categorical, categorical or
//! binary, as Keras resolves `metrics=["accuracy"]`), running means, and the logs of an
//! epoch in Keras's order.

use super::loss::Loss;
use super::target::{check_target, rows, Target, TrainError};

/// Keras's name of the loss's running mean.
pub const LOSS: &str = "loss";
/// Keras's name of the accuracy, whichever kind `"accuracy"` resolves to.
pub const ACCURACY: &str = "accuracy";

/// The name Keras gives a metric computed on the validation data: `val_loss`,
/// `val_accuracy`.
pub fn val_name(name: &str) -> String {
    format!("val_{name}")
}

/// Which accuracy: how a prediction is compared with its target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AccuracyKind {
    /// `argmax(output) == class id` per row.
    SparseCategorical,
    /// `argmax(output) == argmax(target)` per row.
    Categorical,
    /// `(output > threshold) == target` per value, averaged over each row.
    Binary {
        /// Keras's default is 0.5.
        threshold: f32,
    },
}

impl AccuracyKind {
    /// Keras's `get_metric("accuracy", y_true, y_pred)`: binary when the output has one
    /// value per row, sparse categorical for class ids, categorical otherwise.
    pub fn resolve(target: Target<'_>, width: usize) -> AccuracyKind {
        match target {
            _ if width == 1 => AccuracyKind::Binary { threshold: 0.5 },
            Target::Classes(_) => AccuracyKind::SparseCategorical,
            Target::Dense(_) => AccuracyKind::Categorical,
        }
    }

    /// [`AccuracyKind::resolve`] for the targets `loss` takes.
    pub fn for_loss(loss: &Loss, width: usize) -> AccuracyKind {
        match loss {
            _ if width == 1 => AccuracyKind::Binary { threshold: 0.5 },
            Loss::SparseCategoricalCrossentropy { .. } => AccuracyKind::SparseCategorical,
            _ => AccuracyKind::Categorical,
        }
    }

    /// Keras's class name of this accuracy.
    pub const fn keras_class(&self) -> &'static str {
        match self {
            AccuracyKind::SparseCategorical => "SparseCategoricalAccuracy",
            AccuracyKind::Categorical => "CategoricalAccuracy",
            AccuracyKind::Binary { .. } => "BinaryAccuracy",
        }
    }

    /// The sum over rows of each row's accuracy (1 or 0, or a fraction for binary rows of
    /// several values), and the number of rows.
    pub fn matches(
        &self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
    ) -> Result<(f64, usize), TrainError> {
        let what = self.keras_class();
        let n = rows(what, output, width)?;
        match (self, target) {
            // Binary labels as ids: one per output value, compared as 0/1 (any other id
            // never matches, as in Keras).
            (AccuracyKind::Binary { .. }, Target::Classes(c)) if c.len() != output.len() => {
                return Err(TrainError::new(format!(
                    "{what}: {} labels for {} outputs; binary labels are one per output",
                    c.len(),
                    output.len()
                )))
            }
            (AccuracyKind::Binary { .. }, Target::Classes(_)) => {}
            _ => check_target(what, target, n, width)?,
        }
        let rows = output.chunks_exact(width);
        let hits = match (self, target) {
            (AccuracyKind::SparseCategorical, Target::Classes(c)) => {
                rows.zip(c)
                    .filter(|(o, &c)| argmax(o) == c as usize)
                    .count() as f64
            }
            (AccuracyKind::Categorical, Target::Dense(t)) => rows
                .zip(t.chunks_exact(width))
                .filter(|(o, t)| argmax(o) == argmax(t))
                .count() as f64,
            (AccuracyKind::Binary { threshold }, target) => {
                let positive = |o: f32| f32::from(u8::from(o > *threshold));
                let same = match target {
                    Target::Dense(t) => output
                        .iter()
                        .zip(t)
                        .filter(|(&o, &t)| positive(o) == t)
                        .count(),
                    Target::Classes(c) => output
                        .iter()
                        .zip(c)
                        .filter(|(&o, &c)| positive(o) == c as f32)
                        .count(),
                };
                same as f64 / width as f64
            }
            (AccuracyKind::SparseCategorical, Target::Dense(_)) => {
                return Err(TrainError::new(
                    "SparseCategoricalAccuracy compares class ids (`Target::Classes`); \
                     for one-hot targets use `AccuracyKind::Categorical`",
                ))
            }
            (AccuracyKind::Categorical, Target::Classes(_)) => {
                return Err(TrainError::new(
                    "CategoricalAccuracy compares one-hot targets (`Target::Dense`); \
                     for class ids use `AccuracyKind::SparseCategorical`",
                ))
            }
        };
        Ok((hits, n))
    }
}

/// The index of the first largest value, as `argmax`.
fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// A weighted running mean (Keras's `Mean` metric): the loss over an epoch is the mean of
/// the batches' losses weighted by their sizes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Mean {
    total: f64,
    count: f64,
}

impl Mean {
    /// Nothing seen yet.
    pub fn new() -> Mean {
        Mean::default()
    }

    /// Adds `value` with `weight` (a batch's mean loss and its number of samples).
    pub fn update(&mut self, value: f64, weight: f64) {
        self.total += value * weight;
        self.count += weight;
    }

    /// The mean so far; 0 before any update, as Keras's `divide_no_nan`.
    pub fn result(&self) -> f32 {
        if self.count == 0.0 {
            0.0
        } else {
            (self.total / self.count) as f32
        }
    }

    /// Back to nothing seen (the start of an epoch).
    pub fn reset(&mut self) {
        *self = Mean::default();
    }
}

/// The running accuracy over the batches of an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    /// How predictions are compared with targets.
    pub kind: AccuracyKind,
    mean: Mean,
}

impl Accuracy {
    /// An accuracy of `kind`, nothing seen yet.
    pub fn new(kind: AccuracyKind) -> Accuracy {
        Accuracy {
            kind,
            mean: Mean::new(),
        }
    }

    /// Adds a batch: `output` in rows of `width`, against `target`.
    pub fn update(
        &mut self,
        output: &[f32],
        target: Target<'_>,
        width: usize,
    ) -> Result<(), TrainError> {
        let (hits, n) = self.kind.matches(output, target, width)?;
        self.mean.update(hits / n as f64, n as f64);
        Ok(())
    }

    /// The fraction of rows right so far.
    pub fn result(&self) -> f32 {
        self.mean.result()
    }

    /// Back to nothing seen.
    pub fn reset(&mut self) {
        self.mean.reset();
    }
}

/// Named metric values, in the order Keras prints them and fills `History`: the training
/// metrics sorted by name (`accuracy`, `loss`), then the validation ones sorted
/// (`val_accuracy`, `val_loss`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs {
    entries: Vec<(String, f32)>,
}

impl Logs {
    /// No values.
    pub fn new() -> Logs {
        Logs::default()
    }

    /// Sets `name` to `value`, in its place in Keras's order.
    pub fn insert(&mut self, name: impl Into<String>, value: f32) {
        let name = name.into();
        match self
            .entries
            .binary_search_by(|(n, _)| keras_order(n, &name))
        {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => self.entries.insert(i, (name, value)),
        }
    }

    /// Adds every value of `validation` as `val_<name>`.
    pub fn extend_validation(&mut self, validation: &Logs) {
        for (name, value) in validation.iter() {
            self.insert(val_name(name), value);
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.iter().find(|&(n, _)| n == name).map(|(_, v)| v)
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), *v))
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Keras's order of metric names: the training ones sorted, then the validation ones.
pub(crate) fn keras_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a.starts_with("val_"), a).cmp(&(b.starts_with("val_"), b))
}

impl<S: Into<String>> FromIterator<(S, f32)> for Logs {
    fn from_iter<I: IntoIterator<Item = (S, f32)>>(iter: I) -> Logs {
        let mut logs = Logs::new();
        for (n, v) in iter {
            logs.insert(n, v);
        }
        logs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_categorical_accuracy() {
        // Rows' argmax: 1, 0, 2 (the first of a tie: 0).
        let out = [0.1, 0.7, 0.2, 0.5, 0.5, 0.0, 0.2, 0.3, 0.5];
        let kind = AccuracyKind::resolve(Target::Classes(&[0]), 3);
        assert_eq!(kind, AccuracyKind::SparseCategorical);
        assert_eq!(
            kind.matches(&out, Target::Classes(&[1, 0, 0]), 3),
            Ok((2.0, 3))
        );
        assert_eq!(
            kind.matches(&out, Target::Classes(&[1, 1, 2]), 3),
            Ok((2.0, 3))
        );
        let e = kind
            .matches(&out, Target::Classes(&[1, 1, 3]), 3)
            .unwrap_err();
        assert!(
            e.message.contains("class id 3 (row 2) is out of range"),
            "{e}"
        );
        assert!(kind.matches(&out, Target::Dense(&out), 3).is_err());
    }

    #[test]
    fn categorical_accuracy() {
        let out = [0.1, 0.7, 0.2, 0.6, 0.3, 0.1];
        let t = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let kind = AccuracyKind::resolve(Target::Dense(&t), 3);
        assert_eq!(kind, AccuracyKind::Categorical);
        assert_eq!(kind.matches(&out, Target::Dense(&t), 3), Ok((1.0, 2)));
        assert!(kind.matches(&out, Target::Classes(&[1, 2]), 3).is_err());
        assert!(kind.matches(&out, Target::Dense(&t[..5]), 3).is_err());
    }

    #[test]
    fn binary_accuracy_thresholds_at_one_half() {
        // Width 1 resolves to binary, whatever the target.
        let kind = AccuracyKind::resolve(Target::Classes(&[0]), 1);
        assert_eq!(kind, AccuracyKind::Binary { threshold: 0.5 });
        let out = [0.2, 0.5, 0.51, 0.9];
        // 0.5 is not above the threshold: predicted 0, 0, 1, 1.
        let t = [0.0, 1.0, 1.0, 0.0];
        assert_eq!(kind.matches(&out, Target::Dense(&t), 1), Ok((2.0, 4)));
        assert_eq!(
            kind.matches(&out, Target::Classes(&[0, 0, 1, 1]), 1),
            Ok((4.0, 4))
        );
        // Two rows of two: each row's mean, summed.
        assert_eq!(kind.matches(&out, Target::Dense(&t), 2), Ok((1.0, 2)));
        let other = AccuracyKind::Binary { threshold: 0.0 };
        assert_eq!(
            other.matches(&[-1.0, 1.0], Target::Dense(&[0.0, 1.0]), 1),
            Ok((2.0, 2))
        );
        assert_eq!(
            AccuracyKind::for_loss(&Loss::BinaryCrossentropy { from_logits: false }, 1),
            kind
        );
    }

    #[test]
    fn accuracy_and_loss_are_means_weighted_by_batch_size() {
        let mut acc = Accuracy::new(AccuracyKind::SparseCategorical);
        assert_eq!(acc.result(), 0.0);
        // A batch of 3 with 2 right, then one of 1 with 0 right: 2/4, not (2/3 + 0)/2.
        acc.update(
            &[1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
            Target::Classes(&[0, 0, 0]),
            2,
        )
        .unwrap();
        acc.update(&[1.0, 0.0], Target::Classes(&[1]), 2).unwrap();
        assert_eq!(acc.result(), 0.5);
        assert!(acc.update(&[1.0], Target::Classes(&[0, 1]), 2).is_err());
        assert_eq!(acc.result(), 0.5);
        acc.reset();
        assert_eq!(acc.result(), 0.0);

        let mut loss = Mean::new();
        loss.update(0.3, 128.0);
        loss.update(0.6, 32.0);
        assert!((loss.result() - 0.36).abs() < 1e-7);
    }

    #[test]
    fn logs_keep_keras_order() {
        let mut logs: Logs = [(LOSS, 0.31), (ACCURACY, 0.91)].into_iter().collect();
        let val: Logs = [("loss", 0.35), ("accuracy", 0.89)].into_iter().collect();
        logs.extend_validation(&val);
        logs.insert("loss", 0.3);
        let names: Vec<&str> = logs.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["accuracy", "loss", "val_accuracy", "val_loss"]);
        assert_eq!(
            (logs.get("loss"), logs.get("val_accuracy"), logs.get("x")),
            (Some(0.3), Some(0.89), None)
        );
        assert_eq!(logs.len(), 4);
    }
}
