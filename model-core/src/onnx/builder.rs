//! The graph being written: nodes, initializers, unique names, and the layout of each value.
//!
//! A model's interface is Keras's: channels last. Inside, a value may be held channels
//! first (`NCHW`, what ONNX's `Conv` and pooling take), so that consecutive convolutions
//! and poolings need no transpose between them; [`Builder::channels_last`] and
//! [`Builder::channels_first`] convert, once per value (the conversion is cached).

use std::collections::{HashMap, HashSet};

use super::proto::{attribute_proto::AttributeType, tensor_proto::DataType};
use super::proto::{AttributeProto, NodeProto, TensorProto};
use crate::shape::Shape;

/// How a value's elements are laid out, against Keras's shape (without batch) `shape`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Layout {
    /// Keras's: `[N, d1, …, dk, C]`.
    Last,
    /// Channels first: `[N, C, d1, …, dk]` (only for Keras ranks of 2 or more).
    First,
    /// A `Flatten` of a channels-first value whose Keras shape was this: `[N, C·d1·…·dk]`,
    /// channel-major. A `Dense` reads it by permuting its kernel's rows.
    FlatFirst(Shape),
}

/// One value of the graph: its name, layout, and Keras shape without batch.
#[derive(Clone, Debug)]
pub(crate) struct Val {
    pub name: String,
    pub layout: Layout,
    pub shape: Shape,
}

impl Val {
    /// A value in Keras's layout.
    pub fn last(name: String, shape: Shape) -> Val {
        Val {
            name,
            layout: Layout::Last,
            shape,
        }
    }

    /// The same layout, another name and shape: what an element-wise or layout-keeping
    /// operation gives.
    pub fn like(&self, name: String, shape: Shape) -> Val {
        Val {
            name,
            layout: self.layout.clone(),
            shape,
        }
    }

    /// The ONNX axis of Keras sample axis `a` (0-based, batch excluded).
    pub fn axis(&self, a: usize) -> usize {
        let r = self.shape.rank();
        match self.layout {
            Layout::First if a + 1 == r => 1,
            Layout::First => a + 2,
            Layout::Last | Layout::FlatFirst(_) => a + 1,
        }
    }

    /// The ONNX dimensions after the batch, in this value's layout.
    pub fn onnx_dims(&self) -> Vec<usize> {
        let d = self.shape.dims();
        match self.layout {
            Layout::First => {
                let mut v = vec![self.shape.last()];
                v.extend_from_slice(&d[..d.len() - 1]);
                v
            }
            Layout::Last | Layout::FlatFirst(_) => d.to_vec(),
        }
    }
}

/// An attribute value, for [`attr`].
pub(crate) enum A<'a> {
    I(i64),
    F(f32),
    S(&'a str),
    Ints(&'a [i64]),
    Strs(&'a [&'a str]),
}

/// A node attribute.
pub(crate) fn attr(name: &str, value: A) -> AttributeProto {
    let mut a = AttributeProto {
        name: name.to_string(),
        ..Default::default()
    };
    match value {
        A::I(i) => {
            a.i = i;
            a.r#type = AttributeType::Int as i32;
        }
        A::F(f) => {
            a.f = f;
            a.r#type = AttributeType::Float as i32;
        }
        A::S(s) => {
            a.s = s.as_bytes().to_vec();
            a.r#type = AttributeType::String as i32;
        }
        A::Ints(v) => {
            a.ints = v.to_vec();
            a.r#type = AttributeType::Ints as i32;
        }
        A::Strs(v) => {
            a.strings = v.iter().map(|s| s.as_bytes().to_vec()).collect();
            a.r#type = AttributeType::Strings as i32;
        }
    }
    a
}

/// `usize`s as ONNX's `int64`s.
pub(crate) fn i64s(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&d| d as i64).collect()
}

/// The graph under construction.
#[derive(Default)]
pub(crate) struct Builder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    initializer_names: HashSet<String>,
    /// How many names each stem has given out.
    names: HashMap<String, usize>,
    /// The stem of the names given now: the layer being lowered.
    pub prefix: String,
    /// Conversions made: (value, channels first) → the converted value.
    converted: HashMap<(String, bool), Val>,
}

impl Builder {
    /// A name not given before, `prefix/hint` (`prefix/hint_2` the second time).
    pub fn fresh(&mut self, hint: &str) -> String {
        let stem = if self.prefix.is_empty() {
            hint.to_string()
        } else {
            format!("{}/{hint}", self.prefix)
        };
        self.unique(stem)
    }

    /// `stem`, or `stem_N` when it is taken.
    pub fn unique(&mut self, stem: String) -> String {
        let n = self.names.entry(stem.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            stem
        } else {
            let name = format!("{stem}_{n}");
            // A generated name can collide with a given one: take the next.
            if self.names.contains_key(&name) {
                return self.unique(name);
            }
            self.names.insert(name.clone(), 1);
            name
        }
    }

    /// Reserves `name` exactly (an input or output of the model).
    pub fn reserve(&mut self, name: &str) {
        self.names.insert(name.to_string(), 1);
    }

    /// A node with one output; its name.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        self.node_n(op, inputs, 1, attrs).remove(0)
    }

    /// A node with `outputs` outputs; their names.
    pub fn node_n(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: usize,
        attrs: Vec<AttributeProto>,
    ) -> Vec<String> {
        let hint = op.to_ascii_lowercase();
        let out: Vec<String> = (0..outputs)
            .map(|i| {
                if outputs == 1 {
                    self.fresh(&hint)
                } else {
                    self.fresh(&format!("{hint}_out{i}"))
                }
            })
            .collect();
        self.node_into(op, inputs, &out, attrs);
        out
    }

    /// A node writing the given output names.
    pub fn node_into(
        &mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[String],
        attrs: Vec<AttributeProto>,
    ) {
        let name = self.fresh(&format!("{}_node", op.to_ascii_lowercase()));
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.to_vec(),
            name,
            op_type: op.to_string(),
            attribute: attrs,
            ..Default::default()
        });
    }

    /// A `float` initializer named `name` exactly, added once (a shared layer's weights
    /// are written once and read by each of its calls).
    pub fn weight(&mut self, name: String, dims: &[usize], data: &[f32]) -> String {
        if self.initializer_names.insert(name.clone()) {
            self.reserve(&name);
            self.initializers.push(TensorProto {
                dims: i64s(dims),
                data_type: DataType::Float as i32,
                name: name.clone(),
                raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
                ..Default::default()
            });
        }
        name
    }

    /// A `float` constant of the layer being lowered.
    pub fn floats(&mut self, hint: &str, dims: &[usize], data: &[f32]) -> String {
        let name = self.fresh(hint);
        self.weight(name, dims, data)
    }

    /// A scalar `float` constant.
    pub fn scalar(&mut self, v: f32) -> String {
        self.floats("const", &[], &[v])
    }

    /// A 1-D `int64` constant (shapes, axes, pads).
    pub fn ints(&mut self, hint: &str, v: &[i64]) -> String {
        let name = self.fresh(hint);
        self.initializer_names.insert(name.clone());
        self.initializers.push(TensorProto {
            dims: vec![v.len() as i64],
            data_type: DataType::Int64 as i32,
            name: name.clone(),
            raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// `x` reshaped to `[batch, dims…]` (the batch is kept as it is).
    pub fn reshape(&mut self, x: &str, dims: &[usize]) -> String {
        let mut shape = vec![0i64];
        shape.extend(i64s(dims));
        let s = self.ints("shape", &shape);
        self.node("Reshape", &[x, &s], vec![])
    }

    /// `x` reshaped to `[-1, dims…]`: for a batch that changes (`TimeDistributed`).
    pub fn reshape_any(&mut self, x: &str, dims: &[usize]) -> String {
        let mut shape = vec![-1i64];
        shape.extend(i64s(dims));
        let s = self.ints("shape", &shape);
        self.node("Reshape", &[x, &s], vec![])
    }

    /// `x` with its axes permuted.
    pub fn transpose(&mut self, x: &str, perm: &[usize]) -> String {
        self.node("Transpose", &[x], vec![attr("perm", A::Ints(&i64s(perm)))])
    }

    /// `v` in Keras's layout.
    pub fn channels_last(&mut self, v: &Val) -> Val {
        match &v.layout {
            Layout::Last => v.clone(),
            Layout::First => {
                let key = (v.name.clone(), false);
                if let Some(c) = self.converted.get(&key) {
                    return c.clone();
                }
                let r = v.shape.rank();
                let mut perm = vec![0];
                perm.extend(2..r + 1);
                perm.push(1);
                let name = self.transpose(&v.name, &perm);
                let out = Val::last(name, v.shape);
                self.converted.insert(key, out.clone());
                out
            }
            Layout::FlatFirst(keras) => {
                let key = (v.name.clone(), false);
                if let Some(c) = self.converted.get(&key) {
                    return c.clone();
                }
                let first = Val {
                    name: v.name.clone(),
                    layout: Layout::First,
                    shape: *keras,
                };
                let dims = first.onnx_dims();
                let unflat = self.reshape(&v.name, &dims);
                let back = self.channels_last(&Val {
                    name: unflat,
                    ..first
                });
                let name = self.reshape(&back.name, v.shape.dims());
                let out = Val::last(name, v.shape);
                self.converted.insert(key, out.clone());
                out
            }
        }
    }

    /// `v` channels first, when its Keras rank is 2 or more (a rank-1 value is both).
    pub fn channels_first(&mut self, v: &Val) -> Val {
        if v.layout == Layout::First || v.shape.rank() < 2 {
            return v.clone();
        }
        let v = self.channels_last(v);
        let key = (v.name.clone(), true);
        if let Some(c) = self.converted.get(&key) {
            return c.clone();
        }
        let r = v.shape.rank();
        let mut perm = vec![0, r];
        perm.extend(1..r);
        let name = self.transpose(&v.name, &perm);
        let out = Val {
            name,
            layout: Layout::First,
            shape: v.shape,
        };
        self.converted.insert(key, out.clone());
        out
    }

    /// A per-channel constant (`values` one per channel, or one for all) shaped to
    /// broadcast against `v` in its layout (`[C]`, or `[C, 1, …]` channels first).
    pub fn per_channel(&mut self, v: &Val, hint: &str, values: &[f32]) -> String {
        if values.len() == 1 {
            return self.floats(hint, &[], values);
        }
        let mut dims = vec![values.len()];
        if v.layout == Layout::First {
            dims.extend(std::iter::repeat_n(1, v.shape.rank() - 1));
        }
        self.floats(hint, &dims, values)
    }
}

/// `data` of shape `dims`, its axes permuted: output axis `i` is input axis `perm[i]`.
pub(crate) fn permute(data: &[f32], dims: &[usize], perm: &[usize]) -> Vec<f32> {
    let rank = dims.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let out_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let total: usize = dims.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut index = vec![0usize; rank];
    for _ in 0..total {
        out.push(
            data[index
                .iter()
                .zip(&out_strides)
                .map(|(i, s)| i * s)
                .sum::<usize>()],
        );
        for a in (0..rank).rev() {
            index[a] += 1;
            if index[a] < out_dims[a] {
                break;
            }
            index[a] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_moves_axes() {
        // [[1, 2, 3], [4, 5, 6]] transposed.
        let t = permute(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], &[1, 0]);
        assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let id = permute(&[1.0, 2.0, 3.0, 4.0], &[1, 2, 2], &[0, 1, 2]);
        assert_eq!(id, [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn names_are_unique() {
        let mut b = Builder {
            prefix: "dense".into(),
            ..Default::default()
        };
        assert_eq!(b.fresh("matmul"), "dense/matmul");
        assert_eq!(b.fresh("matmul"), "dense/matmul_2");
        b.reserve("x_2");
        assert_eq!(b.unique("x".into()), "x");
        assert_eq!(b.unique("x".into()), "x_2_2");
    }
}
