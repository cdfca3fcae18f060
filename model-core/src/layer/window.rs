//! The geometry of a sliding window, shared by convolutions, pooling, padding and their
//! backward passes. Every spatial layer is handled in three dimensions: a 1-D input
//! `(steps, channels)` is `(1, 1, steps, channels)`, a 2-D one `(1, height, width, channels)`.

use crate::layer::Padding;
use crate::shape::Shape;

/// A per-axis argument of a layer with `r` spatial axes, moved onto the last of three axes;
/// the axes in front get `fill`.
pub(crate) fn widen(a: [usize; 3], r: usize, fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    out[3 - r..].copy_from_slice(&a[..r]);
    out
}

/// The spatial sizes of `shape` (rank `r + 1`) on three axes, and its channels.
pub(crate) fn grid(shape: &Shape, r: usize) -> ([usize; 3], usize) {
    let mut dims = [0usize; 3];
    dims[..r].copy_from_slice(&shape.dims()[..r]);
    (widen(dims, r, 1), shape.last())
}

/// Padding before the first element on one axis: TensorFlow's 'same' puts the odd extra
/// cell after (bottom / right), 'causal' puts the whole window before.
pub(crate) fn pad_before(
    padding: Padding,
    size: usize,
    out: usize,
    stride: usize,
    window: usize,
) -> usize {
    match padding {
        Padding::Valid => 0,
        Padding::Same => ((out.saturating_sub(1)) * stride + window).saturating_sub(size) / 2,
        Padding::Causal => window - 1,
    }
}

/// The padding before and after one axis: [`pad_before`], and after it what the last
/// window reaches past the input (exporters write both, as ONNX's `pads`).
#[cfg(feature = "onnx")]
pub(crate) fn pad_around(
    padding: Padding,
    size: usize,
    out: usize,
    stride: usize,
    window: usize,
) -> (usize, usize) {
    let before = pad_before(padding, size, out, stride, window);
    let reach = (out.max(1) - 1) * stride + window;
    (before, reach.saturating_sub(size + before))
}

/// A sliding window over a three-axis grid.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub size: [usize; 3],
    pub out: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub dilation: [usize; 3],
    pub pad: [usize; 3],
}

impl Window {
    /// The window of a layer with `r` spatial axes between `input` and `output`, its
    /// per-axis kernel, strides and dilation as the layer holds them.
    pub fn new(
        r: usize,
        input: &Shape,
        output: &Shape,
        kernel: [usize; 3],
        stride: [usize; 3],
        dilation: [usize; 3],
        padding: Padding,
    ) -> Window {
        let (size, _) = grid(input, r);
        let (out, _) = grid(output, r);
        let kernel = widen(kernel, r, 1);
        let stride = widen(stride, r, 1);
        let dilation = widen(dilation, r, 1);
        let mut pad = [0; 3];
        for a in 0..3 {
            let window = (kernel[a] - 1) * dilation[a] + 1;
            pad[a] = pad_before(padding, size[a], out[a], stride[a], window);
        }
        Window {
            size,
            out,
            kernel,
            stride,
            dilation,
            pad,
        }
    }

    /// Calls `f(tap, cell)` for each tap of output position `row`'s window whose cell lies
    /// inside the input: `tap` numbers the window's taps depth, then height, then width
    /// (counting those outside), `cell` is the input position `(id · h + ih) · w + iw`.
    #[inline(always)]
    pub fn cells(&self, row: usize, mut f: impl FnMut(usize, usize)) {
        let [_, h, wd] = self.size;
        let [kd_n, kh_n, kw_n] = self.kernel;
        let (od, oh, ow) = (
            row / (self.out[1] * self.out[2]).max(1),
            (row / self.out[2].max(1)) % self.out[1].max(1),
            row % self.out[2].max(1),
        );
        for kd in 0..kd_n {
            let Some(id) = self.source(0, od, kd) else {
                continue;
            };
            for kh in 0..kh_n {
                let Some(ih) = self.source(1, oh, kh) else {
                    continue;
                };
                for kw in 0..kw_n {
                    if let Some(iw) = self.source(2, ow, kw) {
                        f((kd * kh_n + kh) * kw_n + kw, (id * h + ih) * wd + iw);
                    }
                }
            }
        }
    }

    /// The input index on `axis` seen by output `o` through tap `k`, if inside the input.
    #[inline]
    pub fn source(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        (o * self.stride[axis] + k * self.dilation[axis])
            .checked_sub(self.pad[axis])
            .filter(|&i| i < self.size[axis])
    }

    /// Cells of the window.
    pub fn taps(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Output positions.
    pub fn positions(&self) -> usize {
        self.out.iter().product()
    }
}
