//! A direct convolution for x86-64 with AVX2 and FMA: no im2col matrix. Each output tile of
//! [`PIXELS`] positions × [`LANES`] filters lives in twelve `ymm` registers while the kernel
//! walks the window's taps and channels, reading the input where it lies (a zero-padded copy
//! of it for 'same' and 'causal' padding) and a panel of the kernel packed once per call.
//! Bias and ReLU are applied before the tile is stored.
//!
//! Every dimension is a run-time argument; only the tile is fixed. Callers check
//! [`available`] and fall back to im2col and a matrix product elsewhere.

use crate::layer::window::Window;
use crate::layer::Activation;

/// Output positions per tile.
pub(super) const PIXELS: usize = 6;
/// Filters per tile (two 8-lane vectors).
pub(super) const LANES: usize = 16;
/// The largest depth (`taps · channels per group`) taken here: the kernel's panel for one
/// tile of filters (depth × [`LANES`] values, 72 KiB at most) stays in the L2 cache.
pub(super) const MAX_DEPTH: usize = 1152;
/// Positions per chunk: the unit of work between which non-ReLU activations are applied,
/// while the chunk's outputs are still in cache.
const CHUNK: usize = 64 * PIXELS;

/// Whether the running CPU has the instructions the kernel is compiled for.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The shape of one tiled convolution, derived from its window.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    /// The padded input grid (equal to the input grid when nothing is padded).
    pub padded: [usize; 3],
    /// Whether the input must be copied into a zero-padded buffer first.
    pub pads: bool,
    pub channels: usize,
    pub groups: usize,
    pub filters: usize,
}

impl Plan {
    pub fn new(w: &Window, channels: usize, groups: usize, filters: usize) -> Plan {
        // Room for the padding before, the input, and whatever the last window reaches past.
        let padded: [usize; 3] = std::array::from_fn(|a| {
            let need = (w.out[a].max(1) - 1) * w.stride[a] + (w.kernel[a] - 1) * w.dilation[a] + 1;
            (w.pad[a] + w.size[a]).max(need)
        });
        Plan {
            padded,
            pads: padded != w.size,
            channels,
            groups: groups.max(1),
            filters,
        }
    }

    fn cg(&self) -> usize {
        self.channels / self.groups
    }

    fn fg(&self) -> usize {
        self.filters / self.groups
    }

    /// Tiles of [`LANES`] filters per group.
    fn blocks(&self) -> usize {
        self.fg().div_ceil(LANES)
    }

    /// Values of the packed kernel.
    pub fn packed_len(&self, w: &Window) -> usize {
        self.groups * self.blocks() * w.taps() * self.cg() * LANES
    }

    /// Values of one padded sample.
    fn padded_len(&self) -> usize {
        self.padded.iter().product::<usize>() * self.channels
    }

    /// Scratch values for a batch: the packed kernel, then the padded input if any.
    pub fn scratch_len(&self, w: &Window, batch: usize) -> usize {
        self.packed_len(w)
            + if self.pads {
                batch * self.padded_len()
            } else {
                0
            }
    }
}

/// Whether the tiled kernel suits a convolution with this window: any stride, dilation,
/// padding and groups, a depth that keeps the kernel's panel in cache.
pub(super) fn suits(w: &Window, channels: usize, groups: usize) -> bool {
    let depth = w.taps() * (channels / groups.max(1));
    depth > 0 && depth <= MAX_DEPTH && available()
}

/// Packs `kernel` (`[taps, cg, filters]`) into panels `[group][block][taps·cg][LANES]`,
/// the filters past the group's last padded with zeros.
fn pack(plan: &Plan, taps: usize, kernel: &[f32], packed: &mut [f32]) {
    let (cg, fg, f) = (plan.cg(), plan.fg(), plan.filters);
    let depth = taps * cg;
    let mut panels = packed.chunks_exact_mut(depth * LANES);
    for g in 0..plan.groups {
        for b in 0..plan.blocks() {
            let panel = panels.next().expect("packed_len panels");
            let (f0, n) = (g * fg + b * LANES, LANES.min(fg - b * LANES));
            for (k, dst) in panel.chunks_exact_mut(LANES).enumerate() {
                dst[..n].copy_from_slice(&kernel[k * f + f0..][..n]);
                dst[n..].fill(0.0);
            }
        }
    }
}

/// Copies each sample of `x` into `padded`, zeros around it.
fn pad(plan: &Plan, w: &Window, x: &[f32], padded: &mut [f32]) {
    let c = plan.channels;
    let [d, h, wd] = w.size;
    let [_, ph, pw] = plan.padded;
    let in_len = d * h * wd * c;
    let row = pw * c;
    let pad_len = plan.padded_len();
    let copy = |(xs, ps): (&[f32], &mut [f32])| {
        for (r, dst) in ps.chunks_exact_mut(row).enumerate() {
            let (id, ih) = (r / ph, r % ph);
            match (id.checked_sub(w.pad[0]), ih.checked_sub(w.pad[1])) {
                (Some(sd), Some(sh)) if sd < d && sh < h => {
                    let left = w.pad[2] * c;
                    dst[..left].fill(0.0);
                    dst[left..left + wd * c]
                        .copy_from_slice(&xs[(sd * h + sh) * wd * c..][..wd * c]);
                    dst[left + wd * c..].fill(0.0);
                }
                _ => dst.fill(0.0),
            }
        }
    };
    use rayon::prelude::*;
    x.par_chunks_exact(in_len.max(1))
        .zip(padded.par_chunks_exact_mut(pad_len.max(1)))
        .for_each(copy);
}

/// What a thread needs to compute any range of output positions.
struct Job<'a> {
    plan: Plan,
    w: &'a Window,
    /// The (padded) input, `sample_len` values per sample.
    x: &'a [f32],
    sample_len: usize,
    packed: &'a [f32],
    bias: Option<&'a [f32]>,
    /// Offset of each tap from a position's first input value.
    taps: Vec<usize>,
    relu: bool,
}

impl Job<'_> {
    /// The window offsets of `n` consecutive positions from `q`, into `bases`.
    fn bases(&self, q: usize, bases: &mut [usize]) {
        let w = self.w;
        let [od_n, oh_n, ow_n] = w.out;
        let positions = w.positions();
        let (mut sample, p) = (q / positions, q % positions);
        let (mut od, mut oh, mut ow) = (p / (oh_n * ow_n), (p / ow_n) % oh_n, p % ow_n);
        let [_, ph, pw] = self.plan.padded;
        let c = self.plan.channels;
        for b in bases {
            *b = sample * self.sample_len
                + ((od * w.stride[0] * ph + oh * w.stride[1]) * pw + ow * w.stride[2]) * c;
            ow += 1;
            if ow == ow_n {
                ow = 0;
                oh += 1;
                if oh == oh_n {
                    oh = 0;
                    od += 1;
                    if od == od_n {
                        od = 0;
                        sample += 1;
                    }
                }
            }
        }
    }

    /// Output positions `first..first + y.len() / filters` into `y`, a chunk of positions
    /// at a time: for each tile of filters (its panel stays in cache), every tile of
    /// positions of the chunk.
    fn run(&self, first: usize, y: &mut [f32], activation: Activation) {
        let f = self.plan.filters;
        let (cg, fg) = (self.plan.cg(), self.plan.fg());
        let depth = self.taps.len() * cg;
        let mut bases = [0usize; CHUNK];
        for (c, ys) in y.chunks_mut(CHUNK * f).enumerate() {
            let n = ys.len() / f;
            self.bases(first + c * CHUNK, &mut bases[..n]);
            for g in 0..self.plan.groups {
                for blk in 0..self.plan.blocks() {
                    let f0 = blk * LANES;
                    let valid = LANES.min(fg - f0);
                    let panel = &self.packed[((g * self.plan.blocks() + blk) * depth) * LANES..]
                        [..depth * LANES];
                    let mut init = [0f32; LANES];
                    if let Some(bias) = self.bias {
                        init[..valid].copy_from_slice(&bias[g * fg + f0..][..valid]);
                    }
                    for t0 in (0..n).step_by(PIXELS) {
                        let count = PIXELS.min(n - t0);
                        // A partial tile repeats its last position; only `count` are stored.
                        let base: [usize; PIXELS] =
                            std::array::from_fn(|i| bases[t0 + i.min(count - 1)] + g * cg);
                        let out = &mut ys[t0 * f + g * fg + f0..];
                        // SAFETY: `Job::check` verified that every window read here lies in
                        // `x`, and `available()` that the CPU runs AVX2 and FMA; `out`
                        // holds `count` rows of `f` values from the tile's first filter.
                        #[cfg(target_arch = "x86_64")]
                        unsafe {
                            tile(
                                self.x, &base, &self.taps, cg, panel, &init, self.relu, out, f,
                                count, valid,
                            )
                        };
                    }
                }
            }
            if !self.relu {
                crate::layer::activation::forward::apply(activation, ys, f);
            }
        }
    }

    /// Every window of every position stays inside `x` (checked once, so that the kernel
    /// may read without bounds checks).
    fn check(&self, total: usize) {
        if total == 0 {
            return;
        }
        let last_tap = self.taps.iter().max().copied().unwrap_or(0);
        let mut base = [0];
        self.bases(total - 1, &mut base);
        let end = base[0] + last_tap + self.plan.channels;
        assert!(
            end <= self.x.len(),
            "tiled convolution window out of bounds"
        );
        assert!(
            self.taps.len() * self.plan.cg() * LANES * self.plan.groups * self.plan.blocks()
                <= self.packed.len()
        );
    }
}

/// Runs the convolution on `batch` samples: `scratch` holds [`Plan::scratch_len`] values.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    plan: &Plan,
    w: &Window,
    batch: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    let (packed, rest) = scratch.split_at_mut(plan.packed_len(w));
    pack(plan, w.taps(), kernel, packed);
    let (input, sample_len) = if plan.pads {
        let padded = &mut rest[..batch * plan.padded_len()];
        pad(plan, w, x, padded);
        (&*padded, plan.padded_len())
    } else {
        (x, w.size.iter().product::<usize>() * plan.channels)
    };
    let [_, ph, pw] = plan.padded;
    let c = plan.channels;
    let mut taps = Vec::with_capacity(w.taps());
    for kd in 0..w.kernel[0] {
        for kh in 0..w.kernel[1] {
            for kw in 0..w.kernel[2] {
                taps.push(
                    ((kd * w.dilation[0] * ph + kh * w.dilation[1]) * pw + kw * w.dilation[2]) * c,
                );
            }
        }
    }
    let job = Job {
        plan: *plan,
        w,
        x: input,
        sample_len,
        packed,
        bias,
        taps,
        relu: activation == Activation::Relu,
    };
    let f = plan.filters;
    let total = batch * w.positions();
    job.check(total);
    if threads <= 1 || total <= PIXELS {
        job.run(0, y, activation);
        return;
    }
    // Contiguous shares of whole tiles, one per thread.
    let share = total.div_ceil(threads).div_ceil(PIXELS) * PIXELS;
    use rayon::prelude::*;
    y.par_chunks_mut(share * f)
        .enumerate()
        .for_each(|(t, ys)| job.run(t * share, ys, activation));
}

/// One tile: `out[i][j] = init[j] + Σ_tap Σ_c x[base[i] + tap + c] · panel[tap·cg + c][j]`,
/// then `max(·, 0)` when `relu`; the first `valid` filters of the first `count` positions
/// stored to `y`, `stride` values apart.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `base[i] + tap + cg <= x.len()` for every base
/// and tap.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    x: &[f32],
    base: &[usize; PIXELS],
    taps: &[usize],
    cg: usize,
    panel: &[f32],
    init: &[f32; LANES],
    relu: bool,
    y: &mut [f32],
    stride: usize,
    count: usize,
    valid: usize,
) {
    use std::arch::x86_64::*;
    assert!(panel.len() >= taps.len() * cg * LANES && count <= PIXELS && valid <= LANES);
    assert!(count > 0 && y.len() >= (count - 1) * stride + valid);
    let b0 = _mm256_loadu_ps(init.as_ptr());
    let b1 = _mm256_loadu_ps(init.as_ptr().add(8));
    let (mut a00, mut a01, mut a10, mut a11, mut a20, mut a21) = (b0, b1, b0, b1, b0, b1);
    let (mut a30, mut a31, mut a40, mut a41, mut a50, mut a51) = (b0, b1, b0, b1, b0, b1);
    let xp = x.as_ptr();
    let mut wp = panel.as_ptr();
    for &tap in taps {
        let p0 = xp.add(base[0] + tap);
        let p1 = xp.add(base[1] + tap);
        let p2 = xp.add(base[2] + tap);
        let p3 = xp.add(base[3] + tap);
        let p4 = xp.add(base[4] + tap);
        let p5 = xp.add(base[5] + tap);
        for c in 0..cg {
            let w0 = _mm256_loadu_ps(wp);
            let w1 = _mm256_loadu_ps(wp.add(8));
            wp = wp.add(LANES);
            let v = _mm256_broadcast_ss(&*p0.add(c));
            a00 = _mm256_fmadd_ps(v, w0, a00);
            a01 = _mm256_fmadd_ps(v, w1, a01);
            let v = _mm256_broadcast_ss(&*p1.add(c));
            a10 = _mm256_fmadd_ps(v, w0, a10);
            a11 = _mm256_fmadd_ps(v, w1, a11);
            let v = _mm256_broadcast_ss(&*p2.add(c));
            a20 = _mm256_fmadd_ps(v, w0, a20);
            a21 = _mm256_fmadd_ps(v, w1, a21);
            let v = _mm256_broadcast_ss(&*p3.add(c));
            a30 = _mm256_fmadd_ps(v, w0, a30);
            a31 = _mm256_fmadd_ps(v, w1, a31);
            let v = _mm256_broadcast_ss(&*p4.add(c));
            a40 = _mm256_fmadd_ps(v, w0, a40);
            a41 = _mm256_fmadd_ps(v, w1, a41);
            let v = _mm256_broadcast_ss(&*p5.add(c));
            a50 = _mm256_fmadd_ps(v, w0, a50);
            a51 = _mm256_fmadd_ps(v, w1, a51);
        }
    }
    let acc = [
        [a00, a01],
        [a10, a11],
        [a20, a21],
        [a30, a31],
        [a40, a41],
        [a50, a51],
    ];
    // Plain loops, no closures: a closure would not inherit this function's features.
    let mut acc = acc;
    if relu {
        let zero = _mm256_setzero_ps();
        for pair in acc.iter_mut() {
            for v in pair.iter_mut() {
                // `maxps` returns its second operand when either is NaN: NaN stays NaN,
                // as in TensorFlow's relu.
                *v = _mm256_max_ps(zero, *v);
            }
        }
    }
    if count == PIXELS && valid == LANES {
        for (i, [lo, hi]) in acc.into_iter().enumerate() {
            let o = y.as_mut_ptr().add(i * stride);
            _mm256_storeu_ps(o, lo);
            _mm256_storeu_ps(o.add(8), hi);
        }
    } else {
        let mut out = [0f32; LANES];
        for (i, [lo, hi]) in acc.into_iter().enumerate().take(count) {
            _mm256_storeu_ps(out.as_mut_ptr(), lo);
            _mm256_storeu_ps(out.as_mut_ptr().add(8), hi);
            y[i * stride..i * stride + valid].copy_from_slice(&out[..valid]);
        }
    }
}
