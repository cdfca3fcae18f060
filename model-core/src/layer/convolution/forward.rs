//! Convolutions: `Conv1D/2D/3D` (with groups) through im2col and a matrix product,
//! their transposes through a matrix product and col2im, `DepthwiseConv1D/2D` directly,
//! `SeparableConv1D/2D` as a depthwise pass then a 1×1 product.
//!
//! Every spatial layer is handled in three dimensions (see [`Window`]).

pub(crate) use super::depthwise::depthwise;
use super::tiled;
pub(crate) use super::tiled::{takes_products, transposed_product, Affine};
use super::{Conv, ConvOp};
use crate::layer::activation::forward::apply;
use crate::layer::ops::Step;
use crate::layer::pooling::forward::{pool_fastest, window as pooling_window};
use crate::layer::window::Window;
use crate::layer::{Activation, PoolOp, Pooling};
use crate::runtime::kernels::{add_bias, matmul, matmul_serial, threads_for, Mat};
use crate::runtime::{elements, threads};
use crate::shape::Shape;

/// The im2col (or col2im) columns are built a block of output rows at a time, about this
/// many values per block (one row at least): big enough for an efficient product, small
/// enough to stay in the core's L2 cache between being written and being read.
const BLOCK_VALUES: usize = 1 << 16;

/// The window of a (non-transposed) convolution from its input to its output shape.
pub(crate) fn conv_window(c: &Conv, input: &Shape, output: &Shape) -> Window {
    Window::new(
        c.rank,
        input,
        output,
        c.kernel_size,
        c.strides,
        c.dilation_rate,
        c.padding,
    )
}

/// A transposed convolution is the input-gradient of the convolution from its output
/// shape to its input shape: the same window, read the other way.
fn transpose_window(c: &Conv, input: &Shape, output: &Shape) -> Window {
    conv_window(c, output, input)
}

/// How the rows of a convolution's product are split: rows per block, and threads (each
/// with its own block of scratch).
#[derive(Clone, Copy)]
struct Blocks {
    rows: usize,
    threads: usize,
}

impl Blocks {
    fn new(total_rows: usize, depth: usize, width: usize) -> Blocks {
        let rows = (BLOCK_VALUES / depth.max(width).max(1)).clamp(1, total_rows.max(1));
        let threads = threads_for(total_rows * depth * width)
            .min(total_rows.div_ceil(rows))
            .max(1);
        Blocks { rows, threads }
    }
}

/// The regular convolution's blocks: `depth` values per im2col row, `filters` per output row.
fn regular_blocks(
    w: &Window,
    batch: usize,
    channels: usize,
    groups: usize,
    filters: usize,
) -> (Blocks, usize) {
    let depth = w.taps() * (channels / groups.max(1));
    (Blocks::new(batch * w.positions(), depth, filters), depth)
}

/// The transposed convolution's blocks: rows of `taps · filters` values, one per input
/// position (col2im adds overlapping windows, so one thread; the products may use more).
fn transpose_blocks(w: &Window, batch: usize, filters: usize) -> (usize, usize) {
    let width = w.taps() * filters;
    (
        (BLOCK_VALUES / width.max(1)).clamp(1, (batch * w.positions()).max(1)),
        width,
    )
}

pub(crate) fn scratch_len(c: &Conv, input: &Shape, output: &Shape, batch: usize) -> usize {
    let channels = input.last();
    match c.op {
        ConvOp::Depthwise => 0,
        ConvOp::Separable => {
            batch * conv_window(c, input, output).positions() * channels * c.depth_multiplier
        }
        ConvOp::Transpose => {
            let w = transpose_window(c, input, output);
            let (rows, width) = transpose_blocks(&w, batch, c.filters);
            rows * width
        }
        ConvOp::Regular => {
            let w = conv_window(c, input, output);
            if direct(&w, c.groups) {
                return 0;
            }
            if let Some(plan) = tiled::plan(&w, channels, c.groups, c.filters) {
                return plan.scratch_len(&w, batch);
            }
            let (b, depth) = regular_blocks(&w, batch, channels, c.groups, c.filters);
            b.threads * b.rows * depth
        }
    }
}

/// Products of at least this many rows go through [`pointwise`]; fewer take the one-row
/// product of `runtime::kernels`, which streams the kernel once per row.
const POINTWISE_ROWS: usize = 16;

thread_local! {
    /// [`pointwise`]'s packed kernel, kept between calls.
    static POINTWISE_SCRATCH: std::cell::RefCell<Vec<f32>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// `y = activation(x · kernel + bias)` for `rows` rows of `depth` values and `units`
/// outputs, through the tile kernel as the 1×1 convolution it is (a `Dense` layer on a
/// batch), the bias and ReLU applied in the tiles. Returns `false`, having done nothing,
/// for few rows or where the tile kernel does not take plain products
/// ([`takes_products`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn pointwise(
    rows: usize,
    depth: usize,
    units: usize,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    activation: crate::layer::Activation,
    y: &mut [f32],
) -> bool {
    if rows < POINTWISE_ROWS || !tiled::takes_products() {
        return false;
    }
    let w = Window {
        size: [1, 1, rows],
        out: [1, 1, rows],
        kernel: [1; 3],
        stride: [1; 3],
        dilation: [1; 3],
        pad: [0; 3],
    };
    let Some(plan) = tiled::plan(&w, depth, 1, units) else {
        return false;
    };
    let need = plan.scratch_len(&w, 1);
    let threads = threads_for(rows * depth * units);
    crate::runtime::with_scratch(&POINTWISE_SCRATCH, need, |scratch| {
        tiled::convolve(
            &plan, &w, 1, kernel, bias, None, activation, x, y, scratch, threads,
        );
    });
    true
}

/// A 1×1 convolution with stride 1 and one group is a plain product on the input, run as
/// one unless the tile kernel takes those too.
fn direct(w: &Window, groups: usize) -> bool {
    w.taps() == 1
        && w.stride == [1; 3]
        && w.pad == [0; 3]
        && groups <= 1
        && !tiled::takes_products()
}

pub(crate) fn forward(c: &Conv, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let out_channels = s.output.last();
    match c.op {
        // Applies its activation position by position.
        ConvOp::Depthwise => return depthwise_layer(c, s, None, c.activation, x, y),
        ConvOp::Separable => {
            let w = conv_window(c, &s.input, &s.output);
            let inner = s.input.last() * c.depth_multiplier;
            let mid = &mut scratch[..s.batch * w.positions() * inner];
            depthwise(
                &w,
                s.input.last(),
                c.depth_multiplier,
                &s.weights[0].data,
                None,
                None,
                Activation::Linear,
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
        ConvOp::Transpose => {
            transpose(c, s, x, y, scratch);
            if c.use_bias {
                add_bias(y, &s.weights[1].data);
            }
        }
        // Adds its bias and applies its activation block by block.
        ConvOp::Regular => return regular(c, s, x, y, scratch),
    }
    apply(c.activation, y, out_channels);
}

/// A depthwise layer, with a BatchNormalization folded in when `affine` is given.
fn depthwise_layer(
    c: &Conv,
    s: &Step,
    affine: Option<Affine>,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
) {
    let w = conv_window(c, &s.input, &s.output);
    let bias = c.use_bias.then(|| s.weights[1].data.as_slice());
    depthwise(
        &w,
        s.input.last(),
        c.depth_multiplier,
        &s.weights[0].data,
        bias,
        affine,
        activation,
        x,
        y,
    );
}

/// A regular convolution through the tile kernel (its `plan`, window `w`), with a
/// normalization's `affine` folded in when given, then `activation`.
#[allow(clippy::too_many_arguments)]
fn tiled_layer(
    c: &Conv,
    s: &Step,
    plan: &tiled::Plan,
    w: &Window,
    affine: Option<Affine>,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let channels = s.input.last();
    let macs = s.batch * w.positions() * w.taps() * (channels / c.groups.max(1)) * c.filters;
    tiled::convolve(
        plan,
        w,
        s.batch,
        &s.weights[0].data,
        c.use_bias.then(|| s.weights[1].data.as_slice()),
        affine,
        activation,
        x,
        y,
        &mut scratch[..plan.scratch_len(w, s.batch)],
        threads_for(macs),
    );
}

/// The tiled plan a regular convolution runs through, where it does: not a plain
/// product ([`direct`]) and a tile kernel chosen.
fn tiled_plan(c: &Conv, w: &Window, channels: usize) -> Option<tiled::Plan> {
    if direct(w, c.groups) {
        return None;
    }
    tiled::plan(w, channels, c.groups, c.filters)
}

/// Whether [`forward_normalized`] takes this convolution: one without an activation of
/// its own, depthwise or through the tile kernel.
pub(crate) fn folds(c: &Conv, input: &Shape, output: &Shape) -> bool {
    if c.activation != Activation::Linear {
        return false;
    }
    match c.op {
        ConvOp::Depthwise => true,
        ConvOp::Regular => tiled_plan(c, &conv_window(c, input, output), input.last()).is_some(),
        ConvOp::Separable | ConvOp::Transpose => false,
    }
}

/// The convolution, the BatchNormalization after it (its factors `affine`, one per filter)
/// and the activation after that in one pass: each tile (each depthwise position) is
/// normalized and activated before it is stored, so the convolution's output is written
/// once and never read back. The same values as the layers one after the other, bit for
/// bit. Returns `false`, having done nothing, for a convolution that does not fold
/// ([`folds`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_normalized(
    c: &Conv,
    s: &Step,
    affine: Affine,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> bool {
    if c.activation != Activation::Linear {
        return false;
    }
    match c.op {
        ConvOp::Depthwise => depthwise_layer(c, s, Some(affine), activation, x, y),
        ConvOp::Regular => {
            let w = conv_window(c, &s.input, &s.output);
            let Some(plan) = tiled_plan(c, &w, s.input.last()) else {
                return false;
            };
            tiled_layer(c, s, &plan, &w, Some(affine), activation, x, y, scratch);
        }
        ConvOp::Separable | ConvOp::Transpose => return false,
    }
    true
}

/// Grouped convolution: im2col of each group's channels, then a product with the group's
/// slice of the kernel `[taps · in/groups, filters]`, then bias and activation, a block of
/// output rows at a time. Big convolutions give each thread a contiguous share of the rows and its own block of
/// scratch.
fn regular(c: &Conv, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let w = conv_window(c, &s.input, &s.output);
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
        if c.use_bias {
            add_bias(y, &s.weights[1].data);
        }
        apply(c.activation, y, filters);
        return;
    }
    let bias = c.use_bias.then(|| s.weights[1].data.as_slice());
    if let Some(plan) = tiled::plan(&w, channels, c.groups, filters) {
        return tiled_layer(c, s, &plan, &w, None, c.activation, x, y, scratch);
    }
    let (blocks, depth) = regular_blocks(&w, s.batch, channels, c.groups, filters);
    let total_rows = s.batch * w.positions();
    let share = total_rows.div_ceil(blocks.threads).max(1);
    let src = Source {
        w: &w,
        x,
        in_len: elements(&s.input),
        channels,
    };
    let run = |first: usize, ys: &mut [f32], cols: &mut [f32]| {
        let groups = c.groups.max(1);
        let (cg, fg) = (channels / groups, filters / groups);
        for (b, ys) in ys.chunks_mut(blocks.rows * filters).enumerate() {
            let (row0, n) = (first + b * blocks.rows, ys.len() / filters);
            let cols = &mut cols[..n * depth];
            for g in 0..groups {
                src.im2col(row0, g * cg, cg, cols);
                let k = Mat {
                    data: &kernel[g * fg..],
                    rs: filters,
                    cs: 1,
                };
                matmul_serial(
                    n,
                    depth,
                    fg,
                    Mat::rows(cols, depth),
                    k,
                    &mut ys[g * fg..],
                    filters,
                    false,
                );
            }
            // Bias and activation while the block is still in cache.
            if let Some(bias) = bias {
                add_bias(ys, bias);
            }
            apply(c.activation, ys, filters);
        }
    };
    let block = blocks.rows * depth;
    if blocks.threads == 1 {
        run(0, y, &mut scratch[..block]);
    } else {
        threads::chunks_mut2(y, share * filters, scratch, block, |t, ys, cols| {
            run(t * share, ys, cols)
        });
    }
}

/// A convolution and the pooling layer after it (`pool`, its output shape `pooled`) in one
/// pass, when the convolution runs through the tiled kernel and the pooling windows tile
/// its output without padding or overlap (Keras's default `MaxPooling2D(n)`): each band
/// of output rows one pooled row needs is convolved into a buffer that stays in cache and
/// pooled from there, so the convolution's full output is never written nor read back.
/// The same values as the two layers one after the other, bit for bit. Returns `false`,
/// having done nothing, for a pair that does not fuse.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_pooled(
    c: &Conv,
    pool: &Pooling,
    s: &Step,
    pooled: &Shape,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
) -> bool {
    let Some((w, p, plan)) = pooled_plan(c, pool, &s.input, &s.output, pooled, s.batch) else {
        return false;
    };
    let channels = s.input.last();
    let ([_, _, ow], [_, kh, _], [_, poh, pow]) = (w.out, p.kernel, p.out);
    // One pooled row: `kh` rows of the convolution's output.
    let band = Window {
        size: [1, kh, ow],
        out: [1, 1, pow],
        ..p
    };
    let positions = w.positions();
    let macs = s.batch * positions * w.taps() * (channels / c.groups.max(1)) * c.filters;
    let bias = c.use_bias.then(|| s.weights[1].data.as_slice());
    let max = pool.op == PoolOp::Max;
    tiled::convolve_bands(
        &plan,
        &w,
        s.batch,
        &s.weights[0].data,
        bias,
        c.activation,
        x,
        &mut scratch[..plan.scratch_len(&w, s.batch)],
        threads_for(macs),
        kh * ow,
        |j| (j / poh.max(1)) * positions + (j % poh.max(1)) * kh * ow,
        y,
        pow * c.filters,
        |conv, out| pool_fastest(&band, c.filters, max, conv, 0, out),
    );
    true
}

/// Whether [`forward_pooled`] takes this pair on `batch` samples.
pub(crate) fn fuses(
    c: &Conv,
    pool: &Pooling,
    input: &Shape,
    output: &Shape,
    pooled: &Shape,
    batch: usize,
) -> bool {
    pooled_plan(c, pool, input, output, pooled, batch).is_some()
}

/// The convolution's window, the pooling's, and the tiled plan, for a pair that fuses: not
/// one whose convolution runs through Winograd's algorithm, which saves more than the
/// fusion does.
fn pooled_plan(
    c: &Conv,
    pool: &Pooling,
    input: &Shape,
    output: &Shape,
    pooled: &Shape,
    batch: usize,
) -> Option<(Window, Window, tiled::Plan)> {
    if c.op != ConvOp::Regular || pool.rank != c.rank {
        return None;
    }
    let w = conv_window(c, input, output);
    let (p, _) = pooling_window(pool, output, pooled);
    // Windows side by side, none past the output's end ('same' pooling pads after).
    let tiles_output = p.stride == p.kernel
        && p.pad == [0; 3]
        && p.kernel[0] == 1
        && (0..3).all(|a| p.out[a] * p.kernel[a] <= p.size[a]);
    if direct(&w, c.groups) || w.out[0] != 1 || p.size != w.out || !tiles_output {
        return None;
    }
    let plan = tiled::plan(&w, input.last(), c.groups, c.filters)?;
    plan.winograd(&w, batch).is_none().then_some((w, p, plan))
}

/// `dst.copy_from_slice(src)`, without a call to `memcpy` for the few values of a narrow
/// input (one to a few channels), where the call costs more than the copy.
#[inline]
fn copy(dst: &mut [f32], src: &[f32]) {
    if dst.len() <= 16 {
        dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s);
    } else {
        dst.copy_from_slice(src);
    }
}

/// The input of a convolution, read a row of im2col at a time.
pub(crate) struct Source<'a> {
    pub(crate) w: &'a Window,
    pub(crate) x: &'a [f32],
    /// Values per sample.
    pub(crate) in_len: usize,
    pub(crate) channels: usize,
}

impl Source<'_> {
    /// Rows `row0..` of the im2col matrix over the whole batch (row = sample · positions +
    /// position), as many as fit `cols`: for each tap, the `cg` channels from `c0`, zeros
    /// outside the input.
    pub(crate) fn im2col(&self, row0: usize, c0: usize, cg: usize, cols: &mut [f32]) {
        let w = self.w;
        let [_, h, wd] = w.size;
        let [_, oh_n, ow_n] = w.out;
        let [_, kh_n, kw_n] = w.kernel;
        let depth = w.taps() * cg;
        let positions = w.positions();
        // Whole runs of taps along the width are contiguous in the input when every channel
        // is taken and the window is not dilated.
        let runs = cg == self.channels && w.dilation[2] == 1;
        for (r, dst) in cols.chunks_exact_mut(depth).enumerate() {
            let row = row0 + r;
            let (sample, p) = (row / positions, row % positions);
            let (od, oh, ow) = (p / (oh_n * ow_n), (p / ow_n) % oh_n, p % ow_n);
            let xs = &self.x[sample * self.in_len..(sample + 1) * self.in_len];
            let left = (ow * w.stride[2])
                .checked_sub(w.pad[2])
                .filter(|&l| l + kw_n <= wd);
            let mut at = 0;
            for kd in 0..w.kernel[0] {
                let id = w.source(0, od, kd);
                for kh in 0..kh_n {
                    let part = &mut dst[at..at + kw_n * cg];
                    at += kw_n * cg;
                    let (Some(id), Some(ih)) = (id, w.source(1, oh, kh)) else {
                        part.fill(0.0);
                        continue;
                    };
                    let line = (id * h + ih) * wd;
                    match left {
                        Some(l) if runs => {
                            let src = (line + l) * self.channels;
                            copy(part, &xs[src..src + kw_n * cg]);
                        }
                        _ => {
                            for (kw, tap) in part.chunks_exact_mut(cg).enumerate() {
                                match w.source(2, ow, kw) {
                                    Some(iw) => {
                                        let src = (line + iw) * self.channels + c0;
                                        copy(tap, &xs[src..src + cg]);
                                    }
                                    None => tap.fill(0.0),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `cols[i, tap, f] = Σ_c x[i, c] · kernel[tap, f, c]`, then each column added to the output
/// position it lands on; a block of input positions at a time.
fn transpose(c: &Conv, s: &Step, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
    let w = transpose_window(c, &s.input, &s.output);
    let channels = s.input.last();
    let filters = c.filters;
    let (block_rows, width) = transpose_blocks(&w, s.batch, filters);
    // The window runs from the output grid (its `size`) to the input grid (its `out`).
    let positions = w.positions();
    let out_len = elements(&s.output);
    let kernel = Mat {
        data: &s.weights[0].data,
        rs: 1,
        cs: channels,
    };
    y.fill(0.0);
    let total_rows = s.batch * positions;
    for row0 in (0..total_rows).step_by(block_rows) {
        let n = block_rows.min(total_rows - row0);
        let cols = &mut scratch[..n * width];
        let xs = &x[row0 * channels..(row0 + n) * channels];
        matmul(
            n,
            channels,
            width,
            Mat::rows(xs, channels),
            kernel,
            cols,
            width,
            false,
        );
        for (r, src) in cols.chunks_exact(width).enumerate() {
            let (sample, p) = ((row0 + r) / positions, (row0 + r) % positions);
            col2im(
                &w,
                p,
                src,
                filters,
                &mut y[sample * out_len..(sample + 1) * out_len],
            );
        }
    }
}

/// Adds one input position's columns (`taps · filters` values) to the outputs they land on.
fn col2im(w: &Window, p: usize, src: &[f32], filters: usize, y: &mut [f32]) {
    // The window runs from the output grid to the input grid: its cells are outputs here.
    w.cells(p, |tap, cell| {
        let (dst, at) = (cell * filters, tap * filters);
        for (o, v) in y[dst..dst + filters].iter_mut().zip(&src[at..at + filters]) {
            *o += v;
        }
    });
}

#[cfg(test)]
pub(crate) mod tests {
    use super::tiled::{Isa, Variant, FORCE, WINOGRAD};
    use crate::layer::{test_layer, Kind, Layer};
    use crate::runtime::{init_model, predict};
    use crate::shape::Shape;
    use crate::value::Value;

    /// A convolution written out term by term, TensorFlow's padding included.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f32],
        batch: usize,
        [h, w, c]: [usize; 3],
        kernel: &[f32],
        bias: &[f32],
        [kh, kw]: [usize; 2],
        filters: usize,
        groups: usize,
        stride: usize,
        dilation: usize,
        same: bool,
    ) -> Vec<f32> {
        let window = |k: usize| (k - 1) * dilation + 1;
        let out = |n: usize, k: usize| {
            if same {
                n.div_ceil(stride)
            } else {
                (n - window(k)) / stride + 1
            }
        };
        let (oh, ow) = (out(h, kh), out(w, kw));
        let pad = |n: usize, o: usize, k: usize| {
            if same {
                ((o - 1) * stride + window(k)).saturating_sub(n) / 2
            } else {
                0
            }
        };
        let (ph, pw) = (pad(h, oh, kh), pad(w, ow, kw));
        let (cg, fg) = (c / groups, filters / groups);
        let mut y = vec![0.0; batch * oh * ow * filters];
        for b in 0..batch {
            for i in 0..oh {
                for j in 0..ow {
                    for f in 0..filters {
                        let g = f / fg;
                        let mut acc = bias[f];
                        for a in 0..kh {
                            for e in 0..kw {
                                let (ii, jj) = (
                                    (i * stride + a * dilation) as isize - ph as isize,
                                    (j * stride + e * dilation) as isize - pw as isize,
                                );
                                if ii < 0 || jj < 0 || ii >= h as isize || jj >= w as isize {
                                    continue;
                                }
                                for ch in 0..cg {
                                    let xv = x[((b * h + ii as usize) * w + jj as usize) * c
                                        + g * cg
                                        + ch];
                                    acc += xv * kernel[((a * kw + e) * cg + ch) * filters + f];
                                }
                            }
                        }
                        y[((b * oh + i) * ow + j) * filters + f] = acc;
                    }
                }
            }
        }
        y
    }

    fn conv2d(
        filters: i64,
        k: [i64; 2],
        groups: i64,
        stride: i64,
        dilation: i64,
        padding: &'static str,
    ) -> Layer {
        let dims =
            |v: [i64; 2]| Value::Tuple(Box::leak(Box::new([Value::Int(v[0]), Value::Int(v[1])])));
        let args = [
            ("filters", Value::Int(filters)),
            ("kernel_size", dims(k)),
            ("groups", Value::Int(groups)),
            ("strides", dims([stride; 2])),
            ("dilation_rate", dims([dilation; 2])),
            ("padding", Value::Str(padding)),
        ];
        test_layer(Kind::Conv2D, &args)
    }

    /// The paths this CPU runs: im2col (`None`) and each tile kernel it has.
    pub(crate) fn paths() -> Vec<Option<Isa>> {
        let kernels = [Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|i| i.available());
        std::iter::once(None).chain(kernels.map(Some)).collect()
    }

    /// Runs `f` once on each path this CPU has, the path forced on this thread meanwhile.
    pub(crate) fn on_each_path(mut f: impl FnMut(Option<Isa>)) {
        for path in paths() {
            FORCE.with(|f| f.set(Some(path)));
            f(path);
            FORCE.with(|f| f.set(None));
        }
    }

    #[test]
    fn causal_padding_sees_only_the_past() {
        let args = [
            ("filters", Value::Int(1)),
            ("kernel_size", Value::Int(2)),
            ("dilation_rate", Value::Int(2)),
            ("padding", Value::Str("causal")),
        ];
        let layer = test_layer(Kind::Conv1D, &args);
        let input = Shape::new(&[5, 1]);
        let mut weights = init_model(&[layer], input, 1).unwrap();
        weights[0].tensors[0].data = vec![10.0, 1.0]; // kernel [2, 1, 1]
        weights[0].tensors[1].data = vec![0.5];
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        // y[t] = 10·x[t - 2] + x[t] + 0.5, zeros before the start.
        let want = [1.5, 2.5, 13.5, 24.5, 35.5];
        assert_eq!(predict(&[layer], input, &weights, &x, 1).unwrap(), want);
    }

    /// Our convolution of `x` against [`naive`], through each tile kernel the CPU has and
    /// through im2col and a product.
    #[allow(clippy::type_complexity)]
    fn check_against_the_definition(
        cases: &[(
            usize,
            usize,
            usize,
            usize,
            usize,
            [usize; 2],
            usize,
            usize,
            usize,
            bool,
        )],
    ) {
        for &(batch, h, w, c, filters, k, groups, stride, dilation, same) in cases {
            let layer = conv2d(
                filters as i64,
                [k[0] as i64, k[1] as i64],
                groups as i64,
                stride as i64,
                dilation as i64,
                if same { "same" } else { "valid" },
            );
            let input = Shape::new(&[h, w, c]);
            let mut weights = init_model(&[layer], input, 4).unwrap();
            // A non-zero bias, so that its placement is checked too.
            weights[0].tensors[1]
                .data
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = i as f32 * 0.1);
            let x: Vec<f32> = (0..batch * h * w * c)
                .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
                .collect();
            let (kernel, bias) = (&weights[0].tensors[0].data, &weights[0].tensors[1].data);
            let want = naive(
                &x,
                batch,
                [h, w, c],
                kernel,
                bias,
                k,
                filters,
                groups,
                stride,
                dilation,
                same,
            );
            // Each path without Winograd's algorithm, and each tile kernel again with each
            // of its variants wherever it applies, however few the tiles.
            let winograd = paths()
                .into_iter()
                .flatten()
                .flat_map(|isa| [Variant::F2, Variant::F4].map(|v| (Some(isa), Some(v))));
            let direct = paths().into_iter().map(|p| (p, None));
            for (path, winograd) in direct.chain(winograd) {
                FORCE.with(|f| f.set(Some(path)));
                WINOGRAD.with(|f| f.set(Some(winograd)));
                let ours = predict(&[layer], input, &weights, &x, batch).unwrap();
                FORCE.with(|f| f.set(None));
                WINOGRAD.with(|f| f.set(None));
                assert_eq!(ours.len(), want.len());
                for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-4,
                        "case {h}x{w}x{c} → {filters} (k {k:?}, groups {groups}, stride {stride}, \
                         dilation {dilation}, same {same}, path {path:?}, winograd {winograd:?}): \
                         value {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_convolution_fused_with_its_pooling_gives_the_two_layers_values() {
        let dims = |v: i64| Value::Tuple(Box::leak(Box::new([Value::Int(v), Value::Int(v)])));
        let pool = |kind: Kind, size: i64, extra: &[(&'static str, Value<'static>)]| {
            let mut args = vec![("pool_size", dims(size))];
            args.extend_from_slice(extra);
            test_layer(kind, &args)
        };
        let tanh = |mut l: Layer| {
            if let crate::layer::Config::Conv(c) = &mut l.config {
                c.activation = crate::layer::Activation::Tanh;
            }
            l
        };
        // (conv, pooling, input, batch): max and average, windows that leave rows and
        // columns over, ReLU and another activation, a strided convolution, a batch split
        // between threads; and pairs that do not fuse (overlapping windows, padding).
        let cases = [
            (
                conv2d(16, [3, 3], 1, 1, 1, "same"),
                pool(Kind::MaxPooling2D, 2, &[]),
                [16, 16, 3],
                1,
            ),
            (
                conv2d(32, [3, 3], 1, 1, 1, "valid"),
                pool(Kind::MaxPooling2D, 3, &[]),
                [13, 12, 5],
                3,
            ),
            (
                tanh(conv2d(20, [3, 3], 1, 1, 1, "same")),
                pool(Kind::AveragePooling2D, 2, &[]),
                [9, 11, 4],
                2,
            ),
            (
                conv2d(70, [3, 3], 1, 2, 1, "same"),
                pool(Kind::MaxPooling2D, 2, &[]),
                [21, 19, 6],
                4,
            ),
            (
                conv2d(8, [3, 3], 1, 1, 1, "same"),
                pool(Kind::MaxPooling2D, 3, &[("strides", dims(2))]),
                [12, 12, 3],
                1,
            ),
            (
                conv2d(8, [3, 3], 1, 1, 1, "same"),
                pool(Kind::MaxPooling2D, 2, &[("padding", Value::Str("same"))]),
                [7, 7, 3],
                2,
            ),
        ];
        for (conv, pooling, dims, batch) in cases {
            let input = Shape::new(&dims);
            let mut weights = init_model(&[conv, pooling], input, 3).unwrap();
            weights[0].tensors[1]
                .data
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = i as f32 * 0.01 - 0.1);
            let x: Vec<f32> = (0..batch * dims.iter().product::<usize>())
                .map(|i| match i % 97 {
                    5 => f32::NAN,
                    _ => ((i * 37) % 101) as f32 / 50.0 - 1.0,
                })
                .collect();
            let mid_shape = crate::runtime::output_shape(&[conv], input).unwrap();
            for path in paths() {
                FORCE.with(|f| f.set(Some(path)));
                let mid = predict(&[conv], input, &weights[..1], &x, batch).unwrap();
                let want = predict(&[pooling], mid_shape, &weights[1..], &mid, batch).unwrap();
                let got = predict(&[conv, pooling], input, &weights, &x, batch).unwrap();
                FORCE.with(|f| f.set(None));
                assert_eq!(got.len(), want.len());
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                        "{dims:?} batch {batch} path {path:?}: value {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn blocked_and_threaded_convolution_matches_the_definition() {
        // (batch, h, w, c, filters, kernel, groups, stride, dilation, same); the first is big
        // enough to be split across threads and into several blocks.
        check_against_the_definition(&[
            (2, 40, 40, 8, 32, [3, 3], 2, 1, 1, true),
            (3, 11, 9, 6, 4, [3, 2], 1, 2, 1, true),
            (1, 12, 10, 4, 6, [2, 3], 2, 1, 2, true),
            (2, 9, 9, 3, 5, [3, 3], 1, 3, 1, false),
            (1, 5, 5, 4, 4, [1, 1], 1, 1, 1, true),
        ]);
    }

    #[test]
    fn tiled_convolution_matches_the_definition() {
        // Tiles of 6 positions × 16 filters: position counts that leave a partial tile,
        // filter counts that leave a partial block (or are below one), channels that are
        // not multiples of 8, strides and dilations on 'same' and 'valid' padding, groups.
        check_against_the_definition(&[
            (2, 13, 13, 32, 64, [3, 3], 1, 1, 1, false),
            (8, 17, 15, 3, 32, [3, 3], 1, 1, 1, true),
            (3, 28, 28, 1, 32, [3, 3], 1, 1, 1, false),
            (2, 11, 7, 5, 20, [3, 3], 1, 2, 1, true),
            (1, 14, 9, 7, 9, [3, 2], 1, 1, 2, true),
            (2, 15, 16, 6, 33, [2, 3], 1, 1, 2, false),
            (2, 15, 16, 6, 33, [2, 3], 1, 2, 1, false),
            (1, 10, 10, 12, 18, [3, 3], 3, 1, 1, true),
            (2, 9, 12, 10, 10, [5, 3], 2, 3, 1, true),
            (1, 7, 5, 3, 1, [3, 3], 1, 1, 1, true),
            (1, 3, 3, 2, 17, [3, 3], 1, 2, 1, true),
            (5, 33, 31, 16, 48, [3, 3], 4, 1, 1, false),
            (1, 6, 6, 130, 8, [3, 3], 1, 1, 1, true), // a depth in several parts
            // The AVX-512 tiles: 16, 32 and 64 filters a block, full and partial blocks,
            // several blocks, whole rows of taps as one run and taps one by one.
            (1, 20, 19, 3, 16, [3, 3], 1, 1, 1, true),
            (1, 16, 16, 64, 128, [3, 3], 1, 1, 1, true),
            (2, 9, 11, 8, 100, [3, 3], 1, 1, 1, true),
            (1, 12, 12, 16, 70, [3, 3], 2, 2, 1, true),
            (1, 11, 13, 5, 29, [3, 3], 1, 1, 2, false),
        ]);
    }

    #[test]
    fn deep_and_pointwise_convolutions_match_the_definition() {
        // Depths of many parts (a part holds 96–384 values, by the tile's lanes): runs cut
        // in pieces (1×1 over 2500 channels, 3×3 rows of 480 and 1200 values), taps one by
        // one when dilated, groups; 1×1 stride-1 convolutions, which AVX-512 takes through
        // its tiles. ReLU on the last part only has a test of its own below.
        check_against_the_definition(&[
            (1, 6, 7, 160, 40, [3, 3], 1, 1, 1, true),
            (2, 5, 5, 2500, 70, [1, 1], 1, 1, 1, true),
            (1, 6, 6, 400, 17, [3, 3], 1, 2, 1, true),
            (1, 9, 9, 300, 33, [3, 3], 1, 1, 2, false),
            (1, 8, 8, 1500, 64, [3, 3], 4, 1, 1, true),
            (3, 7, 9, 24, 130, [1, 1], 1, 1, 1, false),
            (1, 13, 13, 64, 16, [1, 1], 1, 2, 1, true),
            // Groups whose filters fill whole tiles, whose kernel is read where it lies.
            (1, 9, 8, 12, 64, [3, 3], 2, 1, 1, true),
            (2, 7, 7, 8, 32, [3, 3], 2, 1, 1, false),
            (1, 6, 5, 8, 256, [2, 2], 2, 1, 1, true),
        ]);
    }

    #[test]
    fn pointwise_products_match_the_definition() {
        use crate::layer::Activation;
        // (rows, depth, units, activation): partial tiles of rows and of units, a depth in
        // parts, ReLU in the tiles and softmax after them, rows enough for threads.
        let cases = [
            (16, 784, 128, Activation::Relu),
            (37, 20, 10, Activation::Softmax),
            (300, 1300, 70, Activation::Linear),
            (129, 64, 64, Activation::Tanh),
        ];
        for (rows, depth, units, activation) in cases {
            let value = |i: usize, m: usize| ((i * m) % 89) as f32 / 44.0 - 1.0;
            let x: Vec<f32> = (0..rows * depth).map(|i| value(i, 37)).collect();
            let kernel: Vec<f32> = (0..depth * units).map(|i| value(i, 53) * 0.1).collect();
            let bias: Vec<f32> = (0..units).map(|i| value(i, 7)).collect();
            let mut want = vec![0.0; rows * units];
            for r in 0..rows {
                for u in 0..units {
                    want[r * units + u] = bias[u]
                        + (0..depth)
                            .map(|k| x[r * depth + k] * kernel[k * units + u])
                            .sum::<f32>();
                }
            }
            crate::layer::activation::forward::apply(activation, &mut want, units);
            let mut y = vec![f32::NAN; rows * units];
            if !super::pointwise(
                rows,
                depth,
                units,
                &x,
                &kernel,
                Some(&bias),
                activation,
                &mut y,
            ) {
                // Only where the machine's tile kernel does not take products.
                assert!(!super::tiled::takes_products());
                continue;
            }
            for (i, (a, b)) in y.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() < 1e-4,
                    "{rows}×{depth}·{units}: value {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn relu_applies_to_the_whole_depth_not_to_its_parts() {
        // With ReLU applied after each part, a negative first part would be lost.
        let input = Shape::new(&[4, 4, 1300]);
        let plain = conv2d(20, [1, 1], 1, 1, 1, "valid");
        let mut relu = plain;
        if let crate::layer::Config::Conv(c) = &mut relu.config {
            c.activation = crate::layer::Activation::Relu;
        }
        let weights = init_model(&[plain], input, 9).unwrap();
        // The first channels pull down and the last push up, so partial sums change sign.
        let x: Vec<f32> = (0..16 * 1300)
            .map(|i| if i % 1300 < 650 { -1.0 } else { 1.0 } * ((i % 7) as f32 + 1.0))
            .collect();
        for path in paths() {
            FORCE.with(|f| f.set(Some(path)));
            let sums = predict(&[plain], input, &weights, &x, 1).unwrap();
            let got = predict(&[relu], input, &weights, &x, 1).unwrap();
            FORCE.with(|f| f.set(None));
            for (i, (s, g)) in sums.iter().zip(&got).enumerate() {
                assert_eq!(s.max(0.0), *g, "path {path:?}: value {i}");
            }
        }
    }
}
