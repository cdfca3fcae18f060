//! A convolution's weights in Keras's layouts: `kernel [k…, in/groups, filters]`;
//! transposed `[k…, filters, in]`; separable `depthwise_kernel [k…, in, depth_multiplier]`
//! and `pointwise_kernel [1…, in · depth_multiplier, filters]`; depthwise
//! `kernel [k…, in, depth_multiplier]`; then the bias.

use super::{Conv, ConvOp};
use crate::runtime::{Init, Specs};
use crate::shape::Shape;

pub(super) fn specs(c: &Conv, input: &Shape, s: &mut Specs) {
    let r = c.rank;
    let channels = input.last();
    let mut dims = [1usize; 5];
    dims[..r].copy_from_slice(&c.kernel_size[..r]);
    let bias_len = match c.op {
        ConvOp::Transpose => {
            dims[r] = c.filters;
            dims[r + 1] = channels;
            s.push("kernel", &dims[..r + 2], Init::GlorotUniform);
            c.filters
        }
        ConvOp::Separable => {
            dims[r] = channels;
            dims[r + 1] = c.depth_multiplier;
            s.push("depthwise_kernel", &dims[..r + 2], Init::GlorotUniform);
            let mut point = [1usize; 5];
            point[r] = channels * c.depth_multiplier;
            point[r + 1] = c.filters;
            s.push("pointwise_kernel", &point[..r + 2], Init::GlorotUniform);
            c.filters
        }
        ConvOp::Depthwise => {
            dims[r] = channels;
            dims[r + 1] = c.depth_multiplier;
            s.push("kernel", &dims[..r + 2], Init::GlorotUniform);
            channels * c.depth_multiplier
        }
        ConvOp::Regular => {
            dims[r] = channels / c.groups.max(1);
            dims[r + 1] = c.filters;
            s.push("kernel", &dims[..r + 2], Init::GlorotUniform);
            c.filters
        }
    };
    if c.use_bias {
        s.push("bias", &[bias_len], Init::Zeros);
    }
}
