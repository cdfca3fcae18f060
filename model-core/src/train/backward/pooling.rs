//! Pooling: the maximum's gradient goes to the first cell of its window holding the
//! maximum (the one the forward pass kept), the average's is shared by the window's cells
//! inside the input (padded cells are not counted, as in the forward pass).

use super::Pass;
use crate::layer::{Kind, Pooling};
use crate::runtime::convolution::Window;
use crate::runtime::elements;
use crate::runtime::kernels::threads_for;
use crate::runtime::pooling::{is_max, window};
use rayon::prelude::*;

#[allow(clippy::too_many_arguments)]
pub(crate) fn backward(
    kind: Kind,
    c: &Pooling,
    p: &Pass,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
) {
    let Some(dx) = dx else { return };
    let (w, channels) = window(kind, c, &p.input, &p.output);
    let max = is_max(kind);
    let (in_len, out_len) = (elements(&p.input).max(1), elements(&p.output).max(1));
    type Pair<'a> = (&'a [f32], &'a [f32]);
    let one = |((xs, ds), (ys, gs)): ((&[f32], &mut [f32]), Pair)| {
        sample(&w, channels, max, xs, ys, gs, ds)
    };
    if threads_for(p.batch * out_len * w.taps()) > 1 {
        x.par_chunks_exact(in_len)
            .zip(dx.par_chunks_exact_mut(in_len))
            .zip(
                y.par_chunks_exact(out_len)
                    .zip(dy.par_chunks_exact(out_len)),
            )
            .for_each(one);
    } else {
        x.chunks_exact(in_len)
            .zip(dx.chunks_exact_mut(in_len))
            .zip(y.chunks_exact(out_len).zip(dy.chunks_exact(out_len)))
            .for_each(one);
    }
}

/// One sample's windows, in the forward pass's order.
fn sample(
    w: &Window,
    channels: usize,
    max: bool,
    xs: &[f32],
    ys: &[f32],
    gs: &[f32],
    ds: &mut [f32],
) {
    let [_, h, wd] = w.size;
    ds.fill(0.0);
    let mut cells = Vec::with_capacity(w.taps());
    let mut unspent: Vec<f32> = Vec::with_capacity(channels);
    for (row, (out, g)) in ys
        .chunks_exact(channels.max(1))
        .zip(gs.chunks_exact(channels.max(1)))
        .enumerate()
    {
        let (od, oh, ow) = (
            row / (w.out[1] * w.out[2]),
            (row / w.out[2]) % w.out[1],
            row % w.out[2],
        );
        // The window's cells inside the input, in the forward pass's order.
        cells.clear();
        for kd in 0..w.kernel[0] {
            let Some(id) = w.source(0, od, kd) else {
                continue;
            };
            for kh in 0..w.kernel[1] {
                let Some(ih) = w.source(1, oh, kh) else {
                    continue;
                };
                for kw in 0..w.kernel[2] {
                    if let Some(iw) = w.source(2, ow, kw) {
                        cells.push(((id * h + ih) * wd + iw) * channels);
                    }
                }
            }
        }
        if max {
            // The first cell holding the maximum, as the forward pass's strict `>` kept it:
            // walking the cells in the forward order, each channel's gradient goes to the
            // first match and is then spent (branch-free, so the channels vectorize).
            unspent.clear();
            unspent.extend_from_slice(g);
            for &at in &cells {
                let (d, v) = (&mut ds[at..at + channels], &xs[at..at + channels]);
                let (o, u) = (&out[..channels], &mut unspent[..channels]);
                for ch in 0..channels {
                    // All ones on a match: a select written as a mask, which vectorizes
                    // (an `if` here compiles to a branch per channel).
                    let hit = u32::from(v[ch] == o[ch]).wrapping_neg();
                    d[ch] += f32::from_bits(u[ch].to_bits() & hit);
                    u[ch] = f32::from_bits(u[ch].to_bits() & !hit);
                }
            }
        } else if !cells.is_empty() {
            let inv = 1.0 / cells.len() as f32;
            for &at in &cells {
                for ch in 0..channels {
                    ds[at + ch] += g[ch] * inv;
                }
            }
        }
    }
}

/// The global maximum's gradient goes to the first position holding it; the mean's is
/// shared by every position.
pub(crate) fn global_backward(
    kind: Kind,
    p: &Pass,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: Option<&mut [f32]>,
) {
    let Some(dx) = dx else { return };
    let channels = p.input.last().max(1);
    let positions = elements(&p.input) / channels;
    let max = is_max(kind);
    let per = (positions * channels).max(1);
    for (((xs, ds), ys), gs) in x
        .chunks_exact(per)
        .zip(dx.chunks_exact_mut(per))
        .zip(y.chunks_exact(channels))
        .zip(dy.chunks_exact(channels))
    {
        ds.fill(0.0);
        if max {
            for ch in 0..channels {
                if let Some(pos) = (0..positions).find(|&q| xs[q * channels + ch] == ys[ch]) {
                    ds[pos * channels + ch] = gs[ch];
                }
            }
        } else if positions > 0 {
            let inv = 1.0 / positions as f32;
            for row in ds.chunks_exact_mut(channels) {
                row.iter_mut().zip(gs).for_each(|(d, &g)| *d = g * inv);
            }
        }
    }
}
