//! Gradient checks: for every layer kind, the backward pass against central finite
//! differences of the training forward pass, with respect to the input and to every
//! trainable weight, on a small random case.
//!
//! The objective is `L = Σ r·y` for fixed random `r`, so `dL/dy = r`. The forward pass is
//! in `f32` and `L` is summed in `f64`; the step is 1e-3 (a larger one would cross the kinks
//! of `relu` and max-pooling more often than the rounding error of a smaller one matters).
//! Noise layers are checked with the same noise on every evaluation (a fresh generator with
//! the same seed).

use super::{backward, forward, grad_sizes, Cache, Pass};
use crate::layer::{test_layer as layer, Kind, Layer};
use crate::runtime::{eval_output, init_model, Rng, Tensor};
use crate::shape::Shape;
use crate::value::Value;

const H: f32 = 1e-3;

/// Uniform in `[-1, 1)`.
fn uniform(rng: &mut Rng) -> f32 {
    ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

fn ints(v: &[i64]) -> Value<'static> {
    let items: Vec<Value<'static>> = v.iter().map(|&i| Value::Int(i)).collect();
    Value::Tuple(Box::leak(items.into_boxed_slice()))
}

/// `Σ r·y` of the training forward pass (the same noise on every call).
fn objective(l: &Layer, input: Shape, w: &[Tensor], x: &[f32], batch: usize, r: &[f32]) -> f64 {
    let output = eval_output(l, &input).unwrap();
    let p = Pass {
        layer: l,
        input,
        output,
        batch,
        weights: w,
    };
    let mut y = vec![0.0; batch * output.dims().iter().product::<usize>()];
    forward(
        &p,
        x,
        &mut y,
        &mut Cache::default(),
        &mut Rng(7),
        &mut Vec::new(),
    )
    .unwrap();
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
fn check_with(l: Layer, dims: &[usize], batch: usize, ids: Option<usize>) {
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

    let p = Pass {
        layer: &l,
        input,
        output,
        batch,
        weights: &weights,
    };
    let mut y = vec![0.0; n_out];
    let mut cache = Cache::default();
    let mut scratch = Vec::new();
    forward(&p, &x, &mut y, &mut cache, &mut Rng(7), &mut scratch).unwrap();
    let mut dx = vec![0.0; n_in];
    let mut grads: Vec<Vec<f32>> = trainable.iter().map(|&n| vec![0.0; n]).collect();
    backward(
        &p,
        &x,
        &y,
        &r,
        Some(&mut dx),
        &mut grads,
        &cache,
        false,
        &mut scratch,
    )
    .unwrap();

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

fn check(l: Layer, dims: &[usize], batch: usize) {
    check_with(l, dims, batch, None);
}

#[test]
fn dense_every_activation_any_rank() {
    for a in crate::layer::Activation::ALL {
        let l = layer(
            Kind::Dense,
            &[
                ("units", Value::Int(4)),
                ("activation", Value::Str(a.name())),
            ],
        );
        check(l, &[5], 3);
    }
    let l = layer(
        Kind::Dense,
        &[("units", Value::Int(3)), ("use_bias", Value::Bool(false))],
    );
    check(l, &[2, 3, 4], 2);
}

#[test]
fn activation_layer_every_activation() {
    for a in crate::layer::Activation::ALL {
        check(
            layer(Kind::Activation, &[("activation", Value::Str(a.name()))]),
            &[3, 4],
            2,
        );
    }
}

#[test]
fn flatten_reshape_permute_repeat_vector() {
    check(Layer::FLATTEN, &[2, 3, 2], 2);
    check(
        layer(Kind::Reshape, &[("target_shape", ints(&[3, 4]))]),
        &[2, 6],
        2,
    );
    check(
        layer(Kind::Permute, &[("dims", ints(&[3, 1, 2]))]),
        &[2, 3, 4],
        2,
    );
    check(layer(Kind::RepeatVector, &[("n", Value::Int(3))]), &[4], 2);
}

#[test]
fn dropout_family_and_gaussian_noise() {
    check(
        layer(Kind::Dropout, &[("rate", Value::Float(0.4))]),
        &[4, 5],
        3,
    );
    check(
        layer(Kind::SpatialDropout1D, &[("rate", Value::Float(0.5))]),
        &[4, 6],
        3,
    );
    check(
        layer(Kind::SpatialDropout2D, &[("rate", Value::Float(0.5))]),
        &[3, 3, 6],
        2,
    );
    check(
        layer(Kind::SpatialDropout3D, &[("rate", Value::Float(0.5))]),
        &[2, 2, 2, 6],
        2,
    );
    check(
        layer(Kind::GaussianNoise, &[("stddev", Value::Float(0.3))]),
        &[4, 5],
        2,
    );
}

#[test]
fn dropout_keeps_one_minus_rate_scaled_by_its_inverse() {
    let l = layer(Kind::Dropout, &[("rate", Value::Float(0.25))]);
    let input = Shape::new(&[10_000]);
    let p = Pass {
        layer: &l,
        input,
        output: input,
        batch: 1,
        weights: &[],
    };
    let x = vec![1.0; 10_000];
    let mut y = vec![0.0; 10_000];
    let mut cache = Cache::default();
    forward(&p, &x, &mut y, &mut cache, &mut Rng(1), &mut Vec::new()).unwrap();
    let kept = y.iter().filter(|&&v| v != 0.0).count();
    assert!((7300..7700).contains(&kept), "{kept} of 10000 kept");
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
    // The same seed, the same mask.
    let mut again = vec![0.0; 10_000];
    forward(
        &p,
        &x,
        &mut again,
        &mut Cache::default(),
        &mut Rng(1),
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(y, again);
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
    let p = Pass {
        layer: &l,
        input,
        output: eval_output(&l, &input).unwrap(),
        batch: 1,
        weights: &[],
    };
    let (mut y, mut cache) = ([0.0; 8], Cache::default());
    forward(&p, &x, &mut y, &mut cache, &mut Rng(1), &mut Vec::new()).unwrap();
    let dy = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 4.0, 40.0];
    let mut dx = [0.0; 18];
    let scratch = &mut Vec::new();
    backward(
        &p,
        &x,
        &y,
        &dy,
        Some(&mut dx),
        &mut [],
        &cache,
        false,
        scratch,
    )
    .unwrap();
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

#[test]
fn padding_cropping_upsampling() {
    check(
        layer(Kind::ZeroPadding1D, &[("padding", ints(&[1, 2]))]),
        &[4, 2],
        2,
    );
    check(
        layer(Kind::ZeroPadding2D, &[("padding", ints(&[1, 2]))]),
        &[3, 3, 2],
        2,
    );
    check(
        layer(Kind::ZeroPadding3D, &[("padding", Value::Int(1))]),
        &[2, 2, 2, 2],
        1,
    );
    check(
        layer(Kind::Cropping1D, &[("cropping", ints(&[1, 2]))]),
        &[6, 2],
        2,
    );
    check(
        layer(Kind::Cropping2D, &[("cropping", ints(&[1, 1]))]),
        &[4, 5, 2],
        2,
    );
    check(
        layer(Kind::Cropping3D, &[("cropping", Value::Int(1))]),
        &[3, 4, 3, 2],
        1,
    );
    check(
        layer(Kind::UpSampling1D, &[("size", Value::Int(3))]),
        &[3, 2],
        2,
    );
    check(
        layer(Kind::UpSampling2D, &[("size", ints(&[2, 3]))]),
        &[2, 3, 2],
        2,
    );
    check(
        layer(Kind::UpSampling3D, &[("size", Value::Int(2))]),
        &[2, 2, 2, 2],
        1,
    );
}

#[test]
fn upsampling2d_bilinear() {
    check(
        layer(
            Kind::UpSampling2D,
            &[
                ("size", ints(&[3, 2])),
                ("interpolation", Value::Str("bilinear")),
            ],
        ),
        &[2, 4, 3],
        2,
    );
    check(
        layer(
            Kind::UpSampling2D,
            &[
                ("size", ints(&[2, 2])),
                ("interpolation", Value::Str("bilinear")),
            ],
        ),
        &[3, 3, 2],
        2,
    );
}

#[test]
fn batch_and_layer_normalization() {
    check(layer(Kind::BatchNormalization, &[]), &[3, 4], 3);
    check(
        layer(
            Kind::BatchNormalization,
            &[
                ("center", Value::Bool(false)),
                ("scale", Value::Bool(false)),
            ],
        ),
        &[5],
        4,
    );
    check(layer(Kind::LayerNormalization, &[]), &[3, 5], 2);
    check(
        layer(Kind::LayerNormalization, &[("center", Value::Bool(false))]),
        &[6],
        3,
    );
}

#[test]
fn batch_normalization_moves_its_statistics() {
    let l = layer(Kind::BatchNormalization, &[("momentum", Value::Float(0.9))]);
    let input = Shape::new(&[2]);
    let mut w = init_model(&[l], input, 1).unwrap().remove(0).tensors;
    let x = [1.0, 10.0, 3.0, 20.0];
    let p = Pass {
        layer: &l,
        input,
        output: input,
        batch: 2,
        weights: &w,
    };
    let mut y = [0.0; 4];
    let mut cache = Cache::default();
    forward(&p, &x, &mut y, &mut cache, &mut Rng(1), &mut Vec::new()).unwrap();
    // Normalized with the batch's statistics: means 2 and 15, population variances 1, 25.
    let want = [-1.0 / 1.001f32.sqrt(), -5.0 / 25.001f32.sqrt()];
    assert!(
        (y[0] - want[0]).abs() < 1e-6 && (y[1] - want[1]).abs() < 1e-6,
        "{y:?}"
    );
    super::update_statistics(&l, &mut w, &cache);
    // moving = moving·0.9 + batch·0.1, from means 0 and variances 1.
    let close = |a: &[f32], b: [f32; 2]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-6);
    assert!(close(&w[2].data, [0.2, 1.5]), "{:?}", w[2].data);
    assert!(close(&w[3].data, [1.0, 3.4]), "{:?}", w[3].data);
}

#[test]
fn embedding() {
    let l = layer(
        Kind::Embedding,
        &[("input_dim", Value::Int(7)), ("output_dim", Value::Int(3))],
    );
    check_with(l, &[5], 2, Some(7));
}

#[test]
fn activation_layers() {
    check(layer(Kind::ReLU, &[]), &[4, 3], 2);
    check(
        layer(
            Kind::ReLU,
            &[
                ("max_value", Value::Float(0.5)),
                ("negative_slope", Value::Float(0.1)),
                ("threshold", Value::Float(0.2)),
            ],
        ),
        &[4, 3],
        2,
    );
    check(
        layer(Kind::LeakyReLU, &[("negative_slope", Value::Float(0.2))]),
        &[6],
        3,
    );
    check(layer(Kind::ELU, &[("alpha", Value::Float(0.7))]), &[6], 3);
    check(layer(Kind::Softmax, &[]), &[2, 5], 2);
    check(layer(Kind::PReLU, &[]), &[3, 4], 2);
    check(
        layer(Kind::PReLU, &[("shared_axes", ints(&[1]))]),
        &[3, 4],
        2,
    );
}

#[test]
fn time_distributed_dense() {
    static INNER: Layer = Layer {
        kind: Kind::Dense,
        config: crate::layer::Config::Dense(crate::layer::Dense {
            units: 3,
            activation: crate::layer::Activation::Tanh,
            use_bias: true,
        }),
    };
    check(
        layer(Kind::TimeDistributed, &[("layer", Value::Layer(&INNER))]),
        &[4, 5],
        2,
    );
}

fn conv(
    kind: Kind,
    filters: i64,
    kernel: Value<'static>,
    extra: &[(&'static str, Value<'static>)],
) -> Layer {
    let mut args = vec![("filters", Value::Int(filters)), ("kernel_size", kernel)];
    args.extend_from_slice(extra);
    layer(kind, &args)
}

#[test]
fn conv1d_2d_3d_groups_dilation_padding() {
    let same = ("padding", Value::Str("same"));
    check(conv(Kind::Conv1D, 3, Value::Int(3), &[]), &[7, 2], 2);
    check(
        conv(
            Kind::Conv1D,
            2,
            Value::Int(2),
            &[
                ("padding", Value::Str("causal")),
                ("dilation_rate", Value::Int(2)),
            ],
        ),
        &[6, 3],
        2,
    );
    check(
        conv(
            Kind::Conv1D,
            4,
            Value::Int(3),
            &[
                ("strides", Value::Int(2)),
                same,
                ("activation", Value::Str("gelu")),
            ],
        ),
        &[7, 2],
        2,
    );
    check(
        conv(
            Kind::Conv2D,
            3,
            ints(&[3, 2]),
            &[("activation", Value::Str("relu"))],
        ),
        &[5, 4, 2],
        2,
    );
    check(
        conv(
            Kind::Conv2D,
            4,
            ints(&[3, 3]),
            &[same, ("strides", ints(&[2, 2])), ("groups", Value::Int(2))],
        ),
        &[5, 6, 4],
        2,
    );
    check(
        conv(
            Kind::Conv2D,
            2,
            ints(&[2, 2]),
            &[
                ("dilation_rate", ints(&[2, 2])),
                ("use_bias", Value::Bool(false)),
            ],
        ),
        &[5, 5, 3],
        2,
    );
    check(
        conv(
            Kind::Conv2D,
            3,
            ints(&[1, 1]),
            &[("activation", Value::Str("tanh"))],
        ),
        &[3, 3, 2],
        2,
    );
    check(
        conv(Kind::Conv3D, 2, ints(&[2, 2, 2]), &[same]),
        &[3, 3, 3, 2],
        2,
    );
}

#[test]
fn conv2d_across_threads_and_blocks() {
    // Big enough to be split over the cores and into several blocks of columns.
    check(
        conv(
            Kind::Conv2D,
            16,
            ints(&[3, 3]),
            &[("activation", Value::Str("tanh"))],
        ),
        &[30, 30, 8],
        8,
    );
}

#[test]
fn conv_transpose() {
    let same = ("padding", Value::Str("same"));
    check(
        conv(Kind::Conv2DTranspose, 2, ints(&[3, 3]), &[]),
        &[3, 3, 2],
        2,
    );
    check(
        conv(
            Kind::Conv2DTranspose,
            3,
            ints(&[3, 2]),
            &[
                ("strides", ints(&[2, 2])),
                same,
                ("activation", Value::Str("tanh")),
            ],
        ),
        &[3, 4, 2],
        2,
    );
    check(
        conv(
            Kind::Conv1DTranspose,
            3,
            Value::Int(3),
            &[("strides", Value::Int(2)), ("use_bias", Value::Bool(false))],
        ),
        &[4, 2],
        2,
    );
    check(
        conv(Kind::Conv1DTranspose, 2, Value::Int(2), &[same]),
        &[5, 3],
        2,
    );
    check(
        conv(
            Kind::Conv3DTranspose,
            2,
            ints(&[2, 2, 2]),
            &[("strides", ints(&[2, 1, 2]))],
        ),
        &[2, 2, 2, 2],
        1,
    );
}

#[test]
fn separable_conv() {
    check(
        conv(Kind::SeparableConv2D, 2, ints(&[3, 3]), &[]),
        &[4, 4, 2],
        2,
    );
    check(
        conv(
            Kind::SeparableConv2D,
            3,
            ints(&[3, 2]),
            &[
                ("depth_multiplier", Value::Int(2)),
                ("strides", ints(&[2, 2])),
                ("padding", Value::Str("same")),
                ("activation", Value::Str("gelu")),
            ],
        ),
        &[5, 4, 2],
        2,
    );
    check(
        conv(
            Kind::SeparableConv1D,
            3,
            Value::Int(3),
            &[
                ("depth_multiplier", Value::Int(2)),
                ("use_bias", Value::Bool(false)),
            ],
        ),
        &[6, 2],
        2,
    );
}

#[test]
fn depthwise_conv() {
    check(
        layer(Kind::DepthwiseConv2D, &[("kernel_size", ints(&[3, 3]))]),
        &[4, 4, 2],
        2,
    );
    check(
        layer(
            Kind::DepthwiseConv2D,
            &[
                ("kernel_size", ints(&[2, 3])),
                ("depth_multiplier", Value::Int(3)),
                ("strides", ints(&[2, 1])),
                ("padding", Value::Str("same")),
                ("activation", Value::Str("relu")),
            ],
        ),
        &[5, 4, 2],
        2,
    );
    check(
        layer(
            Kind::DepthwiseConv1D,
            &[
                ("kernel_size", Value::Int(3)),
                ("depth_multiplier", Value::Int(2)),
                ("dilation_rate", Value::Int(2)),
                ("use_bias", Value::Bool(false)),
            ],
        ),
        &[7, 3],
        2,
    );
}

/// A recurrent layer of `cell` with 3 units and these options.
fn rnn(cell: Kind, extra: &[(&'static str, Value<'static>)]) -> Layer {
    let mut args = vec![("units", Value::Int(3))];
    args.extend_from_slice(extra);
    layer(cell, &args)
}

/// Every cell, both GRU forms, with and without `return_sequences` and `go_backwards`.
fn recurrent_variants() -> Vec<Layer> {
    let mut all = Vec::new();
    for (cell, reset_after) in [
        (Kind::SimpleRNN, true),
        (Kind::LSTM, true),
        (Kind::GRU, true),
        (Kind::GRU, false),
    ] {
        for seq in [false, true] {
            for back in [false, true] {
                let mut extra = vec![
                    ("return_sequences", Value::Bool(seq)),
                    ("go_backwards", Value::Bool(back)),
                ];
                if cell == Kind::GRU {
                    extra.push(("reset_after", Value::Bool(reset_after)));
                }
                all.push(rnn(cell, &extra));
            }
        }
    }
    all
}

#[test]
fn recurrent_through_time() {
    for l in recurrent_variants() {
        check(l, &[4, 2], 2);
    }
    // Without biases, and other activations.
    for cell in [Kind::SimpleRNN, Kind::LSTM, Kind::GRU] {
        check(rnn(cell, &[("use_bias", Value::Bool(false))]), &[3, 2], 2);
    }
    check(
        rnn(
            Kind::LSTM,
            &[
                ("activation", Value::Str("softsign")),
                ("recurrent_activation", Value::Str("hard_sigmoid")),
                ("return_sequences", Value::Bool(true)),
            ],
        ),
        &[5, 3],
        2,
    );
    check(
        rnn(Kind::SimpleRNN, &[("activation", Value::Str("relu"))]),
        &[5, 2],
        3,
    );
}

/// The activations whose derivative needs their input (the trace then keeps the gates'
/// pre-activations) and softmax and log-softmax over the units, in every cell, as
/// `activation` and as `recurrent_activation`.
#[test]
fn recurrent_activations_of_the_input_or_the_whole_row() {
    for a in [
        "gelu",
        "silu",
        "hard_silu",
        "mish",
        "softmax",
        "log_softmax",
    ] {
        for (cell, reset_after) in [
            (Kind::SimpleRNN, true),
            (Kind::LSTM, true),
            (Kind::GRU, true),
            (Kind::GRU, false),
        ] {
            let mut extra = vec![
                ("activation", Value::Str(a)),
                ("return_sequences", Value::Bool(true)),
            ];
            if cell == Kind::GRU {
                extra.push(("reset_after", Value::Bool(reset_after)));
            }
            check(rnn(cell, &extra), &[4, 2], 2);
            if cell != Kind::SimpleRNN {
                // Three steps: a gate outside [0, 1] (log-softmax) makes a GRU's state grow
                // from step to step, and the rounding of the finite differences with it.
                extra[0] = ("recurrent_activation", Value::Str(a));
                check(rnn(cell, &extra), &[3, 2], 2);
            }
        }
    }
    for (cell, act, gate) in [
        (Kind::LSTM, "softmax", "silu"),
        (Kind::GRU, "gelu", "log_softmax"),
    ] {
        let inner = rnn(
            cell,
            &[
                ("activation", Value::Str(act)),
                ("recurrent_activation", Value::Str(gate)),
                ("return_sequences", Value::Bool(true)),
                ("go_backwards", Value::Bool(cell == Kind::GRU)),
            ],
        );
        let inner: &'static Layer = Box::leak(Box::new(inner));
        check(
            layer(
                Kind::Bidirectional,
                &[
                    ("layer", Value::Layer(inner)),
                    ("merge_mode", Value::Str("mul")),
                ],
            ),
            &[3, 2],
            2,
        );
    }
}

#[test]
fn bidirectional() {
    for (i, inner) in recurrent_variants().into_iter().enumerate() {
        let inner: &'static Layer = Box::leak(Box::new(inner));
        // Every merge mode with every combination of `return_sequences` and `go_backwards`.
        let mode = ["concat", "sum", "mul", "ave"][(i + i / 4) % 4];
        check(
            layer(
                Kind::Bidirectional,
                &[
                    ("layer", Value::Layer(inner)),
                    ("merge_mode", Value::Str(mode)),
                ],
            ),
            &[4, 2],
            2,
        );
    }
}
