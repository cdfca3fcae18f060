//! The AVX2 + FMA tile: [`PIXELS`] positions × [`LANES`] filters in twelve `ymm`
//! accumulators (machines without AVX-512, such as Zen 3).

/// Output positions per tile.
pub(super) const PIXELS: usize = 6;
/// Filters per tile (two 8-lane vectors).
pub(super) const LANES: usize = 16;

/// Whether the running CPU has the instructions [`tile`] is compiled for.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// One tile (see [`super::TileFn`] for the contract).
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `base[i] + tap + (run - 1) · x_stride <
/// x.len()` for every base and tap.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile(t: &super::Tile, y: &mut [f32]) {
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
    let rows = taps.len() * run;
    assert!(
        rows > 0
            && panel.len() >= (rows - 1) * panel_stride + LANES
            && count <= PIXELS
            && valid <= LANES
    );
    assert!(base.len() >= PIXELS && init.len() >= LANES);
    assert!(affine.is_none_or(|a| a.scale.len() >= LANES && a.shift.len() >= LANES));
    assert!(count > 0 && y.len() >= (count - 1) * stride + valid);
    // Each position's starting values: the bias, or what earlier parts of the depth left
    // in `y` (a partial tile's extra positions repeat its last one).
    let mut start = [[
        _mm256_loadu_ps(init.as_ptr()),
        _mm256_loadu_ps(init.as_ptr().add(8)),
    ]; PIXELS];
    if accumulate {
        for (i, pair) in start.iter_mut().enumerate() {
            let row = i.min(count - 1) * stride;
            if valid == LANES {
                let o = y.as_ptr().add(row);
                *pair = [_mm256_loadu_ps(o), _mm256_loadu_ps(o.add(8))];
            } else {
                let mut v = [0f32; LANES];
                v[..valid].copy_from_slice(&y[row..row + valid]);
                *pair = [
                    _mm256_loadu_ps(v.as_ptr()),
                    _mm256_loadu_ps(v.as_ptr().add(8)),
                ];
            }
        }
    }
    let [[mut a00, mut a01], [mut a10, mut a11], [mut a20, mut a21], [mut a30, mut a31], [mut a40, mut a41], [mut a50, mut a51]] =
        start;
    let xp = x.as_ptr();
    let mut wp = panel.as_ptr();
    for &tap in taps {
        let p0 = xp.add(base[0] + tap);
        let p1 = xp.add(base[1] + tap);
        let p2 = xp.add(base[2] + tap);
        let p3 = xp.add(base[3] + tap);
        let p4 = xp.add(base[4] + tap);
        let p5 = xp.add(base[5] + tap);
        for c in 0..run {
            let at = c * x_stride;
            let w0 = _mm256_loadu_ps(wp);
            let w1 = _mm256_loadu_ps(wp.add(8));
            wp = wp.add(panel_stride);
            let v = _mm256_broadcast_ss(&*p0.add(at));
            a00 = _mm256_fmadd_ps(v, w0, a00);
            a01 = _mm256_fmadd_ps(v, w1, a01);
            let v = _mm256_broadcast_ss(&*p1.add(at));
            a10 = _mm256_fmadd_ps(v, w0, a10);
            a11 = _mm256_fmadd_ps(v, w1, a11);
            let v = _mm256_broadcast_ss(&*p2.add(at));
            a20 = _mm256_fmadd_ps(v, w0, a20);
            a21 = _mm256_fmadd_ps(v, w1, a21);
            let v = _mm256_broadcast_ss(&*p3.add(at));
            a30 = _mm256_fmadd_ps(v, w0, a30);
            a31 = _mm256_fmadd_ps(v, w1, a31);
            let v = _mm256_broadcast_ss(&*p4.add(at));
            a40 = _mm256_fmadd_ps(v, w0, a40);
            a41 = _mm256_fmadd_ps(v, w1, a41);
            let v = _mm256_broadcast_ss(&*p5.add(at));
            a50 = _mm256_fmadd_ps(v, w0, a50);
            a51 = _mm256_fmadd_ps(v, w1, a51);
        }
    }
    let mut acc = [
        [a00, a01],
        [a10, a11],
        [a20, a21],
        [a30, a31],
        [a40, a41],
        [a50, a51],
    ];
    // Plain loops, no closures: a closure would not inherit this function's features.
    if let Some(a) = affine {
        for h in 0..2 {
            let s = _mm256_loadu_ps(a.scale.as_ptr().add(8 * h));
            let t = _mm256_loadu_ps(a.shift.as_ptr().add(8 * h));
            for pair in acc.iter_mut() {
                // Multiplied, then added: the normalization's own pass rounds twice.
                pair[h] = _mm256_add_ps(_mm256_mul_ps(pair[h], s), t);
            }
        }
    }
    if relu {
        let zero = _mm256_setzero_ps();
        let top = _mm256_set1_ps(max);
        for pair in acc.iter_mut() {
            for v in pair.iter_mut() {
                // `maxps` and `minps` return their second operand when either is NaN: NaN
                // stays NaN, as in TensorFlow's relu.
                *v = _mm256_max_ps(zero, *v);
                if max < f32::INFINITY {
                    *v = _mm256_min_ps(top, *v);
                }
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
