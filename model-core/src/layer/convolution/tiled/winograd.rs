//! Winograd's minimal filtering for 3×3 stride-1 undilated one-group convolutions, in its
//! two usual sizes: F(2×2, 3×3), each 2×2 block of outputs from the 4×4 block of inputs
//! under it through 16 products per channel and filter instead of 36, and F(4×4, 3×3),
//! each 4×4 block from a 6×6 one through 36 products instead of 144. The input block `d`
//! becomes `Bᵀ d B`, the kernel `g` becomes `G g Gᵀ`, the values at each place ξ of the
//! N×N grid are multiplied as a matrix product over the channels (tiles × channels by
//! channels × filters), and the products `m` become the outputs `Aᵀ m A`. For F(2×2,
//! 3×3):
//!
//! ```text
//!      ⎡1  0 -1  0⎤        ⎡ 1    0    0 ⎤
//! Bᵀ = ⎢0  1  1  0⎥    G = ⎢1/2  1/2  1/2⎥    Aᵀ = ⎡1  1  1  0⎤
//!      ⎢0 -1  1  0⎥        ⎢1/2 -1/2  1/2⎥         ⎣0  1 -1 -1⎦
//!      ⎣0  1  0 -1⎦        ⎣ 0    0    1 ⎦
//! ```
//!
//! and for F(4×4, 3×3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
//! Networks", 2016):
//!
//! ```text
//!      ⎡4  0 -5  0  1  0⎤        ⎡ 1/4    0     0 ⎤
//!      ⎢0 -4 -4  1  1  0⎥        ⎢-1/6  -1/6  -1/6⎥         ⎡1  1  1  1  1  0⎤
//! Bᵀ = ⎢0  4 -4 -1  1  0⎥    G = ⎢-1/6   1/6  -1/6⎥    Aᵀ = ⎢0  1 -1  2 -2  0⎥
//!      ⎢0 -2 -1  2  1  0⎥        ⎢1/24  1/12   1/6⎥         ⎢0  1  1  4  4  0⎥
//!      ⎢0  2 -1 -2  1  0⎥        ⎢1/24 -1/12   1/6⎥         ⎣0  1 -1  8 -8  1⎦
//!      ⎣0  4  0 -5  0  1⎦        ⎣  0     0     1 ⎦
//! ```
//!
//! The products run through the direct convolution's tile kernel as 1×1 convolutions on
//! the transformed inputs, a block of tiles at a time, so that the block's inputs and
//! products stay in the L2 cache between the three steps. The sums are in another order
//! than the direct convolution's, so the values differ in the last bits: a few parts in
//! 10⁷ of the largest term for F(2×2, 3×3), a few in 10⁶ for F(4×4, 3×3), whose
//! transforms scale by up to 8.
//!
//! Positions the output leaves over (a height or width that is not a multiple of the
//! block) are computed and dropped; inputs outside the image (the padding, or past the
//! last row) are zeros.
//!
//! An infinite or NaN input would reach every output of its tile through the transforms
//! (∞ − ∞ where the direct sum has no term in it), so a tile whose outputs come out
//! non-finite is computed again directly, term by term: NaN and ±∞ land where the direct
//! convolution puts them.

use super::{chosen, clamp, parts, Isa, Kernel, Part, Tile, MAX_PIXELS, PANEL_VALUES};
use crate::layer::activation::forward::{apply, relu_max};
use crate::layer::window::Window;
use crate::layer::Activation;
use crate::runtime::{threads, with_scratch};

use super::Affine;

/// The fewest channels and filters the products pay for the transforms with: below them
/// the direct kernel's tile is as fast.
const MIN_DEPTH: usize = 16;
/// The fewest tiles a call of either variant needs: the kernel is transformed on every
/// call (N² values written for each 9), which fewer tiles would not repay. ResNet50's
/// 512-channel 7×7 convolutions at batch 8 (32 tiles of F(4×4, 3×3)) spent more on their
/// 9.4 M-value transformed kernels than the products saved.
const MIN_TILES: usize = 64;
/// Values of a block's transformed inputs and products together, at most: half of a
/// 1 MiB L2 cache (Zen 4's; Zen 3's is 512 KiB, where it still mostly fits).
const BLOCK_VALUES: usize = 128 * 1024;
/// A float's exponent bits: all set for ±∞ and NaN only.
const EXPONENT: u32 = 0x7f80_0000;
/// The most tiles a block holds.
const MAX_BLOCK: usize = 32 * MAX_PIXELS;

thread_local! {
    /// The transformed kernel, on the calling thread.
    static KERNEL_SCRATCH: std::cell::RefCell<Vec<f32>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// A block's transformed inputs and products, on each thread.
    static BLOCK_SCRATCH: std::cell::RefCell<Vec<f32>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The two sizes of the algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    /// F(2×2, 3×3): 2×2 outputs from 4×4 inputs.
    F2,
    /// F(4×4, 3×3): 4×4 outputs from 6×6 inputs.
    F4,
}

impl Variant {
    /// The side of a tile's block of outputs.
    fn m(self) -> usize {
        match self {
            Variant::F2 => 2,
            Variant::F4 => 4,
        }
    }

    /// The side of a tile's block of inputs (and of its grid of products).
    fn n(self) -> usize {
        self.m() + 2
    }

    /// Tiles for an output grid of `oh × ow` on `batch` samples (each `n²` products per
    /// channel and filter).
    fn tiles(self, batch: usize, oh: usize, ow: usize) -> usize {
        let m = self.m();
        batch * oh.div_ceil(m) * ow.div_ceil(m)
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set it to `Some(None)` to run the direct kernel where Winograd would apply,
    /// or `Some(Some(variant))` to apply that variant to calls of any size.
    pub(crate) static FORCE: std::cell::Cell<Option<Option<Variant>>> =
        const { std::cell::Cell::new(None) };
}

/// What the environment asks for (`MODEL_CONV_WINOGRAD`): `off` for none, `f2` or `f4` for
/// that size only, anything else (or nothing) for the cheaper of the two; benchmarks use
/// it to compare them with the direct kernel on one machine.
fn allowed() -> &'static [Variant] {
    static ALLOWED: std::sync::OnceLock<&'static [Variant]> = std::sync::OnceLock::new();
    ALLOWED.get_or_init(|| match std::env::var("MODEL_CONV_WINOGRAD").as_deref() {
        Ok("off") => &[],
        Ok("f2") => &[Variant::F2],
        Ok("f4") => &[Variant::F4],
        _ => &[Variant::F2, Variant::F4],
    })
}

/// The variant a convolution with this window on `batch` samples runs through, if any: 3×3
/// over two dimensions, stride 1, no dilation, one group, at least [`MIN_DEPTH`] channels
/// and filters, and a tile kernel chosen; of the variants with at least [`MIN_TILES`]
/// tiles, the one with fewer products (the larger tile, unless the grid wastes too much of
/// its last blocks).
pub(super) fn variant(
    w: &Window,
    channels: usize,
    groups: usize,
    filters: usize,
    batch: usize,
) -> Option<Variant> {
    #[cfg(test)]
    if let Some(forced) = FORCE.with(|f| f.get()) {
        return forced.filter(|_| applies(w, channels, groups, filters));
    }
    if !applies(w, channels, groups, filters) {
        return None;
    }
    let [_, oh, ow] = w.out;
    allowed()
        .iter()
        .copied()
        .filter(|v| v.tiles(batch, oh, ow) >= MIN_TILES)
        .min_by_key(|v| v.tiles(batch, oh, ow) * v.n() * v.n())
}

/// Whether the window and sizes are ones the algorithm takes.
fn applies(w: &Window, channels: usize, groups: usize, filters: usize) -> bool {
    chosen().is_some()
        && w.kernel == [1, 3, 3]
        && w.out[0] == 1
        && w.stride == [1; 3]
        && w.dilation == [1; 3]
        && groups <= 1
        && channels >= MIN_DEPTH
        && filters >= MIN_DEPTH
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

#[inline(always)]
fn times<const L: usize>(k: f32, a: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|i| k * a[i])
}

/// `Bᵀ d` for one column `d` of an `N × N` input block.
#[inline(always)]
fn input_1d<const L: usize, const N: usize>(d: &[Lanes<L>; N]) -> [Lanes<L>; N] {
    let mut r = [[0f32; L]; N];
    if N == 4 {
        r[0] = sub(d[0], d[2]);
        r[1] = add(d[1], d[2]);
        r[2] = sub(d[2], d[1]);
        r[3] = sub(d[1], d[3]);
    } else {
        let (t1, t2) = (sub(d[4], times(4.0, d[2])), sub(d[3], times(4.0, d[1])));
        let (t3, t4) = (sub(d[4], d[2]), times(2.0, sub(d[3], d[1])));
        r[0] = add(sub(times(4.0, d[0]), times(5.0, d[2])), d[4]);
        r[1] = add(t1, t2);
        r[2] = sub(t1, t2);
        r[3] = add(t3, t4);
        r[4] = sub(t3, t4);
        r[5] = add(sub(times(4.0, d[1]), times(5.0, d[3])), d[5]);
    }
    r
}

/// `Aᵀ m` for one column `m` of an `N × N` grid of products: `M = N − 2` values.
#[inline(always)]
fn output_1d<const L: usize, const N: usize, const M: usize>(m: &[Lanes<L>; N]) -> [Lanes<L>; M] {
    let mut y = [[0f32; L]; M];
    if N == 4 {
        y[0] = add(add(m[0], m[1]), m[2]);
        y[1] = sub(sub(m[1], m[2]), m[3]);
    } else {
        let (a, b) = (add(m[1], m[2]), sub(m[1], m[2]));
        let (c, d) = (add(m[3], m[4]), sub(m[3], m[4]));
        y[0] = add(add(m[0], a), c);
        y[1] = add(b, times(2.0, d));
        y[2] = add(a, times(4.0, c));
        y[3] = add(add(b, times(8.0, d)), m[5]);
    }
    y
}

/// `G g` for one column `g` of a 3×3 kernel.
#[inline(always)]
fn kernel_1d<const L: usize, const N: usize>([a, b, d]: [Lanes<L>; 3]) -> [Lanes<L>; N] {
    let mut u = [[0f32; L]; N];
    if N == 4 {
        u[0] = a;
        u[1] = times(0.5, add(add(a, b), d));
        u[2] = times(0.5, add(sub(a, b), d));
        u[3] = d;
    } else {
        let (a24, b12, d6) = (
            times(1.0 / 24.0, a),
            times(1.0 / 12.0, b),
            times(1.0 / 6.0, d),
        );
        u[0] = times(0.25, a);
        u[1] = times(-1.0 / 6.0, add(add(a, b), d));
        u[2] = times(-1.0 / 6.0, add(sub(a, b), d));
        u[3] = add(add(a24, b12), d6);
        u[4] = add(sub(a24, b12), d6);
        u[5] = d;
    }
    u
}

/// Values from one place's panel of the transformed kernel to the next: a cache line more
/// than the panel, so that the places' panels, written side by side, do not all fall in
/// one set of the L1 cache.
fn panel_len(channels: usize, lanes: usize) -> usize {
    channels * lanes + 16
}

/// `kernel` (`[3, 3, channels, filters]`) as `G g Gᵀ`, into panels
/// `[block][place][channel][lanes]` (a block of `lanes` filters; the last block's missing
/// filters zero; [`panel_len`] values from one place to the next), each place's panel what
/// the tile kernel reads for a 1×1 convolution; 8 filters at a time (`lanes` is a multiple
/// of 8).
fn transform_kernel<const N: usize>(
    kernel: &[f32],
    channels: usize,
    filters: usize,
    lanes: usize,
    out: &mut [f32],
) {
    const L: usize = 8;
    debug_assert!(lanes.is_multiple_of(L));
    let one = |blk: usize, panels: &mut [f32]| {
        for c in 0..channels {
            for l0 in (0..lanes).step_by(L) {
                let f0 = blk * lanes + l0;
                // The chunk's 3×3 taps, zeros past the last filter.
                let g = |kh: usize, kw: usize| -> Lanes<L> {
                    let row = &kernel[((kh * 3 + kw) * channels + c) * filters..][..filters];
                    match row.get(f0..f0 + L) {
                        Some(whole) => whole.try_into().expect("L values"),
                        None => std::array::from_fn(|i| row.get(f0 + i).copied().unwrap_or(0.0)),
                    }
                };
                // G g, a column at a time; then (G g) Gᵀ, a row at a time.
                let columns: [[Lanes<L>; N]; 3] =
                    std::array::from_fn(|kw| kernel_1d([g(0, kw), g(1, kw), g(2, kw)]));
                for r in 0..N {
                    let row = kernel_1d::<L, N>(columns.map(|column| column[r]));
                    for (q, value) in row.iter().enumerate() {
                        let at = (r * N + q) * panel_len(channels, lanes) + c * lanes + l0;
                        panels[at..at + L].copy_from_slice(value);
                    }
                }
            }
        }
    };
    let len = N * N * panel_len(channels, lanes);
    if out.len() < 1 << 16 {
        out.chunks_exact_mut(len)
            .enumerate()
            .for_each(|(b, p)| one(b, p));
    } else {
        let whole = out.len() / len * len;
        let share = (whole / len).div_ceil(threads::count()) * len;
        threads::chunks_mut(&mut out[..whole], share, |t, ps| {
            for (b, p) in (t * share / len..).zip(ps.chunks_exact_mut(len)) {
                one(b, p);
            }
        });
    }
}

/// What every thread reads, for tiles of `M × M` outputs from `N × N` inputs.
struct Job<'a, const N: usize, const M: usize> {
    w: &'a Window,
    isa: Isa,
    kernel: Kernel,
    channels: usize,
    filters: usize,
    /// The transformed kernel ([`transform_kernel`]), and the kernel itself.
    panels: &'a [f32],
    weights: &'a [f32],
    /// The input, and a row of zeros (one cell's worth).
    x: &'a [f32],
    zeros: &'a [f32],
    epilogue: Epilogue<'a>,
    /// Tiles per row of tiles, rows of tiles per sample.
    tw: usize,
    th: usize,
    /// Tiles per block.
    block: usize,
    /// The channels in pieces whose panel stays in L1 (`parts` of one run).
    pieces: Vec<Part>,
}

impl<const N: usize, const M: usize> Job<'_, N, M> {
    /// Places of the grid: one product per place.
    const PLACES: usize = N * N;

    /// The offset in `y` of the first output of unit `u` (a row of tiles of a sample).
    fn offset(&self, u: usize) -> usize {
        let [_, oh, ow] = self.w.out;
        ((u / self.th) * oh + M * (u % self.th)) * ow * self.filters
    }

    /// Values from one place's block of `per_tile` values a tile to the next: a cache
    /// line more than the block, so that the places' streams, read or written side by
    /// side, do not all fall in one set of the L1 cache (a block is often a multiple of
    /// 4 KiB).
    fn stride(&self, per_tile: usize) -> usize {
        self.block * per_tile + 16
    }

    /// Units `units` into `ys` (which starts at [`Job::offset`] of the first), a block
    /// of tiles at a time.
    fn run(&self, units: std::ops::Range<usize>, ys: &mut [f32], activation: Activation) {
        let (c, f) = (self.channels, self.filters);
        let (first, base) = (units.start * self.tw, self.offset(units.start));
        let tiles = units.len() * self.tw;
        // Transformed inputs, products, one tile's outputs, and one tile's inputs.
        let places = Self::PLACES;
        let need = places * (self.stride(c) + self.stride(f)) + M * M * f + places * c;
        with_scratch(&BLOCK_SCRATCH, need, |scratch| {
            let (v, rest) = scratch.split_at_mut(places * self.stride(c));
            let (m, rest) = rest.split_at_mut(places * self.stride(f));
            let (alone, patch) = rest.split_at_mut(M * M * f);
            for t0 in (first..first + tiles).step_by(self.block) {
                let n = self.block.min(first + tiles - t0);
                self.inputs(t0, n, v, patch);
                self.products(n, v, m);
                self.outputs(t0, n, m, alone, base, ys);
            }
        });
        if self.epilogue.clamp.is_none() {
            apply(activation, ys, f);
        }
    }

    /// The sample, output row and output column of tile `t`'s first output.
    fn corner(&self, t: usize) -> (usize, usize, usize) {
        let u = t / self.tw;
        (u / self.th, M * (u % self.th), M * (t % self.tw))
    }

    /// The input cell under position (`py`, `px`) of sample `s`'s padded grid: its
    /// channels, or zeros in the padding and past the input's edge.
    fn cell(&self, s: usize, py: usize, px: usize) -> &[f32] {
        let [_, h, wd] = self.w.size;
        let c = self.channels;
        let r = py.checked_sub(self.w.pad[1]).filter(|&r| r < h);
        let q = px.checked_sub(self.w.pad[2]).filter(|&q| q < wd);
        match (r, q) {
            (Some(r), Some(q)) => &self.x[((s * h + r) * wd + q) * c..][..c],
            _ => &self.zeros[..c],
        }
    }

    /// `Bᵀ d B` of tiles `t0..t0 + n` into `v` (`[place][tile][channel]`): a tile whose
    /// block lies inside the input read where it lies, any other from a copy of its
    /// block in `patch`, zeros around the input.
    fn inputs(&self, t0: usize, n: usize, v: &mut [f32], patch: &mut [f32]) {
        let [_, h, wd] = self.w.size;
        let c = self.channels;
        let (isa, stride) = (self.isa, self.stride(c));
        let cells: [[usize; N]; N] =
            std::array::from_fn(|a| std::array::from_fn(|b| (a * wd + b) * c));
        let apart: [[usize; N]; N] =
            std::array::from_fn(|a| std::array::from_fn(|b| (a * N + b) * c));
        let mut inside = [(0usize, 0usize); MAX_BLOCK];
        let mut count = 0;
        for k in 0..n {
            let (s, oy, ox) = self.corner(t0 + k);
            let (r, q) = (oy.checked_sub(self.w.pad[1]), ox.checked_sub(self.w.pad[2]));
            match (r, q) {
                (Some(r), Some(q)) if r + N <= h && q + N <= wd => {
                    inside[count] = (((s * h + r) * wd + q) * c, k * c);
                    count += 1;
                }
                _ => {
                    for (i, dst) in patch[..N * N * c].chunks_exact_mut(c).enumerate() {
                        dst.copy_from_slice(self.cell(s, oy + i / N, ox + i % N));
                    }
                    transform_inputs::<N>(isa, patch, &[(0, k * c)], &apart, v, stride, c);
                }
            }
        }
        transform_inputs::<N>(isa, self.x, &inside[..count], &cells, v, stride, c);
    }

    /// The products `m[ξ] = v[ξ] · u[ξ]`, `[place][tile][filter]`, through the tiles.
    fn products(&self, n: usize, v: &[f32], m: &mut [f32]) {
        let (c, f) = (self.channels, self.filters);
        let (pixels, lanes) = (self.kernel.pixels, self.kernel.lanes);
        for xi in 0..Self::PLACES {
            let x = &v[xi * self.stride(c)..][..self.block * c];
            let out = &mut m[xi * self.stride(f)..][..self.block * f];
            for blk in 0..f.div_ceil(lanes) {
                let f0 = blk * lanes;
                let valid = lanes.min(f - f0);
                for &Part { from, run, .. } in &self.pieces {
                    let at = (blk * Self::PLACES + xi) * panel_len(c, lanes) + from * lanes;
                    let panel = &self.panels[at..][..run * lanes];
                    for k0 in (0..n).step_by(pixels) {
                        let count = pixels.min(n - k0);
                        let base: [usize; MAX_PIXELS] =
                            std::array::from_fn(|i| (k0 + i.min(count - 1)) * c);
                        let tile = Tile::product(
                            &x[from..],
                            &base,
                            (run, 1),
                            (panel, lanes),
                            from > 0,
                            f,
                            count,
                            valid,
                        );
                        // SAFETY: the kernel was chosen for this CPU (`variant`), and every
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
    /// output value `base`); `m` is used up. Tiles wholly inside the grid are stored where
    /// they go, the others through `alone`, one by one, the outputs past the grid's edge
    /// dropped; a tile with a non-finite output is computed again directly.
    #[allow(clippy::too_many_arguments)]
    fn outputs(
        &self,
        t0: usize,
        n: usize,
        m: &mut [f32],
        alone: &mut [f32],
        base: usize,
        ys: &mut [f32],
    ) {
        let [_, oh, ow] = self.w.out;
        let f = self.filters;
        let stride = self.stride(f);
        let isa = self.isa;
        let e = &self.epilogue;
        let mut inside = [(0usize, 0usize); MAX_BLOCK];
        let mut count = 0;
        for k in 0..n {
            let (s, oy, ox) = self.corner(t0 + k);
            if oy + M <= oh && ox + M <= ow {
                inside[count] = (k * f, ((s * oh + oy) * ow + ox) * f - base);
                count += 1;
            }
        }
        let mut finite = [true; MAX_BLOCK];
        let places: [[usize; M]; M] =
            std::array::from_fn(|i| std::array::from_fn(|j| (i * ow + j) * f));
        let tiles = &inside[..count];
        transform_outputs::<N, M>(isa, m, stride, f, e, tiles, &places, ys, &mut finite);
        let apart: [[usize; M]; M] =
            std::array::from_fn(|i| std::array::from_fn(|j| (i * M + j) * f));
        let mut next = 0;
        for k in 0..n {
            let (s, oy, ox) = self.corner(t0 + k);
            if oy + M <= oh && ox + M <= ow {
                next += 1;
                if finite[next - 1] {
                    continue;
                }
                self.direct(t0 + k, alone);
            } else {
                let mut ok = [true];
                let one = [(k * f, 0)];
                transform_outputs::<N, M>(isa, m, stride, f, e, &one, &apart, alone, &mut ok);
                if !ok[0] {
                    self.direct(t0 + k, alone);
                }
            }
            for (i, o) in alone.chunks_exact(f).enumerate() {
                let (y, x) = (oy + i / M, ox + i % M);
                if y < oh && x < ow {
                    let at = ((s * oh + y) * ow + x) * f - base;
                    ys[at..at + f].copy_from_slice(o);
                }
            }
        }
    }

    /// Tile `t`'s outputs straight from the definition, then the epilogue, into `alone`
    /// (as [`transform_outputs`] stores them apart).
    fn direct(&self, t: usize, alone: &mut [f32]) {
        let (c, f) = (self.channels, self.filters);
        let (s, oy, ox) = self.corner(t);
        for (i, o) in alone.chunks_exact_mut(f).enumerate() {
            o.fill(0.0);
            for tap in 0..9 {
                let cell = self.cell(s, oy + i / M + tap / 3, ox + i % M + tap % 3);
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

/// Calls `$body::<L, …>` compiled for `$isa`, with `L` = 16 lanes for AVX-512 and 8 for
/// AVX2 (4 off x86-64, where no tile kernel is chosen and this is never reached): the same
/// additions in the same order, so the same values, on each.
macro_rules! on_isa {
    ($isa:expr, $body:ident::<$($g:ident),*>($($arg:ident: $ty:ty),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            /// # Safety
            /// The CPU must support AVX-512F.
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx512<$(const $g: usize),*>($($arg: $ty),*) {
                $body::<16, $($g),*>($($arg),*)
            }
            /// # Safety
            /// The CPU must support AVX2.
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2<$(const $g: usize),*>($($arg: $ty),*) {
                $body::<8, $($g),*>($($arg),*)
            }
            // SAFETY: the instruction set was chosen because the CPU has it.
            unsafe {
                match $isa {
                    Isa::Avx512 => avx512::<$($g),*>($($arg),*),
                    Isa::Avx2 => avx2::<$($g),*>($($arg),*),
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = $isa;
            $body::<4, $($g),*>($($arg),*)
        }
    }};
}

/// [`transform_inputs_body`] compiled for `isa` ([`on_isa`]).
fn transform_inputs<const N: usize>(
    isa: Isa,
    x: &[f32],
    origins: &[(usize, usize)],
    cells: &[[usize; N]; N],
    v: &mut [f32],
    stride: usize,
    c: usize,
) {
    on_isa!(
        isa,
        transform_inputs_body::<N>(
            x: &[f32],
            origins: &[(usize, usize)],
            cells: &[[usize; N]; N],
            v: &mut [f32],
            stride: usize,
            c: usize,
        )
    )
}

/// `Bᵀ d B` of each tile (`origins[i] = (from, to)`: its block's cell (a, b) at `x[from +
/// cells[a][b]..]`, `c` channels) into `v[to + ξ · stride..]` for each place ξ = a · N + b,
/// `L` channels at a time.
#[inline(always)]
fn transform_inputs_body<const L: usize, const N: usize>(
    x: &[f32],
    origins: &[(usize, usize)],
    cells: &[[usize; N]; N],
    v: &mut [f32],
    stride: usize,
    c: usize,
) {
    let reach = cells.iter().flatten().max().copied().unwrap_or(0) + c;
    assert!(
        origins
            .iter()
            .all(|&(from, to)| from + reach <= x.len() && to + (N * N - 1) * stride + c <= v.len()),
        "Winograd: input or transformed inputs too short"
    );
    let whole = c - c % L;
    for &(from, to) in origins {
        // SAFETY: every read lies within `x` and every write within `v` (asserted above).
        unsafe {
            let (x, v) = (x.as_ptr().add(from), v.as_mut_ptr().add(to));
            for ch in (0..whole).step_by(L) {
                inputs_at::<L, N>(x.add(ch), cells, v.add(ch), stride);
            }
            for ch in whole..c {
                inputs_at::<1, N>(x.add(ch), cells, v.add(ch), stride);
            }
        }
    }
}

/// [`transform_inputs_body`] for `L` channels.
///
/// # Safety
/// `x + cells[a][b]` holds `L` values for each cell, and `v + ξ · stride` room for `L`.
#[inline(always)]
unsafe fn inputs_at<const L: usize, const N: usize>(
    x: *const f32,
    cells: &[[usize; N]; N],
    v: *mut f32,
    stride: usize,
) {
    // d B: a row a at a time, into `v`; then Bᵀ (d B): a column b at a time, in place. A
    // row or column of N vectors at a time stays in registers.
    for (a, cells) in cells.iter().enumerate() {
        let row: [Lanes<L>; N] =
            std::array::from_fn(|b| std::ptr::read_unaligned(x.add(cells[b]).cast()));
        for (b, value) in input_1d(&row).into_iter().enumerate() {
            std::ptr::write_unaligned(v.add((a * N + b) * stride).cast::<Lanes<L>>(), value);
        }
    }
    for b in 0..N {
        let column: [Lanes<L>; N] = std::array::from_fn(|a| {
            std::ptr::read_unaligned(v.add((a * N + b) * stride).cast::<Lanes<L>>())
        });
        for (a, value) in input_1d(&column).into_iter().enumerate() {
            std::ptr::write_unaligned(v.add((a * N + b) * stride).cast::<Lanes<L>>(), value);
        }
    }
}

/// [`transform_outputs_body`] compiled for `isa` ([`on_isa`]).
#[allow(clippy::too_many_arguments)]
fn transform_outputs<const N: usize, const M: usize>(
    isa: Isa,
    m: &mut [f32],
    stride: usize,
    f: usize,
    e: &Epilogue,
    tiles: &[(usize, usize)],
    places: &[[usize; M]; M],
    y: &mut [f32],
    finite: &mut [bool],
) {
    on_isa!(
        isa,
        transform_outputs_body::<N, M>(
            m: &mut [f32],
            stride: usize,
            f: usize,
            e: &Epilogue,
            tiles: &[(usize, usize)],
            places: &[[usize; M]; M],
            y: &mut [f32],
            finite: &mut [bool],
        )
    )
}

/// `Aᵀ m A` of each tile `i` (`tiles[i] = (from, to)`: place ξ's products at
/// `m[from + ξ · stride..]`, `f` filters, used up), then the epilogue, into its outputs,
/// (p, q) at `y[to + places[p][q]..]`, `L` filters at a time; `finite[i]` is set to whether
/// all of them were finite before the epilogue.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn transform_outputs_body<const L: usize, const N: usize, const M: usize>(
    m: &mut [f32],
    stride: usize,
    f: usize,
    e: &Epilogue,
    tiles: &[(usize, usize)],
    places: &[[usize; M]; M],
    y: &mut [f32],
    finite: &mut [bool],
) {
    let reach = places.iter().flatten().max().copied().unwrap_or(0) + f;
    assert!(
        tiles
            .iter()
            .all(|&(from, to)| from + (N * N - 1) * stride + f <= m.len() && to + reach <= y.len())
            && finite.len() >= tiles.len(),
        "Winograd: products or outputs too short"
    );
    assert!(
        e.bias.len() >= f
            && e.affine
                .is_none_or(|a| a.scale.len() >= f && a.shift.len() >= f)
    );
    let whole = f - f % L;
    for (&(from, to), finite) in tiles.iter().zip(finite) {
        let mut exponent = [0u32; L];
        let mut last = 0u32;
        // SAFETY: every read and write lies within `m` and `y` (asserted above).
        unsafe {
            let (m, y) = (m.as_mut_ptr().add(from), y.as_mut_ptr().add(to));
            for j in (0..whole).step_by(L) {
                let out = outputs_at::<L, N, M>(m.add(j), stride, e, j, places, y.add(j));
                for l in 0..L {
                    exponent[l] = exponent[l].max(out[l]);
                }
            }
            for j in whole..f {
                let [out] = outputs_at::<1, N, M>(m.add(j), stride, e, j, places, y.add(j));
                last = last.max(out);
            }
        }
        *finite = exponent.into_iter().fold(last, u32::max) != EXPONENT;
    }
}

/// [`transform_outputs_body`] for `L` filters from `j`; returns, lane by lane, the
/// largest exponent bits ([`EXPONENT`]) of the outputs before the epilogue.
///
/// # Safety
/// `m + ξ · stride` holds `L` values for each place (which this overwrites), and `y +
/// places[p][q]` room for `L`.
#[inline(always)]
unsafe fn outputs_at<const L: usize, const N: usize, const M: usize>(
    m: *mut f32,
    stride: usize,
    e: &Epilogue,
    j: usize,
    places: &[[usize; M]; M],
    y: *mut f32,
) -> [u32; L] {
    // m A: a row a at a time, in place of its first M products; then Aᵀ (m A): a column q
    // at a time, into the outputs. A row or column of N vectors at a time stays in
    // registers.
    let at = |a: usize, b: usize| m.add((a * N + b) * stride).cast::<Lanes<L>>();
    for a in 0..N {
        let row: [Lanes<L>; N] = std::array::from_fn(|b| std::ptr::read_unaligned(at(a, b)));
        for (q, value) in output_1d::<L, N, M>(&row).into_iter().enumerate() {
            std::ptr::write_unaligned(at(a, q), value);
        }
    }
    let mut bits = [0u32; L];
    for q in 0..M {
        let column: [Lanes<L>; N] = std::array::from_fn(|a| std::ptr::read_unaligned(at(a, q)));
        for (out, places) in output_1d::<L, N, M>(&column).into_iter().zip(places) {
            for l in 0..L {
                bits[l] = bits[l].max(out[l].to_bits() & EXPONENT);
            }
            std::ptr::write_unaligned(y.add(places[q]).cast::<Lanes<L>>(), e.apply(j, out));
        }
    }
    bits
}

/// The convolution of `batch` samples of `x` through `variant` (what [`variant`] returned),
/// with bias, a folded normalization and the activation, into `y`, split between
/// `threads`.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    variant: Variant,
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
    match variant {
        Variant::F2 => convolve_with::<4, 2>(
            w, batch, channels, filters, kernel, bias, affine, activation, x, y, threads,
        ),
        Variant::F4 => convolve_with::<6, 4>(
            w, batch, channels, filters, kernel, bias, affine, activation, x, y, threads,
        ),
    }
}

/// [`convolve`] with tiles of `M × M` outputs from `N × N` inputs.
#[allow(clippy::too_many_arguments)]
fn convolve_with<const N: usize, const M: usize>(
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
        unreachable!("`variant` requires a tile kernel");
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
    let (tw, th) = (ow.div_ceil(M), oh.div_ceil(M));
    let places = N * N;
    let per_tile = places * (channels + filters);
    let block =
        (BLOCK_VALUES / per_tile).clamp(2 * tile.pixels, MAX_BLOCK) / tile.pixels * tile.pixels;
    let panels_len = filters.div_ceil(lanes) * places * panel_len(channels, lanes);
    // Zeros for the bias, where there is none, and for an input cell outside the input.
    let zeros = vec![0f32; filters.max(channels)];
    with_scratch(&KERNEL_SCRATCH, panels_len, |panels| {
        transform_kernel::<N>(kernel, channels, filters, lanes, panels);
        let job = Job::<N, M> {
            w,
            isa,
            kernel: tile,
            channels,
            filters,
            panels,
            weights: kernel,
            x,
            zeros: &zeros,
            epilogue: Epilogue {
                bias: bias.unwrap_or(&zeros[..filters]),
                affine,
                clamp: clamp(activation),
            },
            tw,
            th,
            block,
            pieces: parts(1, channels, PANEL_VALUES / lanes),
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
        threads::chunks_mut(&mut shares, 1, |_, share| {
            let (units, ys) = &mut share[0];
            job.run(units.clone(), ys, activation)
        });
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
            (2, 10, 14, 1, 48, 32, 2),
            (1, 9, 9, 0, 16, 17, 1),
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
            let each = cases
                .iter()
                .flat_map(|&c| [(Variant::F2, c), (Variant::F4, c)]);
            for (variant, (batch, h, wd, pad, c, f, threads)) in each {
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
                            variant, &w, batch, c, f, &kernel, bias, None, linear, &x, &mut y,
                            threads,
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
                            "{isa:?} {variant:?} {h}x{wd}x{c} → {f}, pad {pad}, specials \
                             {special}: value {i}: {a} vs {b}"
                        );
                    }
                }
            }
            KERNEL.with(|k| k.set(None));
        }
    }
}
