//! What a model's output is compared with, and the error for outputs, targets and
//! parameters that do not fit together.

/// The expected values for a batch of outputs.
///
/// Outputs are rows of `width` values (the last axis; a batch of `n` sequences of `t` steps
/// is `n · t` rows). A dense target has one value per output value; class ids have one per
/// row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target<'a> {
    /// One value per output value: one-hot rows or probabilities for the categorical
    /// crossentropy, 0/1 (or probabilities) for the binary one, any value for regression.
    Dense(&'a [f32]),
    /// One class id in `0..width` per row, for the sparse categorical crossentropy.
    Classes(&'a [u32]),
}

impl Target<'_> {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            Target::Dense(t) => t.len(),
            Target::Classes(t) => t.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Outputs, targets, gradients or parameters that do not fit together, or a hyper-parameter
/// out of its range. Training never panics on these; it returns this. The crate's one
/// [`Error`](crate::error::Error).
pub type TrainError = crate::error::Error;

/// The number of rows of `width` values in `output`, checked.
pub(crate) fn rows(what: &str, output: &[f32], width: usize) -> Result<usize, TrainError> {
    if width == 0 || output.is_empty() || !output.len().is_multiple_of(width) {
        return Err(TrainError::new(format!(
            "{what}: {} output values do not make whole rows of width {width}",
            output.len()
        )));
    }
    Ok(output.len() / width)
}

/// Checks `target` against `rows` rows of `width` outputs: one value per output for dense
/// targets, one id in `0..width` per row for class ids.
pub(crate) fn check_target(
    what: &str,
    target: Target<'_>,
    rows: usize,
    width: usize,
) -> Result<(), TrainError> {
    match target {
        Target::Dense(t) if t.len() != rows * width => Err(TrainError::new(format!(
            "{what}: {} target values for {} outputs ({rows} rows of {width}); \
             dense targets have one value per output",
            t.len(),
            rows * width
        ))),
        Target::Classes(t) if t.len() != rows => Err(TrainError::new(format!(
            "{what}: {} class ids for {rows} rows of {width} outputs; class ids are one per row",
            t.len()
        ))),
        Target::Classes(t) => match t.iter().position(|&c| c as usize >= width) {
            Some(i) => Err(TrainError::new(format!(
                "{what}: class id {} (row {i}) is out of range for {width} outputs (0..{width})",
                t[i]
            ))),
            None => Ok(()),
        },
        Target::Dense(_) => Ok(()),
    }
}
