//! An in-memory set of samples with integer class labels.

use super::DataError;

/// `len` samples of shape `sample_shape`, row-major one after another in `x`, and one class
/// id per sample in `y`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// `len · sample_shape.product()` values (MNIST: pixels scaled to `[0, 1]`).
    pub x: Vec<f32>,
    /// One class id per sample.
    pub y: Vec<u32>,
    /// The shape of one sample, without the batch dimension (MNIST: `[28, 28]`).
    pub sample_shape: Vec<usize>,
    /// The number of samples.
    pub len: usize,
}

impl Dataset {
    /// A dataset from its buffers; an error unless `x` holds `y.len()` samples of
    /// `sample_shape`.
    pub fn new(x: Vec<f32>, y: Vec<u32>, sample_shape: Vec<usize>) -> Result<Dataset, DataError> {
        let per = sample_shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d));
        match per.and_then(|p| p.checked_mul(y.len())) {
            Some(n) if n == x.len() => Ok(Dataset {
                len: y.len(),
                x,
                y,
                sample_shape,
            }),
            _ => Err(DataError::Invalid {
                message: format!(
                    "{} values do not make {} samples of shape {sample_shape:?}",
                    x.len(),
                    y.len()
                ),
            }),
        }
    }

    /// Values in one sample: the product of `sample_shape`.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sample `i`'s values, or `None` past the end.
    pub fn sample(&self, i: usize) -> Option<&[f32]> {
        let n = self.sample_len();
        self.x
            .get(i.checked_mul(n)?..i.checked_add(1)?.checked_mul(n)?)
    }

    /// One more than the largest label: the number of classes the labels need.
    pub fn num_classes(&self) -> usize {
        self.y.iter().max().map_or(0, |&m| m as usize + 1)
    }

    /// The first `n` samples and the rest (`n` is clamped to `len`).
    pub fn split(mut self, n: usize) -> (Dataset, Dataset) {
        let n = n.min(self.len);
        let per = self.sample_len();
        let rest = Dataset {
            x: self.x.split_off(n * per),
            y: self.y.split_off(n),
            sample_shape: self.sample_shape.clone(),
            len: self.len - n,
        };
        self.len = n;
        (self, rest)
    }

    /// The first `n` samples (all of them when there are fewer).
    pub fn take(self, n: usize) -> Dataset {
        self.split(n).0
    }

    /// Keras's `validation_split`: the last `fraction` of the samples, taken before any
    /// shuffling, are the validation set; the first `floor(len · (1 − fraction))` train.
    /// An error when `fraction` is not in `(0, 1)` or either side would be empty.
    pub fn validation_split(self, fraction: f64) -> Result<(Dataset, Dataset), DataError> {
        // NaN fails this comparison too.
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::Invalid {
                message: format!("validation_split must be in (0, 1), got {fraction}"),
            });
        }
        let at = (self.len as f64 * (1.0 - fraction)).floor() as usize;
        if at == 0 || at == self.len {
            return Err(DataError::Invalid {
                message: format!(
                    "validation_split={fraction} of {} samples leaves one side empty",
                    self.len
                ),
            });
        }
        Ok(self.split(at))
    }

    /// Copies the samples `indices` (a batch, in that order) into `x` and their labels into
    /// `y`, replacing what they held. An error names the first index out of range.
    pub fn gather(
        &self,
        indices: &[usize],
        x: &mut Vec<f32>,
        y: &mut Vec<u32>,
    ) -> Result<(), DataError> {
        x.clear();
        y.clear();
        x.reserve(indices.len() * self.sample_len());
        y.reserve(indices.len());
        for &i in indices {
            match (self.sample(i), self.y.get(i)) {
                (Some(s), Some(&label)) => {
                    x.extend_from_slice(s);
                    y.push(label);
                }
                _ => {
                    return Err(DataError::Invalid {
                        message: format!("sample index {i} out of range 0..{}", self.len),
                    })
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(n: usize) -> Dataset {
        let x = (0..n * 2).map(|v| v as f32).collect();
        let y = (0..n as u32).collect();
        Dataset::new(x, y, vec![2]).unwrap()
    }

    #[test]
    fn new_checks_lengths() {
        assert!(Dataset::new(vec![0.0; 5], vec![0, 1], vec![2]).is_err());
        assert!(Dataset::new(vec![0.0; 4], vec![0, 1], vec![usize::MAX, 2]).is_err());
        let d = Dataset::new(vec![0.0; 4], vec![0, 1], vec![2]).unwrap();
        assert_eq!((d.len, d.sample_len(), d.num_classes()), (2, 2, 2));
    }

    #[test]
    fn split_take_and_validation_split() {
        let (a, b) = tiny(5).split(3);
        assert_eq!((a.len, a.y.as_slice(), a.x.len()), (3, &[0, 1, 2][..], 6));
        assert_eq!(
            (b.len, b.y.as_slice(), b.x.as_slice()),
            (2, &[3, 4][..], &[6.0, 7.0, 8.0, 9.0][..])
        );
        assert_eq!(tiny(5).split(9).1.len, 0);
        assert_eq!(tiny(5).take(2).y, [0, 1]);
        // Keras: split_at = floor(10 · 0.75) = 7.
        let (t, v) = tiny(10).validation_split(0.25).unwrap();
        assert_eq!((t.len, v.y.as_slice()), (7, &[7, 8, 9][..]));
        assert!(tiny(10).validation_split(0.0).is_err());
        assert!(tiny(10).validation_split(f64::NAN).is_err());
        assert!(tiny(1).validation_split(0.5).is_err());
    }

    #[test]
    fn gather_copies_a_batch_in_order() {
        let d = tiny(4);
        let (mut x, mut y) = (vec![9.0], vec![9]);
        d.gather(&[2, 0], &mut x, &mut y).unwrap();
        assert_eq!(
            (x.as_slice(), y.as_slice()),
            (&[4.0, 5.0, 0.0, 1.0][..], &[2, 0][..])
        );
        let e = d.gather(&[1, 4], &mut x, &mut y).unwrap_err();
        assert_eq!(e.to_string(), "sample index 4 out of range 0..4");
        assert_eq!(d.sample(4), None);
    }
}
