//! Unit tests of the runtime as a whole: executor errors, safetensors files, and weight
//! specs against the evaluator's parameter counts.

use super::*;
use crate::layer::{test_layer as layer, Kind};
use crate::value::Value;

fn mlp() -> [Layer; 2] {
    [
        layer(
            Kind::Dense,
            &[("units", Value::Int(3)), ("activation", Value::Str("relu"))],
        ),
        layer(
            Kind::Dense,
            &[
                ("units", Value::Int(2)),
                ("activation", Value::Str("softmax")),
            ],
        ),
    ]
}

/// A fresh path in the system's temporary directory.
fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("model-core-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn predict_runs_a_model_and_reuses_its_workspace() {
    let layers = mlp();
    let input = Shape::new(&[4]);
    let weights = init_model(&layers, input, 1).unwrap();
    let x: Vec<f32> = (0..8).map(|i| i as f32 / 8.0).collect();
    let y = predict(&layers, input, &weights, &x, 2).unwrap();
    assert_eq!(y.len(), 4);
    for row in y.chunks(2) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let mut ws = Workspace::new();
    let mut out = vec![0.0; 4];
    let refs: Vec<&LayerWeights> = weights.iter().collect();
    predict_into(&layers, input, &refs, &x, 2, &mut out, &mut ws).unwrap();
    assert_eq!(out, y);
    let capacity = (ws.ping_capacity(), ws.scratch_capacity());
    predict_into(&layers, input, &refs, &x, 2, &mut out, &mut ws).unwrap();
    assert_eq!(capacity, (ws.ping_capacity(), ws.scratch_capacity()));
}

#[test]
fn layers_that_move_no_data_are_skipped_without_changing_results() {
    let flatten = Layer::FLATTEN;
    let dropout = layer(Kind::Dropout, &[("rate", Value::Float(0.5))]);
    let [d1, d2] = mlp();
    let input = Shape::new(&[2, 2]);
    let plain = [flatten, d1, d2];
    let padded = [flatten, dropout, d1, dropout, flatten, d2, dropout];
    let w = init_model(&plain, input, 2).unwrap();
    let none = LayerWeights::NONE;
    let padded_w = [&none, &none, &w[1], &none, &none, &w[2], &none];
    let x: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    let want = predict(&plain, input, &w, &x, 3).unwrap();
    assert_eq!(predict(&padded, input, &padded_w, &x, 3).unwrap(), want);
    // A no-op layer given weights is still refused.
    let bad = [&none, &w[1], &w[1], &none, &none, &w[2], &none];
    let e = predict(&padded, input, &bad, &x, 3).unwrap_err();
    assert_eq!(e.layer(), Some(1), "{e}");
}

#[test]
fn bad_buffers_and_weights_are_errors_not_panics() {
    let layers = mlp();
    let input = Shape::new(&[4]);
    let mut weights = init_model(&layers, input, 1).unwrap();
    let e = predict(&layers, input, &weights, &[0.0; 7], 2).unwrap_err();
    assert!(e.message.contains("8 values, got 7"), "{e}");
    // A batch too large to address, or merely too large for the input, allocates nothing.
    let e = predict(&layers, input, &weights, &[0.0; 8], usize::MAX).unwrap_err();
    assert!(e.message.contains("more values than memory"), "{e}");
    let e = predict(&layers, input, &weights, &[0.0; 8], 1 << 60).unwrap_err();
    assert!(e.message.contains("got 8"), "{e}");
    let e = predict(&layers, input, &weights[..1], &[0.0; 8], 2).unwrap_err();
    assert!(e.message.contains("2 layers but 1"), "{e}");
    let mut out = vec![0.0; 5];
    let e = predict_into(
        &layers,
        input,
        &weights,
        &[0.0; 8],
        2,
        &mut out,
        &mut Workspace::new(),
    )
    .unwrap_err();
    assert!(e.message.contains("output buffer"), "{e}");
    weights[1].tensors[0] = Tensor::zeros(&[2, 3]);
    let e = predict(&layers, input, &weights, &[0.0; 8], 2).unwrap_err();
    assert_eq!(e.layer(), Some(1));
    assert!(
        e.message
            .contains("`kernel` must have shape [3, 2], got [2, 3]"),
        "{e}"
    );
    weights[1].tensors.pop();
    let e = predict(&layers, input, &weights, &[0.0; 8], 2).unwrap_err();
    assert!(e.message.contains("2 weights (kernel, bias), got 1"), "{e}");
}

#[test]
fn embedding_rejects_ids_out_of_range() {
    let layers = [layer(
        Kind::Embedding,
        &[("input_dim", Value::Int(5)), ("output_dim", Value::Int(2))],
    )];
    let input = Shape::new(&[3]);
    let weights = init_model(&layers, input, 1).unwrap();
    assert!(predict(&layers, input, &weights, &[0.0, 4.0, 2.0], 1).is_ok());
    for bad in [5.0, -1.0, 1.5, f32::NAN] {
        let e = predict(&layers, input, &weights, &[0.0, bad, 2.0], 1).unwrap_err();
        assert!(e.message.contains("0..5"), "{e}");
    }
}

/// `x` (`[batch, steps, features]`) with its steps in reverse order.
fn reverse_steps(x: &[f32], steps: usize, features: usize) -> Vec<f32> {
    x.chunks(steps * features)
        .flat_map(|seq| seq.chunks(features).rev().flatten().copied())
        .collect()
}

#[test]
fn go_backwards_reads_the_steps_from_the_last() {
    let (steps, features, units) = (4, 3, 5);
    let input = Shape::new(&[steps, features]);
    let x: Vec<f32> = (0..2 * steps * features)
        .map(|i| (i as f32 * 0.7).sin())
        .collect();
    let reversed = reverse_steps(&x, steps, features);
    for cell in [Kind::SimpleRNN, Kind::LSTM, Kind::GRU] {
        for sequences in [false, true] {
            let rnn = |backwards| {
                layer(
                    cell,
                    &[
                        ("units", Value::Int(units as i64)),
                        ("go_backwards", Value::Bool(backwards)),
                        ("return_sequences", Value::Bool(sequences)),
                    ],
                )
            };
            let weights = init_model(&[rnn(false)], input, 5).unwrap();
            let back = predict(&[rnn(true)], input, &weights, &x, 2).unwrap();
            // The backward pass over x is the forward pass over x reversed, in the order the
            // steps ran.
            assert_eq!(
                back,
                predict(&[rnn(false)], input, &weights, &reversed, 2).unwrap(),
                "{cell:?}"
            );
        }
    }
}

#[test]
fn bidirectional_realigns_the_backward_sequence_before_merging() {
    let (steps, features, units) = (3, 2, 4);
    let input = Shape::new(&[steps, features]);
    let x: Vec<f32> = (0..steps * features)
        .map(|i| (i as f32 * 1.3).cos())
        .collect();
    let gru = layer(
        Kind::GRU,
        &[
            ("units", Value::Int(units as i64)),
            ("return_sequences", Value::Bool(true)),
        ],
    );
    let inner: &'static Layer = Box::leak(Box::new(gru));
    let bi = |mode| {
        layer(
            Kind::Bidirectional,
            &[
                ("layer", Value::Layer(inner)),
                ("merge_mode", Value::Str(mode)),
            ],
        )
    };
    let w = init_model(&[bi("sum")], input, 3).unwrap().remove(0);
    let (fw, bw) = w.tensors.split_at(3);
    let forward = predict(
        &[gru],
        input,
        &[LayerWeights {
            tensors: fw.to_vec(),
        }],
        &x,
        1,
    )
    .unwrap();
    let backward = predict(
        &[gru],
        input,
        &[LayerWeights {
            tensors: bw.to_vec(),
        }],
        &reverse_steps(&x, steps, features),
        1,
    );
    let backward = reverse_steps(&backward.unwrap(), steps, units);
    let sum = predict(&[bi("sum")], input, std::slice::from_ref(&w), &x, 1).unwrap();
    let concat = predict(&[bi("concat")], input, std::slice::from_ref(&w), &x, 1).unwrap();
    for t in 0..steps {
        for j in 0..units {
            let (f, b) = (forward[t * units + j], backward[t * units + j]);
            assert!((sum[t * units + j] - (f + b)).abs() < 1e-6);
            assert_eq!(concat[t * 2 * units + j], f);
            assert_eq!(concat[t * 2 * units + units + j], b);
        }
    }
}

#[test]
fn time_distributed_runs_its_layer_on_every_step() {
    let conv = layer(
        Kind::Conv1D,
        &[
            ("filters", Value::Int(3)),
            ("kernel_size", Value::Int(2)),
            ("padding", Value::Str("same")),
        ],
    );
    let inner: &'static Layer = Box::leak(Box::new(conv));
    let td = layer(Kind::TimeDistributed, &[("layer", Value::Layer(inner))]);
    let (steps, length, channels) = (4, 5, 2);
    let w = init_model(&[td], Shape::new(&[steps, length, channels]), 6).unwrap();
    let x: Vec<f32> = (0..2 * steps * length * channels)
        .map(|i| (i as f32 * 0.9).sin())
        .collect();
    let ours = predict(&[td], Shape::new(&[steps, length, channels]), &w, &x, 2).unwrap();
    // The same as the convolution on a batch of 2 · steps sequences.
    let flat = predict(&[conv], Shape::new(&[length, channels]), &w, &x, 2 * steps).unwrap();
    assert_eq!(ours, flat);
}

#[test]
fn an_empty_batch_gives_an_empty_output() {
    let input = Shape::new(&[6, 6, 2]);
    let layers = [
        layer(
            Kind::Conv2D,
            &[("filters", Value::Int(4)), ("kernel_size", Value::Int(3))],
        ),
        layer(Kind::MaxPooling2D, &[]),
        layer(Kind::GlobalAveragePooling2D, &[]),
    ];
    let weights = init_model(&layers, input, 1).unwrap();
    assert_eq!(
        predict(&layers, input, &weights, &[], 0).unwrap(),
        Vec::<f32>::new()
    );
}

fn tensor(shape: &[usize], offset: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor {
        shape: shape.to_vec(),
        data: (0..n).map(|i| i as f32 + offset).collect(),
    }
}

#[test]
fn safetensors_round_trip() {
    let path = temp_path("round_trip.safetensors");
    let (a, b) = (tensor(&[2, 3], 0.5), tensor(&[4], -1.0));
    save(&path, &[("dense/kernel", &a), ("dense/bias", &b)]).unwrap();
    let loaded = load(&path, &[("dense/bias", &[4]), ("dense/kernel", &[2, 3])]).unwrap();
    assert_eq!(loaded, [b.clone(), a.clone()]);
    let all = read(&path).unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.contains(&("dense/kernel".to_string(), a)));
}

#[test]
fn load_reports_every_problem_by_name() {
    let path = temp_path("problems.safetensors");
    // An I32 tensor, written with the safetensors crate itself.
    let ids: Vec<u8> = [1i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::I32, vec![2], &ids).unwrap();
    let k = tensor(&[2, 2], 0.0);
    let kbytes = f32_bytes(&k.data);
    let kview =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 2], &kbytes).unwrap();
    let bytes = safetensors::serialize([("a/ids", view), ("a/kernel", kview)], None).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let err = load(
        &path,
        &[("a/kernel", &[3, 2]), ("a/ids", &[2]), ("a/bias", &[2])],
    )
    .unwrap_err();
    let LoadError::Tensors { problems, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &[
            LoadProblem::Shape {
                name: "a/kernel".into(),
                expected: vec![3, 2],
                found: vec![2, 2]
            },
            LoadProblem::Dtype {
                name: "a/ids".into(),
                found: "I32".into()
            },
            LoadProblem::Missing {
                name: "a/bias".into()
            },
        ]
    );
    let message = err.to_string();
    assert!(
        message.contains("3 problems") && message.contains("`a/bias` is missing"),
        "{message}"
    );
    // Integer tensors read as f32 values (token ids).
    let all = read(&path).unwrap();
    assert!(all.contains(&(
        "a/ids".to_string(),
        Tensor {
            shape: vec![2],
            data: vec![1.0, 2.0]
        }
    )));
}

fn f32_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn truncated_and_missing_files_are_errors() {
    let path = temp_path("truncated.safetensors");
    save(&path, &[("x", &tensor(&[16], 0.0))]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
    assert!(matches!(
        load(&path, &[("x", &[16])]),
        Err(LoadError::Format { .. })
    ));
    std::fs::write(&path, &bytes[..4]).unwrap();
    assert!(matches!(read(&path), Err(LoadError::Format { .. })));
    let missing = temp_path("does-not-exist.safetensors");
    let err = load(&missing, &[]).unwrap_err();
    assert!(
        matches!(err, LoadError::Io { .. }) && err.to_string().contains("does-not-exist"),
        "{err}"
    );
}

#[test]
fn save_replaces_a_file_only_when_complete() {
    let path = temp_path("atomic.safetensors");
    let good = tensor(&[3], 1.0);
    save(&path, &[("w", &good)]).unwrap();
    // A tensor whose data disagrees with its shape is refused before anything is written.
    let bad = Tensor {
        shape: vec![4],
        data: vec![0.0; 3],
    };
    assert!(save(&path, &[("w", &bad)]).is_err());
    assert_eq!(
        load(&path, &[("w", &[3])]).unwrap(),
        std::slice::from_ref(&good)
    );
    // A failing write (the target is a directory) leaves no temporary file behind. In a
    // folder of its own: other tests save beside `temp_path`'s files at the same time, and
    // their temporary files, there for a moment, are not leftovers.
    let dir = temp_path("atomic-alone").join("atomic-dir");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(save(&dir, &[("w", &good)]).is_err());
    let parent = dir.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn model_files_name_tensors_by_layer() {
    let layers = [
        layer(Kind::Dense, &[("units", Value::Int(3))]),
        layer(
            Kind::Bidirectional,
            &[(
                "layer",
                Value::Layer(Box::leak(Box::new(layer(
                    Kind::GRU,
                    &[("units", Value::Int(2))],
                )))),
            )],
        ),
    ];
    let input = Shape::new(&[5, 4]);
    let weights = init_model(&layers, input, 9).unwrap();
    let path = temp_path("model.safetensors");
    save_model(&path, &["dense", "bidirectional"], &layers, input, &weights).unwrap();
    let names: Vec<String> = read(&path).unwrap().into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"bidirectional/backward/recurrent_kernel".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"dense/kernel".to_string()), "{names:?}");
    assert_eq!(
        load_model(&path, &["dense", "bidirectional"], &layers, input).unwrap(),
        weights
    );
    let err = load_model(&path, &["dense", "bi"], &layers, input).unwrap_err();
    assert_eq!(err.to_string().matches("is missing").count(), 6, "{err}");
}

#[cfg(feature = "keras-json")]
#[test]
fn weight_specs_add_up_to_the_evaluators_counts_on_the_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/keras-reference/models");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("the reference corpus is missing at {}", dir.display());
    };
    let mut checked = 0;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let m = crate::keras::model_file(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut shape = m.input_shape;
        for l in m.layers.iter() {
            let Ok(l) = l else { break };
            let Ok(e) = l.eval(&shape) else { break };
            let specs = weight_specs(l, &shape);
            let count = |trainable: bool| -> usize {
                specs
                    .iter()
                    .filter(|s| s.trainable == trainable)
                    .map(|s| s.shape.iter().product::<usize>())
                    .sum()
            };
            assert_eq!(
                (count(true), count(false)),
                (e.trainable, e.non_trainable),
                "{}: {:?}",
                m.name,
                l
            );
            checked += 1;
            shape = e.output;
        }
    }
    assert!(checked > 1000, "only {checked} layers checked");
}

#[test]
fn aligned_buffers_start_on_a_cache_line_and_keep_their_start() {
    let mut b = Vec::new();
    for need in [0, 1, 15, 16, 17, 1000, 3] {
        let start = {
            let s = aligned(&mut b, need);
            assert_eq!(s.len(), need);
            s.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
            s.as_ptr()
        };
        if need > 0 {
            assert_eq!(start as usize % 64, 0, "{need} values");
        }
        // A reader finds what the writer left where it left it.
        let read = &lined(&b)[..need];
        assert_eq!(read.as_ptr(), start);
        assert!(read.iter().enumerate().all(|(i, &v)| v == i as f32));
    }
    // A slice of fewer values than its skip to the next line: an empty view, not a panic.
    let line = aligned(&mut b, 32);
    assert!(lined(&line[1..4]).is_empty());
    assert_eq!(lined(&line[1..17]).as_ptr(), line[16..].as_ptr());
}
