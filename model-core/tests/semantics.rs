//! Keras's layer semantics, one rule at a time, on the evaluator that the macro, generated
//! `const` code and the corpus harness share.
//!
//! Every expected figure is worked out by hand from Keras's rules (`keras/src/layers/`,
//! `keras/src/ops/operation_utils.py`); the comment beside it shows the arithmetic.

use model_core::layer::MergeMode;
use model_core::value::ValueProblem;
use model_core::{
    build, eval_into, expect_model, Arg, ArgError, Config, EvalError, Kind, Layer, LayerEval,
    LayerInfo, ModelError, Problem, RankReq, Shape, Value, UNKNOWN,
};
use static_assertions::const_assert_eq;

// ---------------------------------------------------------------------------------------
// Helpers: arguments as a user writes them, and the evaluator's answers.

/// A positional argument.
fn p(value: Value<'static>) -> Arg<'static> {
    Arg { name: None, value }
}

/// A keyword argument.
fn k(name: &'static str, value: Value<'static>) -> Arg<'static> {
    Arg {
        name: Some(name),
        value,
    }
}

fn int(i: i64) -> Value<'static> {
    Value::Int(i)
}

fn word(s: &'static str) -> Value<'static> {
    Value::Str(s)
}

/// A tuple value; leaked, as the macro's arena and the JSON reader do.
fn tuple(items: &[Value<'static>]) -> Value<'static> {
    Value::Tuple(Box::leak(items.to_vec().into_boxed_slice()))
}

fn ints(items: &[i64]) -> Value<'static> {
    tuple(&items.iter().map(|&i| Value::Int(i)).collect::<Vec<_>>())
}

/// Builds a layer, failing the test with the user's message if the arguments are refused.
fn layer(kind: Kind, args: &[Arg<'static>]) -> Layer {
    build(kind, args)
        .unwrap_or_else(|e| panic!("{kind:?} refused its arguments: {}", e.describe(kind, args)))
}

/// A nested layer argument (`Bidirectional(LSTM(…))`).
fn nested(kind: Kind, args: &[Arg<'static>]) -> Value<'static> {
    Value::Layer(Box::leak(Box::new(layer(kind, args))))
}

/// Why the arguments are refused.
fn arg_error(kind: Kind, args: &[Arg<'static>]) -> ArgError {
    match build(kind, args) {
        Ok(l) => panic!("{kind:?} accepted arguments it should refuse: {l:?}"),
        Err(e) => e,
    }
}

fn eval(kind: Kind, args: &[Arg<'static>], input: &[usize]) -> LayerEval {
    let l = layer(kind, args);
    l.eval(&Shape::new(input))
        .unwrap_or_else(|e| panic!("{kind:?} on {input:?}: {e}"))
}

/// The output shape.
fn out(kind: Kind, args: &[Arg<'static>], input: &[usize]) -> Vec<usize> {
    eval(kind, args, input).output.dims().to_vec()
}

/// Trainable parameters.
fn params(kind: Kind, args: &[Arg<'static>], input: &[usize]) -> usize {
    let e = eval(kind, args, input);
    assert_eq!(e.non_trainable, 0, "{kind:?} has non-trainable weights");
    e.trainable
}

fn eval_error(kind: Kind, args: &[Arg<'static>], input: &[usize]) -> EvalError {
    let l = layer(kind, args);
    match l.eval(&Shape::new(input)) {
        Ok(e) => panic!("{kind:?} on {input:?} should fail, got {e:?}"),
        Err(e) => {
            assert_eq!(e.kind, kind, "the error names the layer at fault");
            e
        }
    }
}

// ---------------------------------------------------------------------------------------
// Dense and Softmax act on the last axis, whatever the rank.

#[test]
fn dense_acts_on_the_last_axis_of_any_rank() {
    // (784,) → (10,): 784·10 + 10.
    let e = eval(Kind::Dense, &[p(int(10))], &[784]);
    assert_eq!(e.output.dims(), &[10]);
    assert_eq!((e.trainable, e.non_trainable), (7850, 0));

    // (5, 16) → (5, 8): the kernel is 16×8 whatever the leading axes; 128 + 8.
    assert_eq!(out(Kind::Dense, &[p(int(8))], &[5, 16]), [5, 8]);
    assert_eq!(params(Kind::Dense, &[p(int(8))], &[5, 16]), 136);
    assert_eq!(
        params(
            Kind::Dense,
            &[p(int(8)), k("use_bias", Value::Bool(false))],
            &[5, 16]
        ),
        128
    );

    // (2, 3, 7) → (2, 3, 4): 7·4 + 4.
    let args = [p(int(4)), k("activation", word("relu"))];
    assert_eq!(out(Kind::Dense, &args, &[2, 3, 7]), [2, 3, 4]);
    assert_eq!(params(Kind::Dense, &args, &[2, 3, 7]), 32);
}

#[test]
fn dense_needs_at_least_one_axis() {
    let e = eval_error(Kind::Dense, &[p(int(3))], &[]);
    assert_eq!(
        e.problem,
        Problem::Rank {
            expected: RankReq::AtLeast(1),
            found: Shape::SCALAR
        }
    );
}

#[test]
fn softmax_keeps_the_shape_of_any_rank() {
    for input in [&[5][..], &[3, 5], &[2, 3, 5]] {
        let e = eval(Kind::Softmax, &[], input);
        assert_eq!(e.output.dims(), input);
        assert_eq!(e.params(), 0);
        assert_eq!(out(Kind::Softmax, &[k("axis", int(-1))], input), input);
    }
}

// ---------------------------------------------------------------------------------------
// Convolution: `valid` / `same` / `causal`, strides, dilation, groups.

#[test]
fn conv2d_valid_and_same_with_strides() {
    // valid: 28 - 3 + 1 = 26; 3·3·1·8 + 8 = 80.
    let e = eval(Kind::Conv2D, &[p(int(8)), p(int(3))], &[28, 28, 1]);
    assert_eq!(e.output.dims(), &[26, 26, 8]);
    assert_eq!(e.trainable, 80);

    // valid, stride 2: floor((28 - 3) / 2) + 1 = 13.
    assert_eq!(
        out(
            Kind::Conv2D,
            &[p(int(8)), p(int(3)), k("strides", int(2))],
            &[28, 28, 3]
        ),
        [13, 13, 8]
    );

    // same, stride 2: ceil(28 / 2) = 14; 3·3·3·8 + 8 = 224.
    let args = [
        p(int(8)),
        p(int(3)),
        k("strides", int(2)),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::Conv2D, &args, &[28, 28, 3]), [14, 14, 8]);
    assert_eq!(params(Kind::Conv2D, &args, &[28, 28, 3]), 224);

    // same, strides (2, 3): ceil(7 / 2) = 4, ceil(10 / 3) = 4.
    let args = [
        p(int(5)),
        p(int(3)),
        k("strides", ints(&[2, 3])),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::Conv2D, &args, &[7, 10, 1]), [4, 4, 5]);

    // Rectangular kernel, valid: 10 - 2 + 1 = 9, 12 - 5 + 1 = 8; 2·5·3·4 + 4 = 124.
    let args = [p(int(4)), p(ints(&[2, 5]))];
    assert_eq!(out(Kind::Conv2D, &args, &[10, 12, 3]), [9, 8, 4]);
    assert_eq!(params(Kind::Conv2D, &args, &[10, 12, 3]), 124);
}

#[test]
fn conv_dilation_widens_the_window_but_not_the_weights() {
    // kernel 3, dilation 2: window (3 - 1)·2 + 1 = 5; valid: 10 - 5 + 1 = 6.
    // Weights stay 3·3·2·4 + 4 = 76.
    let args = [p(int(4)), p(int(3)), k("dilation_rate", int(2))];
    assert_eq!(out(Kind::Conv2D, &args, &[10, 10, 2]), [6, 6, 4]);
    assert_eq!(params(Kind::Conv2D, &args, &[10, 10, 2]), 76);

    // same keeps the size.
    let args = [
        p(int(4)),
        p(int(3)),
        k("dilation_rate", int(2)),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::Conv2D, &args, &[10, 10, 2]), [10, 10, 4]);

    // kernel 3, dilation 3: window 7, which fits 7 exactly (one output) and not 6.
    let args = [p(int(1)), p(int(3)), k("dilation_rate", int(3))];
    assert_eq!(out(Kind::Conv1D, &args, &[7, 1]), [1, 1]);
    let e = eval_error(Kind::Conv1D, &args, &[6, 1]);
    assert_eq!(
        e.problem,
        Problem::Window {
            axis: 0,
            size: 6,
            window: 7,
            found: Shape::new(&[6, 1])
        }
    );
}

#[test]
fn conv1d_valid_same_and_causal() {
    // valid, stride 3: floor((100 - 5) / 3) + 1 = 32; 5·8·16 + 16 = 656.
    let args = [p(int(16)), p(int(5)), k("strides", int(3))];
    assert_eq!(out(Kind::Conv1D, &args, &[100, 8]), [32, 16]);
    assert_eq!(params(Kind::Conv1D, &args, &[100, 8]), 656);

    // causal pads on the left only, so the length is that of `same`: ceil(100 / 1), ceil(100 / 3).
    let causal = [
        p(int(16)),
        p(int(5)),
        k("padding", word("causal")),
        k("dilation_rate", int(4)),
    ];
    assert_eq!(out(Kind::Conv1D, &causal, &[100, 8]), [100, 16]);
    assert_eq!(params(Kind::Conv1D, &causal, &[100, 8]), 656);
    let strided = [
        p(int(16)),
        p(int(5)),
        k("padding", word("causal")),
        k("strides", int(3)),
    ];
    assert_eq!(out(Kind::Conv1D, &strided, &[100, 8]), [34, 16]);
}

#[test]
fn causal_padding_is_for_conv1d_only() {
    let args = [p(int(4)), p(int(3)), k("padding", word("causal"))];
    match arg_error(Kind::Conv2D, &args) {
        ArgError::Bad {
            arg: 2,
            spec,
            problem: ValueProblem::OutOfRange,
        } => assert_eq!(spec.name, "padding"),
        other => panic!("{other:?}"),
    }
    assert!(arg_error(Kind::Conv2D, &args)
        .describe(Kind::Conv2D, &args)
        .contains("one of `valid`, `same`"));
}

#[test]
fn conv3d_valid_and_same() {
    // valid: (10, 12, 14) - 2 = (8, 10, 12); 3·3·3·3·2 + 2 = 164.
    let args = [p(int(2)), p(int(3))];
    assert_eq!(out(Kind::Conv3D, &args, &[10, 12, 14, 3]), [8, 10, 12, 2]);
    assert_eq!(params(Kind::Conv3D, &args, &[10, 12, 14, 3]), 164);

    // same, strides (1, 2, 3): (10, ceil(12 / 2), ceil(14 / 3)) = (10, 6, 5).
    let args = [
        p(int(2)),
        p(int(3)),
        k("strides", ints(&[1, 2, 3])),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::Conv3D, &args, &[10, 12, 14, 3]), [10, 6, 5, 2]);
}

#[test]
fn a_window_that_does_not_fit_names_its_axis() {
    // Conv2D (3, 5) on (10, 4, 1): axis 0 fits, axis 1 (size 4) does not.
    let e = eval_error(Kind::Conv2D, &[p(int(4)), p(ints(&[3, 5]))], &[10, 4, 1]);
    assert_eq!(
        e.problem,
        Problem::Window {
            axis: 1,
            size: 4,
            window: 5,
            found: Shape::new(&[10, 4, 1])
        }
    );
    let message = e.to_string();
    assert!(
        message.contains("does not fit axis 1 of its input (10, 4, 1) (size 4)"),
        "{message}"
    );
    assert!(
        message.contains("padding = same"),
        "the message suggests a fix: {message}"
    );

    // Conv3D: the third spatial axis.
    let e = eval_error(Kind::Conv3D, &[p(int(1)), p(int(3))], &[5, 5, 2, 1]);
    assert!(
        matches!(
            e.problem,
            Problem::Window {
                axis: 2,
                size: 2,
                window: 3,
                ..
            }
        ),
        "{e:?}"
    );

    // With `same` the same window is fine: ceil(4 / 1) = 4.
    let args = [p(int(4)), p(ints(&[3, 5])), k("padding", word("same"))];
    assert_eq!(out(Kind::Conv2D, &args, &[10, 4, 1]), [10, 4, 4]);
}

#[test]
fn strides_and_dilation_together_are_refused() {
    // Keras's base convolution and base transposed convolution both refuse this.
    for kind in [Kind::Conv2D, Kind::Conv2DTranspose] {
        let args = [
            p(int(4)),
            p(int(3)),
            k("strides", int(2)),
            k("dilation_rate", int(2)),
        ];
        let e = eval_error(kind, &args, &[16, 16, 1]);
        assert!(matches!(e.problem, Problem::Argument(_)), "{kind:?}: {e:?}");
        assert!(
            e.to_string()
                .contains("`strides > 1` cannot be combined with `dilation_rate > 1`"),
            "{e}"
        );
    }
}

#[test]
fn grouped_convolution_divides_the_kernel() {
    // groups 3 on 9 channels: each filter sees 9 / 3 = 3 channels; 3·3·3·6 + 6 = 168
    // (against 3·3·9·6 + 6 = 492 ungrouped).
    let grouped = [p(int(6)), p(int(3)), k("groups", int(3))];
    assert_eq!(out(Kind::Conv2D, &grouped, &[8, 8, 9]), [6, 6, 6]);
    assert_eq!(params(Kind::Conv2D, &grouped, &[8, 8, 9]), 168);
    assert_eq!(
        params(Kind::Conv2D, &[p(int(6)), p(int(3))], &[8, 8, 9]),
        492
    );

    // Conv1D, no bias: 5·(8 / 4)·12 = 120.
    let args = [
        p(int(12)),
        p(int(5)),
        k("groups", int(4)),
        k("use_bias", Value::Bool(false)),
    ];
    assert_eq!(params(Kind::Conv1D, &args, &[20, 8]), 120);
}

#[test]
fn groups_must_divide_channels_and_filters() {
    // 9 channels are not divisible by 4.
    let e = eval_error(
        Kind::Conv2D,
        &[p(int(8)), p(int(3)), k("groups", int(4))],
        &[8, 8, 9],
    );
    assert_eq!(
        e.problem,
        Problem::Groups {
            channels: 9,
            filters: 8,
            groups: 4
        }
    );
    assert_eq!(
        e.to_string(),
        "`Conv2D` with `groups = 4` needs input channels (9) and filters (8) divisible by it; \
         change `groups` or the channel counts"
    );
    // 4 filters are not divisible by 3, though 9 channels are.
    let e = eval_error(
        Kind::Conv2D,
        &[p(int(4)), p(int(3)), k("groups", int(3))],
        &[8, 8, 9],
    );
    assert_eq!(
        e.problem,
        Problem::Groups {
            channels: 9,
            filters: 4,
            groups: 3
        }
    );
}

#[test]
fn separable_and_depthwise_parameter_counts() {
    // Depthwise 3×3, multiplier 2 on 4 channels: 3·3·4·2 + 8 = 80; output channels 8.
    let args = [p(int(3)), k("depth_multiplier", int(2))];
    assert_eq!(out(Kind::DepthwiseConv2D, &args, &[10, 10, 4]), [8, 8, 8]);
    assert_eq!(params(Kind::DepthwiseConv2D, &args, &[10, 10, 4]), 80);

    // Separable 3×3 to 16 filters on 4 channels: depthwise 3·3·4 = 36, pointwise 4·16 = 64,
    // bias 16: 116.
    let args = [p(int(16)), p(int(3)), k("padding", word("same"))];
    assert_eq!(
        out(Kind::SeparableConv2D, &args, &[10, 10, 4]),
        [10, 10, 16]
    );
    assert_eq!(params(Kind::SeparableConv2D, &args, &[10, 10, 4]), 116);
}

// ---------------------------------------------------------------------------------------
// Transposed convolution: valid grows by max(window - stride, 0), same is input · stride.

#[test]
fn transposed_convolution_output_sizes() {
    // kernel 3 > stride 2, valid: (5 - 1)·2 + 3 = 11; 3·3·2·4 + 4 = 76.
    let valid = [p(int(4)), p(int(3)), k("strides", int(2))];
    assert_eq!(out(Kind::Conv2DTranspose, &valid, &[5, 5, 2]), [11, 11, 4]);
    assert_eq!(params(Kind::Conv2DTranspose, &valid, &[5, 5, 2]), 76);
    // same: 5·2 = 10.
    let same = [
        p(int(4)),
        p(int(3)),
        k("strides", int(2)),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::Conv2DTranspose, &same, &[5, 5, 2]), [10, 10, 4]);

    // kernel 2 < stride 3, valid: (5 - 1)·3 + max(2, 3) = 15; same: 15 as well.
    let valid = [p(int(4)), p(int(2)), k("strides", int(3))];
    assert_eq!(out(Kind::Conv2DTranspose, &valid, &[5, 5, 2]), [15, 15, 4]);
    let same = [
        p(int(4)),
        p(int(2)),
        k("strides", int(3)),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::Conv2DTranspose, &same, &[5, 5, 2]), [15, 15, 4]);

    // Conv1DTranspose kernel 5, stride 2: (10 - 1)·2 + 5 = 23; 5·4·3 + 3 = 63.
    let args = [p(int(3)), p(int(5)), k("strides", int(2))];
    assert_eq!(out(Kind::Conv1DTranspose, &args, &[10, 4]), [23, 3]);
    assert_eq!(params(Kind::Conv1DTranspose, &args, &[10, 4]), 63);

    // Dilated kernel 3 at rate 2 is a window of 5: (10 - 1) + 5 = 14.
    let args = [p(int(1)), p(int(3)), k("dilation_rate", int(2))];
    assert_eq!(out(Kind::Conv1DTranspose, &args, &[10, 1]), [14, 1]);

    // Conv3DTranspose, kernel (2, 3, 4), stride 2: (2·3 + 0, 2·3 + 1, 2·3 + 2) = (6, 7, 8);
    // 2·3·4·1·2 + 2 = 50.
    let args = [p(int(2)), p(ints(&[2, 3, 4])), k("strides", int(2))];
    assert_eq!(
        out(Kind::Conv3DTranspose, &args, &[3, 3, 3, 1]),
        [6, 7, 8, 2]
    );
    assert_eq!(params(Kind::Conv3DTranspose, &args, &[3, 3, 3, 1]), 50);
}

// ---------------------------------------------------------------------------------------
// Pooling: strides default to the pool size.

#[test]
fn pooling_strides_default_to_the_pool_size() {
    // Pool 2, strides 2: 28 → 14; 7 → floor((7 - 2) / 2) + 1 = 3.
    assert_eq!(out(Kind::MaxPooling2D, &[], &[28, 28, 3]), [14, 14, 3]);
    assert_eq!(out(Kind::MaxPooling2D, &[], &[7, 7, 1]), [3, 3, 1]);
    // Pool 3, strides 3: floor((10 - 3) / 3) + 1 = 3.
    assert_eq!(
        out(Kind::MaxPooling2D, &[p(int(3))], &[10, 10, 1]),
        [3, 3, 1]
    );
    // `strides = None` is the default too.
    assert_eq!(
        out(
            Kind::MaxPooling2D,
            &[p(int(3)), k("strides", Value::None)],
            &[10, 10, 1]
        ),
        [3, 3, 1]
    );
    // Explicit stride 1: 10 - 3 + 1 = 8.
    assert_eq!(
        out(
            Kind::MaxPooling2D,
            &[p(int(3)), k("strides", int(1))],
            &[10, 10, 1]
        ),
        [8, 8, 1]
    );
    // Stride 3 > pool 2: floor((10 - 2) / 3) + 1 = 3.
    assert_eq!(
        out(
            Kind::MaxPooling1D,
            &[p(int(2)), k("strides", int(3))],
            &[10, 1]
        ),
        [3, 1]
    );
    // 3D, pool 2: (4, 6, 8) → (2, 3, 4), channels kept.
    assert_eq!(
        out(Kind::AveragePooling3D, &[], &[4, 6, 8, 3]),
        [2, 3, 4, 3]
    );
    // Pooling has no weights.
    assert_eq!(eval(Kind::AveragePooling2D, &[], &[4, 4, 2]).params(), 0);
}

#[test]
fn same_pooling_rounds_up() {
    // Pool 3 (stride 3), same: ceil(10 / 3) = 4.
    assert_eq!(
        out(
            Kind::AveragePooling1D,
            &[p(int(3)), k("padding", word("same"))],
            &[10, 4]
        ),
        [4, 4]
    );
    // A pool larger than the input still gives one output with `same`.
    assert_eq!(
        out(
            Kind::MaxPooling2D,
            &[p(int(5)), k("padding", word("same"))],
            &[3, 3, 1]
        ),
        [1, 1, 1]
    );
    // Pool (2, 3) with stride 1, same: the size is kept.
    let args = [
        p(ints(&[2, 3])),
        k("strides", int(1)),
        k("padding", word("same")),
    ];
    assert_eq!(out(Kind::MaxPooling2D, &args, &[5, 7, 2]), [5, 7, 2]);
}

#[test]
fn a_pool_that_leaves_nothing_is_refused() {
    // Pool (2, 4) on (8, 3, 1): floor((3 - 4) / 4) + 1 = 0 along axis 1, which Keras refuses.
    let e = eval_error(Kind::MaxPooling2D, &[p(ints(&[2, 4]))], &[8, 3, 1]);
    assert_eq!(
        e.problem,
        Problem::Window {
            axis: 1,
            size: 3,
            window: 4,
            found: Shape::new(&[8, 3, 1])
        }
    );
    assert!(
        e.to_string()
            .starts_with("`MaxPooling2D`'s window of 4 does not fit axis 1"),
        "{e}"
    );
    // 3D: the last spatial axis.
    let e = eval_error(Kind::MaxPooling3D, &[p(ints(&[1, 1, 2]))], &[4, 4, 1, 2]);
    assert!(
        matches!(
            e.problem,
            Problem::Window {
                axis: 2,
                size: 1,
                window: 2,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn global_pooling_drops_or_keeps_the_spatial_axes() {
    assert_eq!(out(Kind::GlobalAveragePooling2D, &[], &[7, 7, 32]), [32]);
    assert_eq!(
        out(
            Kind::GlobalMaxPooling1D,
            &[k("keepdims", Value::Bool(true))],
            &[10, 6]
        ),
        [1, 6]
    );
    assert_eq!(
        out(
            Kind::GlobalMaxPooling3D,
            &[k("keepdims", Value::Bool(true))],
            &[2, 3, 4, 5]
        ),
        [1, 1, 1, 5]
    );
}

// ---------------------------------------------------------------------------------------
// Reshape: element counts and `-1`.

#[test]
fn reshape_checks_element_counts() {
    // 112 = 7·4·4.
    assert_eq!(
        out(Kind::Reshape, &[p(ints(&[7, 4, 4]))], &[112]),
        [7, 4, 4]
    );
    let e = eval_error(Kind::Reshape, &[p(ints(&[5, 5]))], &[4, 6]);
    assert!(
        matches!(e.problem, Problem::Reshape { len: 2, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "`Reshape` cannot turn (4, 6) (24 elements) into (5, 5); the element counts must agree \
         (use at most one `-1` for the inferred size)"
    );
    // A one-element target reads as Python's tuple.
    let e = eval_error(Kind::Reshape, &[p(ints(&[7]))], &[2, 3]);
    assert!(e.to_string().contains("(6 elements) into (7,);"), "{e}");
}

#[test]
fn reshape_infers_one_minus_one() {
    // 24 / 4 = 6.
    assert_eq!(out(Kind::Reshape, &[p(ints(&[-1, 4]))], &[4, 6]), [6, 4]);
    assert_eq!(
        out(
            Kind::Reshape,
            &[k("target_shape", ints(&[2, -1, 3]))],
            &[4, 6]
        ),
        [2, 4, 3]
    );
    assert_eq!(out(Kind::Reshape, &[p(ints(&[-1]))], &[2, 3, 4]), [24]);
    // 24 is not divisible by 5.
    let e = eval_error(Kind::Reshape, &[p(ints(&[5, -1]))], &[4, 6]);
    assert!(e.to_string().contains("(24 elements) into (5, -1);"), "{e}");
}

#[test]
fn reshape_refuses_two_minus_ones_and_other_negatives() {
    let args = [k("target_shape", ints(&[-1, -1]))];
    let e = arg_error(Kind::Reshape, &args);
    assert!(matches!(e, ArgError::Unsupported { arg: 0, .. }), "{e:?}");
    assert_eq!(
        e.describe(Kind::Reshape, &args),
        "`target_shape`: at most one dimension of `target_shape` may be -1"
    );

    let args = [p(ints(&[-2, 3]))];
    match arg_error(Kind::Reshape, &args) {
        ArgError::Bad {
            arg: 0,
            spec,
            problem: ValueProblem::OutOfRange,
        } => assert_eq!(spec.name, "target_shape"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Permute: axes from 1, batch excluded.

#[test]
fn permute_counts_axes_from_one() {
    assert_eq!(out(Kind::Permute, &[p(ints(&[2, 1]))], &[3, 5]), [5, 3]);
    // Output axis i is input axis dims[i]: (2, 3, 4) with (3, 1, 2) → (4, 2, 3).
    assert_eq!(
        out(Kind::Permute, &[p(ints(&[3, 1, 2]))], &[2, 3, 4]),
        [4, 2, 3]
    );
    assert_eq!(
        out(Kind::Permute, &[p(ints(&[1, 2, 3]))], &[2, 3, 4]),
        [2, 3, 4]
    );
}

#[test]
fn permute_refuses_what_is_not_a_permutation_of_one_to_n() {
    // 0-based, repeated, and with a gap.
    for dims in [&[0, 1][..], &[1, 1], &[1, 3]] {
        let args = [p(ints(dims))];
        let e = arg_error(Kind::Permute, &args);
        assert!(
            matches!(e, ArgError::Unsupported { arg: 0, .. }),
            "{dims:?}: {e:?}"
        );
        assert!(
            e.describe(Kind::Permute, &args)
                .contains("permutation of 1..=n"),
            "{dims:?}"
        );
    }
}

#[test]
fn permute_needs_an_input_of_its_rank() {
    let e = eval_error(Kind::Permute, &[p(ints(&[2, 1]))], &[2, 3, 4]);
    assert_eq!(
        e.problem,
        Problem::Rank {
            expected: RankReq::Exactly(2),
            found: Shape::new(&[2, 3, 4])
        }
    );
}

// ---------------------------------------------------------------------------------------
// Embedding, RepeatVector, PReLU.

#[test]
fn embedding_appends_the_vector_axis() {
    // 1000 · 64 = 64,000.
    let args = [p(int(1000)), p(int(64))];
    assert_eq!(out(Kind::Embedding, &args, &[10]), [10, 64]);
    assert_eq!(params(Kind::Embedding, &args, &[10]), 64_000);
    assert_eq!(out(Kind::Embedding, &args, &[4, 5]), [4, 5, 64]);
    assert_eq!(
        arg_error(Kind::Embedding, &[p(int(1000))]),
        ArgError::Missing { name: "output_dim" }
    );
}

#[test]
fn repeat_vector_adds_a_leading_axis() {
    assert_eq!(out(Kind::RepeatVector, &[p(int(3))], &[32]), [3, 32]);
    let e = eval_error(Kind::RepeatVector, &[p(int(3))], &[2, 32]);
    assert_eq!(
        e.problem,
        Problem::Rank {
            expected: RankReq::Exactly(1),
            found: Shape::new(&[2, 32])
        }
    );
}

#[test]
fn prelu_has_one_slope_per_unshared_entry() {
    // No shared axes: 10·10·3.
    assert_eq!(params(Kind::PReLU, &[], &[10, 10, 3]), 300);
    // Shared over height and width (Keras's axes 1 and 2): one slope per channel.
    assert_eq!(
        params(
            Kind::PReLU,
            &[k("shared_axes", ints(&[1, 2]))],
            &[10, 10, 3]
        ),
        3
    );
    // Shared over axis 1 of (4, 5, 6): 1·5·6.
    assert_eq!(
        params(Kind::PReLU, &[k("shared_axes", ints(&[1]))], &[4, 5, 6]),
        30
    );
    assert_eq!(
        params(Kind::PReLU, &[k("shared_axes", int(1))], &[4, 5, 6]),
        30
    );
    // Axis 3 does not exist on a rank-2 input.
    let e = eval_error(Kind::PReLU, &[k("shared_axes", ints(&[3]))], &[4, 5]);
    assert!(matches!(e.problem, Problem::Axes { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// Recurrent layers: (features + units) · gates·units kernels, plus biases.

#[test]
fn simple_rnn_parameters_and_shapes() {
    // 8·(4 + 8) + 8 = 104.
    assert_eq!(out(Kind::SimpleRNN, &[p(int(8))], &[10, 4]), [8]);
    assert_eq!(params(Kind::SimpleRNN, &[p(int(8))], &[10, 4]), 104);
    assert_eq!(
        params(
            Kind::SimpleRNN,
            &[p(int(8)), k("use_bias", Value::Bool(false))],
            &[10, 4]
        ),
        96
    );
    assert_eq!(
        out(
            Kind::SimpleRNN,
            &[p(int(8)), k("return_sequences", Value::Bool(true))],
            &[10, 4]
        ),
        [10, 8]
    );
}

#[test]
fn lstm_parameters_and_shapes() {
    // 4·(16·(8 + 16) + 16) = 1600; without bias 4·16·24 = 1536.
    assert_eq!(out(Kind::LSTM, &[p(int(16))], &[20, 8]), [16]);
    assert_eq!(params(Kind::LSTM, &[p(int(16))], &[20, 8]), 1600);
    assert_eq!(
        params(
            Kind::LSTM,
            &[p(int(16)), k("use_bias", Value::Bool(false))],
            &[20, 8]
        ),
        1536
    );
    assert_eq!(
        out(
            Kind::LSTM,
            &[p(int(16)), k("return_sequences", Value::Bool(true))],
            &[20, 8]
        ),
        [20, 16]
    );
}

#[test]
fn gru_reset_after_doubles_the_bias() {
    // Kernels 3·16·(8 + 16) = 1152. reset_after (Keras's default): bias (2, 48) → 1248;
    // reset_after = false: bias (48,) → 1200; no bias: 1152 either way.
    assert_eq!(params(Kind::GRU, &[p(int(16))], &[20, 8]), 1248);
    assert_eq!(
        params(
            Kind::GRU,
            &[p(int(16)), k("reset_after", Value::Bool(true))],
            &[20, 8]
        ),
        1248
    );
    assert_eq!(
        params(
            Kind::GRU,
            &[p(int(16)), k("reset_after", Value::Bool(false))],
            &[20, 8]
        ),
        1200
    );
    for reset_after in [true, false] {
        let args = [
            p(int(16)),
            k("reset_after", Value::Bool(reset_after)),
            k("use_bias", Value::Bool(false)),
        ];
        assert_eq!(params(Kind::GRU, &args, &[20, 8]), 1152);
    }
    assert_eq!(
        out(
            Kind::GRU,
            &[p(int(16)), k("return_sequences", Value::Bool(true))],
            &[20, 8]
        ),
        [20, 16]
    );
}

#[test]
fn recurrent_layers_need_timesteps_and_features() {
    let e = eval_error(Kind::LSTM, &[p(int(4))], &[20]);
    assert_eq!(
        e.problem,
        Problem::Rank {
            expected: RankReq::Exactly(2),
            found: Shape::new(&[20])
        }
    );
    assert!(e.to_string().contains("(timesteps, features)"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Wrappers.

#[test]
fn bidirectional_merge_modes() {
    // One LSTM(16) on 8 features is 1600; two directions 3200 whatever the merge.
    for (mode, width) in [("concat", 32), ("sum", 16), ("mul", 16), ("ave", 16)] {
        let args = [
            p(nested(Kind::LSTM, &[p(int(16))])),
            k("merge_mode", word(mode)),
        ];
        let l = layer(Kind::Bidirectional, &args);
        match l.config {
            Config::Bidirectional(b) => assert_eq!(b.merge_mode.name(), mode),
            other => panic!("{other:?}"),
        }
        let e = l.eval(&Shape::new(&[20, 8])).unwrap();
        assert_eq!(e.output.dims(), &[width], "{mode}");
        assert_eq!(e.trainable, 3200, "{mode}");
    }
    // concat is the default.
    let l = layer(Kind::Bidirectional, &[p(nested(Kind::LSTM, &[p(int(16))]))]);
    assert!(matches!(l.config, Config::Bidirectional(b) if b.merge_mode == MergeMode::Concat));
    assert_eq!(l.eval(&Shape::new(&[20, 8])).unwrap().output.dims(), &[32]);
}

#[test]
fn bidirectional_keeps_the_sequence_axis() {
    // GRU(8) on 3 features: 3·8·(3 + 8) + 2·24 = 312 per direction.
    let inner = nested(
        Kind::GRU,
        &[p(int(8)), k("return_sequences", Value::Bool(true))],
    );
    let e = eval(
        Kind::Bidirectional,
        &[p(inner), k("merge_mode", word("ave"))],
        &[5, 3],
    );
    assert_eq!(e.output.dims(), &[5, 8]);
    assert_eq!(e.trainable, 624);
    let e = eval(Kind::Bidirectional, &[p(inner)], &[5, 3]);
    assert_eq!(e.output.dims(), &[5, 16]);
}

#[test]
fn bidirectional_wraps_recurrent_layers_only() {
    let args = [p(nested(Kind::Dense, &[p(int(4))]))];
    let e = arg_error(Kind::Bidirectional, &args);
    assert!(matches!(e, ArgError::Unsupported { arg: 0, .. }), "{e:?}");
    assert!(e
        .describe(Kind::Bidirectional, &args)
        .contains("wraps a recurrent layer"));
    // An unknown merge mode, with a suggestion.
    let args = [
        p(nested(Kind::LSTM, &[p(int(4))])),
        k("merge_mode", word("concatenate")),
    ];
    let message = arg_error(Kind::Bidirectional, &args).describe(Kind::Bidirectional, &args);
    assert!(
        message.contains("one of `sum`, `mul`, `concat`, `ave`"),
        "{message}"
    );
}

#[test]
fn time_distributed_applies_the_layer_per_step() {
    // Dense(8) on 16 features at each of 10 steps: 16·8 + 8 = 136, counted once.
    let dense = nested(Kind::Dense, &[p(int(8))]);
    let e = eval(Kind::TimeDistributed, &[p(dense)], &[10, 16]);
    assert_eq!(e.output.dims(), &[10, 8]);
    assert_eq!(e.trainable, 136);
    // On (10, 4, 16): Dense sees (4, 16) at each step.
    assert_eq!(
        out(Kind::TimeDistributed, &[p(dense)], &[10, 4, 16]),
        [10, 4, 8]
    );
    // Conv2D(4, 3) on each (8, 8, 1) frame: 3·3·1·4 + 4 = 40.
    let conv = nested(Kind::Conv2D, &[p(int(4)), p(int(3))]);
    assert_eq!(
        out(Kind::TimeDistributed, &[p(conv)], &[5, 8, 8, 1]),
        [5, 6, 6, 4]
    );
    assert_eq!(params(Kind::TimeDistributed, &[p(conv)], &[5, 8, 8, 1]), 40);
}

#[test]
fn time_distributed_reports_the_inner_layer_or_its_own_rank() {
    let dense = nested(Kind::Dense, &[p(int(8))]);
    let e = layer(Kind::TimeDistributed, &[p(dense)])
        .eval(&Shape::new(&[10]))
        .unwrap_err();
    assert_eq!(e.kind, Kind::TimeDistributed);
    assert_eq!(
        e.problem,
        Problem::Rank {
            expected: RankReq::AtLeast(2),
            found: Shape::new(&[10])
        }
    );
    // The frames are (4, 1): too small for a 3×3 window; the inner Conv2D is at fault.
    let conv = nested(Kind::Conv2D, &[p(int(4)), p(int(3))]);
    let e = layer(Kind::TimeDistributed, &[p(conv)])
        .eval(&Shape::new(&[5, 4, 1, 1]))
        .unwrap_err();
    assert_eq!(e.kind, Kind::Conv2D);
    assert!(
        matches!(
            e.problem,
            Problem::Window {
                axis: 1,
                size: 1,
                window: 3,
                ..
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Normalization.

#[test]
fn batch_normalization_moving_statistics_are_not_trainable() {
    // gamma, beta trainable; moving mean and variance not: 2·16 each.
    let e = eval(Kind::BatchNormalization, &[], &[8, 8, 16]);
    assert_eq!(e.output.dims(), &[8, 8, 16]);
    assert_eq!((e.trainable, e.non_trainable), (32, 32));
    let e = eval(Kind::BatchNormalization, &[], &[10]);
    assert_eq!((e.trainable, e.non_trainable), (20, 20));
    // Without beta (center) or gamma (scale), the moving statistics remain.
    let e = eval(
        Kind::BatchNormalization,
        &[k("center", Value::Bool(false))],
        &[16],
    );
    assert_eq!((e.trainable, e.non_trainable), (16, 32));
    let e = eval(
        Kind::BatchNormalization,
        &[k("scale", Value::Bool(false))],
        &[16],
    );
    assert_eq!((e.trainable, e.non_trainable), (16, 32));
    let args = [
        k("center", Value::Bool(false)),
        k("scale", Value::Bool(false)),
    ];
    let e = eval(Kind::BatchNormalization, &args, &[16]);
    assert_eq!((e.trainable, e.non_trainable), (0, 32));
    // Keras's positional order: axis, momentum, epsilon, center, scale.
    let args = [
        p(int(-1)),
        p(Value::Float(0.9)),
        p(Value::Float(1e-5)),
        p(Value::Bool(false)),
    ];
    assert_eq!(eval(Kind::BatchNormalization, &args, &[16]).trainable, 16);
}

#[test]
fn layer_normalization_has_no_moving_statistics() {
    let e = eval(Kind::LayerNormalization, &[], &[5, 10]);
    assert_eq!(e.output.dims(), &[5, 10]);
    assert_eq!((e.trainable, e.non_trainable), (20, 0));
    assert_eq!(
        params(
            Kind::LayerNormalization,
            &[k("center", Value::Bool(false))],
            &[5, 10]
        ),
        10
    );
    assert_eq!(
        params(
            Kind::LayerNormalization,
            &[k("scale", Value::Bool(false))],
            &[5, 10]
        ),
        10
    );
}

// ---------------------------------------------------------------------------------------
// Padding, cropping, up-sampling.

#[test]
fn zero_padding_symmetric_and_asymmetric() {
    // The default pads 1 on every side.
    assert_eq!(out(Kind::ZeroPadding2D, &[], &[28, 28, 3]), [30, 30, 3]);
    assert_eq!(
        out(Kind::ZeroPadding2D, &[p(int(2))], &[28, 28, 3]),
        [32, 32, 3]
    );
    // (1, 2): 1 above and below, 2 left and right.
    assert_eq!(
        out(Kind::ZeroPadding2D, &[p(ints(&[1, 2]))], &[28, 28, 3]),
        [30, 32, 3]
    );
    // ((1, 0), (2, 3)).
    let pad = tuple(&[ints(&[1, 0]), ints(&[2, 3])]);
    assert_eq!(
        out(Kind::ZeroPadding2D, &[p(pad)], &[28, 28, 3]),
        [29, 33, 3]
    );
    // Keras also takes a pair and an integer mixed: ((1, 0), 2).
    let pad = tuple(&[ints(&[1, 0]), int(2)]);
    assert_eq!(
        out(Kind::ZeroPadding2D, &[p(pad)], &[28, 28, 3]),
        [29, 32, 3]
    );

    assert_eq!(out(Kind::ZeroPadding1D, &[p(int(3))], &[10, 4]), [16, 4]);
    assert_eq!(
        out(Kind::ZeroPadding1D, &[p(ints(&[0, 1]))], &[10, 4]),
        [11, 4]
    );

    assert_eq!(out(Kind::ZeroPadding3D, &[], &[4, 4, 4, 1]), [6, 6, 6, 1]);
    let pad = tuple(&[ints(&[1, 2]), ints(&[0, 0]), ints(&[3, 0])]);
    assert_eq!(
        out(Kind::ZeroPadding3D, &[p(pad)], &[4, 4, 4, 1]),
        [7, 4, 7, 1]
    );
}

#[test]
fn one_dimensional_padding_refuses_a_nested_pair() {
    // Keras's `standardize_tuple(padding, 2)` refuses `((0, 1),)`: one entry, not two.
    for kind in [Kind::ZeroPadding1D, Kind::Cropping1D] {
        let args = [p(tuple(&[ints(&[0, 1])]))];
        match arg_error(kind, &args) {
            ArgError::Bad {
                arg: 0,
                problem: ValueProblem::WrongLength,
                ..
            } => {}
            other => panic!("{kind:?}: {other:?}"),
        }
        let message = arg_error(kind, &args).describe(kind, &args);
        assert!(
            message.contains("a pair of integers `(before, after)`"),
            "{message}"
        );
    }
    // A 2D padding of the wrong length.
    let args = [p(ints(&[1, 2, 3]))];
    assert!(matches!(
        arg_error(Kind::ZeroPadding2D, &args),
        ArgError::Bad {
            problem: ValueProblem::WrongLength,
            ..
        }
    ));
}

#[test]
fn cropping_symmetric_and_asymmetric() {
    assert_eq!(out(Kind::Cropping1D, &[p(ints(&[1, 2]))], &[10, 4]), [7, 4]);
    assert_eq!(out(Kind::Cropping1D, &[p(ints(&[4, 5]))], &[10, 4]), [1, 4]);
    assert_eq!(out(Kind::Cropping1D, &[], &[10, 4]), [10, 4]);
    let crop = tuple(&[ints(&[2, 2]), ints(&[4, 4])]);
    assert_eq!(out(Kind::Cropping2D, &[p(crop)], &[28, 28, 3]), [24, 20, 3]);
    assert_eq!(
        out(Kind::Cropping2D, &[p(ints(&[1, 3]))], &[28, 28, 3]),
        [26, 22, 3]
    );
    assert_eq!(
        out(Kind::Cropping3D, &[p(int(1))], &[4, 4, 4, 1]),
        [2, 2, 2, 1]
    );
}

#[test]
fn cropping_everything_is_refused() {
    // 5 + 5 of 10.
    let e = eval_error(Kind::Cropping1D, &[p(int(5))], &[10, 4]);
    assert_eq!(
        e.problem,
        Problem::Crop {
            axis: 0,
            size: 10,
            crop: 10
        }
    );
    assert_eq!(
        e.to_string(),
        "`Cropping1D` removes 10 of the 10 entries of axis 0, leaving none; crop less"
    );
    // The width of 28, all of it.
    let crop = tuple(&[ints(&[0, 0]), ints(&[14, 14])]);
    let e = eval_error(Kind::Cropping2D, &[p(crop)], &[28, 28, 3]);
    assert_eq!(
        e.problem,
        Problem::Crop {
            axis: 1,
            size: 28,
            crop: 28
        }
    );
}

#[test]
fn up_sampling_multiplies_the_spatial_axes() {
    assert_eq!(out(Kind::UpSampling1D, &[p(int(3))], &[5, 2]), [15, 2]);
    assert_eq!(out(Kind::UpSampling1D, &[], &[5, 2]), [10, 2]);
    assert_eq!(
        out(Kind::UpSampling2D, &[p(ints(&[2, 3]))], &[4, 5, 1]),
        [8, 15, 1]
    );
    assert_eq!(
        out(
            Kind::UpSampling2D,
            &[k("interpolation", word("bilinear"))],
            &[4, 5, 1]
        ),
        [8, 10, 1]
    );
    assert_eq!(
        out(Kind::UpSampling3D, &[p(int(2))], &[1, 2, 3, 4]),
        [2, 4, 6, 4]
    );
    assert_eq!(eval(Kind::UpSampling2D, &[], &[4, 5, 1]).params(), 0);
}

// ---------------------------------------------------------------------------------------
// Arguments: the mistakes a user makes, and what they are told.

#[test]
fn unknown_keyword_suggests_the_nearest() {
    let args = [p(int(10)), k("activaton", word("relu"))];
    let e = arg_error(Kind::Dense, &args);
    assert_eq!(e, ArgError::Unknown { arg: 1 });
    assert_eq!(e.arg(), Some(1));
    assert_eq!(
        e.describe(Kind::Dense, &args),
        "`Dense` has no argument `activaton`; did you mean `activation`?"
    );

    // Nothing close: the list of arguments.
    let args = [p(int(10)), k("colour", word("red"))];
    assert_eq!(
        arg_error(Kind::Dense, &args).describe(Kind::Dense, &args),
        "`Dense` has no argument `colour`; its arguments are `units`, `activation`, `use_bias`"
    );
    let args = [k("axis", int(1))];
    assert_eq!(
        arg_error(Kind::Flatten, &args).describe(Kind::Flatten, &args),
        "`Flatten` has no argument `axis`; it takes no arguments"
    );
}

#[test]
fn duplicate_argument() {
    // `units` by position and by keyword.
    let args = [p(int(10)), k("units", int(5))];
    let e = arg_error(Kind::Dense, &args);
    assert_eq!(
        e,
        ArgError::Duplicate {
            arg: 1,
            name: "units"
        }
    );
    assert_eq!(
        e.describe(Kind::Dense, &args),
        "`units` is given more than once; keep one"
    );
    let args = [k("rate", Value::Float(0.1)), k("rate", Value::Float(0.2))];
    assert_eq!(
        arg_error(Kind::Dropout, &args),
        ArgError::Duplicate {
            arg: 1,
            name: "rate"
        }
    );
}

#[test]
fn missing_required_argument() {
    let args = [k("activation", word("relu"))];
    let e = arg_error(Kind::Dense, &args);
    assert_eq!(e, ArgError::Missing { name: "units" });
    assert_eq!(e.arg(), None);
    assert_eq!(
        e.describe(Kind::Dense, &args),
        "`Dense` needs `units` (positional argument 1 or `units = …`)"
    );
    let args = [p(int(8))];
    assert_eq!(
        arg_error(Kind::Conv2D, &args).describe(Kind::Conv2D, &args),
        "`Conv2D` needs `kernel_size` (positional argument 2 or `kernel_size = …`)"
    );
    assert_eq!(
        arg_error(Kind::Dropout, &[]),
        ArgError::Missing { name: "rate" }
    );
}

#[test]
fn wrong_type() {
    let args = [p(int(8)), p(int(3)), k("padding", int(3))];
    let e = arg_error(Kind::Conv2D, &args);
    assert!(
        matches!(
            e,
            ArgError::Bad {
                arg: 2,
                problem: ValueProblem::WrongType,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.describe(Kind::Conv2D, &args),
        "`padding` expects one of `valid`, `same`, but got `3`"
    );

    // A misspelt choice gets a suggestion.
    let args = [p(int(8)), p(int(3)), k("padding", word("sme"))];
    assert_eq!(
        arg_error(Kind::Conv2D, &args).describe(Kind::Conv2D, &args),
        "`padding` expects one of `valid`, `same`, but got `sme`; did you mean `same`?"
    );
    // A float where a count goes.
    let args = [p(Value::Float(2.5))];
    assert!(matches!(
        arg_error(Kind::Dense, &args),
        ArgError::Bad {
            problem: ValueProblem::WrongType,
            ..
        }
    ));
    // A kernel of the wrong rank.
    let args = [p(int(8)), p(ints(&[3, 3, 3]))];
    let e = arg_error(Kind::Conv2D, &args);
    assert!(
        matches!(
            e,
            ArgError::Bad {
                arg: 1,
                problem: ValueProblem::WrongLength,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e
        .describe(Kind::Conv2D, &args)
        .contains("a tuple of the wrong length: `(3, 3, 3)`"));
}

#[test]
fn out_of_range() {
    let args = [p(int(-4))];
    let e = arg_error(Kind::Dense, &args);
    assert!(
        matches!(
            e,
            ArgError::Bad {
                arg: 0,
                problem: ValueProblem::OutOfRange,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.describe(Kind::Dense, &args),
        "`units` expects a positive integer, but got `-4`"
    );
    assert!(matches!(
        arg_error(Kind::Dense, &[p(int(0))]),
        ArgError::Bad {
            problem: ValueProblem::OutOfRange,
            ..
        }
    ));

    // Keras's Dropout takes a rate in [0, 1], both ends included.
    let args = [p(Value::Float(1.5))];
    let e = arg_error(Kind::Dropout, &args);
    assert!(
        matches!(
            e,
            ArgError::Bad {
                arg: 0,
                problem: ValueProblem::OutOfRange,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.describe(Kind::Dropout, &args),
        "`rate` expects a number in [0, 1], but got `1.5`"
    );
    assert!(build(Kind::Dropout, &[p(Value::Float(-0.1))]).is_err());
    assert_eq!(
        eval(Kind::Dropout, &[p(Value::Float(0.0))], &[4])
            .output
            .dims(),
        &[4]
    );
    assert_eq!(
        eval(Kind::Dropout, &[p(Value::Float(1.0))], &[4])
            .output
            .dims(),
        &[4]
    );
    assert_eq!(
        eval(Kind::SpatialDropout2D, &[p(int(1))], &[4, 4, 2])
            .output
            .dims(),
        &[4, 4, 2]
    );

    // GaussianNoise's standard deviation is in [0, 1] too.
    assert_eq!(
        eval(Kind::GaussianNoise, &[p(Value::Float(0.5))], &[4])
            .output
            .dims(),
        &[4]
    );
    let e = arg_error(Kind::GaussianNoise, &[p(Value::Float(1.5))]);
    assert!(
        matches!(
            e,
            ArgError::Bad {
                arg: 0,
                problem: ValueProblem::OutOfRange,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn too_many_positional_arguments() {
    let args = [
        p(int(10)),
        p(word("relu")),
        p(Value::Bool(false)),
        p(int(4)),
    ];
    let e = arg_error(Kind::Dense, &args);
    assert_eq!(e, ArgError::TooManyPositional { arg: 3 });
    assert_eq!(
        e.describe(Kind::Dense, &args),
        "`Dense` takes at most 3 positional arguments (`units`, `activation`, `use_bias`); \
         write the rest as `keyword = value`"
    );
    // Three positional arguments are fine.
    assert_eq!(params(Kind::Dense, &args[..3], &[4]), 40);

    let args = [p(ints(&[1, 2]))];
    let e = arg_error(Kind::PReLU, &args);
    assert_eq!(e, ArgError::TooManyPositional { arg: 0 });
    assert_eq!(
        e.describe(Kind::PReLU, &args),
        "`PReLU` takes no positional arguments; write `keyword = value`"
    );
}

#[test]
fn none_means_the_default() {
    // Keras's `None` for an optional argument is its default.
    let args = [
        p(int(4)),
        k("use_bias", Value::None),
        k("activation", Value::None),
    ];
    assert_eq!(params(Kind::Dense, &args, &[3]), 16);
}

// ---------------------------------------------------------------------------------------
// Unknown dimensions: const generic parameters before instantiation.

/// Evaluates a model, as the macro does, returning each layer's entry.
fn model(input: &[usize], layers: &[Layer]) -> Result<Vec<LayerInfo>, Box<ModelError>> {
    let names: Vec<&'static str> = (0..layers.len())
        .map(|i| &*Box::leak(format!("layer_{i}").into_boxed_str()))
        .collect();
    let mut out = vec![LayerInfo::EMPTY; layers.len()];
    match eval_into(Shape::new(input), layers, &names, &mut out) {
        Ok(_) => Ok(out),
        Err(e) => Err(Box::new(e)),
    }
}

#[test]
fn unknown_dims_flow_through_dense_conv_and_flatten() {
    let n = Value::Unknown;
    let layers = [
        layer(Kind::Conv2D, &[p(n), p(int(3))]),
        layer(Kind::MaxPooling2D, &[]),
        layer(Kind::Flatten, &[]),
        layer(Kind::Dense, &[p(n)]),
        layer(Kind::Dense, &[p(int(10))]),
    ];
    let info = model(&[28, 28, 1], &layers).expect("no false error on unknown widths");
    assert_eq!(info[0].output_shape.dims(), &[26, 26, UNKNOWN]);
    assert_eq!(info[1].output_shape.dims(), &[13, 13, UNKNOWN]);
    assert_eq!(info[2].output_shape.dims(), &[UNKNOWN]);
    assert_eq!(info[3].output_shape.dims(), &[UNKNOWN]);
    assert_eq!(info[4].output_shape.dims(), &[10]);
    // Counts that depend on the unknown are unknown, the others exact.
    assert_eq!(info[0].params, UNKNOWN);
    assert_eq!(info[1].params, 0);
    assert_eq!(info[4].params, UNKNOWN);
    assert_eq!(info[4].name, "layer_4");
}

#[test]
fn unknown_input_dims_keep_the_known_ones_exact() {
    // (N, 28, 1), Conv2D 3×3 stride 2: (N, 13, 8); 3·3·1·8 + 8 = 80 does not depend on N.
    let e = eval(
        Kind::Conv2D,
        &[p(int(8)), p(int(3)), k("strides", int(2))],
        &[UNKNOWN, 28, 1],
    );
    assert_eq!(e.output.dims(), &[UNKNOWN, 13, 8]);
    assert_eq!(e.trainable, 80);
    assert_eq!(
        out(Kind::Reshape, &[p(ints(&[-1, 4]))], &[UNKNOWN, 8]),
        [UNKNOWN, 4]
    );
    assert_eq!(
        out(Kind::Cropping1D, &[p(int(2))], &[UNKNOWN, 3]),
        [UNKNOWN, 3]
    );
    assert_eq!(
        out(
            Kind::Conv1DTranspose,
            &[p(int(2)), p(int(3)), k("strides", int(2))],
            &[UNKNOWN, 3]
        ),
        [UNKNOWN, 2]
    );
    // A window of unknown size.
    assert_eq!(
        out(Kind::MaxPooling1D, &[p(Value::Unknown)], &[10, 3]),
        [UNKNOWN, 3]
    );
}

#[test]
fn unknown_reshape_targets_are_not_the_inferred_axis() {
    // `Reshape((N, -1))`: N is not a second `-1`.
    let l = layer(Kind::Reshape, &[p(tuple(&[Value::Unknown, int(-1)]))]);
    assert_eq!(
        l.eval(&Shape::new(&[784])).unwrap().output.dims(),
        &[UNKNOWN, UNKNOWN]
    );
    // `Reshape((N, 4))` on 784 elements: the first axis stays unknown rather than inferred.
    let l = layer(Kind::Reshape, &[p(tuple(&[Value::Unknown, int(4)]))]);
    assert_eq!(
        l.eval(&Shape::new(&[784])).unwrap().output.dims(),
        &[UNKNOWN, 4]
    );
}

#[test]
fn unknown_strides_are_not_taken_for_strides_above_one() {
    // Strides N with dilation 2 is fine when N turns out to be 1; only const evaluation knows.
    let args = [
        p(int(4)),
        p(int(3)),
        k("strides", Value::Unknown),
        k("dilation_rate", int(2)),
    ];
    assert_eq!(
        out(Kind::Conv2D, &args, &[16, 16, 1]),
        [UNKNOWN, UNKNOWN, 4]
    );
}

#[test]
fn checks_that_do_not_depend_on_the_unknown_still_fail() {
    // Conv2D after Flatten: the rank is wrong whatever the Dense width.
    let layers = [
        layer(Kind::Flatten, &[]),
        layer(Kind::Dense, &[p(Value::Unknown)]),
        layer(Kind::Conv2D, &[p(int(4)), p(int(3))]),
    ];
    let e = model(&[28, 28, 1], &layers).unwrap_err();
    assert_eq!(e.index, 2);
    assert_eq!(e.name, "layer_2");
    assert_eq!(e.input.dims(), &[UNKNOWN]);
    assert!(
        matches!(
            e.error.problem,
            Problem::Rank {
                expected: RankReq::Exactly(3),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("layer 2 `layer_2` (Conv2D): `Conv2D` needs a 3-D input"),
        "{e}"
    );

    // A 5-wide window on a known axis of 3, next to an unknown one.
    let e = eval_error(Kind::Conv2D, &[p(int(8)), p(int(5))], &[UNKNOWN, 3, 1]);
    assert!(
        matches!(
            e.problem,
            Problem::Window {
                axis: 1,
                size: 3,
                window: 5,
                ..
            }
        ),
        "{e:?}"
    );

    // 9 channels in 4 groups, whatever the number of filters.
    let e = eval_error(
        Kind::Conv2D,
        &[p(Value::Unknown), p(int(3)), k("groups", int(4))],
        &[8, 8, 9],
    );
    assert!(
        matches!(
            e.problem,
            Problem::Groups {
                channels: 9,
                groups: 4,
                ..
            }
        ),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The same evaluator in `const` context.

const DENSE_10: Layer = match build(
    Kind::Dense,
    &[Arg {
        name: None,
        value: Value::Int(10),
    }],
) {
    Ok(l) => l,
    Err(_) => panic!("Dense(10)"),
};
const MLP: [LayerInfo; 2] = expect_model(
    Shape::new(&[784]),
    &[DENSE_10, DENSE_10],
    &["hidden", "logits"],
);
const_assert_eq!(MLP[0].params, 7850);
const_assert_eq!(MLP[1].params, 110);

#[test]
fn const_evaluation_matches_run_time() {
    assert_eq!(MLP[1].output_shape.dims(), &[10]);
    assert_eq!(MLP[0].name, "hidden");
    let run_time = model(&[784], &[DENSE_10, DENSE_10]).unwrap();
    assert_eq!(run_time[0].params, MLP[0].params);
    assert_eq!(run_time[1].macs, MLP[1].macs);
}
