//! Inference of graph models: keras.applications' ResNet50 and MobileNetV2 (written in the
//! DSL in `examples/applications/`, Keras's layer names and counts), at batch 1 and 8, with
//! random weights (`init`) and random inputs. The peers: `tools/keras_applications_infer.py`
//! (TensorFlow/Keras) and `tools/onnx_bench_ort.py` on the same models exported with
//! `save_onnx` (ONNX Runtime).
//!
//! `cargo bench --bench graph_inference`; the thread count is rayon's (`RAYON_NUM_THREADS=1`
//! for one), the threads the kernels' own pool (`model-core/src/runtime/threads.rs`).

#[allow(dead_code)]
#[path = "../examples/applications/mobilenet_v2.rs"]
mod mobilenet_v2;
#[allow(dead_code)]
#[path = "../examples/applications/resnet50.rs"]
mod resnet50;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use model::Workspace;
use std::hint::black_box;

/// `n` reproducible values in [-1, 1), the range of the peer's inputs
/// (`tools/keras_applications_infer.py` draws them uniformly from it): the timings of these
/// models move with the inputs' range (15–25 % for ResNet50 against inputs in [0, 1)).
fn inputs(n: usize) -> Vec<f32> {
    let mut s = 0x9e37_79b9_7f4a_7c15_u64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

macro_rules! case {
    ($c:expr, $name:literal, $m:ty) => {{
        let model = <$m>::init(1);
        let sample: usize = <$m>::INPUT_SHAPE.iter().product();
        let classes: usize = <$m>::OUTPUT_SHAPE.iter().product();
        let mut group = $c.benchmark_group($name);
        group.sample_size(10);
        for batch in [1usize, 8] {
            let x = inputs(batch * sample);
            let mut out = vec![0.0f32; batch * classes];
            let mut ws = Workspace::new();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_function(format!("batch {batch}"), |b| {
                b.iter(|| {
                    model
                        .predict_into(black_box(&x), &mut out, &mut ws)
                        .expect("whole samples");
                    black_box(&out);
                })
            });
        }
        group.finish();
    }};
}

fn graphs(c: &mut Criterion) {
    case!(c, "resnet50", resnet50::ResNet50);
    case!(c, "mobilenet_v2", mobilenet_v2::MobileNetV2);
}

criterion_group!(benches, graphs);
criterion_main!(benches);
