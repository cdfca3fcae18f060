//! Convolutions: `Conv1D/2D/3D` (with groups) through im2col and a matrix product,
//! their transposes through a matrix product and col2im, `DepthwiseConv1D/2D` directly,
//! `SeparableConv1D/2D` as a depthwise pass then a 1×1 product.
//!
//! Every spatial layer is handled in three dimensions: a 1-D input `(steps, channels)` is
//! `(1, 1, steps, channels)`, a 2-D one `(1, height, width, channels)`.

use super::activation::apply;
use super::kernels::{add_bias, matmul, Mat};
use super::{elements, Step};
use crate::layer::{Conv, Kind, Padding};
use crate::shape::Shape;

/// The im2col buffer is filled for as many samples at once as fit in this many values
/// (one sample at least): big enough for efficient products, small enough for the cache.
const IM2COL_VALUES: usize = 1 << 20;

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
    /// The input index on `axis` seen by output `o` through tap `k`, if inside the input.
    #[inline]
    pub fn source(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        (o * self.stride[axis] + k * self.dilation[axis])
            .checked_sub(self.pad[axis])
            .filter(|&i| i < self.size[axis])
    }

    pub fn taps(&self) -> usize {
        self.kernel.iter().product()
    }

    pub fn positions(&self) -> usize {
        self.out.iter().product()
    }
}

/// The window of a (non-transposed) convolution from its input to its output shape.
fn conv_window(kind: Kind, c: &Conv, input: &Shape, output: &Shape) -> Window {
    let r = kind.spatial_rank();
    let (size, _) = grid(input, r);
    let (out, _) = grid(output, r);
    let kernel = widen(c.kernel_size, r, 1);
    let stride = widen(c.strides, r, 1);
    let dilation = widen(c.dilation_rate, r, 1);
    let mut pad = [0; 3];
    for a in 0..3 {
        let window = (kernel[a] - 1) * dilation[a] + 1;
        pad[a] = pad_before(c.padding, size[a], out[a], stride[a], window);
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

fn is_transpose(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Conv1DTranspose | Kind::Conv2DTranspose | Kind::Conv3DTranspose
    )
}

/// A transposed convolution is the input-gradient of the convolution from its output
/// shape to its input shape: the same window, read the other way.
fn transpose_window(kind: Kind, c: &Conv, input: &Shape, output: &Shape) -> Window {
    conv_window(kind, c, output, input)
}

/// How many samples one im2col pass holds.
fn chunk(batch: usize, per_sample: usize) -> usize {
    (IM2COL_VALUES / per_sample.max(1)).clamp(1, batch.max(1))
}

pub(crate) fn scratch_len(
    kind: Kind,
    c: &Conv,
    input: &Shape,
    output: &Shape,
    batch: usize,
) -> usize {
    let channels = input.last();
    match kind {
        Kind::DepthwiseConv1D | Kind::DepthwiseConv2D => 0,
        Kind::SeparableConv1D | Kind::SeparableConv2D => {
            batch * conv_window(kind, c, input, output).positions() * channels * c.depth_multiplier
        }
        _ if is_transpose(kind) => {
            let w = transpose_window(kind, c, input, output);
            let per_sample = w.positions() * w.taps() * c.filters;
            chunk(batch, per_sample) * per_sample
        }
        _ => {
            let w = conv_window(kind, c, input, output);
            if direct(&w, c.groups) {
                return 0;
            }
            let per_sample = w.positions() * w.taps() * (channels / c.groups.max(1));
            chunk(batch, per_sample) * per_sample
        }
    }
}

/// A 1×1 convolution with stride 1 and one group is a plain product on the input.
fn direct(w: &Window, groups: usize) -> bool {
    w.taps() == 1 && w.stride == [1; 3] && w.pad == [0; 3] && groups <= 1
}

pub(crate) fn forward(
    kind: Kind,
    c: &Conv,
    s: &Step,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let out_channels = s.output.last();
    match kind {
        Kind::DepthwiseConv1D | Kind::DepthwiseConv2D => {
            let w = conv_window(kind, c, &s.input, &s.output);
            let bias = c.use_bias.then(|| s.weights[1].data.as_slice());
            depthwise(
                &w,
                s.input.last(),
                c.depth_multiplier,
                &s.weights[0].data,
                bias,
                x,
                y,
            );
        }
        Kind::SeparableConv1D | Kind::SeparableConv2D => {
            let w = conv_window(kind, c, &s.input, &s.output);
            let inner = s.input.last() * c.depth_multiplier;
            let mid = &mut scratch[..s.batch * w.positions() * inner];
            depthwise(
                &w,
                s.input.last(),
                c.depth_multiplier,
                &s.weights[0].data,
                None,
                x,
                mid,
            );
            let rows = s.batch * w.positions();
            let pointwise = Mat::rows(&s.weights[1].data, c.filters);
            matmul(
                rows,
                inner,
                c.filters,
                Mat::rows(mid, inner),
                pointwise,
                y,
                c.filters,
                false,
            );
            if c.use_bias {
                add_bias(y, &s.weights[2].data);
            }
        }
        _ if is_transpose(kind) => {
            transpose(kind, c, s, x, y, scratch);
            if c.use_bias {
                add_bias(y, &s.weights[1].data);
            }
        }
        _ => {
            regular(kind, c, s, x, y, scratch);
            if c.use_bias {
                add_bias(y, &s.weights[1].data);
            }
        }
    }
    apply(c.activation, y, out_channels);
}

/// Grouped convolution: im2col of each group's channels, then a product with the group's
/// slice of the kernel `[taps · in/groups, filters]`.
fn regular(kind: Kind, c: &Conv, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let w = conv_window(kind, c, &s.input, &s.output);
    let channels = s.input.last();
    let filters = c.filters;
    let kernel = &s.weights[0].data;
    if direct(&w, c.groups) {
        let rows = s.batch * w.positions();
        matmul(
            rows,
            channels,
            filters,
            Mat::rows(x, channels),
            Mat::rows(kernel, filters),
            y,
            filters,
            false,
        );
        return;
    }
    let groups = c.groups.max(1);
    let (cg, fg) = (channels / groups, filters / groups);
    let depth = w.taps() * cg;
    let (in_len, out_len) = (elements(&s.input), elements(&s.output));
    let per_sample = w.positions() * depth;
    let n = chunk(s.batch, per_sample);
    for start in (0..s.batch).step_by(n) {
        let samples = n.min(s.batch - start);
        let xs = &x[start * in_len..(start + samples) * in_len];
        let ys = &mut y[start * out_len..(start + samples) * out_len];
        let cols = &mut scratch[..samples * per_sample];
        for g in 0..groups {
            for (xs, cols) in xs
                .chunks_exact(in_len)
                .zip(cols.chunks_exact_mut(per_sample))
            {
                im2col(&w, xs, channels, g * cg, cg, cols);
            }
            let rows = samples * w.positions();
            let b = Mat {
                data: &kernel[g * fg..],
                rs: filters,
                cs: 1,
            };
            matmul(
                rows,
                depth,
                fg,
                Mat::rows(cols, depth),
                b,
                &mut ys[g * fg..],
                filters,
                false,
            );
        }
    }
}

/// One row per output position: the window's `cg` channels from `c0`, zeros outside.
fn im2col(w: &Window, x: &[f32], channels: usize, c0: usize, cg: usize, cols: &mut [f32]) {
    let [_, oh_n, ow_n] = w.out;
    let [_, h, wd] = w.size;
    let mut row = 0;
    let depth = w.taps() * cg;
    for od in 0..w.out[0] {
        for oh in 0..oh_n {
            for ow in 0..ow_n {
                let dst = &mut cols[row * depth..(row + 1) * depth];
                let mut at = 0;
                for kd in 0..w.kernel[0] {
                    let id = w.source(0, od, kd);
                    for kh in 0..w.kernel[1] {
                        let ih = w.source(1, oh, kh);
                        for kw in 0..w.kernel[2] {
                            let part = &mut dst[at..at + cg];
                            match (id, ih, w.source(2, ow, kw)) {
                                (Some(id), Some(ih), Some(iw)) => {
                                    let src = ((id * h + ih) * wd + iw) * channels + c0;
                                    part.copy_from_slice(&x[src..src + cg]);
                                }
                                _ => part.fill(0.0),
                            }
                            at += cg;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// `cols[i, tap, f] = Σ_c x[i, c] · kernel[tap, f, c]`, then each column added to the output
/// position it lands on.
fn transpose(kind: Kind, c: &Conv, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let w = transpose_window(kind, c, &s.input, &s.output);
    let channels = s.input.last();
    let filters = c.filters;
    let width = w.taps() * filters;
    // The window runs from the output grid (its `size`) to the input grid (its `out`).
    let positions = w.positions();
    let (in_len, out_len) = (elements(&s.input), elements(&s.output));
    let per_sample = positions * width;
    let n = chunk(s.batch, per_sample);
    let kernel = Mat {
        data: &s.weights[0].data,
        rs: 1,
        cs: channels,
    };
    y.fill(0.0);
    for start in (0..s.batch).step_by(n) {
        let samples = n.min(s.batch - start);
        let xs = &x[start * in_len..(start + samples) * in_len];
        let cols = &mut scratch[..samples * per_sample];
        matmul(
            samples * positions,
            channels,
            width,
            Mat::rows(xs, channels),
            kernel,
            cols,
            width,
            false,
        );
        let ys = &mut y[start * out_len..(start + samples) * out_len];
        for (cols, ys) in cols
            .chunks_exact(per_sample)
            .zip(ys.chunks_exact_mut(out_len))
        {
            col2im(&w, cols, filters, ys);
        }
    }
}

fn col2im(w: &Window, cols: &[f32], filters: usize, y: &mut [f32]) {
    let [_, h, wd] = w.size;
    let width = w.taps() * filters;
    let mut row = 0;
    for id in 0..w.out[0] {
        for ih in 0..w.out[1] {
            for iw in 0..w.out[2] {
                let src = &cols[row * width..(row + 1) * width];
                let mut at = 0;
                for kd in 0..w.kernel[0] {
                    let od = w.source(0, id, kd);
                    for kh in 0..w.kernel[1] {
                        let oh = w.source(1, ih, kh);
                        for kw in 0..w.kernel[2] {
                            if let (Some(od), Some(oh), Some(ow)) = (od, oh, w.source(2, iw, kw)) {
                                let dst = ((od * h + oh) * wd + ow) * filters;
                                for (o, v) in
                                    y[dst..dst + filters].iter_mut().zip(&src[at..at + filters])
                                {
                                    *o += v;
                                }
                            }
                            at += filters;
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// Each channel convolved with its own `dm` filters: output channel `c·dm + m`, kernel
/// `[taps, channels, dm]`.
fn depthwise(
    w: &Window,
    channels: usize,
    dm: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
) {
    let [_, h, wd] = w.size;
    let width = channels * dm;
    let in_len = w.size.iter().product::<usize>() * channels;
    let out_len = w.positions() * width;
    for (xs, ys) in x
        .chunks_exact(in_len.max(1))
        .zip(y.chunks_exact_mut(out_len.max(1)))
    {
        let mut row = 0;
        for od in 0..w.out[0] {
            for oh in 0..w.out[1] {
                for ow in 0..w.out[2] {
                    let acc = &mut ys[row * width..(row + 1) * width];
                    match bias {
                        Some(b) => acc.copy_from_slice(b),
                        None => acc.fill(0.0),
                    }
                    let mut tap = 0;
                    for kd in 0..w.kernel[0] {
                        let id = w.source(0, od, kd);
                        for kh in 0..w.kernel[1] {
                            let ih = w.source(1, oh, kh);
                            for kw in 0..w.kernel[2] {
                                if let (Some(id), Some(ih), Some(iw)) =
                                    (id, ih, w.source(2, ow, kw))
                                {
                                    let src =
                                        &xs[((id * h + ih) * wd + iw) * channels..][..channels];
                                    let k = &kernel[tap * width..(tap + 1) * width];
                                    if dm == 1 {
                                        for ((a, &v), &k) in acc.iter_mut().zip(src).zip(k) {
                                            *a += v * k;
                                        }
                                    } else {
                                        for (ch, &v) in src.iter().enumerate() {
                                            for m in 0..dm {
                                                acc[ch * dm + m] += v * k[ch * dm + m];
                                            }
                                        }
                                    }
                                }
                                tap += 1;
                            }
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}
