//! The AVX-512 tiles: `P` positions × `V` 16-lane vectors of filters in `P · V` of the 32
//! `zmm` registers, the inputs broadcast straight from memory into the multiply-adds, and
//! partial blocks of filters stored through a lane mask.

/// Whether the running CPU has the instructions [`tile`] is compiled for.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// One tile of `P` positions × `16 · V` filters (see [`super::TileFn`] for the contract).
///
/// The accumulators are arrays indexed by constants in fully unrolled loops, which the
/// compiler keeps in registers.
///
/// # Safety
/// The CPU must support AVX-512F, and `base[i] + tap + (run - 1) · x_stride < x.len()` for
/// every base and tap.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tile<const P: usize, const V: usize>(t: &super::Tile, y: &mut [f32]) {
    use std::arch::x86_64::*;
    let super::Tile {
        x,
        base,
        taps,
        run,
        panel,
        panel_stride,
        init,
        accumulate,
        affine,
        relu,
        max,
        x_stride,
        stride,
        count,
        valid,
    } = *t;
    let lanes = 16 * V;
    let rows = taps.len() * run;
    assert!(
        rows > 0
            && panel.len() >= (rows - 1) * panel_stride + lanes
            && count <= P
            && valid <= lanes
    );
    assert!(base.len() >= P && init.len() >= lanes);
    assert!(affine.is_none_or(|a| a.scale.len() >= lanes && a.shift.len() >= lanes));
    assert!(count > 0 && y.len() >= (count - 1) * stride + valid);
    // The lanes of each vector that hold one of the `valid` filters.
    let mut masks = [0u16; V];
    for (j, m) in masks.iter_mut().enumerate() {
        let n = valid.saturating_sub(16 * j).min(16);
        *m = ((1u32 << n) - 1) as u16;
    }
    let mut acc = [[_mm512_setzero_ps(); V]; P];
    if accumulate {
        // A partial tile's extra positions repeat its last one, whose outputs exist.
        for (i, row) in acc.iter_mut().enumerate() {
            let o = y.as_ptr().add(i.min(count - 1) * stride);
            for j in 0..V {
                // Lanes outside the mask are not read.
                row[j] = _mm512_maskz_loadu_ps(masks[j], o.add(16 * j));
            }
        }
    } else {
        for j in 0..V {
            let b = _mm512_loadu_ps(init.as_ptr().add(16 * j));
            for row in acc.iter_mut() {
                row[j] = b;
            }
        }
    }
    let xp = x.as_ptr();
    let mut wp = panel.as_ptr();
    let mut p = [xp; P];
    for &tap in taps {
        for i in 0..P {
            p[i] = xp.add(base[i] + tap);
        }
        for c in 0..run {
            let at = c * x_stride;
            let mut w = [_mm512_setzero_ps(); V];
            for (j, w) in w.iter_mut().enumerate() {
                *w = _mm512_loadu_ps(wp.add(16 * j));
            }
            wp = wp.add(panel_stride);
            for i in 0..P {
                let v = _mm512_set1_ps(*p[i].add(at));
                for j in 0..V {
                    acc[i][j] = _mm512_fmadd_ps(v, w[j], acc[i][j]);
                }
            }
        }
    }
    if let Some(a) = affine {
        for j in 0..V {
            let s = _mm512_loadu_ps(a.scale.as_ptr().add(16 * j));
            let t = _mm512_loadu_ps(a.shift.as_ptr().add(16 * j));
            for row in acc.iter_mut() {
                // Multiplied, then added: the normalization's own pass rounds twice.
                row[j] = _mm512_add_ps(_mm512_mul_ps(row[j], s), t);
            }
        }
    }
    if relu {
        let zero = _mm512_setzero_ps();
        let top = _mm512_set1_ps(max);
        for row in acc.iter_mut() {
            for v in row.iter_mut() {
                // `vmaxps` and `vminps` return their second operand when either is NaN:
                // NaN stays NaN, as in TensorFlow's relu.
                *v = _mm512_max_ps(zero, *v);
                if max < f32::INFINITY {
                    *v = _mm512_min_ps(top, *v);
                }
            }
        }
    }
    let out = y.as_mut_ptr();
    for (i, row) in acc.iter().enumerate().take(count) {
        let o = out.add(i * stride);
        for j in 0..V {
            if masks[j] == u16::MAX {
                _mm512_storeu_ps(o.add(16 * j), row[j]);
            } else {
                // Lanes outside the mask are neither written nor read.
                _mm512_mask_storeu_ps(o.add(16 * j), masks[j], row[j]);
            }
        }
    }
}
