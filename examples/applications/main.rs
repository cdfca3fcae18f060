//! The ten keras.applications models written in the DSL, each in its own file, with
//! Keras's default arguments (`include_top=True`, 224×224×3 or 299×299×3, 1000 classes),
//! Keras's layer names and Keras's parameter counts (asserted at compile time in each file,
//! from `tools/keras_applications_counts.py`).
//!
//! ```text
//! cargo run --release --example applications -- NAME [--keras2]
//! ```
//!
//! prints NAME's summary: Keras 3's table, as `keras.applications.X().summary()` prints it,
//! or with `--keras2` Keras 2's functional table. NAME is one of `vgg16`, `resnet50`,
//! `mobilenet`, `mobilenet_v2`, `densenet121`, `efficientnet_b0`, `inception_v3`,
//! `xception`, `convnext_tiny`, `mobilenet_v3_small`.
//!
//! With `--keras DIR` it loads Keras's weights of the model instead
//! (`DIR/NAME.weights.h5`, written with Keras's inputs and outputs by
//! `tools/keras_applications_weights.py`), by layer name, runs Keras's inputs and
//! compares: one line, exit status 1 on any difference.
//!
//! With `--onnx FILE` it writes the model, with its `init(1)` weights, as an ONNX file
//! instead (`save_onnx`): the file ONNX Runtime runs beside `cargo bench --bench
//! graph_inference` (`tools/onnx_bench_ort.py`).

use std::io::Write as _;
use std::path::Path;

use model::Summary;

mod convnext_tiny;
mod densenet121;
mod efficientnet_b0;
mod inception_v3;
mod mobilenet;
mod mobilenet_v2;
mod mobilenet_v3_small;
mod resnet50;
mod vgg16;
mod xception;

/// Loads Keras's weights (a `.weights.h5`) into the model by layer name and predicts.
type KerasRun = fn(&Path, &[f32]) -> Result<Vec<f32>, String>;

/// Writes the model, with its `init(1)` weights, as an ONNX file.
type OnnxExport = fn(&Path) -> Result<(), String>;

/// A model's command-line name, Keras's name for it (its summary's `Model: "…"`), its
/// summary, its run on Keras's weights, and its ONNX export.
type Application = (
    &'static str,
    &'static str,
    fn() -> Summary,
    KerasRun,
    OnnxExport,
);

/// The [`KerasRun`] of a model type.
macro_rules! run {
    ($m:ty) => {
        |weights, x| {
            let m = <$m>::load_keras(weights).map_err(|e| e.to_string())?;
            m.predict(x).map_err(|e| e.to_string())
        }
    };
}

/// The [`OnnxExport`] of a model type.
macro_rules! onnx {
    ($m:ty) => {
        |path| <$m>::init(1).save_onnx(path).map_err(|e| e.to_string())
    };
}

#[rustfmt::skip]
const APPLICATIONS: &[Application] = &[
    ("vgg16", "vgg16", vgg16::Vgg16::summary, run!(vgg16::Vgg16), onnx!(vgg16::Vgg16)),
    ("resnet50", "resnet50", resnet50::ResNet50::summary, run!(resnet50::ResNet50), onnx!(resnet50::ResNet50)),
    ("mobilenet", "mobilenet_1.00_224", mobilenet::MobileNet::summary, run!(mobilenet::MobileNet), onnx!(mobilenet::MobileNet)),
    ("mobilenet_v2", "mobilenetv2_1.00_224", mobilenet_v2::MobileNetV2::summary, run!(mobilenet_v2::MobileNetV2), onnx!(mobilenet_v2::MobileNetV2)),
    ("densenet121", "densenet121", densenet121::DenseNet121::summary, run!(densenet121::DenseNet121), onnx!(densenet121::DenseNet121)),
    ("efficientnet_b0", "efficientnetb0", efficientnet_b0::EfficientNetB0::summary, run!(efficientnet_b0::EfficientNetB0), onnx!(efficientnet_b0::EfficientNetB0)),
    ("inception_v3", "inception_v3", inception_v3::InceptionV3::summary, run!(inception_v3::InceptionV3), onnx!(inception_v3::InceptionV3)),
    ("xception", "xception", xception::Xception::summary, run!(xception::Xception), onnx!(xception::Xception)),
    ("convnext_tiny", "convnext_tiny", convnext_tiny::ConvNeXtTiny::summary, run!(convnext_tiny::ConvNeXtTiny), onnx!(convnext_tiny::ConvNeXtTiny)),
    ("mobilenet_v3_small", "MobileNetV3Small", mobilenet_v3_small::MobileNetV3Small::summary, run!(mobilenet_v3_small::MobileNetV3Small), onnx!(mobilenet_v3_small::MobileNetV3Small)),
];

/// Little-endian `float32`s.
fn read_f32(path: &Path) -> Result<Vec<f32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{}: {} bytes, not whole float32s",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `--keras DIR`: Keras's weights and outputs from `tools/keras_applications_weights.py`,
/// compared within 1e-4 + 1e-3·|keras| (the graph corpus's tolerance).
fn check_keras(name: &str, run: KerasRun, dir: &Path) -> Result<String, String> {
    let x = read_f32(&dir.join(format!("{name}.x.f32")))?;
    let keras = read_f32(&dir.join(format!("{name}.y.f32")))?;
    let ours = run(&dir.join(format!("{name}.weights.h5")), &x)?;
    if ours.len() != keras.len() {
        return Err(format!(
            "{name}: {} outputs, Keras {}",
            ours.len(),
            keras.len()
        ));
    }
    let far = ours
        .iter()
        .zip(&keras)
        .filter(|(a, k)| (*a - *k).abs() > 1e-4 + 1e-3 * k.abs())
        .count();
    let worst = ours
        .iter()
        .zip(&keras)
        .map(|(a, k)| (a - k).abs())
        .fold(0f32, f32::max);
    let line = format!(
        "{name}: Keras's weights loaded by name; {}/{} outputs match Keras (max |difference| {worst:.2e})",
        ours.len() - far,
        ours.len()
    );
    if far == 0 {
        Ok(line)
    } else {
        Err(line)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keras2 = args.iter().any(|a| a == "--keras2");
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let keras_dir = value_of("--keras");
    let onnx_file = value_of("--onnx");
    let names: Vec<&str> = APPLICATIONS.iter().map(|a| a.0).collect();
    let name = args
        .iter()
        .enumerate()
        .find(|(i, a)| {
            !a.starts_with("--")
                && (*i == 0 || !["--keras", "--onnx"].contains(&args[i - 1].as_str()))
        })
        .map(|(_, a)| a);
    let usage = format!(
        "usage: applications NAME [--keras2] [--keras DIR] [--onnx FILE], NAME one of: {}",
        names.join(", ")
    );
    let Some(name) = name else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let Some(&(_, keras_name, summary, run, export)) = APPLICATIONS.iter().find(|a| a.0 == name)
    else {
        eprintln!("unknown model `{name}`; {usage}");
        std::process::exit(2);
    };
    if let Some(file) = onnx_file {
        if let Err(e) = export(Path::new(file)) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        println!("{name}: written to {file}");
        return;
    }
    let text = match keras_dir {
        Some(dir) => match check_keras(name, run, Path::new(dir)) {
            Ok(line) => line,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        },
        None if keras2 => summary().named(keras_name).to_string(),
        None => summary().named(keras_name).keras3().to_string(),
    };
    // A closed pipe (`| head`) ends the output quietly.
    let _ = writeln!(std::io::stdout(), "{text}");
}
