//! Zero padding (`Pad`), cropping (`Slice`) and upsampling in ONNX, in any layout: nearest
//! upsampling repeats each cell (a reshape that adds a size-1 axis after each upsampled
//! one, `Expand`, and a reshape back), which is exact and runs everywhere; bilinear is
//! `Resize` with half-pixel centers, as TensorFlow's `resize` computes it, channels first.

use super::{Interpolation, PadOp, Pads, UpSampling};
use crate::onnx::builder::{attr, i64s, Layout, Val, A};
use crate::onnx::Call;

pub(crate) fn pads(c: &Pads, call: &mut Call) -> Val {
    let mut x = call.x();
    if matches!(x.layout, Layout::FlatFirst(_)) {
        x = call.b.channels_last(&x);
    }
    let rank = x.shape.rank() + 1;
    let (mut begin, mut end) = (vec![0i64; rank], vec![0i64; rank]);
    for (a, amount) in c.amounts[..c.rank].iter().enumerate() {
        begin[x.axis(a)] = amount[0] as i64;
        end[x.axis(a)] = amount[1] as i64;
    }
    let b = &mut *call.b;
    let out = match c.op {
        PadOp::Zero => {
            begin.extend(end);
            let p = b.ints("pads", &begin);
            b.node("Pad", &[&x.name, &p], vec![attr("mode", A::S("constant"))])
        }
        PadOp::Crop => {
            let (mut starts, mut ends, mut axes) = (Vec::new(), Vec::new(), Vec::new());
            for (a, amount) in c.amounts[..c.rank].iter().enumerate() {
                starts.push(amount[0] as i64);
                ends.push((x.shape.dim(a) - amount[1]) as i64);
                axes.push(x.axis(a) as i64);
            }
            let (s, e, ax) = (
                b.ints("starts", &starts),
                b.ints("ends", &ends),
                b.ints("axes", &axes),
            );
            b.node("Slice", &[&x.name, &s, &e, &ax], vec![])
        }
    };
    x.like(out, call.output)
}

pub(crate) fn upsampling(c: &UpSampling, call: &mut Call) -> Val {
    if c.interpolation == Interpolation::Bilinear && c.rank == 2 {
        let x = call.b.channels_first(&call.x());
        let b = &mut *call.b;
        let scales = b.floats(
            "scales",
            &[4],
            &[1.0, 1.0, c.size[0] as f32, c.size[1] as f32],
        );
        let out = b.node(
            "Resize",
            &[&x.name, "", &scales],
            vec![
                attr("mode", A::S("linear")),
                attr("coordinate_transformation_mode", A::S("half_pixel")),
            ],
        );
        return x.like(out, call.output);
    }
    let mut x = call.x();
    if matches!(x.layout, Layout::FlatFirst(_)) {
        x = call.b.channels_last(&x);
    }
    let dims = x.onnx_dims();
    let mut factor = vec![1usize; dims.len()];
    for a in 0..c.rank {
        factor[x.axis(a) - 1] = c.size[a];
    }
    let (mut spread, mut expand, mut back) = (Vec::new(), vec![1usize], Vec::new());
    for (&d, &f) in dims.iter().zip(&factor) {
        spread.push(d);
        expand.push(1);
        if f > 1 {
            spread.push(1);
            expand.push(f);
        }
        back.push(d * f);
    }
    let b = &mut *call.b;
    let s = b.reshape(&x.name, &spread);
    let e = b.ints("shape", &i64s(&expand));
    let big = b.node("Expand", &[&s, &e], vec![]);
    let out = b.reshape(&big, &back);
    x.like(out, call.output)
}
