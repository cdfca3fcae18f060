//! Bad Keras files: each gets an error naming the file and the part at fault, and none
//! makes the reader panic (a byte-flipping, truncating fuzz over every fixture).

use std::io::Write;
use std::path::{Path, PathBuf};

use hdf5_pure::{AttrValue, FileBuilder};
use model_core::graph::Network;
use model_core::keras::{load_network, read_keras, read_keras_model};
use model_core::runtime::{read, LayerWeights};
use model_core::{Config, Layer};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/keras-files")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("model-keras-bad-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The error of reading `path` as a model with its weights.
fn error(path: &Path) -> String {
    match read_keras(path) {
        Ok(_) => panic!("{} was read", path.display()),
        Err(e) => e.to_string(),
    }
}

fn assert_says(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "`{p}` is not in: {message}");
    }
}

/// A `.keras` archive of the given members.
fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in members {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn member(path: &Path, name: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    std::io::copy(&mut z.by_name(name).unwrap(), &mut out).unwrap();
    out
}

#[test]
fn a_truncated_or_corrupt_zip() {
    let bytes = std::fs::read(fixture("cnn.keras")).unwrap();
    let cut = write("cut.keras", &bytes[..bytes.len() * 3 / 5]);
    assert_says(
        &error(&cut),
        &["cut.keras", "is not a valid `.keras` archive (zip)"],
    );
    // A flipped byte inside the weights member: the archive's checksum catches it.
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 0x5a;
    let bad = write("flipped.keras", &flipped);
    assert_says(&error(&bad), &["flipped.keras", "`model.weights.h5`"]);
}

#[test]
fn a_zip_without_config_json() {
    let weights = member(&fixture("mlp.keras"), "model.weights.h5");
    let p = write(
        "no_config.keras",
        &archive(&[("model.weights.h5", &weights)]),
    );
    assert_says(
        &error(&p),
        &["no_config.keras", "the archive has no `config.json`"],
    );
    let config = member(&fixture("mlp.keras"), "config.json");
    let p = write("no_weights.keras", &archive(&[("config.json", &config)]));
    assert_says(&error(&p), &["no_weights.keras", "no `model.weights.h5`"]);
    let p = write(
        "bad_json.keras",
        &archive(&[("config.json", b"{\"class_name\": ")]),
    );
    assert_says(
        &error(&p),
        &["bad_json.keras", "`config.json` is not valid JSON"],
    );
}

#[test]
fn a_truncated_or_corrupt_hdf5_file() {
    let bytes = std::fs::read(fixture("cnn.h5")).unwrap();
    let cut = write("cut.h5", &bytes[..bytes.len() / 2]);
    assert_says(&error(&cut), &["cut.h5"]);
    let mut broken = bytes.clone();
    broken[8..40].fill(0xff);
    let p = write("superblock.h5", &broken);
    assert_says(&error(&p), &["superblock.h5", "is not a valid HDF5 file"]);
    let p = write("text.h5", b"just some text, not HDF5");
    assert_says(&error(&p), &["text.h5", "is neither a `.keras` archive"]);
    // A weights member that is not HDF5.
    let config = member(&fixture("mlp.keras"), "config.json");
    let p = write(
        "weights_not_hdf5.keras",
        &archive(&[
            ("config.json", &config),
            ("model.weights.h5", b"\x89HDF\r\n\x1a\nrest"),
        ]),
    );
    assert_says(
        &error(&p),
        &[
            "weights_not_hdf5.keras",
            "`model.weights.h5` is not a valid HDF5 file",
        ],
    );
}

/// `mlp.keras` with its config edited by `edit`.
fn edited_mlp(name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let src = fixture("mlp.keras");
    let mut config: serde_json::Value =
        serde_json::from_slice(&member(&src, "config.json")).unwrap();
    edit(&mut config);
    let weights = member(&src, "model.weights.h5");
    let text = config.to_string();
    write(
        name,
        &archive(&[
            ("config.json", text.as_bytes()),
            ("model.weights.h5", &weights),
        ]),
    )
}

#[test]
fn an_unknown_layer_class_names_the_layer_its_class_and_what_is_supported() {
    let p = edited_mlp("unknown.keras", |c| {
        c["config"]["layers"][2]["class_name"] = "ConvLSTM2D".into();
    });
    let e = error(&p);
    assert_says(
        &e,
        &[
            "unknown.keras",
            "layer `dense` (ConvLSTM2D)",
            "unknown layer class `ConvLSTM2D`",
            "the supported classes are Dense, Activation, Embedding",
            "TimeDistributed",
        ],
    );
    // An argument whose value this project does not compute.
    let p = edited_mlp("channels_first.keras", |c| {
        c["config"]["layers"][1]["config"]["data_format"] = "channels_first".into();
    });
    assert_says(
        &error(&p),
        &[
            "layer `flatten` (Flatten)",
            "`data_format = \"channels_first\"` is not supported",
        ],
    );
    let p = edited_mlp("subclassed.keras", |c| c["class_name"] = "MyModel".into());
    assert_says(&error(&p), &["`MyModel` models cannot be read"]);
}

#[test]
fn a_lambda_or_a_custom_layer() {
    assert_says(
        &error(&fixture("bad/with_lambda.keras")),
        &[
            "with_lambda.keras",
            "layer `lambda` (Lambda)",
            "Python code",
        ],
    );
    assert_says(
        &error(&fixture("bad/with_custom.keras")),
        &[
            "with_custom.keras",
            "layer `scale` (Scale)",
            "`fixtures>Scale` is a custom layer",
        ],
    );
}

/// The network of `mlp.keras`, its last layer changed by `edit`.
fn mlp_network(edit: impl Fn(&mut Layer)) -> Network<'static> {
    let mut net = read_keras_model(fixture("mlp.keras")).unwrap().network;
    let mut layers = net.graph.layers.to_vec();
    edit(layers.last_mut().unwrap());
    net.graph.layers = Box::leak(layers.into_boxed_slice());
    net
}

fn load_error(path: &Path, network: &Network) -> String {
    match load_network(path, network) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_weight_of_the_wrong_shape_is_named_with_both_shapes() {
    let nine = mlp_network(|l| {
        if let Config::Dense(d) = &mut l.config {
            d.units = 9;
        }
    });
    for file in ["mlp.keras", "mlp.weights.h5"] {
        let e = load_error(&fixture(file), &nine);
        assert_says(
            &e,
            &[
                file,
                "2 problems",
                "layer `dense_1`: kernel is [32, 10] in the file, [32, 9] in the model",
                "layer `dense_1`: bias is [10] in the file, [9] in the model",
            ],
        );
    }
    let no_bias = mlp_network(|l| {
        if let Config::Dense(d) = &mut l.config {
            d.use_bias = false;
        }
    });
    assert_says(
        &load_error(&fixture("mlp.keras"), &no_bias),
        &["layer `dense_1`: `layers/dense_1/vars` holds 2 weights, the model's layer has 1 (kernel)"],
    );
}

/// One dataset of a layer's `vars`: its name, shape, and values (`None`: complex numbers,
/// which are not weights).
struct Var {
    name: &'static str,
    shape: Vec<u64>,
    values: Option<Vec<f32>>,
}

fn var(name: &'static str, shape: &[usize]) -> Var {
    let n = shape.iter().product();
    Var {
        name,
        shape: shape.iter().map(|&d| d as u64).collect(),
        values: Some(vec![0.5; n]),
    }
}

/// A Keras 3 weights file: per layer, its group under `layers/`, the name on its `vars`,
/// and its datasets.
fn weights_file(layers: Vec<(&str, &str, Vec<Var>)>) -> Vec<u8> {
    let mut b = FileBuilder::new();
    let mut top = b.create_group("layers");
    for (group, name, vars) in layers {
        let mut g = top.create_group(group);
        let mut v = g.create_group("vars");
        v.set_attr("name", AttrValue::VarLenString(name.to_string()));
        for Var {
            name,
            shape,
            values,
        } in vars
        {
            let n = shape.iter().product::<u64>() as usize;
            let d = v.create_dataset(name);
            match values {
                Some(values) => d.with_f32_data(&values),
                None => d.with_complex32_data(&vec![(0.0, 1.0); n]),
            }
            .with_shape(&shape);
        }
        g.add_group(v.finish());
        top.add_group(g.finish());
    }
    b.add_group(top.finish());
    b.finish().unwrap()
}

#[test]
fn a_missing_weight_a_missing_layer_and_a_layer_left_over() {
    let net = read_keras_model(fixture("mlp.keras")).unwrap().network;
    // `dense` lacks its bias; `dense_1` is not there; `extra` is not in the model.
    let bytes = weights_file(vec![
        ("dense", "dense", vec![var("0", &[64, 32])]),
        ("dense_2", "extra", vec![var("0", &[32, 10])]),
    ]);
    let p = write("missing.weights.h5", &bytes);
    let e = load_error(&p, &net);
    assert_says(
        &e,
        &[
            "missing.weights.h5",
            "3 problems",
            "layer `dense`: `layers/dense/vars` holds 1 weights, the model's layer has 2 (kernel, bias)",
            "layer `dense_1` is not in the file",
            "layer `extra` of the file (`layers/dense_2`) has weights, and the model has no layer of that name that takes them",
        ],
    );
}

#[test]
fn a_weight_that_is_not_numbers() {
    let net = read_keras_model(fixture("mlp.keras")).unwrap().network;
    let complex = Var {
        values: None,
        ..var("0", &[64, 32])
    };
    let bytes = weights_file(vec![
        ("dense", "dense", vec![complex, var("1", &[32])]),
        (
            "dense_1",
            "dense_1",
            vec![var("0", &[32, 10]), var("1", &[10])],
        ),
    ]);
    let p = write("complex.weights.h5", &bytes);
    assert_says(
        &load_error(&p, &net),
        &[
            "complex.weights.h5",
            "layer `dense`: kernel (`layers/dense/vars/0`)",
            "not numbers",
            "only float weights",
        ],
    );
}

#[test]
fn float16_and_bfloat16_weights_are_converted_exactly() {
    for dtype in ["float16", "bfloat16"] {
        let file = read_keras(fixture(&format!("bad/mlp_{dtype}.keras"))).unwrap();
        let keras = read(fixture(&format!("bad/mlp_{dtype}.values.safetensors"))).unwrap();
        let ours: Vec<&[f32]> = file
            .weights
            .iter()
            .flat_map(|w| w.tensors.iter().map(|t| t.data.as_slice()))
            .collect();
        assert_eq!(ours.len(), keras.len(), "{dtype}");
        for (i, theirs) in ours.iter().enumerate() {
            let want = &keras.iter().find(|(n, _)| *n == i.to_string()).unwrap().1;
            assert_eq!(*theirs, want.data.as_slice(), "{dtype} weight {i}");
        }
    }
}

#[test]
fn a_legacy_file_with_its_layer_names_split() {
    // Keras splits an attribute longer than HDF5's header limit into `layer_names0`, `1`, …;
    // a small file split the same way reads the same. The first part is fixed-length
    // strings, as old h5py wrote them (numpy's `S` arrays), the second variable-length.
    let net = read_keras_model(fixture("mlp.keras")).unwrap().network;
    let weights = read_keras(fixture("mlp.keras")).unwrap().weights;
    let mut b = FileBuilder::new();
    let mut top = b.create_group("model_weights");
    top.set_attr(
        "layer_names0",
        AttrValue::AsciiStringArray(vec!["flatten".into(), "dense".into()]),
    );
    top.set_attr(
        "layer_names1",
        AttrValue::VarLenAsciiStringArray(vec!["dense_1".into()]),
    );
    for (l, name) in net.layer_names.iter().enumerate() {
        let mut g = top.create_group(name);
        let names: Vec<String> = ["kernel", "bias"]
            .iter()
            .take(weights[l].tensors.len())
            .map(|w| format!("{name}/{w}:0"))
            .collect();
        g.set_attr(
            "weight_names",
            AttrValue::VarLenAsciiStringArray(names.clone()),
        );
        let mut inner = g.create_group(name);
        for (w, t) in names.iter().zip(&weights[l].tensors) {
            let leaf = w.rsplit('/').next().unwrap();
            let shape: Vec<u64> = t.shape.iter().map(|&d| d as u64).collect();
            inner
                .create_dataset(leaf)
                .with_f32_data(&t.data)
                .with_shape(&shape);
        }
        g.add_group(inner.finish());
        top.add_group(g.finish());
    }
    b.add_group(top.finish());
    let p = write("split.h5", &b.finish().unwrap());
    let loaded: Vec<LayerWeights> = load_network(&p, &net).unwrap();
    assert_eq!(loaded, weights);
}

#[test]
fn a_weights_only_file_is_not_a_model() {
    let e = error(&fixture("mlp.weights.h5"));
    assert_says(
        &e,
        &["mlp.weights.h5", "holds weights only", "Name::load_keras"],
    );
}

/// A small deterministic generator (xorshift), for the fuzz below.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn flipped_and_truncated_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture(""))
        .unwrap()
        .chain(std::fs::read_dir(fixture("bad")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.ends_with(".keras") || n.ends_with(".h5")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 18, "{files:?}");
    let net = read_keras_model(fixture("mlp.keras")).unwrap().network;
    let (mut tried, mut read_anyway) = (0, 0);
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for i in 1..=12 {
            variants.push(bytes[..bytes.len() * i / 13].to_vec());
        }
        for _ in 0..60 {
            let mut v = bytes.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() % v.len() as u64) as usize;
                v[at] ^= 1 << (rng.next() % 8);
            }
            variants.push(v);
        }
        for (i, v) in variants.iter().enumerate() {
            let p = write(&format!("fuzz_{i}_{name}"), v);
            let outcome = std::panic::catch_unwind(|| {
                let _ = load_network(&p, &net);
                read_keras(&p).is_ok()
            });
            match outcome {
                Ok(ok) => read_anyway += usize::from(ok),
                Err(_) => panic!("reading {} with bytes changed (variant {i}) panicked", name),
            }
            tried += 1;
            std::fs::remove_file(&p).unwrap();
        }
    }
    // A flipped bit in a weight's value (or in padding) leaves a valid file: those read.
    println!(
        "keras files fuzz: {tried} damaged files, none panicked ({} refused with an error, {read_anyway} still valid)",
        tried - read_anyway
    );
}

#[test]
fn training_only_settings_are_named_in_the_imported_source() {
    let p = edited_mlp("regularized.keras", |c| {
        let dense = &mut c["config"]["layers"][2]["config"];
        dense["kernel_regularizer"] = serde_json::json!({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}});
        dense["trainable"] = false.into();
    });
    let model = read_keras_model(&p).unwrap();
    let text = model_core::keras::source(&model.network, "Mlp", "doc", &model.not_kept);
    assert!(
        text.contains("        // not kept from Keras (training only): kernel_regularizer = L2, trainable = false\n        Dense(32, activation = relu),"),
        "{text}"
    );
}
