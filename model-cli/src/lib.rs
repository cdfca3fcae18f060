//! The `model` command's two jobs as functions, so that tests call what the command runs:
//! [`import`] (a Keras file's model as `model!` source) and [`summary`] (its summary as
//! Keras 3 prints it). Both read `.keras` archives and legacy `.h5` models.
#![warn(missing_docs)]

use std::path::Path;

use model_core::keras::{read_keras_model, source, type_name};
use model_core::{Error, Summary};

/// The `model!` source of the model in `file`, its struct named `name` (by default the
/// model's Keras name in CamelCase). It names each layer as Keras named it, keeps every
/// argument that differs from Keras's default, and compiles; `Name::load_keras(file)` then
/// reads the weights.
pub fn import(file: impl AsRef<Path>, name: Option<&str>) -> Result<String, Error> {
    let file = file.as_ref();
    let model = read_keras_model(file)?;
    let network = &model.network;
    let name = name.map_or_else(|| type_name(network.name), str::to_string);
    let file_name = file.file_name().map_or_else(
        || file.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let doc = format!(
        "Keras's `{}`, from `{file_name}` (`model import`); its weights: `{name}::load_keras(\"{file_name}\")`.",
        network.name
    );
    Ok(source(network, &name, &doc, &model.not_kept))
}

/// The summary of the model in `file`, as Keras 3's `model.summary()` prints it.
pub fn summary(file: impl AsRef<Path>) -> Result<String, Error> {
    let model = read_keras_model(file)?;
    let s = if model.network.sequential {
        Summary::new(model.infos).named(model.network.name)
    } else {
        let tensors = Box::leak(model.tensors.clone().into_boxed_slice());
        Summary::graph(model.infos, model.network, tensors)
    };
    Ok(format!("{}\n", s.keras3()))
}
