//! Pooling: the maximum's gradient goes to the first cell of its window holding the
//! maximum (the one the forward pass kept), the average's is shared by the window's cells
//! inside the input (padded cells are not counted, as in the forward pass).

use super::forward::window;
use super::{GlobalPooling, PoolOp, Pooling};
use crate::layer::ops::{Grad, Step};
use crate::layer::window::Window;
use crate::runtime::kernels::threads_for;
use crate::runtime::{elements, threads};

pub(crate) fn backward(c: &Pooling, p: &Step, g: Grad) {
    let Grad { x, y, dy, dx, .. } = g;
    let Some(dx) = dx else { return };
    let (w, channels) = window(c, &p.input, &p.output);
    let max = c.op == PoolOp::Max;
    let (in_len, out_len) = (elements(&p.input).max(1), elements(&p.output).max(1));
    type Pair<'a> = (&'a [f32], &'a [f32]);
    let one = |((xs, ds), (ys, gs)): ((&[f32], &mut [f32]), Pair)| {
        sample(&w, channels, max, xs, ys, gs, ds)
    };
    let threads = threads_for(p.batch * out_len * w.taps());
    if threads > 1 {
        // Contiguous shares of whole samples, one per thread.
        let share = p.batch.div_ceil(threads);
        let whole = &mut dx[..p.batch * in_len];
        threads::chunks_mut(whole, share * in_len, |t, ds| {
            let (x, y, dy) = (
                &x[t * share * in_len..],
                &y[t * share * out_len..],
                &dy[t * share * out_len..],
            );
            x.chunks_exact(in_len)
                .zip(ds.chunks_exact_mut(in_len))
                .zip(y.chunks_exact(out_len).zip(dy.chunks_exact(out_len)))
                .for_each(one)
        });
    } else {
        x.chunks_exact(in_len)
            .zip(dx.chunks_exact_mut(in_len))
            .zip(y.chunks_exact(out_len).zip(dy.chunks_exact(out_len)))
            .for_each(one);
    }
}

/// One sample's windows, in the forward pass's order: [`sample_body`] compiled for
/// AVX-512 where the CPU has it (the crate is built for baseline x86-64, whose vectors
/// hold four values), for the baseline elsewhere. The same selects and additions in the
/// same order either way, so the same values bit for bit.
fn sample(
    w: &Window,
    channels: usize,
    max: bool,
    xs: &[f32],
    ys: &[f32],
    gs: &[f32],
    ds: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { sample_avx512(w, channels, max, xs, ys, gs, ds) };
    }
    sample_body(w, channels, max, xs, ys, gs, ds)
}

/// [`sample_body`] compiled for AVX-512.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn sample_avx512(
    w: &Window,
    channels: usize,
    max: bool,
    xs: &[f32],
    ys: &[f32],
    gs: &[f32],
    ds: &mut [f32],
) {
    sample_body(w, channels, max, xs, ys, gs, ds)
}

#[inline(always)]
fn sample_body(
    w: &Window,
    channels: usize,
    max: bool,
    xs: &[f32],
    ys: &[f32],
    gs: &[f32],
    ds: &mut [f32],
) {
    ds.fill(0.0);
    let mut cells = Vec::with_capacity(w.taps());
    let mut unspent: Vec<f32> = Vec::with_capacity(channels);
    for (row, (out, g)) in ys
        .chunks_exact(channels.max(1))
        .zip(gs.chunks_exact(channels.max(1)))
        .enumerate()
    {
        // The window's cells inside the input, in the forward pass's order.
        cells.clear();
        w.cells(row, |_, c| cells.push(c * channels));
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
pub(crate) fn global_backward(c: &GlobalPooling, p: &Step, g: Grad) {
    let Grad { x, y, dy, dx, .. } = g;
    let Some(dx) = dx else { return };
    let channels = p.input.last().max(1);
    let positions = elements(&p.input) / channels;
    let max = c.op == PoolOp::Max;
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

#[cfg(test)]
mod tests {
    use crate::layer::gradcheck::{check, ints, layer, train_backward, train_forward};
    use crate::layer::Kind;
    use crate::shape::Shape;
    use crate::value::Value;

    /// Both bodies of a sample's backward pass, on overlapping windows with ties, 'same'
    /// padding and a channel count past a vector: the same gradients bit for bit.
    #[test]
    fn both_bodies_give_the_same_gradients() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            use crate::layer::window::Window;
            use crate::layer::Padding;
            let channels = 19;
            let input = Shape::new(&[7, 6, channels]);
            let output = Shape::new(&[4, 3, channels]);
            let w = Window::new(2, &input, &output, [3; 3], [2; 3], [1; 3], Padding::Same);
            // Few distinct values, so that windows hold ties.
            let xs: Vec<f32> = (0..7 * 6 * channels)
                .map(|i| ((i * 7) % 5) as f32)
                .collect();
            let gs: Vec<f32> = (0..4 * 3 * channels)
                .map(|i| i as f32 * 0.25 - 3.0)
                .collect();
            for max in [true, false] {
                // The forward pass's outputs: each window's maximum or mean.
                let mut ys = vec![0.0; gs.len()];
                crate::layer::pooling::forward::pool_fastest(&w, channels, max, &xs, 0, &mut ys);
                let (mut a, mut b) = (vec![f32::NAN; xs.len()], vec![f32::NAN; xs.len()]);
                super::sample_body(&w, channels, max, &xs, &ys, &gs, &mut a);
                // SAFETY: the CPU has AVX-512F (checked above).
                unsafe { super::sample_avx512(&w, channels, max, &xs, &ys, &gs, &mut b) };
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "max {max}");
                assert!(a.iter().any(|&v| v != 0.0));
            }
        }
    }

    /// Ties (all zeros after a ReLU are common): each window's gradient goes to its first cell
    /// holding the maximum, as the forward pass picked it, even where windows overlap.
    #[test]
    fn max_pooling_gives_a_tie_to_the_first_cell() {
        let l = layer(
            Kind::MaxPooling2D,
            &[("pool_size", ints(&[2, 2])), ("strides", ints(&[1, 1]))],
        );
        let input = Shape::new(&[3, 3, 2]);
        // Channel 0 is flat; channel 1 has a single maximum at (1, 1), in every window.
        let mut x = [1.0f32; 18];
        x[(3 + 1) * 2 + 1] = 5.0;
        let (y, cache) = train_forward(&l, input, &[], &x, 1, 1);
        let dy = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
        let (dx, _) = train_backward(&l, input, &[], (&x, &y, &dy), 1, &cache);
        let channel = |c: usize| -> Vec<f32> { dx.iter().skip(c).step_by(2).copied().collect() };
        assert_eq!(channel(0), [1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(channel(1), [0.0, 0.0, 0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn pooling_every_kind() {
        let two = ints(&[2, 2]);
        check(
            layer(Kind::MaxPooling1D, &[("pool_size", Value::Int(2))]),
            &[7, 3],
            2,
        );
        check(
            layer(Kind::MaxPooling2D, &[("pool_size", two)]),
            &[5, 4, 3],
            2,
        );
        check(
            layer(
                Kind::MaxPooling2D,
                &[
                    ("pool_size", ints(&[3, 3])),
                    ("strides", ints(&[2, 2])),
                    ("padding", Value::Str("same")),
                ],
            ),
            &[5, 6, 2],
            2,
        );
        check(
            layer(Kind::MaxPooling3D, &[("pool_size", ints(&[2, 2, 2]))]),
            &[4, 4, 3, 2],
            1,
        );
        check(
            layer(
                Kind::AveragePooling1D,
                &[("pool_size", Value::Int(3)), ("strides", Value::Int(1))],
            ),
            &[6, 2],
            2,
        );
        check(
            layer(
                Kind::AveragePooling2D,
                &[
                    ("pool_size", ints(&[3, 3])),
                    ("strides", ints(&[2, 2])),
                    ("padding", Value::Str("same")),
                ],
            ),
            &[5, 5, 2],
            2,
        );
        check(
            layer(Kind::AveragePooling3D, &[("pool_size", ints(&[2, 2, 2]))]),
            &[4, 2, 4, 2],
            1,
        );
        for kind in [Kind::GlobalMaxPooling1D, Kind::GlobalAveragePooling1D] {
            check(layer(kind, &[]), &[5, 3], 2);
        }
        for kind in [Kind::GlobalMaxPooling2D, Kind::GlobalAveragePooling2D] {
            check(layer(kind, &[]), &[3, 4, 3], 2);
            check(
                layer(kind, &[("keepdims", Value::Bool(true))]),
                &[3, 4, 3],
                2,
            );
        }
        for kind in [Kind::GlobalMaxPooling3D, Kind::GlobalAveragePooling3D] {
            check(layer(kind, &[]), &[2, 3, 2, 3], 2);
        }
    }
}
