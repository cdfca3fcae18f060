//! What `fit` returns: each metric's value at the end of every epoch, under Keras's names.

use std::fmt;

use super::metrics::{keras_order, Logs};

/// Per-epoch metric values (Keras's `History.history`), keyed by Keras's names: `loss`,
/// `accuracy`, `val_loss`, `val_accuracy`, …
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    epochs: Vec<usize>,
    /// In Keras's order of names.
    series: Vec<Series>,
}

#[derive(Clone, Debug, PartialEq)]
struct Series {
    name: String,
    /// The epochs (0-based) that have a value, increasing.
    epochs: Vec<usize>,
    values: Vec<f32>,
}

impl History {
    /// No epochs yet.
    pub fn new() -> History {
        History::default()
    }

    /// Records the logs at the end of `epoch` (0-based, as Keras's `history.epoch`).
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epochs.push(epoch);
        for (name, value) in logs.iter() {
            let i = match self.series.binary_search_by(|s| keras_order(&s.name, name)) {
                Ok(i) => i,
                Err(i) => {
                    let series = Series {
                        name: name.to_owned(),
                        epochs: Vec::new(),
                        values: Vec::new(),
                    };
                    self.series.insert(i, series);
                    i
                }
            };
            self.series[i].epochs.push(epoch);
            self.series[i].values.push(value);
        }
    }

    /// The values of `name`, one per epoch that logged it (as Keras's
    /// `history.history[name]`).
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.find(name).map(|s| s.values.as_slice())
    }

    /// The last value of `name`.
    pub fn last(&self, name: &str) -> Option<f32> {
        self.get(name)?.last().copied()
    }

    /// The epochs recorded (0-based), as Keras's `history.epoch`.
    pub fn epoch(&self) -> &[usize] {
        &self.epochs
    }

    /// The metric names, in Keras's order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.series.iter().map(|s| s.name.as_str())
    }

    /// The number of epochs recorded.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// Whether no epoch is recorded.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    fn find(&self, name: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.name == name)
    }
}

/// A table, one row per epoch (numbered from 1, as Keras prints them), values to 4
/// decimals; `-` where an epoch did not log a metric.
impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = self.series.iter().map(|s| s.name.len().max(6)).collect();
        write!(f, "epoch")?;
        for (s, w) in self.series.iter().zip(&widths) {
            write!(f, "  {:>w$}", s.name)?;
        }
        writeln!(f)?;
        for &epoch in &self.epochs {
            write!(f, "{:>5}", epoch + 1)?;
            for (s, w) in self.series.iter().zip(&widths) {
                match s.epochs.binary_search(&epoch) {
                    Ok(i) => write!(f, "  {:>w$.4}", s.values[i])?,
                    Err(_) => write!(f, "  {:>w$}", "-")?,
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs(pairs: &[(&str, f32)]) -> Logs {
        pairs.iter().map(|&(n, v)| (n, v)).collect()
    }

    #[test]
    fn records_per_epoch_under_keras_names() {
        let mut h = History::new();
        h.push(0, &logs(&[("loss", 0.6543), ("accuracy", 0.8123)]));
        h.push(
            1,
            &logs(&[
                ("loss", 0.3101),
                ("accuracy", 0.9123),
                ("val_loss", 0.28),
                ("val_accuracy", 0.92),
            ]),
        );
        assert_eq!(h.get("loss"), Some(&[0.6543, 0.3101][..]));
        assert_eq!(h.get("val_accuracy"), Some(&[0.92][..]));
        assert_eq!(h.get("mse"), None);
        assert_eq!(h.last("accuracy"), Some(0.9123));
        assert_eq!((h.epoch(), h.len()), (&[0, 1][..], 2));
        assert_eq!(
            h.names().collect::<Vec<_>>(),
            ["accuracy", "loss", "val_accuracy", "val_loss"]
        );
        assert_eq!(
            h.to_string(),
            "epoch  accuracy    loss  val_accuracy  val_loss\n\
             \x20   1    0.8123  0.6543             -         -\n\
             \x20   2    0.9123  0.3101        0.9200    0.2800\n"
        );
        assert_eq!(History::new().to_string(), "epoch\n");
    }
}
