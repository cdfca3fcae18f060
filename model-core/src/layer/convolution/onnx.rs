//! Convolutions in ONNX, channels first: `Conv` (groups, dilation; depthwise as one group
//! per channel; separable as depthwise then 1×1), `ConvTranspose`. TensorFlow's padding is
//! written out as explicit pads (`same` puts the odd cell after, `causal` the whole window
//! before).

use super::{Conv, ConvOp};
use crate::layer::activation::onnx::apply;
use crate::layer::window::{pad_around, pad_before};
use crate::onnx::builder::{attr, i64s, permute, Val, A};
use crate::onnx::proto::AttributeProto;
use crate::onnx::Call;
use crate::shape::Shape;

/// ONNX's `pads` (`[begin…, end…]`) of a window from `input` to `output`.
fn pads(c: &Conv, input: &Shape, output: &Shape) -> Vec<i64> {
    let (mut begin, mut end) = (Vec::new(), Vec::new());
    for i in 0..c.rank {
        let (size, out, s, k) = (
            input.dim(i),
            output.dim(i),
            c.strides[i],
            c.effective_kernel(i),
        );
        let (before, after) = pad_around(c.padding, size, out, s, k);
        begin.push(before as i64);
        end.push(after as i64);
    }
    begin.extend(end);
    begin
}

/// The attributes every convolution has.
fn window_attrs(c: &Conv, pads: &[i64]) -> Vec<AttributeProto> {
    let r = c.rank;
    vec![
        attr("kernel_shape", A::Ints(&i64s(&c.kernel_size[..r]))),
        attr("strides", A::Ints(&i64s(&c.strides[..r]))),
        attr("dilations", A::Ints(&i64s(&c.dilation_rate[..r]))),
        attr("pads", A::Ints(pads)),
    ]
}

/// Keras's `[k…, a, b]` kernel as ONNX's `[b, a, k…]`.
fn oihw(dims: &[usize], data: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let r = dims.len() - 2;
    let mut perm = vec![r + 1, r];
    perm.extend(0..r);
    let out_dims = perm.iter().map(|&p| dims[p]).collect();
    (out_dims, permute(data, dims, &perm))
}

/// A depthwise kernel `[k…, C, dm]` as ONNX's grouped `[C·dm, 1, k…]`: output channel
/// `c·dm + m`.
fn depthwise_kernel(dims: &[usize], data: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let r = dims.len() - 2;
    let mut merged = dims[..r].to_vec();
    merged.push(dims[r] * dims[r + 1]);
    let mut perm = vec![r];
    perm.extend(0..r);
    let mut out_dims = vec![merged[r], 1];
    out_dims.extend_from_slice(&dims[..r]);
    (out_dims, permute(data, &merged, &perm))
}

/// The pads of a transposed convolution (the window of the convolution from its output
/// back to its input), and its `output_padding` where the output is longer than they
/// reach (a `valid` window shorter than its stride).
fn transpose_pads(c: &Conv, input: &Shape, output: &Shape) -> (Vec<i64>, Vec<i64>) {
    let (mut begin, mut end, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..c.rank {
        let (size, out, s, k) = (
            input.dim(i),
            output.dim(i),
            c.strides[i],
            c.effective_kernel(i),
        );
        let before = pad_before(c.padding, out, size, s, k);
        let total = ((size.max(1) - 1) * s + k) as i64 - out as i64;
        begin.push(before as i64);
        if total >= 0 {
            end.push(total - before as i64);
            extra.push(0);
        } else {
            end.push(0);
            extra.push(-total);
        }
    }
    begin.extend(end);
    (begin, extra)
}

pub(crate) fn conv(c: &Conv, call: &mut Call) -> Val {
    let x = call.b.channels_first(&call.x());
    let (input, output) = (x.shape, call.output);
    let channels = input.last() as i64;
    let (k_dims, k_data) = (call.weights[0].shape.clone(), call.weights[0].data.clone());
    let bias = match call.weights.last() {
        Some(t) if c.use_bias => {
            let (d, v) = (t.shape.clone(), t.data.clone());
            Some(call.weight("bias", &d, &v))
        }
        _ => None,
    };
    let mut ins = vec![x.name.clone()];
    let (op, attrs) = match c.op {
        ConvOp::Regular => {
            let (d, v) = oihw(&k_dims, &k_data);
            ins.push(call.weight("kernel", &d, &v));
            let mut attrs = window_attrs(c, &pads(c, &input, &output));
            attrs.push(attr("group", A::I(c.groups.max(1) as i64)));
            ("Conv", attrs)
        }
        ConvOp::Depthwise => {
            let (d, v) = depthwise_kernel(&k_dims, &k_data);
            ins.push(call.weight("kernel", &d, &v));
            let mut attrs = window_attrs(c, &pads(c, &input, &output));
            attrs.push(attr("group", A::I(channels)));
            ("Conv", attrs)
        }
        ConvOp::Separable => {
            let (d, v) = depthwise_kernel(&k_dims, &k_data);
            let w = call.weight("depthwise_kernel", &d, &v);
            let mut attrs = window_attrs(c, &pads(c, &input, &output));
            attrs.push(attr("group", A::I(channels)));
            let depthwise = call.b.node("Conv", &[&x.name, &w], attrs);
            let p = &call.weights[1];
            let (d, v) = oihw(&p.shape.clone(), &p.data.clone());
            ins = vec![depthwise, call.weight("pointwise_kernel", &d, &v)];
            ("Conv", vec![])
        }
        ConvOp::Transpose => {
            let (d, v) = oihw(&k_dims, &k_data);
            ins.push(call.weight("kernel", &d, &v));
            let (pads, extra) = transpose_pads(c, &input, &output);
            let mut attrs = window_attrs(c, &pads);
            if extra.iter().any(|&e| e != 0) {
                attrs.push(attr("output_padding", A::Ints(&extra)));
            }
            ("ConvTranspose", attrs)
        }
    };
    ins.extend(bias);
    let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
    let out = call.b.node(op, &ins, attrs);
    let y = x.like(out, output);
    apply(call.b, &y, c.activation)
}
