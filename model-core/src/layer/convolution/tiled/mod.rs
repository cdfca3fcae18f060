//! A direct convolution for x86-64: no im2col matrix. Each output tile of `pixels`
//! positions × `lanes` filters lives in vector registers while the kernel walks the window's
//! taps and channels, reading the input where it lies (a zero-padded copy of it for 'same'
//! and 'causal' padding) and a panel of the kernel. The depth (`taps · channels per
//! group`) is taken in parts whose panel stays in the L1 cache, each part adding to what
//! the last one stored. The kernel is packed once per call into panels (a tile of
//! filters' rows side by side, the last tile's missing filters zero), unless the call has
//! few tiles of positions (a deep layer's small grid at batch 1) and each group's filters
//! fill whole tiles: then it is read where it lies, a row of `filters` values apart, since
//! copying it would cost about as much as the tiles. Bias, a folded BatchNormalization
//! ([`Affine`]) and ReLU or ReLU6 are applied before the last part's tile is stored.
//!
//! Two kernels, chosen at run time: AVX-512 (`avx512.rs`: up to 32 registers, tiles sized
//! to the block of filters) where the CPU has it, AVX2 + FMA (`avx2.rs`) elsewhere.
//! Every dimension is a run-time argument; only the tiles are fixed. Callers take
//! [`plan`]'s `None` as the signal to fall back to im2col and a matrix product.

mod avx2;
mod avx512;
mod winograd;

#[cfg(test)]
pub(crate) use winograd::{Variant, FORCE as WINOGRAD};

use crate::layer::window::Window;
use crate::layer::Activation;
use crate::runtime::kernels::PARALLEL_VALUES;
use crate::runtime::threads;

/// Values of one part's panel (part depth × lanes): 24 KiB, which leaves room in a 32 KiB
/// L1 data cache (Zen 3's; Zen 4 and recent Intel cores have 32–48 KiB) for the input
/// the tiles stream past it. 96 values of depth for 64 lanes, 384 for 16.
const PANEL_VALUES: usize = 6 * 1024;
/// Tiles per chunk: the unit of work between which non-ReLU activations are applied, while
/// the chunk's outputs are still in cache.
const CHUNK_TILES: usize = 64;
/// Calls of fewer tiles of positions than this read the kernel in place rather than
/// packing it, where they can.
const PACK_TILES: usize = 40;
/// The most positions a tile of any kernel holds.
const MAX_PIXELS: usize = 8;
/// The most filters a tile of any kernel holds.
const MAX_LANES: usize = 64;

/// An instruction set with a tile kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    Avx2,
    Avx512,
}

impl Isa {
    /// Whether the running CPU has it.
    pub(crate) fn available(self) -> bool {
        match self {
            Isa::Avx2 => avx2::available(),
            Isa::Avx512 => avx512::available(),
        }
    }

    /// The best one the running CPU has.
    fn detect() -> Option<Isa> {
        [Isa::Avx512, Isa::Avx2].into_iter().find(|i| i.available())
    }
}

#[cfg(test)]
thread_local! {
    /// Tests set it to run a given path on a CPU that would pick another: `Some(None)` for
    /// im2col, `Some(Some(isa))` for that kernel.
    pub(crate) static FORCE: std::cell::Cell<Option<Option<Isa>>> =
        const { std::cell::Cell::new(None) };
}

/// The kernel this process uses: the best the CPU has, or the one the environment variable
/// `MODEL_CONV_KERNEL` names (`avx512`, `avx2`, or `im2col` for none), when the CPU has it;
/// benchmarks use it to compare the paths on one machine. Tests may force another.
fn chosen() -> Option<Isa> {
    #[cfg(test)]
    if let Some(forced) = FORCE.with(|f| f.get()) {
        return forced.filter(|i| i.available());
    }
    static CHOSEN: std::sync::OnceLock<Option<Isa>> = std::sync::OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let named = match std::env::var("MODEL_CONV_KERNEL").as_deref() {
            Ok("avx512") => Some(Some(Isa::Avx512)),
            Ok("avx2") => Some(Some(Isa::Avx2)),
            Ok("im2col") => Some(None),
            _ => None,
        };
        match named {
            Some(isa) if isa.is_none_or(|i| i.available()) => isa,
            _ => Isa::detect(),
        }
    })
}

/// Whether the tile kernel also takes 1×1 stride-1 convolutions, which are plain products
/// on the input: the AVX-512 one does (its 6×64 tile beats the `gemm` crate's AVX2 product,
/// which has no AVX-512 path on stable Rust); with AVX2 the product stays, the tile having
/// no advantage there to speak of.
pub(crate) fn takes_products() -> bool {
    chosen() == Some(Isa::Avx512)
}

/// ReLU's upper bound when `activation` is one the tiles apply themselves (ReLU and
/// ReLU6); other activations run as a pass over the stored outputs.
fn clamp(activation: Activation) -> Option<f32> {
    match activation {
        Activation::Relu => Some(f32::INFINITY),
        Activation::Relu6 => Some(6.0),
        _ => None,
    }
}

/// A BatchNormalization folded into the convolution before it: filter `j`'s output `v`
/// becomes `v · scale[j] + shift[j]` (multiplied, then added, as the normalization's own
/// pass does), before the activation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Affine<'a> {
    pub scale: &'a [f32],
    pub shift: &'a [f32],
}

/// What a tile kernel is handed: `out[i][j] = start[i][j] + Σ_tap Σ_{c < run} x[base[i] +
/// tap + c · x_stride] · panel[(tap_index · run + c) · panel_stride + j]`, then `out ·
/// scale[j] + shift[j]` when `affine` (its slices hold the tile's filters), then `min(max(·,
/// 0), max)` when `relu`; the first `valid` filters of the first `count` positions are
/// stored to `y`, `stride` values apart. `start` is `init[j]`, or, when `accumulate`, what
/// `y` holds there (an earlier part of the depth). A partial tile repeats its last position
/// in `base`.
#[derive(Clone, Copy)]
pub(super) struct Tile<'a> {
    x: &'a [f32],
    base: &'a [usize],
    taps: &'a [usize],
    run: usize,
    panel: &'a [f32],
    /// Values from one row of the panel (one value of a run) to the next.
    panel_stride: usize,
    init: &'a [f32],
    accumulate: bool,
    affine: Option<Affine<'a>>,
    relu: bool,
    /// The upper bound of `relu`: infinite for ReLU, 6 for ReLU6.
    max: f32,
    /// Values from one value of a run to the next in `x`: 1 in a convolution, a row's
    /// length in [`transposed_product`].
    x_stride: usize,
    stride: usize,
    count: usize,
    valid: usize,
}

impl<'a> Tile<'a> {
    /// A tile of a plain product, `out[i][j] (+)= Σ_{c < run} x[base[i] + c · x_stride] ·
    /// panel[c · panel_stride + j]`: one run, no bias (`init` zeros), no normalization, no
    /// activation.
    #[allow(clippy::too_many_arguments)]
    fn product(
        x: &'a [f32],
        base: &'a [usize],
        (run, x_stride): (usize, usize),
        (panel, panel_stride): (&'a [f32], usize),
        accumulate: bool,
        stride: usize,
        count: usize,
        valid: usize,
    ) -> Tile<'a> {
        const ZEROS: [f32; MAX_LANES] = [0.0; MAX_LANES];
        Tile {
            x,
            base,
            taps: &[0],
            run,
            panel,
            panel_stride,
            init: &ZEROS,
            accumulate,
            affine: None,
            relu: false,
            max: f32::INFINITY,
            x_stride,
            stride,
            count,
            valid,
        }
    }
}

/// A tile kernel.
///
/// # Safety
/// The CPU has the kernel's instructions, and every window read lies in `x`.
type TileFn = unsafe fn(&Tile, &mut [f32]);

/// A kernel and the shape of its tiles.
#[derive(Clone, Copy)]
struct Kernel {
    pixels: usize,
    lanes: usize,
    #[cfg(target_arch = "x86_64")]
    tile: TileFn,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{} tile", self.pixels, self.lanes)
    }
}

impl Kernel {
    /// The tile of `isa` for `fg` filters per group: AVX-512 takes the narrowest block of
    /// 16, 32 or 64 filters that covers them, with as many positions as keep the
    /// accumulators, the weights and the input pointers in registers.
    #[cfg(target_arch = "x86_64")]
    fn new(isa: Isa, fg: usize) -> Kernel {
        let (pixels, lanes, tile): (usize, usize, TileFn) = match isa {
            Isa::Avx2 => (avx2::PIXELS, avx2::LANES, avx2::tile),
            Isa::Avx512 if fg <= 16 => (8, 16, avx512::tile::<8, 1>),
            Isa::Avx512 if fg <= 32 => (8, 32, avx512::tile::<8, 2>),
            Isa::Avx512 => (6, 64, avx512::tile::<6, 4>),
        };
        debug_assert!(pixels <= MAX_PIXELS && lanes <= MAX_LANES);
        Kernel {
            pixels,
            lanes,
            tile,
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn new(_: Isa, _: usize) -> Kernel {
        unreachable!("no tile kernel is available off x86-64, so no plan is made")
    }
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
    kernel: Kernel,
}

/// The tiled plan of a convolution with this window, when the CPU has a tile kernel: any
/// stride, dilation, padding, groups and depth.
pub(super) fn plan(w: &Window, channels: usize, groups: usize, filters: usize) -> Option<Plan> {
    let groups = groups.max(1);
    let depth = w.taps() * (channels / groups);
    if depth == 0 || filters < groups {
        return None;
    }
    let isa = chosen()?;
    // Room for the padding before, the input, and whatever the last window reaches past.
    let padded: [usize; 3] = std::array::from_fn(|a| {
        let need = (w.out[a].max(1) - 1) * w.stride[a] + (w.kernel[a] - 1) * w.dilation[a] + 1;
        (w.pad[a] + w.size[a]).max(need)
    });
    Some(Plan {
        padded,
        pads: padded != w.size,
        channels,
        groups,
        filters,
        kernel: Kernel::new(isa, filters / groups),
    })
}

impl Plan {
    fn cg(&self) -> usize {
        self.channels / self.groups
    }

    fn fg(&self) -> usize {
        self.filters / self.groups
    }

    fn lanes(&self) -> usize {
        self.kernel.lanes
    }

    fn pixels(&self) -> usize {
        self.kernel.pixels
    }

    /// Tiles of filters per group.
    fn blocks(&self) -> usize {
        self.fg().div_ceil(self.lanes())
    }

    /// Values of one padded sample.
    fn padded_len(&self) -> usize {
        self.padded.iter().product::<usize>() * self.channels
    }

    /// Whether a call on `batch` samples packs the kernel.
    fn packs(&self, w: &Window, batch: usize) -> bool {
        !self.fg().is_multiple_of(self.lanes())
            || batch * w.positions() >= PACK_TILES * self.pixels()
    }

    /// Values of the packed kernel, when the call packs it.
    fn packed_len(&self, w: &Window, batch: usize) -> usize {
        if self.packs(w, batch) {
            self.groups * self.blocks() * w.taps() * self.cg() * self.lanes()
        } else {
            0
        }
    }

    /// The variant of Winograd's algorithm (`winograd.rs`) [`convolve`] runs this
    /// convolution on `batch` samples through, if any; it needs none of the scratch.
    pub fn winograd(&self, w: &Window, batch: usize) -> Option<winograd::Variant> {
        winograd::variant(w, self.channels, self.groups, self.filters, batch)
    }

    /// Scratch values for a batch: the packed kernel, then the padded input, each if any;
    /// none for a call Winograd's algorithm takes.
    pub fn scratch_len(&self, w: &Window, batch: usize) -> usize {
        if self.winograd(w, batch).is_some() {
            return 0;
        }
        self.packed_len(w, batch)
            + if self.pads {
                batch * self.padded_len()
            } else {
                0
            }
    }
}

/// Packs `kernel` (`[taps, cg, filters]`) into panels `[group][block][taps·cg][lanes]`,
/// the filters past the group's last padded with zeros; a big kernel's panels split
/// between the threads.
fn pack(plan: &Plan, taps: usize, kernel: &[f32], packed: &mut [f32]) {
    let (cg, fg, f, lanes) = (plan.cg(), plan.fg(), plan.filters, plan.lanes());
    let depth = taps * cg;
    let blocks = plan.blocks();
    let one = |i: usize, panel: &mut [f32]| {
        let (g, b) = (i / blocks, i % blocks);
        let (f0, n) = (g * fg + b * lanes, lanes.min(fg - b * lanes));
        for (k, dst) in panel.chunks_exact_mut(lanes).enumerate() {
            dst[..n].copy_from_slice(&kernel[k * f + f0..][..n]);
            dst[n..].fill(0.0);
        }
    };
    let len = (depth * lanes).max(1);
    if packed.len() < 1 << 16 {
        packed
            .chunks_exact_mut(len)
            .enumerate()
            .for_each(|(i, p)| one(i, p));
    } else {
        let whole = packed.len() / len * len;
        let share = (whole / len).div_ceil(threads::count()) * len;
        threads::chunks_mut(&mut packed[..whole], share, |t, ps| {
            for (i, p) in (t * share / len..).zip(ps.chunks_exact_mut(len)) {
                one(i, p);
            }
        });
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
    let rows = pad_len / row.max(1);
    let copy = |r: usize, dst: &mut [f32]| {
        let xs = &x[(r / rows.max(1)) * in_len..][..in_len];
        let r = r % rows.max(1);
        let (id, ih) = (r / ph, r % ph);
        match (id.checked_sub(w.pad[0]), ih.checked_sub(w.pad[1])) {
            (Some(sd), Some(sh)) if sd < d && sh < h => {
                let left = w.pad[2] * c;
                dst[..left].fill(0.0);
                dst[left..left + wd * c].copy_from_slice(&xs[(sd * h + sh) * wd * c..][..wd * c]);
                dst[left + wd * c..].fill(0.0);
            }
            _ => dst.fill(0.0),
        }
    };
    // Rows of the whole batch split between the threads in one parallel region, so that a
    // batch of one uses them too and a big batch of small samples pays for one hand-off.
    let samples = (x.len() / in_len.max(1)).min(padded.len() / pad_len.max(1));
    let row = row.max(1);
    let all = &mut padded[..samples * pad_len / row * row];
    let threads = if all.len() < PARALLEL_VALUES {
        1
    } else {
        threads::count()
    };
    let share = (all.len() / row).div_ceil(threads).max(1) * row;
    threads::chunks_mut(all, share, |t, dsts| {
        for (r, dst) in (t * share / row..).zip(dsts.chunks_exact_mut(row)) {
            copy(r, dst);
        }
    });
}

/// What a thread needs to compute any range of output positions.
struct Job<'a> {
    plan: Plan,
    w: &'a Window,
    /// The (padded) input, `sample_len` values per sample.
    x: &'a [f32],
    sample_len: usize,
    /// The packed panels, or the kernel itself (`[taps · cg, filters]`).
    panels: &'a [f32],
    packed: bool,
    bias: Option<&'a [f32]>,
    /// Offset of each run of taps from a position's first input value.
    taps: Vec<usize>,
    /// Values per run: a tap's channels, or a whole row of taps along the width where
    /// those lie side by side in the input (every channel taken, no dilation).
    run: usize,
    /// The depth's parts, in order, each's panel within [`PANEL_VALUES`].
    parts: Vec<Part>,
    /// A BatchNormalization's factors for every filter, applied in the last part.
    affine: Option<Affine<'a>>,
    /// ReLU's upper bound, when the activation is one the tiles apply (ReLU and ReLU6).
    clamp: Option<f32>,
}

/// A part of the depth: taps `taps` of the job, values `from..from + run` of each run.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    taps: std::ops::Range<usize>,
    from: usize,
    run: usize,
}

/// The depth of `taps` runs of `run` values in parts of at most `max` (as even as may be):
/// whole runs, several to a part, when a run fits; each run cut in pieces when it does not.
fn parts(taps: usize, run: usize, max: usize) -> Vec<Part> {
    if run <= max {
        // As few parts as whole runs allow, then the runs shared out evenly between them.
        let n = taps.div_ceil(max / run.max(1)).max(1);
        let per = taps.div_ceil(n).max(1);
        (0..taps)
            .step_by(per)
            .map(|t| Part {
                taps: t..(t + per).min(taps),
                from: 0,
                run,
            })
            .collect()
    } else {
        let n = run.div_ceil(max);
        let piece = run.div_ceil(n);
        (0..taps)
            .flat_map(|t| {
                (0..run).step_by(piece).map(move |from| Part {
                    taps: t..t + 1,
                    from,
                    run: piece.min(run - from),
                })
            })
            .collect()
    }
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
    /// at a time: for each tile of filters and each part of the depth (its panel stays in
    /// cache), every tile of positions of the chunk.
    fn run(&self, first: usize, y: &mut [f32], activation: Activation) {
        let f = self.plan.filters;
        let (cg, fg) = (self.plan.cg(), self.plan.fg());
        let (pixels, lanes) = (self.plan.pixels(), self.plan.lanes());
        let chunk = CHUNK_TILES * pixels;
        let depth = self.taps.len() * self.run;
        // Values from one row of a panel to the next.
        let panel_stride = if self.packed { lanes } else { f };
        let mut bases = [0usize; CHUNK_TILES * MAX_PIXELS];
        // A kernel read in place has its panel rows `f` values apart: with 2048 filters
        // that is 8 KB, and every row of a part lands in the same few sets of L1, so the
        // panel does not stay there from one tile to the next. Each part's panel is copied
        // here first (one 1×1 7×7×512 → 2048 layer at batch 1: 63–67 → 103–107 GFLOP/s on
        // the Xeon, one thread).
        #[repr(align(64))]
        struct Local([f32; PANEL_VALUES]);
        let mut local = Local([0.0; PANEL_VALUES]);
        for (c, ys) in y.chunks_mut(chunk * f).enumerate() {
            let n = ys.len() / f;
            self.bases(first + c * chunk, &mut bases[..n]);
            for g in 0..self.plan.groups {
                for blk in 0..self.plan.blocks() {
                    let f0 = blk * lanes;
                    let valid = lanes.min(fg - f0);
                    let mut init = [0f32; MAX_LANES];
                    if let Some(bias) = self.bias {
                        init[..valid].copy_from_slice(&bias[g * fg + f0..][..valid]);
                    }
                    // The block's normalization factors, past its last filter zero.
                    let (mut scale, mut shift) = ([0f32; MAX_LANES], [0f32; MAX_LANES]);
                    if let Some(a) = self.affine {
                        scale[..valid].copy_from_slice(&a.scale[g * fg + f0..][..valid]);
                        shift[..valid].copy_from_slice(&a.shift[g * fg + f0..][..valid]);
                    }
                    // Where the block's panel starts: its packed panel, or its first
                    // filter in the kernel.
                    let block = if self.packed {
                        (g * self.plan.blocks() + blk) * depth * lanes
                    } else {
                        g * fg + f0
                    };
                    let last = self.parts.len() - 1;
                    for (k, part) in self.parts.iter().enumerate() {
                        // A part's rows of the kernel are consecutive: whole runs of
                        // consecutive taps, or a piece of one run.
                        let (k0, rows) = (
                            part.taps.start * self.run + part.from,
                            part.taps.len() * part.run,
                        );
                        let at = block + k0 * panel_stride;
                        let mut panel = &self.panels[at..at + (rows - 1) * panel_stride + lanes];
                        let mut panel_stride = panel_stride;
                        if !self.packed {
                            for (r, dst) in local.0.chunks_exact_mut(lanes).take(rows).enumerate() {
                                dst.copy_from_slice(&panel[r * f..][..lanes]);
                            }
                            panel = &local.0[..rows * lanes];
                            panel_stride = lanes;
                        }
                        for t0 in (0..n).step_by(pixels) {
                            let count = pixels.min(n - t0);
                            // A partial tile repeats its last position; only `count` are
                            // stored.
                            let base: [usize; MAX_PIXELS] =
                                std::array::from_fn(|i| bases[t0 + i.min(count - 1)] + g * cg);
                            let tile = Tile {
                                // Each run read from `from` on.
                                x: &self.x[part.from..],
                                base: &base,
                                taps: &self.taps[part.taps.clone()],
                                run: part.run,
                                panel,
                                panel_stride,
                                init: &init,
                                accumulate: k > 0,
                                affine: (k == last && self.affine.is_some()).then_some(Affine {
                                    scale: &scale,
                                    shift: &shift,
                                }),
                                relu: self.clamp.is_some() && k == last,
                                max: self.clamp.unwrap_or(f32::INFINITY),
                                x_stride: 1,
                                stride: f,
                                count,
                                valid,
                            };
                            // SAFETY: `Job::check` verified that every window read here lies
                            // in `x`, and `plan` that the CPU has the kernel's instructions;
                            // the kernel checks the slices' lengths.
                            #[cfg(target_arch = "x86_64")]
                            unsafe {
                                (self.plan.kernel.tile)(&tile, &mut ys[t0 * f + g * fg + f0..])
                            };
                            #[cfg(not(target_arch = "x86_64"))]
                            let _ = tile;
                        }
                    }
                }
            }
            if self.clamp.is_none() {
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
        let end = base[0] + last_tap + (self.plan.groups - 1) * self.plan.cg() + self.run;
        assert!(
            end <= self.x.len(),
            "tiled convolution window out of bounds"
        );
        let depth = self.taps.len() * self.run;
        let panels = if self.packed {
            self.plan.groups * self.plan.blocks() * depth * self.plan.lanes()
        } else {
            depth * self.plan.filters
        };
        assert!(
            panels <= self.panels.len(),
            "tiled convolution kernel too short"
        );
    }
}

/// Packs the kernel (when the call does) and pads the input into `scratch` ([`Plan::scratch_len`] values), and
/// returns the job that computes any range of output positions.
#[allow(clippy::too_many_arguments)]
fn prepare<'a>(
    plan: &Plan,
    w: &'a Window,
    batch: usize,
    kernel: &'a [f32],
    bias: Option<&'a [f32]>,
    affine: Option<Affine<'a>>,
    activation: Activation,
    x: &'a [f32],
    scratch: &'a mut [f32],
) -> Job<'a> {
    let (packed, rest) = scratch.split_at_mut(plan.packed_len(w, batch));
    let packs = plan.packs(w, batch);
    if packs {
        pack(plan, w.taps(), kernel, packed);
    }
    let (input, sample_len) = if plan.pads {
        let padded = &mut rest[..batch * plan.padded_len()];
        pad(plan, w, x, padded);
        (&*padded, plan.padded_len())
    } else {
        (x, w.size.iter().product::<usize>() * plan.channels)
    };
    let [_, ph, pw] = plan.padded;
    let c = plan.channels;
    // A row of taps along the width is one run when its channels lie side by side.
    let rows = plan.groups == 1 && w.dilation[2] == 1;
    let (kw_n, run) = if rows {
        (1, w.kernel[2] * plan.cg())
    } else {
        (w.kernel[2], plan.cg())
    };
    let mut taps = Vec::with_capacity(w.taps());
    for kd in 0..w.kernel[0] {
        for kh in 0..w.kernel[1] {
            for kw in 0..kw_n {
                taps.push(
                    ((kd * w.dilation[0] * ph + kh * w.dilation[1]) * pw + kw * w.dilation[2]) * c,
                );
            }
        }
    }
    let parts = parts(taps.len(), run, PANEL_VALUES / plan.lanes());
    let job = Job {
        plan: *plan,
        w,
        x: input,
        sample_len,
        panels: if packs { &*packed } else { kernel },
        packed: packs,
        bias,
        taps,
        run,
        parts,
        affine,
        clamp: clamp(activation),
    };
    job.check(batch * w.positions());
    job
}

/// Runs the convolution on `batch` samples, with a BatchNormalization's `affine` folded in
/// before the activation when given: `scratch` holds [`Plan::scratch_len`] values.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve(
    plan: &Plan,
    w: &Window,
    batch: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    affine: Option<Affine>,
    activation: Activation,
    x: &[f32],
    y: &mut [f32],
    scratch: &mut [f32],
    threads: usize,
) {
    if let Some(variant) = plan.winograd(w, batch) {
        let (c, f) = (plan.channels, plan.filters);
        return winograd::convolve(
            variant, w, batch, c, f, kernel, bias, affine, activation, x, y, threads,
        );
    }
    let job = prepare(plan, w, batch, kernel, bias, affine, activation, x, scratch);
    let f = plan.filters;
    let pixels = plan.pixels();
    let total = batch * w.positions();
    if threads <= 1 || total <= pixels {
        job.run(0, y, activation);
        return;
    }
    // Contiguous shares of whole tiles, one per thread.
    let share = total.div_ceil(threads).div_ceil(pixels) * pixels;
    threads::chunks_mut(y, share * f, |t, ys| job.run(t * share, ys, activation));
}

/// The convolution a band of output positions at a time, each band handed to `then` while
/// it is in cache: band `j` is the `band` positions from `first(j)`, and `then` turns it
/// into the `out_band` values of `out` from `j · out_band` (a pooling layer's output
/// rows, which then never leave the cache as convolution outputs). Bands are split
/// between `threads`.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve_bands(
    plan: &Plan,
    w: &Window,
    batch: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    x: &[f32],
    scratch: &mut [f32],
    threads: usize,
    band: usize,
    first: impl Fn(usize) -> usize + Sync,
    out: &mut [f32],
    out_band: usize,
    then: impl Fn(&[f32], &mut [f32]) + Sync,
) {
    let job = prepare(plan, w, batch, kernel, bias, None, activation, x, scratch);
    let f = plan.filters;
    let bands = out.len() / out_band.max(1);
    let total = batch * w.positions();
    let run = |j0: usize, outs: &mut [f32]| {
        let mut conv = vec![0f32; band * f];
        for (j, o) in (j0..).zip(outs.chunks_exact_mut(out_band)) {
            let q = first(j);
            assert!(
                q + band <= total,
                "band {j} past the convolution's output: {q} + {band} > {total}"
            );
            job.run(q, &mut conv, activation);
            then(&conv, o);
        }
    };
    if threads <= 1 || bands <= 1 {
        run(0, out);
        return;
    }
    let share = bands.div_ceil(threads);
    threads::chunks_mut(out, share * out_band, |t, outs| run(t * share, outs));
}

/// `out (+)= aᵀ · b` on the calling thread, through the tile kernel: `a` is `rows × m`
/// (a row `a_rs` values apart), `b` is `rows × n` (rows `b_rs` apart), `out` is `m × n`
/// (rows `out_rs` apart), added to when `accumulate`. A tile holds `pixels` columns of
/// `a` × `lanes` columns of `b`; its run walks down the rows, broadcasting `a`'s values a
/// row apart and reading `b`'s rows in place as the panel, a part of rows at a time.
/// A convolution's kernel gradient is this product (`a` its im2col columns, `b` its
/// output gradient). Returns `false`, having done nothing, where no tile kernel is chosen
/// or `n` does not fill whole tiles (the caller then uses a matrix product). With
/// `threads` above one, `out`'s rows are shared out between that many.
#[allow(clippy::too_many_arguments)]
pub(crate) fn transposed_product(
    rows: usize,
    m: usize,
    n: usize,
    (a, a_rs): (&[f32], usize),
    (b, b_rs): (&[f32], usize),
    out: &mut [f32],
    out_rs: usize,
    accumulate: bool,
    threads: usize,
) -> bool {
    let Some(isa) = chosen() else {
        return false;
    };
    #[cfg(target_arch = "x86_64")]
    {
        let kernel = Kernel::new(isa, n);
        if rows == 0 || m == 0 || n == 0 || !n.is_multiple_of(kernel.lanes) {
            return false;
        }
        let share = m.div_ceil(threads.max(1)).div_ceil(kernel.pixels) * kernel.pixels;
        if threads <= 1 || share >= m {
            transposed_serial(
                kernel,
                rows,
                m,
                n,
                (a, a_rs),
                (b, b_rs),
                out,
                out_rs,
                accumulate,
            );
            return true;
        }
        // Out's rows `k0..k0 + share` read columns `k0..` of `a`.
        threads::chunks_mut(out, share * out_rs, |t, out| {
            let k0 = t * share;
            let m = share.min(m - k0);
            let a = (&a[k0..], a_rs);
            transposed_serial(kernel, rows, m, n, a, (b, b_rs), out, out_rs, accumulate);
        });
        true
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (
            isa, rows, m, n, a, a_rs, b, b_rs, out, out_rs, accumulate, threads,
        );
        false
    }
}

/// [`transposed_product`] on the calling thread, with its kernel chosen.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
fn transposed_serial(
    kernel: Kernel,
    rows: usize,
    m: usize,
    n: usize,
    (a, a_rs): (&[f32], usize),
    (b, b_rs): (&[f32], usize),
    out: &mut [f32],
    out_rs: usize,
    accumulate: bool,
) {
    let (pixels, lanes) = (kernel.pixels, kernel.lanes);
    // Every read and write the tiles make, checked once.
    assert!(
        a_rs >= m && (rows - 1) * a_rs + m <= a.len(),
        "aᵀ · b: a too short"
    );
    assert!(
        b_rs >= n && (rows - 1) * b_rs + n <= b.len(),
        "aᵀ · b: b too short"
    );
    assert!(
        out_rs >= n && (m - 1) * out_rs + n <= out.len(),
        "aᵀ · b: out too short"
    );
    let part = (PANEL_VALUES / lanes).max(1);
    for f0 in (0..n).step_by(lanes) {
        for p0 in (0..rows).step_by(part) {
            let run = part.min(rows - p0);
            let panel = &b[p0 * b_rs + f0..][..(run - 1) * b_rs + lanes];
            let x = &a[p0 * a_rs..];
            for k0 in (0..m).step_by(pixels) {
                let count = pixels.min(m - k0);
                let base: [usize; MAX_PIXELS] = std::array::from_fn(|i| k0 + i.min(count - 1));
                let tile = Tile::product(
                    x,
                    &base,
                    (run, a_rs),
                    (panel, b_rs),
                    accumulate || p0 > 0,
                    out_rs,
                    count,
                    lanes,
                );
                // SAFETY: the asserts above bound every read of `x` (`k0 + i < m`,
                // rows `p0..p0 + run`) and `chosen` that the CPU has the kernel's
                // instructions; the kernel checks the panel's and `out`'s lengths.
                unsafe { (kernel.tile)(&tile, &mut out[k0 * out_rs + f0..]) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parts, transposed_product, Isa, Part, FORCE};

    #[test]
    fn the_transposed_product_matches_the_definition_on_every_kernel() {
        let value = |i: usize, m: usize| ((i * m) % 89) as f32 / 44.0 - 1.0;
        // (rows, m, n, a's row stride, b's row stride): partial tiles of `a`'s columns,
        // several parts of rows, one and several tiles of `b`'s columns, strided rows.
        let cases = [
            (1, 1, 16, 1, 16),
            (250, 27, 32, 27, 32),
            (97, 288, 64, 300, 64),
            (300, 13, 128, 13, 130),
            (5, 7, 48, 9, 50),
        ];
        for (rows, m, n, a_rs, b_rs) in cases {
            let a: Vec<f32> = (0..rows * a_rs).map(|i| value(i, 37)).collect();
            let b: Vec<f32> = (0..rows * b_rs).map(|i| value(i, 53)).collect();
            let start: Vec<f32> = (0..m * n).map(|i| value(i, 11)).collect();
            for (accumulate, threads) in [(false, 1), (true, 1), (false, 2), (true, 3)] {
                let mut want = if accumulate {
                    start.clone()
                } else {
                    vec![0.0; m * n]
                };
                for k in 0..m {
                    for f in 0..n {
                        for p in 0..rows {
                            want[k * n + f] += a[p * a_rs + k] * b[p * b_rs + f];
                        }
                    }
                }
                for isa in [Isa::Avx2, Isa::Avx512]
                    .into_iter()
                    .filter(|i| i.available())
                {
                    FORCE.with(|f| f.set(Some(Some(isa))));
                    let mut out = start.clone();
                    let took = transposed_product(
                        rows,
                        m,
                        n,
                        (&a, a_rs),
                        (&b, b_rs),
                        &mut out,
                        n,
                        accumulate,
                        threads,
                    );
                    FORCE.with(|f| f.set(None));
                    if !took {
                        // Only where `n` does not fill the kernel's tiles.
                        assert!(n % 16 != 0 || (isa == Isa::Avx512 && n > 32 && n % 64 != 0));
                        assert_eq!(out, start, "refused, so nothing is written");
                        continue;
                    }
                    for (i, (o, w)) in out.iter().zip(&want).enumerate() {
                        assert!(
                            (o - w).abs() < 1e-3,
                            "{rows}×{m}ᵀ·{n} {isa:?} accumulate {accumulate} threads {threads}: value {i}: {o} vs {w}"
                        );
                    }
                }
            }
        }
    }

    /// Every value of every run, once, in order, no part deeper than the limit.
    fn covers(taps: usize, run: usize, max: usize) {
        let ps = parts(taps, run, max);
        let mut seen = Vec::new();
        for p in &ps {
            assert!(p.taps.len() * p.run <= max, "{taps}×{run} by {max}: {p:?}");
            for t in p.taps.clone() {
                seen.extend((p.from..p.from + p.run).map(|c| (t, c)));
            }
        }
        let want: Vec<_> = (0..taps)
            .flat_map(|t| (0..run).map(move |c| (t, c)))
            .collect();
        assert_eq!(seen, want, "{taps}×{run} by {max}");
    }

    #[test]
    fn the_depth_is_cut_into_even_parts_that_cover_it() {
        for (taps, run, max) in [
            (9, 64, 1152),
            (9, 512, 1152),
            (1, 2048, 1152),
            (3, 1536, 1152),
        ] {
            covers(taps, run, max);
        }
        for taps in 1..6 {
            for run in 1..40 {
                covers(taps, run, 16);
            }
        }
        // 1×1 over 2048 channels: two halves, not 1152 and 896.
        let halves = [
            Part {
                taps: 0..1,
                from: 0,
                run: 1024,
            },
            Part {
                taps: 0..1,
                from: 1024,
                run: 1024,
            },
        ];
        assert_eq!(parts(1, 2048, 1152), halves);
        // A shallow depth is one part.
        assert_eq!(
            parts(9, 64, 1152),
            [Part {
                taps: 0..9,
                from: 0,
                run: 64
            }]
        );
    }
}
