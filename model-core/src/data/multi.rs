//! Samples for models of several inputs or outputs, and the borrowed view that training
//! reads every dataset through.

use super::{DataError, Dataset};

/// Samples for a model of several inputs or outputs (Keras's `fit(x=[a, b], y=[c, d])`):
/// one array of samples per input, in the model's input order, and one vector of class ids
/// per output, in its output order. Every input and every label vector holds `len` samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiDataset {
    /// Each input's samples, one after the other, with one sample's shape.
    pub inputs: Vec<(Vec<f32>, Vec<usize>)>,
    /// Each output's labels: one class id per sample.
    pub labels: Vec<Vec<u32>>,
    /// Number of samples.
    pub len: usize,
}

impl MultiDataset {
    /// Checks that every input and every label vector holds the same number of samples.
    pub fn new(
        inputs: Vec<(Vec<f32>, Vec<usize>)>,
        labels: Vec<Vec<u32>>,
    ) -> Result<MultiDataset, DataError> {
        let Some(first) = labels.first() else {
            return Err(invalid("a dataset needs labels for at least one output"));
        };
        let len = first.len();
        if let Some((o, l)) = labels.iter().enumerate().find(|(_, l)| l.len() != len) {
            return Err(invalid(format!(
                "output {o} has {} labels, output 0 has {len}",
                l.len()
            )));
        }
        if inputs.is_empty() {
            return Err(invalid("a dataset needs samples for at least one input"));
        }
        for (i, (x, shape)) in inputs.iter().enumerate() {
            let per: usize = shape.iter().product();
            if x.len() != len * per {
                return Err(invalid(format!(
                    "input {i} holds {} values, but {len} samples of {shape:?} are {}",
                    x.len(),
                    len * per
                )));
            }
        }
        Ok(MultiDataset {
            inputs,
            labels,
            len,
        })
    }

    /// Whether it holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first `n` samples (all of them when there are fewer).
    pub fn take(mut self, n: usize) -> MultiDataset {
        let n = n.min(self.len);
        for (x, shape) in &mut self.inputs {
            x.truncate(n * shape.iter().product::<usize>());
        }
        for l in &mut self.labels {
            l.truncate(n);
        }
        self.len = n;
        self
    }
}

impl From<Dataset> for MultiDataset {
    /// One input and one output.
    fn from(d: Dataset) -> MultiDataset {
        MultiDataset {
            inputs: vec![(d.x, d.sample_shape)],
            labels: vec![d.y],
            len: d.len,
        }
    }
}

fn invalid(message: impl Into<String>) -> DataError {
    DataError::Invalid {
        message: message.into(),
    }
}

/// One input of a [`Samples`] view: its values and one sample's shape.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The samples, one after the other.
    pub x: &'a [f32],
    /// One sample's shape.
    pub shape: &'a [usize],
}

impl Input<'_> {
    /// Values per sample.
    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A borrowed view of samples `start..start + len` of a dataset of any number of inputs and
/// outputs: what training and evaluation read, so that a [`Dataset`] and a
/// [`MultiDataset`] go through the same loop, and a validation split is a view, not a copy.
#[derive(Clone, Debug)]
pub struct Samples<'a> {
    /// Every input, whole (the view's range applies to each).
    pub inputs: Vec<Input<'a>>,
    /// Every output's labels, whole.
    pub labels: Vec<&'a [u32]>,
    /// The first sample of the view.
    pub start: usize,
    /// The number of samples in the view.
    pub len: usize,
}

impl<'a> Samples<'a> {
    /// The whole of a one-input, one-output dataset.
    pub fn of(d: &'a Dataset) -> Samples<'a> {
        Samples {
            inputs: vec![Input {
                x: &d.x,
                shape: &d.sample_shape,
            }],
            labels: vec![&d.y],
            start: 0,
            len: d.len.min(d.y.len()),
        }
    }

    /// The whole of a dataset of several inputs or outputs.
    pub fn of_multi(d: &'a MultiDataset) -> Samples<'a> {
        Samples {
            inputs: d
                .inputs
                .iter()
                .map(|(x, shape)| Input { x, shape })
                .collect(),
            labels: d.labels.iter().map(Vec::as_slice).collect(),
            start: 0,
            len: d.len,
        }
    }

    /// Whether the view holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Samples `from..from + n` of the view (clamped to it).
    pub fn range(&self, from: usize, n: usize) -> Samples<'a> {
        let from = from.min(self.len);
        Samples {
            start: self.start + from,
            len: n.min(self.len - from),
            ..self.clone()
        }
    }

    /// Keras's `validation_split`, as [`Dataset::validation_split`]: the first
    /// `floor(len · (1 − fraction))` samples train, the rest validate.
    pub fn validation_split(&self, fraction: f64) -> Result<(Samples<'a>, Samples<'a>), DataError> {
        // NaN fails this comparison too.
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(invalid(format!(
                "validation_split must be in (0, 1), got {fraction}"
            )));
        }
        let at = (self.len as f64 * (1.0 - fraction)).floor() as usize;
        if at == 0 || at == self.len {
            return Err(invalid(format!(
                "validation_split={fraction} of {} samples leaves one side empty",
                self.len
            )));
        }
        Ok((self.range(0, at), self.range(at, self.len - at)))
    }

    /// Input `i`'s values for the view's samples `from..from + n` (in range after
    /// [`Samples::check`]).
    pub fn x(&self, i: usize, from: usize, n: usize) -> &'a [f32] {
        let input = self.inputs[i];
        let per = input.sample_len();
        let at = self.start + from;
        &input.x[at * per..(at + n) * per]
    }

    /// Output `o`'s labels for the view's samples `from..from + n`.
    pub fn y(&self, o: usize, from: usize, n: usize) -> &'a [u32] {
        let at = self.start + from;
        &self.labels[o][at..at + n]
    }

    /// Whether every input holds the view's samples, and every label vector too: an error
    /// names the first that does not.
    pub fn check(&self) -> Result<(), DataError> {
        let end = self.start + self.len;
        for (i, input) in self.inputs.iter().enumerate() {
            if input.x.len() < end * input.sample_len() {
                return Err(invalid(format!(
                    "input {i} holds {} values, fewer than {end} samples of {:?}",
                    input.x.len(),
                    input.shape
                )));
            }
        }
        for (o, labels) in self.labels.iter().enumerate() {
            if labels.len() < end {
                return Err(invalid(format!(
                    "output {o} has {} labels for {end} samples",
                    labels.len()
                )));
            }
        }
        Ok(())
    }

    /// Copies the view's samples `indices` (a batch, in that order) of every input into
    /// `xs` and of every output's labels into `ys`, replacing what they held.
    pub fn gather(
        &self,
        indices: &[usize],
        xs: &mut Vec<Vec<f32>>,
        ys: &mut Vec<Vec<u32>>,
    ) -> Result<(), DataError> {
        if let Some(&i) = indices.iter().find(|&&i| i >= self.len) {
            return Err(invalid(format!(
                "sample index {i} out of range 0..{}",
                self.len
            )));
        }
        xs.resize_with(self.inputs.len(), Vec::new);
        ys.resize_with(self.labels.len(), Vec::new);
        for (input, x) in self.inputs.iter().zip(xs.iter_mut()) {
            let per = input.sample_len();
            x.clear();
            x.reserve(indices.len() * per);
            for &i in indices {
                let at = self.start + i;
                x.extend_from_slice(&input.x[at * per..(at + 1) * per]);
            }
        }
        for (labels, y) in self.labels.iter().zip(ys.iter_mut()) {
            y.clear();
            y.extend(indices.iter().map(|&i| labels[self.start + i]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_inputs(n: usize) -> MultiDataset {
        MultiDataset::new(
            vec![
                ((0..n * 2).map(|v| v as f32).collect(), vec![2]),
                ((0..n).map(|v| -(v as f32)).collect(), vec![1]),
            ],
            vec![(0..n as u32).collect(), vec![1; n]],
        )
        .expect("consistent")
    }

    #[test]
    fn a_view_gathers_every_input_and_output() {
        let d = two_inputs(5);
        let (train, validation) = Samples::of_multi(&d).validation_split(0.4).expect("split");
        assert_eq!((train.len, validation.len), (3, 2));
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        validation
            .gather(&[1, 0], &mut xs, &mut ys)
            .expect("in range");
        assert_eq!(xs, [vec![8.0, 9.0, 6.0, 7.0], vec![-4.0, -3.0]]);
        assert_eq!(ys, [vec![4, 3], vec![1, 1]]);
        assert_eq!(validation.x(0, 1, 1), &[8.0, 9.0]);
        assert!(validation.gather(&[2], &mut xs, &mut ys).is_err());
    }

    #[test]
    fn inconsistent_datasets_are_errors() {
        let short = MultiDataset::new(vec![(vec![0.0; 3], vec![2])], vec![vec![0, 1]]);
        assert!(short
            .unwrap_err()
            .to_string()
            .contains("input 0 holds 3 values"));
        let labels = MultiDataset::new(vec![(vec![0.0; 4], vec![2])], vec![vec![0, 1], vec![0]]);
        assert!(labels
            .unwrap_err()
            .to_string()
            .contains("output 1 has 1 labels"));
        assert!(MultiDataset::new(vec![], vec![vec![0]]).is_err());
    }
}
