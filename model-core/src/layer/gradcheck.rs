//! Gradient checks, for each family's `backward.rs` tests: a layer's backward pass against
//! central finite differences of its training forward pass, with respect to the input and
//! to every trainable weight, on a small random case.
//!
//! The objective is `L = Σ r·y` for fixed random `r`, so `dL/dy = r`. The forward pass is
//! in `f32` and `L` is summed in `f64`; the step is 1e-3 (a larger one would cross the kinks
//! of `relu` and max-pooling more often than the rounding error of a smaller one matters).
//! Noise layers are checked with the same noise on every evaluation (a fresh generator with
//! the same seed).

use crate::layer::ops::{Cache, Grad, Step, Train};
pub(crate) use crate::layer::test_layer as layer;
use crate::layer::Layer;
use crate::runtime::{eval_output, init_model, Rng, Tensor};
use crate::shape::Shape;
use crate::train::grad_sizes;
use crate::value::Value;

const H: f32 = 1e-3;

/// Uniform in `[-1, 1)`.
fn uniform(rng: &mut Rng) -> f32 {
    ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// A tuple of integers, as a layer argument.
pub(crate) fn ints(v: &[i64]) -> Value<'static> {
    let items: Vec<Value<'static>> = v.iter().map(|&i| Value::Int(i)).collect();
    Value::Tuple(Box::leak(items.into_boxed_slice()))
}

/// `l`'s training forward pass on `batch` samples `x`, its noise drawn from `Rng(seed)`:
/// the outputs and what the backward pass needs.
pub(crate) fn train_forward(
    l: &Layer,
    input: Shape,
    w: &[Tensor],
    x: &[f32],
    batch: usize,
    seed: u64,
) -> (Vec<f32>, Cache) {
    let output = eval_output(l, &input).unwrap();
    let s = Step {
        input,
        output,
        batch,
        weights: w,
    };
    let mut y = vec![0.0; batch * output.dims().iter().product::<usize>()];
    let mut cache = Cache::default();
    let t = Train {
        cache: &mut cache,
        rng: &mut Rng(seed),
        scratch: &mut Vec::new(),
    };
    l.config.ops().train_forward(&s, x, &mut y, t).unwrap();
    (y, cache)
}

/// `l`'s backward pass after [`train_forward`] gave `y` and `cache`: the input's gradient
/// and each trainable weight's.
pub(crate) fn train_backward(
    l: &Layer,
    input: Shape,
    w: &[Tensor],
    (x, y, dy): (&[f32], &[f32], &[f32]),
    batch: usize,
    cache: &Cache,
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let s = Step {
        input,
        output: eval_output(l, &input).unwrap(),
        batch,
        weights: w,
    };
    let mut dx = vec![0.0; x.len()];
    let mut grads: Vec<Vec<f32>> = grad_sizes(l, &input)
        .iter()
        .map(|&n| vec![0.0; n])
        .collect();
    let g = Grad {
        x,
        y,
        dy,
        dx: Some(&mut dx),
        grads: &mut grads,
        cache,
        linear_output: false,
        scratch: &mut Vec::new(),
    };
    l.config.ops().backward(&s, g).unwrap();
    (dx, grads)
}

/// `Σ r·y` of the training forward pass (the same noise on every call).
fn objective(l: &Layer, input: Shape, w: &[Tensor], x: &[f32], batch: usize, r: &[f32]) -> f64 {
    let (y, _) = train_forward(l, input, w, x, batch, 7);
    y.iter()
        .zip(r)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

fn assert_close(what: &str, analytic: f32, numeric: f64) {
    let (a, n) = (f64::from(analytic), numeric);
    let tol = 1e-3 + 3e-3 * a.abs().max(n.abs());
    assert!(
        (a - n).abs() <= tol,
        "{what}: backward {a} vs finite differences {n}"
    );
}

/// Up to 40 indices of `0..n`, spread over the range.
fn some(n: usize) -> Vec<usize> {
    if n <= 40 {
        (0..n).collect()
    } else {
        (0..40)
            .map(|i| i * n / 40 + (i * 7) % (n / 40).max(1))
            .collect()
    }
}

/// Checks `l` on `batch` random inputs of shape `dims`. `ids` gives integer inputs in
/// `0..ids` (embeddings), which get no input gradient.
pub(crate) fn check_with(l: Layer, dims: &[usize], batch: usize, ids: Option<usize>) {
    let input = Shape::new(dims);
    let output = eval_output(&l, &input).unwrap();
    let mut rng = Rng(12345);
    let mut weights = init_model(&[l], input, 3).unwrap().remove(0).tensors;
    let trainable = grad_sizes(&l, &input);
    for (t, &n) in weights.iter_mut().zip(&trainable) {
        if n > 0 {
            // Away from the initializers' zeros and ones, so that every term shows.
            t.data
                .iter_mut()
                .for_each(|v| *v += 0.3 * uniform(&mut rng));
        }
    }
    let n_in = batch * input.dims().iter().product::<usize>();
    let x: Vec<f32> = (0..n_in)
        .map(|_| match ids {
            Some(k) => (rng.next_u64() % k as u64) as f32,
            None => uniform(&mut rng),
        })
        .collect();
    let n_out = batch * output.dims().iter().product::<usize>();
    let r: Vec<f32> = (0..n_out).map(|_| uniform(&mut rng)).collect();

    let (y, cache) = train_forward(&l, input, &weights, &x, batch, 7);
    let (dx, grads) = train_backward(&l, input, &weights, (&x, &y, &r), batch, &cache);

    let name = format!("{:?} on {input}", l.kind);
    if ids.is_none() {
        for i in some(n_in) {
            let (mut plus, mut minus) = (x.clone(), x.clone());
            plus[i] += H;
            minus[i] -= H;
            let numeric = (objective(&l, input, &weights, &plus, batch, &r)
                - objective(&l, input, &weights, &minus, batch, &r))
                / f64::from(plus[i] - minus[i]);
            assert_close(&format!("{name}: d/dx[{i}]"), dx[i], numeric);
        }
    }
    for (j, &n) in trainable.iter().enumerate() {
        if n == 0 {
            continue;
        }
        assert_eq!(
            grads[j].len(),
            n,
            "{name}: gradient {j} has the weight's size"
        );
        for i in some(n) {
            let (mut plus, mut minus) = (weights.clone(), weights.clone());
            plus[j].data[i] += H;
            minus[j].data[i] -= H;
            let step = f64::from(plus[j].data[i] - minus[j].data[i]);
            let numeric = (objective(&l, input, &plus, &x, batch, &r)
                - objective(&l, input, &minus, &x, batch, &r))
                / step;
            assert_close(&format!("{name}: d/dweight{j}[{i}]"), grads[j][i], numeric);
        }
    }
}

/// [`check_with`] on real-valued inputs.
pub(crate) fn check(l: Layer, dims: &[usize], batch: usize) {
    check_with(l, dims, batch, None);
}
