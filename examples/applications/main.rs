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

use std::io::Write as _;

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

/// A model's command-line name, Keras's name for it (its summary's `Model: "…"`), and its
/// summary.
type Application = (&'static str, &'static str, fn() -> Summary);

#[rustfmt::skip]
const APPLICATIONS: &[Application] = &[
    ("vgg16", "vgg16", vgg16::Vgg16::summary),
    ("resnet50", "resnet50", resnet50::ResNet50::summary),
    ("mobilenet", "mobilenet_1.00_224", mobilenet::MobileNet::summary),
    ("mobilenet_v2", "mobilenetv2_1.00_224", mobilenet_v2::MobileNetV2::summary),
    ("densenet121", "densenet121", densenet121::DenseNet121::summary),
    ("efficientnet_b0", "efficientnetb0", efficientnet_b0::EfficientNetB0::summary),
    ("inception_v3", "inception_v3", inception_v3::InceptionV3::summary),
    ("xception", "xception", xception::Xception::summary),
    ("convnext_tiny", "convnext_tiny", convnext_tiny::ConvNeXtTiny::summary),
    ("mobilenet_v3_small", "MobileNetV3Small", mobilenet_v3_small::MobileNetV3Small::summary),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keras2 = args.iter().any(|a| a == "--keras2");
    let names: Vec<&str> = APPLICATIONS.iter().map(|(n, _, _)| *n).collect();
    let Some(name) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!(
            "usage: applications NAME [--keras2], NAME one of: {}",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let text = match APPLICATIONS.iter().find(|(n, _, _)| n == name) {
        Some((_, keras_name, summary)) if keras2 => summary().named(keras_name).to_string(),
        Some((_, keras_name, summary)) => summary().named(keras_name).keras3().to_string(),
        None => {
            eprintln!("unknown model `{name}`; one of: {}", names.join(", "));
            std::process::exit(2);
        }
    };
    // A closed pipe (`| head`) ends the output quietly.
    let _ = writeln!(std::io::stdout(), "{text}");
}
