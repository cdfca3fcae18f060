//! The depthwise convolution of `DepthwiseConv1D/2D` and of the first half of
//! `SeparableConv1D/2D`: each channel convolved with its own `dm` filters, output channel
//! `c · dm + m`, kernel `[taps, channels, dm]`.
//!
//! Work is a line of outputs at a time (one sample, one output row), lines split between
//! the threads when the layer is big enough. The line's arithmetic is one body compiled
//! twice: for AVX-512, where the CPU has it, and for the baseline; both add the same terms
//! in the same order, so they give the same values bit for bit. A BatchNormalization after
//! the layer may be folded in, and the activation is applied to each position's outputs
//! while they are in registers or L1.

use super::tiled::Affine;
use crate::layer::activation::forward::{apply, relu, relu_max};
use crate::layer::window::Window;
use crate::layer::Activation;
use crate::runtime::kernels::threads_for;
use crate::runtime::threads;

/// What every line needs.
struct Depthwise<'a> {
    w: &'a Window,
    channels: usize,
    dm: usize,
    kernel: &'a [f32],
    bias: Option<&'a [f32]>,
    /// A BatchNormalization's factors, one per output channel.
    affine: Option<Affine<'a>>,
    activation: Activation,
    x: &'a [f32],
}

/// Runs the convolution on every sample of `x` into `y`: each output `v` is `activation(v
/// · scale + shift)` with `affine`'s factors, `activation(v)` without.
#[allow(clippy::too_many_arguments)]
pub(crate) fn depthwise(
    w: &Window,
    channels: usize,
    dm: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    affine: Option<Affine>,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
) {
    let d = Depthwise {
        w,
        channels,
        dm,
        kernel,
        bias,
        affine,
        activation,
        x,
    };
    d.run(y, avx512());
}

/// Whether the running CPU takes the AVX-512 body: it has the AVX-512 tile kernel's
/// instructions.
fn avx512() -> bool {
    super::tiled::Isa::Avx512.available()
}

impl Depthwise<'_> {
    fn run(&self, y: &mut [f32], wide: bool) {
        let w = self.w;
        let width = self.channels * self.dm;
        let line_len = (w.out[2] * width).max(1);
        let lines = y.len() / line_len;
        let macs = y.len() * w.taps();
        let threads = threads_for(macs).min(lines).max(1);
        let one = |first: usize, ys: &mut [f32]| {
            for (l, out) in (first..).zip(ys.chunks_exact_mut(line_len)) {
                self.line(l, out, wide);
            }
        };
        if threads <= 1 {
            one(0, y);
            return;
        }
        let share = lines.div_ceil(threads);
        threads::chunks_mut(y, share * line_len, |t, ys| one(t * share, ys));
    }

    /// Output line `l` (sample, depth and row, in order) into `out`.
    fn line(&self, l: usize, out: &mut [f32], wide: bool) {
        #[cfg(target_arch = "x86_64")]
        if wide {
            // SAFETY: `wide` is only set where the CPU has AVX-512F.
            return unsafe { line_avx512(self, l, out) };
        }
        let _ = wide;
        line_body(self, l, out)
    }
}

/// [`line_body`] compiled for AVX-512.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn line_avx512(d: &Depthwise, l: usize, out: &mut [f32]) {
    line_body(d, l, out)
}

#[inline(always)]
fn line_body(d: &Depthwise, l: usize, out: &mut [f32]) {
    let w = d.w;
    let (channels, dm) = (d.channels, d.dm);
    let width = channels * dm;
    let in_len = w.size.iter().product::<usize>() * channels;
    let sample = l / (w.out[0] * w.out[1]).max(1);
    // The line's first output position within its sample.
    let first = (l % (w.out[0] * w.out[1]).max(1)) * w.out[2];
    let xs = &d.x[sample * in_len..][..in_len];
    let cells_fit = dm == 1 && w.taps() <= MAX_CELLS;
    // The window's rows inside the input, the same for the whole line: each one's first
    // tap and its input row's first cell.
    let mut rows = [(0usize, 0usize); MAX_CELLS];
    let mut n_rows = 0;
    if cells_fit {
        let [_, h, wd] = w.size;
        let (od, oh) = (
            first / (w.out[1] * w.out[2]).max(1),
            first / w.out[2].max(1),
        );
        let oh = oh % w.out[1].max(1);
        for kd in 0..w.kernel[0] {
            let Some(id) = w.source(0, od, kd) else {
                continue;
            };
            for kh in 0..w.kernel[1] {
                if let Some(ih) = w.source(1, oh, kh) {
                    rows[n_rows] = ((kd * w.kernel[1] + kh) * w.kernel[2], (id * h + ih) * wd);
                    n_rows += 1;
                }
            }
        }
    }
    // Whether output `ow`'s window lies inside the input across the width: such
    // positions side by side have the same cells, a stride apart.
    let kw_last = w.kernel[2].saturating_sub(1);
    let inside = |ow: usize| w.source(2, ow, 0).is_some() && w.source(2, ow, kw_last).is_some();
    let shift = w.stride[2] * channels;
    // Each cell of the window: its kernel row's and its input's offsets.
    let mut cells = [(0usize, 0usize); MAX_CELLS];
    let positions = out.len() / width.max(1);
    let mut ow = 0;
    while ow < positions {
        let group = if cells_fit && ow + GROUP <= positions && inside(ow) && inside(ow + GROUP - 1)
        {
            GROUP
        } else {
            1
        };
        let acc = &mut out[ow * width..(ow + group) * width];
        if cells_fit {
            // The cells in the order `Window::cells` gives them: depth, height, width.
            let mut n = 0;
            for &(tap, row) in &rows[..n_rows] {
                for kw in 0..w.kernel[2] {
                    if let Some(iw) = w.source(2, ow, kw) {
                        cells[n] = ((tap + kw) * width, (row + iw) * channels);
                        n += 1;
                    }
                }
            }
            if group == GROUP {
                blocks::<GROUP>(d, xs, &cells[..n], shift, acc);
            } else {
                blocks::<1>(d, xs, &cells[..n], shift, acc);
            }
        } else {
            one_by_one(d, xs, first + ow, acc);
        }
        if let Some(f) = d.affine {
            // Multiplied, then added, as the normalization's own pass does.
            for acc in acc.chunks_exact_mut(width.max(1)) {
                for ((a, &s), &t) in acc.iter_mut().zip(f.scale).zip(f.shift) {
                    *a = *a * s + t;
                }
            }
        }
        // ReLU and ReLU6 as selects compiled into this body; the others through `apply`.
        match d.activation {
            Activation::Linear => {}
            Activation::Relu => acc.iter_mut().for_each(|a| *a = relu(*a)),
            Activation::Relu6 => acc.iter_mut().for_each(|a| *a = relu_max(*a, 6.0)),
            other => apply(other, acc, width),
        }
        ow += group;
    }
}

/// The most cells of a window [`blocks`] takes (their offsets live on the stack).
const MAX_CELLS: usize = 64;
/// Channels [`blocks`] sums at once for one position, in four AVX-512 registers.
const BLOCK: usize = 64;
/// Channels in one AVX-512 register: the step after the whole blocks.
const LANES: usize = 16;
/// Positions side by side [`blocks`] sums at once where their windows lie inside the
/// input: each kernel value loaded once for all of them, and as many independent sums,
/// since one position's sums wait on the adder's latency at every cell.
const GROUP: usize = 4;

/// `P` positions' outputs (`acc`, `P` rows of channels) with one filter per channel: the
/// first position's window is `cells`, each next one's the same cells `shift` values
/// further on in `xs`. A block of channels at a time in registers across the cells, added
/// in the cells' order from the bias, as [`one_by_one`] adds them.
#[inline(always)]
fn blocks<const P: usize>(
    d: &Depthwise,
    xs: &[f32],
    cells: &[(usize, usize)],
    shift: usize,
    acc: &mut [f32],
) {
    let width = acc.len() / P;
    let mut c0 = 0;
    while c0 + BLOCK <= width {
        block::<BLOCK, P>(d, xs, cells, shift, c0, acc);
        c0 += BLOCK;
    }
    // Then a vector at a time (MobileNet's 32, 96, 144 channels end in one or two).
    while c0 + LANES <= width {
        block::<LANES, P>(d, xs, cells, shift, c0, acc);
        c0 += LANES;
    }
    // The last channels, past the whole vectors, summed in place.
    for (p, acc) in acc.chunks_exact_mut(width.max(1)).enumerate() {
        let tail = &mut acc[c0..];
        match d.bias {
            Some(b) => tail.copy_from_slice(&b[c0..width]),
            None => tail.fill(0.0),
        }
        for &(k, x) in cells {
            let (v, k) = (&xs[x + p * shift + c0..], &d.kernel[k + c0..]);
            for ((a, &v), &k) in tail.iter_mut().zip(v).zip(k) {
                *a += v * k;
            }
        }
    }
}

/// Channels `c0..c0 + B` of `P` positions (see [`blocks`]), in `P · B` accumulators
/// across the cells.
#[inline(always)]
fn block<const B: usize, const P: usize>(
    d: &Depthwise,
    xs: &[f32],
    cells: &[(usize, usize)],
    shift: usize,
    c0: usize,
    acc: &mut [f32],
) {
    let width = acc.len() / P;
    let mut a = [[0f32; B]; P];
    if let Some(b) = d.bias {
        for a in &mut a {
            a.copy_from_slice(&b[c0..c0 + B]);
        }
    }
    for &(k, x) in cells {
        let k = &d.kernel[k + c0..][..B];
        for (p, a) in a.iter_mut().enumerate() {
            let v = &xs[x + p * shift + c0..][..B];
            for j in 0..B {
                a[j] += v[j] * k[j];
            }
        }
    }
    for (p, a) in a.iter().enumerate() {
        acc[p * width + c0..][..B].copy_from_slice(a);
    }
}

/// Output position `row`'s outputs, each cell of its window added to all of them in turn
/// (any depth multiplier, any window).
#[inline(always)]
fn one_by_one(d: &Depthwise, xs: &[f32], row: usize, acc: &mut [f32]) {
    let (channels, dm) = (d.channels, d.dm);
    let width = channels * dm;
    match d.bias {
        Some(b) => acc.copy_from_slice(&b[..width]),
        None => acc.fill(0.0),
    }
    d.w.cells(row, |tap, cell| {
        let src = &xs[cell * channels..][..channels];
        let k = &d.kernel[tap * width..][..width];
        if dm == 1 {
            for ((a, &v), &k) in acc.iter_mut().zip(src).zip(k) {
                *a += v * k;
            }
        } else {
            for ((a, k), &v) in acc.chunks_exact_mut(dm).zip(k.chunks_exact(dm)).zip(src) {
                for (a, &k) in a.iter_mut().zip(k) {
                    *a += v * k;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{avx512, Affine, Depthwise};
    use crate::layer::activation::forward::apply;
    use crate::layer::window::Window;
    use crate::layer::{Activation, Padding};
    use crate::shape::Shape;

    /// Each channel against its filters, term by term.
    fn naive(d: &Depthwise, batch: usize) -> Vec<f32> {
        let w = d.w;
        let width = d.channels * d.dm;
        let mut y = vec![0.0; batch * w.positions() * width];
        let [_, h, wd] = w.size;
        for b in 0..batch {
            for oh in 0..w.out[1] {
                for ow in 0..w.out[2] {
                    for c in 0..d.channels {
                        for m in 0..d.dm {
                            let o = c * d.dm + m;
                            let mut acc = d.bias.map_or(0.0, |b| b[o]);
                            for kh in 0..w.kernel[1] {
                                for kw in 0..w.kernel[2] {
                                    if let (Some(ih), Some(iw)) =
                                        (w.source(1, oh, kh), w.source(2, ow, kw))
                                    {
                                        let xv = d.x[((b * h + ih) * wd + iw) * d.channels + c];
                                        acc += xv * d.kernel[(kh * w.kernel[2] + kw) * width + o];
                                    }
                                }
                            }
                            y[((b * w.out[1] + oh) * w.out[2] + ow) * width + o] = acc;
                        }
                    }
                }
            }
        }
        y
    }

    #[test]
    fn both_bodies_give_the_definitions_values() {
        // (batch, h, w, channels, dm, kernel, stride, same): channels below, at and past a
        // vector, depth multipliers, strides, both paddings, one big enough for threads.
        let cases = [
            (1, 7, 6, 3, 1, 3, 1, true),
            (2, 9, 9, 16, 1, 3, 2, true),
            (1, 8, 11, 37, 2, 3, 1, false),
            (3, 5, 5, 5, 3, 2, 2, false),
            (2, 30, 30, 96, 1, 3, 1, true),
            (1, 6, 5, 130, 1, 3, 1, true), // two whole blocks of channels and a tail
            // Positions summed four at a time: past a block, with a tail, strided.
            (1, 5, 12, 37, 1, 3, 1, true),
            (1, 4, 20, 48, 1, 3, 2, false),
            (2, 7, 14, 80, 1, 5, 1, true),
        ];
        for (batch, h, wd, channels, dm, k, stride, same) in cases {
            let input = Shape::new(&[h, wd, channels]);
            let padding = if same { Padding::Same } else { Padding::Valid };
            let out = |n: usize| {
                if same {
                    n.div_ceil(stride)
                } else {
                    (n - k) / stride + 1
                }
            };
            let output = Shape::new(&[out(h), out(wd), channels * dm]);
            let w = Window::new(2, &input, &output, [k; 3], [stride; 3], [1; 3], padding);
            let n = |len: usize, m: usize| -> Vec<f32> {
                (0..len)
                    .map(|i| ((i * m) % 97) as f32 / 48.0 - 1.0)
                    .collect()
            };
            let kernel = n(k * k * channels * dm, 31);
            let bias = n(channels * dm, 7);
            let x = n(batch * h * wd * channels, 37);
            let d = Depthwise {
                w: &w,
                channels,
                dm,
                kernel: &kernel,
                bias: Some(&bias),
                affine: None,
                activation: Activation::Linear,
                x: &x,
            };
            let want = naive(&d, batch);
            // A folded normalization and an activation: the same values as the plain
            // layer's outputs, scaled and shifted, then activated, bit for bit. Scaled up,
            // so that some outputs pass 6.
            let scale: Vec<f32> = n(channels * dm, 13).iter().map(|v| 8.0 * v).collect();
            let shift = n(channels * dm, 17);
            let mut paths = vec![false];
            if avx512() {
                paths.push(true);
            }
            for wide in paths {
                let mut y = vec![f32::NAN; want.len()];
                d.run(&mut y, wide);
                for (i, (a, b)) in y.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-5,
                        "{h}×{wd}×{channels} dm {dm} k {k} stride {stride} avx512 {wide}: \
                         value {i}: {a} vs {b}"
                    );
                }
                for activation in [Activation::Relu6, Activation::Relu, Activation::Tanh] {
                    let folded = Depthwise {
                        affine: Some(Affine {
                            scale: &scale,
                            shift: &shift,
                        }),
                        activation,
                        ..d
                    };
                    let mut after = y.clone();
                    for row in after.chunks_exact_mut(channels * dm) {
                        for ((v, &s), &t) in row.iter_mut().zip(&scale).zip(&shift) {
                            *v = *v * s + t;
                        }
                    }
                    apply(activation, &mut after, channels * dm);
                    let mut z = vec![f32::NAN; want.len()];
                    folded.run(&mut z, wide);
                    assert!(
                        z.iter()
                            .zip(&after)
                            .all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{h}×{wd}×{channels} dm {dm} avx512 {wide} {activation:?}: the folded \
                         normalization differs from the layers one after the other"
                    );
                    if activation == Activation::Relu6 {
                        assert!(after.contains(&6.0) && after.contains(&0.0));
                    }
                }
            }
        }
    }
}
