//! Winograd's F(2×2, 3×3) for 3×3 stride-1 undilated one-group convolutions: each 2×2
//! block of outputs comes from the 4×4 block of inputs under it through 16 products per
//! channel and filter instead of 36. The input block `d` becomes `Bᵀ d B`, the kernel `g`
//! becomes `G g Gᵀ`, the 16 values at each place of the 4×4 grid (`ξ`) are multiplied as
//! a matrix product over the channels (tiles × channels by channels × filters), and the
//! products `m` become the outputs `Aᵀ m A`:
//!
//! ```text
//!      ⎡1  0 -1  0⎤        ⎡ 1    0    0 ⎤
//! Bᵀ = ⎢0  1  1  0⎥    G = ⎢1/2  1/2  1/2⎥    Aᵀ = ⎡1  1  1  0⎤
//!      ⎢0 -1  1  0⎥        ⎢1/2 -1/2  1/2⎥         ⎣0  1 -1 -1⎦
//!      ⎣0  1  0 -1⎦        ⎣ 0    0    1 ⎦
//! ```
//!
//! The 16 products run through the direct convolution's tile kernel as 1×1 convolutions
//! on the transformed inputs, a block of tiles at a time, so that the block's inputs and
//! products stay in the L2 cache between the three steps. The sums are in another order
//! than the direct convolution's, so the values differ in the last bits: about one part in
//! 10⁶ of the largest term (the transforms add at most four values, and `G` halves).
//!
//! Positions the output leaves over (an odd height or width) are computed and dropped;
//! inputs outside the image (the padding, or past the last row) are zeros.
//!
//! An infinite or NaN input would reach all four outputs of its tile through the
//! transforms (∞ − ∞ where the direct sum has no term in it), so a tile whose outputs come
//! out non-finite is computed again directly, term by term: NaN and ±∞ land where the
//! direct convolution puts them.

use super::{chosen, Kernel, Tile, MAX_LANES, MAX_PIXELS, PANEL_VALUES};
use crate::layer::activation::forward::{apply, relu_max};
use crate::layer::window::Window;
use crate::layer::Activation;
use crate::runtime::with_scratch;

use super::Affine;

/// Places of the 4×4 grid: one product per place.
const PLACES: usize = 16;
/// The fewest channels and filters the products pay for the transforms with: below them
/// the direct kernel's tile is as fast.
const MIN_DEPTH: usize = 16;
/// The fewest tiles per call: the kernel is transformed on every call (16 values for each
/// 9), which fewer tiles would not repay.
const MIN_TILES: usize = 64;
/// Values of a block's transformed inputs and products together, at most: half of a
/// 1 MiB L2 cache (Zen 4's; Zen 3's is 512 KiB, where it still mostly fits).
const BLOCK_VALUES: usize = 128 * 1024;

thread_local! {
    /// The transformed kernel, on the calling thread.
    static KERNEL_SCRATCH: std::cell::RefCell<Vec<f32>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// A block's transformed inputs and products, on each thread.
    static BLOCK_SCRATCH: std::cell::RefCell<Vec<f32>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
thread_local! {
    /// Tests set it to `Some(false)` to run the direct kernel where Winograd would apply,
    /// or `Some(true)` to apply it to calls of any number of tiles.
    pub(crate) static FORCE: std::cell::Cell<Option<bool>> =
        const { std::cell::Cell::new(None) };
}

/// Whether the environment turns the algorithm off (`MODEL_CONV_WINOGRAD=off`), so that
/// benchmarks can compare it with the direct kernel on one machine.
fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("MODEL_CONV_WINOGRAD").as_deref() != Ok("off"))
}

/// Whether a convolution with this window on `batch` samples runs through F(2×2, 3×3):
/// 3×3 over two dimensions, stride 1, no dilation, one group, at least [`MIN_DEPTH`]
/// channels and filters, at least [`MIN_TILES`] tiles, and a tile kernel chosen.
pub(super) fn takes(
    w: &Window,
    channels: usize,
    groups: usize,
    filters: usize,
    batch: usize,
) -> bool {
    #[cfg(test)]
    let forced = FORCE.with(|f| f.get());
    #[cfg(not(test))]
    let forced: Option<bool> = None;
    if forced == Some(false) || !enabled() || chosen().is_none() {
        return false;
    }
    let tiles = batch * w.out[1].div_ceil(2) * w.out[2].div_ceil(2);
    w.kernel == [1, 3, 3]
        && w.out[0] == 1
        && w.stride == [1; 3]
        && w.dilation == [1; 3]
        && groups <= 1
        && channels >= MIN_DEPTH
        && filters >= MIN_DEPTH
        && (tiles >= MIN_TILES || forced == Some(true))
}

/// `kernel` (`[3, 3, channels, filters]`) as `G g Gᵀ`, into panels
/// `[block][place][channel][lanes]` (a block of `lanes` filters; the last block's missing
/// filters zero), each place's panel what the tile kernel reads for a 1×1 convolution.
fn transform_kernel(
    kernel: &[f32],
    channels: usize,
    filters: usize,
    lanes: usize,
    out: &mut [f32],
) {
    let one = |blk: usize, panels: &mut [f32]| {
        for c in 0..channels {
            for lane in 0..lanes {
                let f = blk * lanes + lane;
                let mut u = [0f32; PLACES];
                if f < filters {
                    let g =
                        |kh: usize, kw: usize| kernel[((kh * 3 + kw) * channels + c) * filters + f];
                    // G g: four rows of three.
                    let mut gg = [[0f32; 3]; 4];
                    for (kw, col) in (0..3).map(|kw| (kw, [g(0, kw), g(1, kw), g(2, kw)])) {
                        let [a, b, d] = col;
                        gg[0][kw] = a;
                        gg[1][kw] = 0.5 * (a + b + d);
                        gg[2][kw] = 0.5 * (a - b + d);
                        gg[3][kw] = d;
                    }
                    // (G g) Gᵀ: each row of four.
                    for (r, [a, b, d]) in gg.into_iter().enumerate() {
                        u[r * 4] = a;
                        u[r * 4 + 1] = 0.5 * (a + b + d);
                        u[r * 4 + 2] = 0.5 * (a - b + d);
                        u[r * 4 + 3] = d;
                    }
                }
                for (xi, &v) in u.iter().enumerate() {
                    panels[(xi * channels + c) * lanes + lane] = v;
                }
            }
        }
    };
    let len = PLACES * channels * lanes;
    if out.len() < 1 << 16 {
        out.chunks_exact_mut(len)
            .enumerate()
            .for_each(|(b, p)| one(b, p));
    } else {
        use rayon::prelude::*;
        out.par_chunks_exact_mut(len)
            .enumerate()
            .for_each(|(b, p)| one(b, p));
    }
}

/// A float's exponent bits: all set for ±∞ and NaN only.
const EXPONENT: u32 = 0x7f80_0000;
/// The most tiles a block holds.
const MAX_BLOCK: usize = 32 * MAX_PIXELS;

/// What every thread reads.
struct Job<'a> {
    w: &'a Window,
    kernel: Kernel,
    channels: usize,
    filters: usize,
    /// The transformed kernel ([`transform_kernel`]), and the kernel itself.
    panels: &'a [f32],
    weights: &'a [f32],
    /// The input, with zeros around it so that every tile's 4×4 block lies inside:
    /// `rows × cols` positions a sample.
    x: &'a [f32],
    rows: usize,
    cols: usize,
    epilogue: Epilogue<'a>,
    /// Tiles per row of tiles, rows of tiles per sample.
    tw: usize,
    th: usize,
    /// Tiles per block.
    block: usize,
}

impl Job<'_> {
    /// The offset in `y` of the first output of unit `u` (a row of tiles of a sample).
    fn offset(&self, u: usize) -> usize {
        let [_, oh, ow] = self.w.out;
        ((u / self.th) * oh + 2 * (u % self.th)) * ow * self.filters
    }

    /// Units `units` into `ys` (which starts at [`Job::offset`] of the first), a block
    /// of tiles at a time.
    fn run(&self, units: std::ops::Range<usize>, ys: &mut [f32], activation: Activation) {
        let (c, f) = (self.channels, self.filters);
        let (first, base) = (units.start * self.tw, self.offset(units.start));
        let tiles = units.len() * self.tw;
        // Transformed inputs, products, and one tile's outputs.
        let need = PLACES * (self.stride(c) + self.stride(f)) + 4 * f;
        with_scratch(&BLOCK_SCRATCH, need, |scratch| {
            let (v, rest) = scratch.split_at_mut(PLACES * self.stride(c));
            let (m, out4) = rest.split_at_mut(PLACES * self.stride(f));
            for t0 in (first..first + tiles).step_by(self.block) {
                let n = self.block.min(first + tiles - t0);
                self.inputs(t0, n, v);
                self.products(n, v, m);
                self.outputs(t0, n, m, out4, base, ys);
            }
        });
        if self.epilogue.clamp.is_none() {
            apply(activation, ys, f);
        }
    }

    /// Values from one place's block of `per_tile` values a tile to the next: a cache
    /// line more than the block, so that the 16 places' streams, read or written side by
    /// side, do not all fall in one set of the L1 cache (a block is often a multiple of
    /// 4 KiB).
    fn stride(&self, per_tile: usize) -> usize {
        self.block * per_tile + 16
    }

    /// The sample, output row and output column of tile `t`'s first output.
    fn corner(&self, t: usize) -> (usize, usize, usize) {
        let u = t / self.tw;
        (u / self.th, 2 * (u % self.th), 2 * (t % self.tw))
    }

    /// Where tile `t`'s 4×4 block of inputs starts in `x`.
    fn origin(&self, t: usize) -> usize {
        let (s, oy, ox) = self.corner(t);
        ((s * self.rows + oy) * self.cols + ox) * self.channels
    }

    /// `Bᵀ d B` of tiles `t0..t0 + n` into `v` (`[place][tile][channel]`).
    fn inputs(&self, t0: usize, n: usize, v: &mut [f32]) {
        let c = self.channels;
        let mut origins = [0usize; MAX_BLOCK];
        for (k, o) in origins[..n].iter_mut().enumerate() {
            *o = self.origin(t0 + k);
        }
        let cells: [usize; PLACES] = std::array::from_fn(|i| (i / 4 * self.cols + i % 4) * c);
        transform_inputs(self.x, &origins[..n], &cells, v, self.stride(c), c);
    }

    /// The 16 products `m[ξ] = v[ξ] · u[ξ]`, `[place][tile][filter]`, through the tiles.
    fn products(&self, n: usize, v: &[f32], m: &mut [f32]) {
        let (c, f) = (self.channels, self.filters);
        let (pixels, lanes) = (self.kernel.pixels, self.kernel.lanes);
        let pieces = c.div_ceil((PANEL_VALUES / lanes).max(1));
        let piece = c.div_ceil(pieces);
        let init = [0f32; MAX_LANES];
        for xi in 0..PLACES {
            let x = &v[xi * self.stride(c)..][..self.block * c];
            let out = &mut m[xi * self.stride(f)..][..self.block * f];
            for blk in 0..f.div_ceil(lanes) {
                let f0 = blk * lanes;
                let valid = lanes.min(f - f0);
                for from in (0..c).step_by(piece) {
                    let run = piece.min(c - from);
                    let at = ((blk * PLACES + xi) * c + from) * lanes;
                    let panel = &self.panels[at..][..run * lanes];
                    for k0 in (0..n).step_by(pixels) {
                        let count = pixels.min(n - k0);
                        let base: [usize; MAX_PIXELS] =
                            std::array::from_fn(|i| (k0 + i.min(count - 1)) * c);
                        let tile = Tile {
                            x: &x[from..],
                            base: &base,
                            taps: &[0],
                            run,
                            panel,
                            panel_stride: lanes,
                            init: &init,
                            accumulate: from > 0,
                            affine: None,
                            relu: false,
                            max: f32::INFINITY,
                            x_stride: 1,
                            stride: f,
                            count,
                            valid,
                        };
                        // SAFETY: the kernel was chosen for this CPU (`takes`), and every
                        // read lies in `x`: the last tile's base is `(n - 1) · c`, plus
                        // `from + run ≤ c` values, within the block's `n · c`.
                        #[cfg(target_arch = "x86_64")]
                        unsafe {
                            (self.kernel.tile)(&tile, &mut out[k0 * f + f0..])
                        };
                        #[cfg(not(target_arch = "x86_64"))]
                        let _ = tile;
                    }
                }
            }
        }
    }

    /// `Aᵀ m A` of tiles `t0..t0 + n`, then the epilogue, into `ys` (which starts at
    /// output value `base`). Tiles wholly inside the grid are stored where they go; the
    /// others, and every tile of a block with a non-finite output, go through `out4` one
    /// by one, the outputs past the grid's edge dropped.
    fn outputs(
        &self,
        t0: usize,
        n: usize,
        m: &[f32],
        out4: &mut [f32],
        base: usize,
        ys: &mut [f32],
    ) {
        let [_, oh, ow] = self.w.out;
        let f = self.filters;
        let stride = self.stride(f);
        let mut inside = [(0usize, 0usize); MAX_BLOCK];
        let mut count = 0;
        for k in 0..n {
            let (s, oy, ox) = self.corner(t0 + k);
            if oy + 1 < oh && ox + 1 < ow {
                inside[count] = (k * f, ((s * oh + oy) * ow + ox) * f - base);
                count += 1;
            }
        }
        let e = &self.epilogue;
        let places = [0, f, ow * f, (ow + 1) * f];
        let finite = transform_outputs(m, stride, f, e, &inside[..count], &places, ys);
        let separate = [0, f, 2 * f, 3 * f];
        for k in 0..n {
            let (s, oy, ox) = self.corner(t0 + k);
            if finite && oy + 1 < oh && ox + 1 < ow {
                continue;
            }
            if !transform_outputs(m, stride, f, e, &[(k * f, 0)], &separate, out4) {
                self.direct(t0 + k, out4);
            }
            for (i, o) in out4.chunks_exact(f).enumerate() {
                let (y, x) = (oy + i / 2, ox + i % 2);
                if y < oh && x < ow {
                    let at = ((s * oh + y) * ow + x) * f - base;
                    ys[at..at + f].copy_from_slice(o);
                }
            }
        }
    }

    /// Tile `t`'s four outputs straight from the definition, then the epilogue, into
    /// `out4` (as [`transform_outputs`] stores them apart).
    fn direct(&self, t: usize, out4: &mut [f32]) {
        let (c, f) = (self.channels, self.filters);
        let origin = self.origin(t);
        for (i, o) in out4.chunks_exact_mut(f).enumerate() {
            o.fill(0.0);
            for tap in 0..9 {
                let (kh, kw) = (tap / 3 + i / 2, tap % 3 + i % 2);
                let cell = &self.x[origin + (kh * self.cols + kw) * c..][..c];
                let taps = &self.weights[tap * c * f..][..c * f];
                for (&v, row) in cell.iter().zip(taps.chunks_exact(f)) {
                    o.iter_mut().zip(row).for_each(|(o, &k)| *o += v * k);
                }
            }
            for (j, v) in o.iter_mut().enumerate() {
                let [y] = self.epilogue.apply::<1>(j, [*v]);
                *v = y;
            }
        }
    }
}

/// What follows the output transform, filter by filter.
struct Epilogue<'a> {
    /// The bias, zeros without one.
    bias: &'a [f32],
    affine: Option<Affine<'a>>,
    clamp: Option<f32>,
}

impl Epilogue<'_> {
    /// Filters `j..j + L`'s outputs `v`, biased, normalized and activated.
    #[inline(always)]
    fn apply<const L: usize>(&self, j: usize, mut v: Lanes<L>) -> Lanes<L> {
        let bias = &self.bias[j..j + L];
        for l in 0..L {
            v[l] += bias[l];
        }
        if let Some(a) = self.affine {
            let (scale, shift) = (&a.scale[j..j + L], &a.shift[j..j + L]);
            for l in 0..L {
                v[l] = v[l] * scale[l] + shift[l];
            }
        }
        if let Some(max) = self.clamp {
            for x in &mut v {
                *x = relu_max(*x, max);
            }
        }
        v
    }
}

/// `L` values side by side (`L` lanes of a vector register once compiled for a vector
/// instruction set).
type Lanes<const L: usize> = [f32; L];

#[inline(always)]
fn add<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|i| a[i] + b[i])
}

#[inline(always)]
fn sub<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|i| a[i] - b[i])
}

/// `$name` runs `$body::<L>` on the widest vectors the CPU has (`L` = 16 with AVX-512, 8
/// with AVX2, 4 otherwise): the transforms are compiled once per instruction set, their
/// values the same on each (the same additions, in the same order).
macro_rules! on_widest_vectors {
    ($name:ident, $avx512:ident, $avx2:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if super::avx512::available() {
                    // SAFETY: the CPU has AVX-512F.
                    return unsafe { $avx512($($arg),*) };
                }
                if super::avx2::available() {
                    // SAFETY: the CPU has AVX2.
                    return unsafe { $avx2($($arg),*) };
                }
            }
            $body::<4>($($arg),*)
        }

        /// The body compiled for AVX-512.
        ///
        /// # Safety
        /// The CPU must support AVX-512F.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        unsafe fn $avx512($($arg: $ty),*) -> $ret {
            $body::<16>($($arg),*)
        }

        /// The body compiled for AVX2.
        ///
        /// # Safety
        /// The CPU must support AVX2.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2($($arg: $ty),*) -> $ret {
            $body::<8>($($arg),*)
        }
    };
}

on_widest_vectors!(
    transform_inputs,
    transform_inputs_avx512,
    transform_inputs_avx2,
    transform_inputs_body,
    (x: &[f32], origins: &[usize], cells: &[usize; PLACES], v: &mut [f32], stride: usize, c: usize) -> ()
);

/// `Bᵀ d B` of each tile `k` (its 4×4 block's cell `a · 4 + b` at `x[origins[k] +
/// cells[a · 4 + b]..]`, `c` channels) into `v[ξ · stride + k · c..]` for each place ξ,
/// `L` channels at a time.
#[inline(always)]
fn transform_inputs_body<const L: usize>(
    x: &[f32],
    origins: &[usize],
    cells: &[usize; PLACES],
    v: &mut [f32],
    stride: usize,
    c: usize,
) {
    let reach = cells.iter().max().copied().unwrap_or(0) + c;
    assert!(
        origins.iter().all(|&o| o + reach <= x.len()),
        "Winograd: input too short"
    );
    assert!(
        origins.is_empty() || (PLACES - 1) * stride + origins.len() * c <= v.len(),
        "Winograd: transformed inputs too short"
    );
    let whole = c - c % L;
    for (k, &o) in origins.iter().enumerate() {
        // SAFETY: every read lies within `x` and every write within `v` (asserted above).
        unsafe {
            let (x, v) = (x.as_ptr().add(o), v.as_mut_ptr().add(k * c));
            for ch in (0..whole).step_by(L) {
                inputs_at::<L>(x.add(ch), cells, v.add(ch), stride);
            }
            for ch in whole..c {
                inputs_at::<1>(x.add(ch), cells, v.add(ch), stride);
            }
        }
    }
}

/// [`transform_inputs_body`] for `L` channels.
///
/// # Safety
/// `x + cells[i]` holds `L` values for each cell, and `v + ξ · stride` room for `L`.
#[inline(always)]
unsafe fn inputs_at<const L: usize>(
    x: *const f32,
    cells: &[usize; PLACES],
    v: *mut f32,
    stride: usize,
) {
    let d: [Lanes<L>; PLACES] =
        std::array::from_fn(|i| std::ptr::read_unaligned(x.add(cells[i]).cast::<Lanes<L>>()));
    // Bᵀ d: along each column b.
    let mut t = [[0f32; L]; PLACES];
    for b in 0..4 {
        let (d0, d1, d2, d3) = (d[b], d[4 + b], d[8 + b], d[12 + b]);
        t[b] = sub(d0, d2);
        t[4 + b] = add(d1, d2);
        t[8 + b] = sub(d2, d1);
        t[12 + b] = sub(d1, d3);
    }
    // (Bᵀ d) B: along each row a.
    for a in 0..4 {
        let (t0, t1, t2, t3) = (t[4 * a], t[4 * a + 1], t[4 * a + 2], t[4 * a + 3]);
        let row = [sub(t0, t2), add(t1, t2), sub(t2, t1), sub(t1, t3)];
        for (b, value) in row.into_iter().enumerate() {
            std::ptr::write_unaligned(v.add((4 * a + b) * stride).cast::<Lanes<L>>(), value);
        }
    }
}

on_widest_vectors!(
    transform_outputs,
    transform_outputs_avx512,
    transform_outputs_avx2,
    transform_outputs_body,
    (m: &[f32], stride: usize, f: usize, e: &Epilogue, tiles: &[(usize, usize)], places: &[usize; 4], y: &mut [f32]) -> bool
);

/// `Aᵀ m A` of each tile (`(from, to)`: place ξ's products at `m[ξ · stride + from..]`,
/// `f` filters), then the epilogue, into its four outputs (0, 0), (0, 1), (1, 0), (1, 1)
/// at `y[to + places[i]..]`; `L` filters at a time. Returns whether every output was
/// finite before the epilogue.
#[inline(always)]
fn transform_outputs_body<const L: usize>(
    m: &[f32],
    stride: usize,
    f: usize,
    e: &Epilogue,
    tiles: &[(usize, usize)],
    places: &[usize; 4],
    y: &mut [f32],
) -> bool {
    let reach = places.iter().max().copied().unwrap_or(0) + f;
    assert!(
        tiles.iter().all(|&(from, to)| from + (PLACES - 1) * stride + f <= m.len()
            && to + reach <= y.len()),
        "Winograd: products or outputs too short"
    );
    assert!(
        e.bias.len() >= f
            && e.affine
                .is_none_or(|a| a.scale.len() >= f && a.shift.len() >= f)
    );
    let mut exponent = [0u32; L];
    let mut last = 0u32;
    let whole = f - f % L;
    for &(from, to) in tiles {
        // SAFETY: every read lies within `m` and every write within `y` (asserted above).
        unsafe {
            let (m, y) = (m.as_ptr().add(from), y.as_mut_ptr().add(to));
            for j in (0..whole).step_by(L) {
                let out = outputs_at::<L>(m.add(j), stride, e, j, places, y.add(j));
                for l in 0..L {
                    exponent[l] = exponent[l].max(out[l]);
                }
            }
            for j in whole..f {
                let [out] = outputs_at::<1>(m.add(j), stride, e, j, places, y.add(j));
                last = last.max(out);
            }
        }
    }
    exponent.into_iter().fold(last, u32::max) != EXPONENT
}

/// [`transform_outputs_body`] for `L` filters from `j`; returns, lane by lane, the
/// largest exponent bits ([`EXPONENT`]) of the four outputs before the epilogue.
///
/// # Safety
/// `m + ξ · stride` holds `L` values for each place, and `y + places[i]` room for `L`.
#[inline(always)]
unsafe fn outputs_at<const L: usize>(
    m: *const f32,
    stride: usize,
    e: &Epilogue,
    j: usize,
    places: &[usize; 4],
    y: *mut f32,
) -> [u32; L] {
    let p: [Lanes<L>; PLACES] =
        std::array::from_fn(|i| std::ptr::read_unaligned(m.add(i * stride).cast::<Lanes<L>>()));
    // Aᵀ m: two rows of four.
    let mut s = [[[0f32; L]; 4]; 2];
    for b in 0..4 {
        let (m0, m1, m2, m3) = (p[b], p[4 + b], p[8 + b], p[12 + b]);
        s[0][b] = add(add(m0, m1), m2);
        s[1][b] = sub(sub(m1, m2), m3);
    }
    // (Aᵀ m) A: two columns of each row.
    let outs = [
        add(add(s[0][0], s[0][1]), s[0][2]),
        sub(sub(s[0][1], s[0][2]), s[0][3]),
        add(add(s[1][0], s[1][1]), s[1][2]),
        sub(sub(s[1][1], s[1][2]), s[1][3]),
    ];
    let mut bits = [0u32; L];
    for (out, &at) in outs.into_iter().zip(places) {
        for l in 0..L {
            bits[l] = bits[l].max(out[l].to_bits() & EXPONENT);
        }
        std::ptr::write_unaligned(y.add(at).cast::<Lanes<L>>(), e.apply(j, out));
    }
    bits
}

/// The convolution of `batch` samples of `x` through F(2×2, 3×3) ([`takes`] holds), with
/// bias, a folded normalization and the activation, into `y`, split between `threads`.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    w: &Window,
    batch: usize,
    channels: usize,
    filters: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    affine: Option<Affine>,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
    threads: usize,
) {
    let Some(isa) = chosen() else {
        unreachable!("`takes` requires a tile kernel");
    };
    let tile = Kernel::new(isa, filters);
    let [_, h, wd] = w.size;
    let [_, oh, ow] = w.out;
    assert!(
        kernel.len() >= 9 * channels * filters
            && x.len() >= batch * h * wd * channels
            && y.len() >= batch * oh * ow * filters
            && bias.is_none_or(|b| b.len() >= filters),
        "Winograd convolution: a buffer too short"
    );
    let lanes = tile.lanes;
    let (tw, th) = (ow.div_ceil(2), oh.div_ceil(2));
    // Room for the padding before, the input, and the last tile's block past it.
    let (rows, cols) = (
        (w.pad[1] + h).max(2 * th + 2),
        (w.pad[2] + wd).max(2 * tw + 2),
    );
    let padded = (rows, cols) != (h, wd);
    let per_tile = PLACES * (channels + filters);
    let block =
        (BLOCK_VALUES / per_tile).clamp(2 * tile.pixels, MAX_BLOCK) / tile.pixels * tile.pixels;
    let panels_len = filters.div_ceil(lanes) * PLACES * channels * lanes;
    let padded_len = if padded {
        batch * rows * cols * channels
    } else {
        0
    };
    let zeros = vec![0f32; if bias.is_some() { 0 } else { filters }];
    with_scratch(&KERNEL_SCRATCH, panels_len + padded_len, |scratch| {
        let (panels, input) = scratch.split_at_mut(panels_len);
        transform_kernel(kernel, channels, filters, lanes, panels);
        let x = if padded {
            super::pad([1, rows, cols], channels, w, x, input);
            &*input
        } else {
            x
        };
        let job = Job {
            w,
            kernel: tile,
            channels,
            filters,
            panels,
            weights: kernel,
            x,
            rows,
            cols,
            epilogue: Epilogue {
                bias: bias.unwrap_or(&zeros),
                affine,
                clamp: match activation {
                    Activation::Relu => Some(f32::INFINITY),
                    Activation::Relu6 => Some(6.0),
                    _ => None,
                },
            },
            tw,
            th,
            block,
        };
        let units = batch * th;
        let y = &mut y[..batch * oh * ow * filters];
        let share = units.div_ceil(threads.max(1)).max(1);
        if threads <= 1 || share >= units {
            return job.run(0..units, y, activation);
        }
        // Contiguous shares of whole rows of tiles, one per thread.
        let mut shares = Vec::with_capacity(threads);
        let mut rest = y;
        for u0 in (0..units).step_by(share) {
            let u1 = (u0 + share).min(units);
            let (mine, after) = rest.split_at_mut(job.offset(u1) - job.offset(u0));
            shares.push((u0..u1, mine));
            rest = after;
        }
        use rayon::prelude::*;
        shares
            .into_par_iter()
            .for_each(|(units, ys)| job.run(units, ys, activation));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct definition with zeros outside the input.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        w: &Window,
        batch: usize,
        c: usize,
        f: usize,
        kernel: &[f32],
        bias: &[f32],
        x: &[f32],
    ) -> Vec<f32> {
        let [_, h, wd] = w.size;
        let [_, oh, ow] = w.out;
        let mut y = vec![0f32; batch * oh * ow * f];
        for s in 0..batch {
            for oy in 0..oh {
                for ox in 0..ow {
                    for j in 0..f {
                        let mut acc = f64::from(bias[j]);
                        for kh in 0..3 {
                            for kw in 0..3 {
                                let (Some(r), Some(q)) = (
                                    (oy + kh).checked_sub(w.pad[1]),
                                    (ox + kw).checked_sub(w.pad[2]),
                                ) else {
                                    continue;
                                };
                                if r >= h || q >= wd {
                                    continue;
                                }
                                for ch in 0..c {
                                    acc += f64::from(x[((s * h + r) * wd + q) * c + ch])
                                        * f64::from(kernel[((kh * 3 + kw) * c + ch) * f + j]);
                                }
                            }
                        }
                        y[((s * oh + oy) * ow + ox) * f + j] = acc as f32;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn winograd_matches_the_definition_on_every_kernel() {
        use super::super::{Isa, FORCE as KERNEL};
        // (batch, h, w, pad, channels, filters, threads): 'same' and 'valid' and the input
        // gradient's 'full' padding, odd heights and widths (outputs dropped past the
        // edge), partial blocks of filters and of tiles, channels in several pieces, and
        // shares between threads.
        let cases = [
            (1, 8, 8, 1, 16, 16, 1),
            (2, 11, 9, 0, 32, 64, 2),
            (1, 7, 13, 2, 24, 40, 1),
            (3, 16, 15, 1, 200, 70, 2),
            (1, 5, 5, 1, 16, 130, 2),
        ];
        for isa in [Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|i| i.available())
        {
            KERNEL.with(|k| k.set(Some(Some(isa))));
            for (batch, h, wd, pad, c, f, threads) in cases {
                let out = |n: usize| n + 2 * pad - 2;
                let w = Window {
                    size: [1, h, wd],
                    out: [1, out(h), out(wd)],
                    kernel: [1, 3, 3],
                    stride: [1; 3],
                    dilation: [1; 3],
                    pad: [0, pad, pad],
                };
                let kernel: Vec<f32> = (0..9 * c * f)
                    .map(|i| ((i * 53) % 97) as f32 / 97.0 - 0.5)
                    .collect();
                let bias: Vec<f32> = (0..f).map(|i| i as f32 * 0.01).collect();
                let mut x: Vec<f32> = (0..batch * h * wd * c)
                    .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
                    .collect();
                for special in [false, true] {
                    if special {
                        // ±∞ and NaN inputs: NaN and ±∞ only where the definition has them.
                        let n = x.len();
                        x[n / 3] = f32::INFINITY;
                        x[n / 2 + 1] = f32::NEG_INFINITY;
                        x[n - 1] = f32::NAN;
                    }
                    let want = naive(&w, batch, c, f, &kernel, &bias, &x);
                    let mut y = vec![f32::NAN; want.len()];
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| {
                        KERNEL.with(|k| k.set(Some(Some(isa))));
                        let bias = Some(bias.as_slice());
                        let linear = Activation::Linear;
                        convolve(
                            &w, batch, c, f, &kernel, bias, None, linear, &x, &mut y, threads,
                        )
                    });
                    for (i, (a, b)) in y.iter().zip(&want).enumerate() {
                        let same = if b.is_finite() {
                            (a - b).abs() <= 1e-4 + 1e-5 * b.abs()
                        } else {
                            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
                        };
                        assert!(
                            same,
                            "{isa:?} {h}x{wd}x{c} → {f}, pad {pad}, specials {special}: \
                             value {i}: {a} vs {b}"
                        );
                    }
                }
            }
            KERNEL.with(|k| k.set(None));
        }
    }
}
