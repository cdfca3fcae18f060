//! Convolutions `Conv1D/2D/3D` (groups, strides, dilation, 'valid', 'same' and 'causal'
//! padding): the forward pass is the runtime's; the backward pass rebuilds the im2col
//! columns with the runtime's `im2col`, a block of rows at a time, and takes
//! `dkernel = colsᵀ · dz` and `dcols = dz · kernelᵀ` with the runtime's matrix product,
//! then adds `dcols` back onto the input positions they were read from (col2im, the
//! adjoint of im2col).
//!
//! Where the tiled kernel runs (stride 1, no dilation, one group), the input gradient is
//! instead a forward convolution through it: `dz`, padded all round, against the kernel
//! turned half a turn with its channels and filters swapped ([`input_gradient_tiled`]).
//!
//! Big batches are split by samples over the cores: each thread has its own columns and
//! its own partial kernel gradient, summed at the end; the input gradients of different
//! samples do not overlap.
//!
//! The transposed convolutions run the same way the other way round: their output gradient
//! is read through im2col over the transposed window, then `dkernel = dcolsᵀ · x` and
//! `dx = dcols · kernelᵀ`. Depthwise convolutions go back through the adjoint of the
//! runtime's loops; separable ones through their 1×1 product, then the same.

use super::forward::{conv_window, depthwise, scratch_len, Source};
use super::tiled;
use super::{Conv, ConvOp};
use crate::layer::activation::backward::{self as activation, needs_input};
use crate::layer::activation::forward::apply;
use crate::layer::core::backward::column_sums;
use crate::layer::ops::{Grad, Step, Train};
use crate::layer::window::Window;
use crate::layer::Activation;
use crate::runtime::kernels::{matmul, matmul_serial, threads_for, Mat};
use crate::runtime::{aligned, elements, grown, threads, with_scratch};

/// About this many values of im2col columns per block.
const BLOCK_VALUES: usize = 1 << 18;

/// The runtime's convolution; the pre-activation is kept when the activation's derivative
/// needs it.
pub(crate) fn forward(c: &Conv, p: &Step, x: &[f32], y: &mut [f32], t: Train) {
    let keep = needs_input(c.activation);
    let conv = Conv {
        activation: if keep {
            Activation::Linear
        } else {
            c.activation
        },
        ..*c
    };
    let scratch = aligned(t.scratch, scratch_len(c, &p.input, &p.output, p.batch));
    super::forward::forward(&conv, p, x, y, scratch);
    if keep {
        t.cache.a.clear();
        t.cache.a.extend_from_slice(y);
        apply(c.activation, y, p.output.last());
    }
}

pub(crate) fn backward(c: &Conv, p: &Step, g: Grad) {
    let Grad {
        x,
        y,
        dy,
        dx,
        grads,
        cache,
        linear_output,
        scratch,
    } = g;
    let filters = c.filters;
    let dz: &[f32] = if linear_output || c.activation == Activation::Linear {
        dy
    } else {
        let dz = grown(scratch, dy.len());
        activation::backward(c.activation, &cache.a, y, dy, dz, p.output.last());
        dz
    };
    match c.op {
        ConvOp::Depthwise => {
            let channels = p.input.last();
            if c.use_bias {
                column_sums(dz, channels * c.depth_multiplier, &mut grads[1]);
            }
            let w = conv_window(c, &p.input, &p.output);
            let (dk, kernel) = (&mut grads[0], &p.weights[0].data);
            let dw = Depthwise {
                w: &w,
                channels,
                dm: c.depth_multiplier,
            };
            dw.backward(kernel, x, dz, dx, dk);
            return;
        }
        ConvOp::Separable => {
            return separable_backward(c, p, x, dz, dx, grads);
        }
        ConvOp::Transpose => {
            if c.use_bias {
                column_sums(dz, filters, &mut grads[1]);
            }
            return transpose_backward(c, p, x, dz, dx, &mut grads[0]);
        }
        ConvOp::Regular => {}
    }
    if c.use_bias {
        column_sums(dz, filters, &mut grads[1]);
    }
    let w = conv_window(c, &p.input, &p.output);
    let channels = p.input.last();
    let groups = c.groups.max(1);
    let g = Geometry {
        w: &w,
        channels,
        cg: channels / groups,
        fg: filters / groups,
        filters,
        groups,
        in_len: elements(&p.input),
        positions: w.positions(),
    };
    let depth = w.taps() * g.cg;
    let kernel = &p.weights[0].data;
    let mut dx = dx;
    if groups == 1 {
        if let Some(d) = dx.as_deref_mut() {
            if input_gradient_tiled(&w, p.batch, channels, filters, kernel, dz, d) {
                dx = None;
            }
        }
    }
    let k_len = depth * filters;
    let threads = threads_for(p.batch * g.positions * depth * filters)
        .min(p.batch)
        .max(1);
    let dk = &mut grads[0];
    dk.resize(k_len, 0.0);
    if threads == 1 {
        g.samples(x, dz, kernel, dx, dk);
        return;
    }
    let share = p.batch.div_ceil(threads);
    let out_len = g.positions * filters;
    let mut partial = vec![0f32; threads * k_len];
    let (x_share, z_share) = (share * g.in_len.max(1), share * out_len.max(1));
    // Share `t`'s samples into its own partial kernel gradient (a share past the batch,
    // when the batch does not fill the threads, has none and leaves its zeros).
    let part = |t: usize, k: &mut [f32], d: Option<&mut [f32]>| {
        if let (Some(x), Some(z)) = (x.chunks(x_share).nth(t), dz.chunks(z_share).nth(t)) {
            g.samples(x, z, kernel, d, k)
        }
    };
    let k_share = k_len.max(1);
    match dx {
        Some(dx) => threads::chunks_mut2(&mut partial, k_share, dx, x_share, |t, k, d| {
            part(t, k, Some(d))
        }),
        None => threads::chunks_mut(&mut partial, k_share, |t, k| part(t, k, None)),
    }
    dk.copy_from_slice(&partial[..k_len]);
    for part in partial[k_len..].chunks_exact(k_len.max(1)) {
        dk.iter_mut().zip(part).for_each(|(a, &b)| *a += b);
    }
}

thread_local! {
    /// [`input_gradient_tiled`]'s turned kernel and its convolution's scratch, kept between
    /// calls (several megabytes for a batch, which a fresh allocation would fault in).
    static TILED_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `dx` of a stride-1, undilated, one-group convolution through the tiled forward kernel:
/// `dx[i] = Σ_tap Σ_f dz[i - tap] · kernel[tap, c, f]`, which is the forward convolution of
/// `dz` padded by `kernel - 1 - pad` before (and what the window needs after) with the
/// kernel's taps reversed and its channels and filters swapped. Returns `false`, having
/// done nothing, where the tiled kernel does not take it.
fn input_gradient_tiled(
    w: &Window,
    batch: usize,
    channels: usize,
    filters: usize,
    kernel: &[f32],
    dz: &[f32],
    dx: &mut [f32],
) -> bool {
    if w.stride != [1; 3] || w.dilation != [1; 3] || (0..3).any(|a| w.pad[a] >= w.kernel[a]) {
        return false;
    }
    let full = Window {
        size: w.out,
        out: w.size,
        kernel: w.kernel,
        stride: [1; 3],
        dilation: [1; 3],
        pad: std::array::from_fn(|a| w.kernel[a] - 1 - w.pad[a]),
    };
    let Some(plan) = tiled::plan(&full, filters, 1, channels) else {
        return false;
    };
    let taps = w.taps();
    let k_len = taps * channels * filters;
    let need = k_len + plan.scratch_len(&full, batch);
    // The turned kernel, then the convolution's scratch.
    with_scratch(&TILED_SCRATCH, need, |buffer| {
        let (turned, scratch) = buffer.split_at_mut(k_len);
        for t in 0..taps {
            let (src, dst) = (
                &kernel[t * channels * filters..],
                &mut turned[(taps - 1 - t) * filters * channels..],
            );
            for c in 0..channels {
                for f in 0..filters {
                    dst[f * channels + c] = src[c * filters + f];
                }
            }
        }
        let macs = batch * full.positions() * k_len;
        tiled::convolve(
            &plan,
            &full,
            batch,
            turned,
            None,
            None,
            Activation::Linear,
            dz,
            dx,
            scratch,
            threads_for(macs),
        );
    });
    true
}

/// A convolution's sizes.
struct Geometry<'a> {
    w: &'a Window,
    channels: usize,
    /// Channels and filters per group.
    cg: usize,
    fg: usize,
    filters: usize,
    groups: usize,
    /// Values per input sample.
    in_len: usize,
    positions: usize,
}

impl Geometry<'_> {
    /// The gradients of the samples `x` (whole samples) with output gradients `dz`:
    /// the kernel's into `dk` (overwritten), the input's into `dx` when asked.
    fn samples(
        &self,
        x: &[f32],
        dz: &[f32],
        kernel: &[f32],
        mut dx: Option<&mut [f32]>,
        dk: &mut [f32],
    ) {
        let (cg, fg, filters) = (self.cg, self.fg, self.filters);
        let depth = self.w.taps() * cg;
        let rows_total = dz.len() / filters.max(1);
        let block = (BLOCK_VALUES / depth.max(1)).clamp(1, rows_total.max(1));
        let mut cols = vec![0f32; block * depth];
        let mut dcols = if dx.is_some() {
            vec![0f32; block * depth]
        } else {
            Vec::new()
        };
        if let Some(dx) = dx.as_deref_mut() {
            dx.fill(0.0);
        }
        let src = Source {
            w: self.w,
            x,
            in_len: self.in_len,
            channels: self.channels,
        };
        for grp in 0..self.groups {
            let (c0, f0) = (grp * cg, grp * fg);
            for row0 in (0..rows_total).step_by(block) {
                let n = block.min(rows_total - row0);
                let cols = &mut cols[..n * depth];
                src.im2col(row0, c0, cg, cols);
                let dz_block = Mat {
                    data: &dz[row0 * filters + f0..],
                    rs: filters,
                    cs: 1,
                };
                // dkernel[:, group] (+)= colsᵀ · dz[:, group], through the tile kernel
                // where it takes the group's filters.
                let tiled = tiled::transposed_product(
                    n,
                    depth,
                    fg,
                    (cols, depth),
                    (&dz[row0 * filters + f0..], filters),
                    &mut dk[f0..],
                    filters,
                    row0 > 0,
                    1,
                );
                if !tiled {
                    matmul_serial(
                        depth,
                        n,
                        fg,
                        Mat {
                            data: cols,
                            rs: 1,
                            cs: depth,
                        },
                        dz_block,
                        &mut dk[f0..],
                        filters,
                        row0 > 0,
                    );
                }
                if let Some(dx) = dx.as_deref_mut() {
                    // dcols = dz[:, group] · kernel[:, group]ᵀ
                    let dcols = &mut dcols[..n * depth];
                    matmul_serial(
                        n,
                        fg,
                        depth,
                        dz_block,
                        Mat {
                            data: &kernel[f0..],
                            rs: 1,
                            cs: filters,
                        },
                        dcols,
                        depth,
                        false,
                    );
                    self.col2im(row0, c0, dcols, dx);
                }
            }
        }
    }

    /// Adds each im2col value of rows `row0..` (channels `c0..c0 + cg` of each tap) back
    /// onto the input value it was read from.
    fn col2im(&self, row0: usize, c0: usize, dcols: &[f32], dx: &mut [f32]) {
        let w = self.w;
        let cg = self.cg;
        let depth = w.taps() * cg;
        for (r, src) in dcols.chunks_exact(depth).enumerate() {
            let row = row0 + r;
            let (sample, p) = (row / self.positions, row % self.positions);
            let ds = &mut dx[sample * self.in_len..(sample + 1) * self.in_len];
            w.cells(p, |tap, cell| {
                let (to, at) = (cell * self.channels + c0, tap * cg);
                for (d, &v) in ds[to..to + cg].iter_mut().zip(&src[at..at + cg]) {
                    *d += v;
                }
            });
        }
    }
}

/// A separable convolution: its 1×1 product goes back with two products (its input, the
/// depthwise pass's output, is computed again with the runtime's kernel), then the
/// depthwise pass.
fn separable_backward(
    c: &Conv,
    p: &Step,
    x: &[f32],
    dz: &[f32],
    dx: Option<&mut [f32]>,
    grads: &mut [Vec<f32>],
) {
    let filters = c.filters;
    if c.use_bias {
        column_sums(dz, filters, &mut grads[2]);
    }
    let w = conv_window(c, &p.input, &p.output);
    let channels = p.input.last();
    let dm = c.depth_multiplier;
    let inner = channels * dm;
    let rows = p.batch * w.positions();
    let (depth_kernel, pointwise) = (&p.weights[0].data, &p.weights[1].data);
    let mut mid = vec![0f32; rows * inner];
    depthwise(
        &w,
        channels,
        dm,
        depth_kernel,
        None,
        None,
        Activation::Linear,
        x,
        &mut mid,
    );
    // dpointwise = midᵀ · dz
    let dp = &mut grads[1];
    dp.resize(inner * filters, 0.0);
    matmul(
        inner,
        rows,
        filters,
        Mat {
            data: &mid,
            rs: 1,
            cs: inner,
        },
        Mat::rows(dz, filters),
        dp,
        filters,
        false,
    );
    // dmid = dz · pointwiseᵀ, reusing `mid`'s buffer.
    let dmid = &mut mid;
    matmul(
        rows,
        filters,
        inner,
        Mat::rows(dz, filters),
        Mat {
            data: pointwise,
            rs: 1,
            cs: filters,
        },
        dmid,
        inner,
        false,
    );
    let dw = Depthwise {
        w: &w,
        channels,
        dm,
    };
    dw.backward(depth_kernel, x, dmid, dx, &mut grads[0]);
}

/// A transposed convolution scatters `x · kernel` (`[taps · filters]` columns per input
/// position) onto the output: its output gradient gathered back through im2col over the
/// same window gives `dcols`, then `dkernel = dcolsᵀ · x` (the kernel is `[taps, filters,
/// channels]`) and `dx = dcols · kernelᵀ`, a block of input positions at a time.
fn transpose_backward(
    c: &Conv,
    p: &Step,
    x: &[f32],
    dz: &[f32],
    mut dx: Option<&mut [f32]>,
    dk: &mut Vec<f32>,
) {
    // The window runs from the output grid (its `size`) to the input grid (its `out`).
    let w = conv_window(c, &p.output, &p.input);
    let (channels, filters) = (p.input.last(), c.filters);
    let width = w.taps() * filters;
    let kernel = &p.weights[0].data;
    dk.clear();
    dk.resize(width * channels, 0.0);
    let total_rows = p.batch * w.positions();
    let block = (BLOCK_VALUES / width.max(1)).clamp(1, total_rows.max(1));
    let mut cols = vec![0f32; block * width];
    let src = Source {
        w: &w,
        x: dz,
        in_len: elements(&p.output),
        channels: filters,
    };
    for row0 in (0..total_rows).step_by(block) {
        let n = block.min(total_rows - row0);
        let cols = &mut cols[..n * width];
        src.im2col(row0, 0, filters, cols);
        let xs = &x[row0 * channels..(row0 + n) * channels];
        // dkernel += dcolsᵀ · x
        matmul(
            width,
            n,
            channels,
            Mat {
                data: cols,
                rs: 1,
                cs: width,
            },
            Mat::rows(xs, channels),
            dk,
            channels,
            true,
        );
        if let Some(dx) = dx.as_deref_mut() {
            // dx = dcols · kernelᵀ
            matmul(
                n,
                width,
                channels,
                Mat::rows(cols, width),
                Mat::rows(kernel, channels),
                &mut dx[row0 * channels..(row0 + n) * channels],
                channels,
                false,
            );
        }
    }
}

/// A depthwise convolution's sizes: each of `channels` input channels convolved with its
/// own `dm` filters (output channel `c·dm + m`, kernel `[taps, channels, dm]`).
struct Depthwise<'a> {
    w: &'a Window,
    channels: usize,
    dm: usize,
}

impl Depthwise<'_> {
    /// The adjoint of the runtime's loops: from the output gradient `dz`, the kernel's
    /// gradient into `dk` (overwritten) and the input's into `dx` (overwritten, when asked).
    fn backward(
        &self,
        kernel: &[f32],
        x: &[f32],
        dz: &[f32],
        mut dx: Option<&mut [f32]>,
        dk: &mut Vec<f32>,
    ) {
        let (w, channels, dm) = (self.w, self.channels, self.dm);
        let [_, h, wd] = w.size;
        let width = channels * dm;
        let in_len = w.size.iter().product::<usize>() * channels;
        let out_len = w.positions() * width;
        dk.clear();
        dk.resize(w.taps() * width, 0.0);
        if let Some(dx) = dx.as_deref_mut() {
            dx.fill(0.0);
        }
        if in_len == 0 || out_len == 0 {
            return;
        }
        for (sample, gs) in dz.chunks_exact(out_len).enumerate() {
            let xs = &x[sample * in_len..(sample + 1) * in_len];
            let mut row = 0;
            for od in 0..w.out[0] {
                for oh in 0..w.out[1] {
                    for ow in 0..w.out[2] {
                        let g = &gs[row * width..(row + 1) * width];
                        let mut tap = 0;
                        for kd in 0..w.kernel[0] {
                            let id = w.source(0, od, kd);
                            for kh in 0..w.kernel[1] {
                                let ih = w.source(1, oh, kh);
                                for kw in 0..w.kernel[2] {
                                    if let (Some(id), Some(ih), Some(iw)) =
                                        (id, ih, w.source(2, ow, kw))
                                    {
                                        let at = ((id * h + ih) * wd + iw) * channels;
                                        let (lo, hi) = (tap * width, (tap + 1) * width);
                                        let src = &xs[at..at + channels];
                                        for (ch, &v) in src.iter().enumerate() {
                                            for m in 0..dm {
                                                dk[lo + ch * dm + m] += v * g[ch * dm + m];
                                            }
                                        }
                                        if let Some(dx) = dx.as_deref_mut() {
                                            let k = &kernel[lo..hi];
                                            let d = &mut dx[sample * in_len + at..][..channels];
                                            for (ch, d) in d.iter_mut().enumerate() {
                                                for m in 0..dm {
                                                    *d += g[ch * dm + m] * k[ch * dm + m];
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
}

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, ints, layer};
    use crate::layer::{Kind, Layer};
    use crate::value::Value;

    fn conv(
        kind: Kind,
        filters: i64,
        kernel: Value<'static>,
        extra: &[(&'static str, Value<'static>)],
    ) -> Layer {
        let mut args = vec![("filters", Value::Int(filters)), ("kernel_size", kernel)];
        args.extend_from_slice(extra);
        layer(kind, &args)
    }

    #[test]
    fn conv1d_2d_3d_groups_dilation_padding() {
        let same = ("padding", Value::Str("same"));
        check(conv(Kind::Conv1D, 3, Value::Int(3), &[]), &[7, 2], 2);
        check(
            conv(
                Kind::Conv1D,
                2,
                Value::Int(2),
                &[
                    ("padding", Value::Str("causal")),
                    ("dilation_rate", Value::Int(2)),
                ],
            ),
            &[6, 3],
            2,
        );
        check(
            conv(
                Kind::Conv1D,
                4,
                Value::Int(3),
                &[
                    ("strides", Value::Int(2)),
                    same,
                    ("activation", Value::Str("gelu")),
                ],
            ),
            &[7, 2],
            2,
        );
        check(
            conv(
                Kind::Conv2D,
                3,
                ints(&[3, 2]),
                &[("activation", Value::Str("relu"))],
            ),
            &[5, 4, 2],
            2,
        );
        check(
            conv(
                Kind::Conv2D,
                4,
                ints(&[3, 3]),
                &[same, ("strides", ints(&[2, 2])), ("groups", Value::Int(2))],
            ),
            &[5, 6, 4],
            2,
        );
        check(
            conv(
                Kind::Conv2D,
                2,
                ints(&[2, 2]),
                &[
                    ("dilation_rate", ints(&[2, 2])),
                    ("use_bias", Value::Bool(false)),
                ],
            ),
            &[5, 5, 3],
            2,
        );
        check(
            conv(
                Kind::Conv2D,
                3,
                ints(&[1, 1]),
                &[("activation", Value::Str("tanh"))],
            ),
            &[3, 3, 2],
            2,
        );
        check(
            conv(Kind::Conv3D, 2, ints(&[2, 2, 2]), &[same]),
            &[3, 3, 3, 2],
            2,
        );
    }

    #[test]
    fn the_input_gradient_on_every_path() {
        // 'same' and 'valid', a 3-D window, filters that leave partial tiles: the input
        // gradient through each tile kernel the CPU has and through im2col.
        use crate::layer::convolution::forward::tests::paths;
        use crate::layer::convolution::tiled::FORCE;
        for path in paths() {
            FORCE.with(|f| f.set(Some(path)));
            let same = ("padding", Value::Str("same"));
            check(conv(Kind::Conv2D, 5, ints(&[3, 3]), &[same]), &[7, 6, 3], 2);
            check(conv(Kind::Conv2D, 17, ints(&[3, 2]), &[]), &[6, 5, 9], 2);
            check(
                conv(Kind::Conv3D, 3, ints(&[2, 2, 2]), &[same]),
                &[3, 4, 3, 2],
                2,
            );
            FORCE.with(|f| f.set(None));
        }
    }

    #[test]
    fn conv2d_across_threads_and_blocks() {
        // Big enough to be split over the cores and into several blocks of columns.
        check(
            conv(
                Kind::Conv2D,
                16,
                ints(&[3, 3]),
                &[("activation", Value::Str("tanh"))],
            ),
            &[30, 30, 8],
            8,
        );
    }

    #[test]
    fn conv_transpose() {
        let same = ("padding", Value::Str("same"));
        check(
            conv(Kind::Conv2DTranspose, 2, ints(&[3, 3]), &[]),
            &[3, 3, 2],
            2,
        );
        check(
            conv(
                Kind::Conv2DTranspose,
                3,
                ints(&[3, 2]),
                &[
                    ("strides", ints(&[2, 2])),
                    same,
                    ("activation", Value::Str("tanh")),
                ],
            ),
            &[3, 4, 2],
            2,
        );
        check(
            conv(
                Kind::Conv1DTranspose,
                3,
                Value::Int(3),
                &[("strides", Value::Int(2)), ("use_bias", Value::Bool(false))],
            ),
            &[4, 2],
            2,
        );
        check(
            conv(Kind::Conv1DTranspose, 2, Value::Int(2), &[same]),
            &[5, 3],
            2,
        );
        check(
            conv(
                Kind::Conv3DTranspose,
                2,
                ints(&[2, 2, 2]),
                &[("strides", ints(&[2, 1, 2]))],
            ),
            &[2, 2, 2, 2],
            1,
        );
    }

    #[test]
    fn separable_conv() {
        check(
            conv(Kind::SeparableConv2D, 2, ints(&[3, 3]), &[]),
            &[4, 4, 2],
            2,
        );
        check(
            conv(
                Kind::SeparableConv2D,
                3,
                ints(&[3, 2]),
                &[
                    ("depth_multiplier", Value::Int(2)),
                    ("strides", ints(&[2, 2])),
                    ("padding", Value::Str("same")),
                    ("activation", Value::Str("gelu")),
                ],
            ),
            &[5, 4, 2],
            2,
        );
        check(
            conv(
                Kind::SeparableConv1D,
                3,
                Value::Int(3),
                &[
                    ("depth_multiplier", Value::Int(2)),
                    ("use_bias", Value::Bool(false)),
                ],
            ),
            &[6, 2],
            2,
        );
    }

    #[test]
    fn depthwise_conv() {
        check(
            layer(Kind::DepthwiseConv2D, &[("kernel_size", ints(&[3, 3]))]),
            &[4, 4, 2],
            2,
        );
        check(
            layer(
                Kind::DepthwiseConv2D,
                &[
                    ("kernel_size", ints(&[2, 3])),
                    ("depth_multiplier", Value::Int(3)),
                    ("strides", ints(&[2, 1])),
                    ("padding", Value::Str("same")),
                    ("activation", Value::Str("relu")),
                ],
            ),
            &[5, 4, 2],
            2,
        );
        check(
            layer(
                Kind::DepthwiseConv1D,
                &[
                    ("kernel_size", Value::Int(3)),
                    ("depth_multiplier", Value::Int(2)),
                    ("dilation_rate", Value::Int(2)),
                    ("use_bias", Value::Bool(false)),
                ],
            ),
            &[7, 3],
            2,
        );
    }
}
