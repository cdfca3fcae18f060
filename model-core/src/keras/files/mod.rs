//! Keras's model files, in and out: `.keras` (Keras 3: a zip of `config.json`,
//! `metadata.json` and `model.weights.h5`), `.weights.h5` (Keras 3's `save_weights`) and
//! legacy `.h5` (`model.save("m.h5")`, Keras 2's files, `keras.applications`' downloads).
//!
//! - [`load_keras`] reads a file's weights into any model, matched layer by layer by name:
//!   every layer with weights must be in the file, with as many weights, each of the
//!   model's shape; a layer of the file that the model lacks is reported too. Every
//!   problem is named in one error.
//! - [`save_keras`] writes a `.keras` file that `keras.saving.load_model` opens, or a
//!   `.weights.h5` (by the path's extension), through a temporary file and a rename.
//! - [`read_keras`] reads a file's model (its config) and weights, for `model import` and
//!   `model summary`.
//!
//! In a Keras 3 weights file a layer's variables sit under `layers/<snake_case class>[_N]`,
//! counted per class over `model.layers` (not named after the layer); Keras writes the
//! layer's name in the `name` attribute of its `vars` group, which is what matches them
//! here, and the count from the model's order where a file has no names. A legacy file
//! has `model_weights/<layer name>/` (or the layers at the root, for `save_weights`), the
//! layers listed in its `layer_names` attribute (split into `layer_names0`, `layer_names1`,
//! … when long) and each layer's weights in its `weight_names` attribute, in order.

mod h5;
mod vars;

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};
use std::path::Path;

use serde_json::{json, Value as Json};

use self::h5::{Writer, H5};
use self::vars::{join, var_groups};
use super::model::{evaluate, model, model_config, KerasModel};
use crate::error::Error;
use crate::graph::{layer_inputs, Network, Op};
use crate::layer::Layer;
use crate::runtime::{weight_specs, LayerWeights, Tensor, WeightSpec};
use crate::Model;

/// A Keras file's model and weights.
#[derive(Debug)]
pub struct KerasFile {
    /// The model its config describes.
    pub model: KerasModel,
    /// The weights of each of its layers, in the order of the network's layers.
    pub weights: Vec<LayerWeights>,
}

/// The most bytes one member of a `.keras` archive may expand to: a damaged or hostile
/// archive cannot make the reader allocate more.
const MEMBER_LIMIT: u64 = 1 << 32;

/// What a file holds, opened.
enum Opened {
    /// A `.keras` archive: the model's config and its weights file.
    Archive { config: Json, h5: H5 },
    /// An HDF5 file: legacy `.h5` (maybe with a `model_config`) or `.weights.h5`.
    Hdf5(H5),
}

fn err(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::new(format!("{}: {what}", path.display()))
}

const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";

fn open(path: &Path) -> Result<Opened, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    if bytes.starts_with(b"PK") {
        return open_archive(path, bytes);
    }
    // HDF5 files may start with a user block of 512, 1024, 2048… bytes.
    let hdf5 = std::iter::once(0)
        .chain((9..20).map(|p| 1usize << p))
        .take_while(|&at| at < bytes.len())
        .any(|at| bytes[at..].starts_with(HDF5_SIGNATURE));
    if !hdf5 {
        return Err(err(
            path,
            "is neither a `.keras` archive (a zip) nor an HDF5 file (`.h5`)",
        ));
    }
    let h5 =
        H5::from_bytes(bytes).map_err(|e| err(path, format!("is not a valid HDF5 file: {e}")))?;
    Ok(Opened::Hdf5(h5))
}

fn member(
    path: &Path,
    archive: &mut zip::ZipArchive<Cursor<Vec<u8>>>,
    name: &str,
) -> Result<Option<Vec<u8>>, Error> {
    let mut file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => {
            return Err(err(
                path,
                format!("cannot read `{name}` in the archive: {e}"),
            ))
        }
    };
    let mut bytes = Vec::new();
    file.by_ref()
        .take(MEMBER_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(path, format!("`{name}` in the archive is damaged: {e}")))?;
    if bytes.len() as u64 > MEMBER_LIMIT {
        return Err(err(
            path,
            format!("`{name}` in the archive expands to more than {MEMBER_LIMIT} bytes"),
        ));
    }
    Ok(Some(bytes))
}

fn open_archive(path: &Path, bytes: Vec<u8>) -> Result<Opened, Error> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| err(path, format!("is not a valid `.keras` archive (zip): {e}")))?;
    let config = member(path, &mut archive, "config.json")?.ok_or_else(|| {
        err(
            path,
            "the archive has no `config.json`: a `.keras` file holds `config.json`, `metadata.json` and `model.weights.h5`",
        )
    })?;
    let config: Json = serde_json::from_slice(&config)
        .map_err(|e| err(path, format!("`config.json` is not valid JSON: {e}")))?;
    let weights = member(path, &mut archive, "model.weights.h5")?.ok_or_else(|| {
        err(
            path,
            "the archive has no `model.weights.h5` (sharded and `.npz` weights are not supported)",
        )
    })?;
    let h5 = H5::from_bytes(weights).map_err(|e| {
        err(
            path,
            format!("`model.weights.h5` is not a valid HDF5 file: {e}"),
        )
    })?;
    Ok(Opened::Archive { config, h5 })
}

/// One weight the model expects of a layer.
struct Expected<'a> {
    layer: &'a str,
    spec: WeightSpec,
}

/// One thing wrong, for a person: `layer `dense_1`: kernel is [128, 10] in the file, [128,
/// 9] in the model`.
type Problem = String;

fn shape_problem(e: &Expected, found: &[usize]) -> Problem {
    format!(
        "layer `{}`: {} is {found:?} in the file, {:?} in the model",
        e.layer, e.spec.name, e.spec.shape
    )
}

/// A layer's weights from the file, checked against what the model expects of it.
fn checked(h5: &H5, at: &str, e: &Expected, problems: &mut Vec<Problem>) -> Option<Tensor> {
    let shape = match h5.shape(at) {
        Ok(s) => s,
        Err(why) => {
            problems.push(format!(
                "layer `{}`: {} (`{at}`) cannot be read: {why}",
                e.layer, e.spec.name
            ));
            return None;
        }
    };
    if shape != e.spec.shape {
        problems.push(shape_problem(e, &shape));
        return None;
    }
    match h5.read(at) {
        Ok(data) if data.len() == shape.iter().product::<usize>() => Some(Tensor { shape, data }),
        Ok(data) => {
            problems.push(format!(
                "layer `{}`: {} (`{at}`) holds {} values for shape {shape:?}",
                e.layer,
                e.spec.name,
                data.len()
            ));
            None
        }
        Err(why) => {
            problems.push(format!(
                "layer `{}`: {} (`{at}`) {why}: only float weights (float16, bfloat16, float32, float64) can be read",
                e.layer, e.spec.name
            ));
            None
        }
    }
}

/// The layers of a network in Keras's `model.layers` order, with their class's path stem:
/// `(layer index, path)`.
fn keras_paths(network: &Network) -> Vec<(usize, String)> {
    let g = &network.graph;
    let order: Vec<usize> = if network.sequential {
        (0..g.layers.len()).collect()
    } else {
        g.keras_order()
            .into_iter()
            .filter_map(|op| match op {
                Op::Layer(l) => Some(l),
                Op::Input(_) => None,
            })
            .collect()
    };
    // A nested `Sequential` is one layer of the outer model (`layers/sequential`), its
    // layers counted inside it (`layers/sequential/layers/conv2d`).
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut inner: HashMap<&str, (String, HashMap<&str, usize>)> = HashMap::new();
    order
        .into_iter()
        .map(|l| {
            let stem = g.layers[l].kind.info().auto_name;
            match network.group_of(l) {
                Some(group) => {
                    let (at, counts) = inner.entry(group.name).or_insert_with(|| {
                        (
                            format!("layers/{}", unique("sequential", &mut counts)),
                            HashMap::new(),
                        )
                    });
                    (l, format!("{at}/layers/{}", unique(stem, counts)))
                }
                None => (l, format!("layers/{}", unique(stem, &mut counts))),
            }
        })
        .collect()
}

/// `stem`, then `stem_1`, `stem_2`, … (Keras's `_get_unique_name`).
fn unique<'a>(stem: &'a str, counts: &mut HashMap<&'a str, usize>) -> String {
    let c = counts.entry(stem).or_insert(0);
    let name = if *c == 0 {
        stem.to_string()
    } else {
        format!("{stem}_{c}")
    };
    *c += 1;
    name
}

/// The path of each layer of a Keras 3 weights file, by the name in its `vars` group; the
/// layers of a nested model (`layers/sequential/layers/conv2d`) too.
fn named_paths(h5: &H5) -> HashMap<String, String> {
    let mut out = HashMap::new();
    named_paths_under(h5, "layers", &mut out, 0);
    out
}

fn named_paths_under(h5: &H5, at: &str, out: &mut HashMap<String, String>, depth: usize) {
    // Keras nests models a few levels at most; a file that nests deeper is not followed.
    if depth > 8 {
        return;
    }
    for g in h5.groups(at).unwrap_or_default() {
        let path = format!("{at}/{g}");
        if let Ok(Some(names)) = h5.strings(&format!("{path}/vars"), "name") {
            if let [name] = names.as_slice() {
                out.insert(name.clone(), path.clone());
            }
        }
        let nested = format!("{path}/layers");
        if h5.is_group(&nested) {
            named_paths_under(h5, &nested, out, depth + 1);
        }
    }
}

/// The path of each layer, in a Keras 3 file whose groups carry no names: counted over the
/// file's own `config.json` when it has one, else over the model's layers.
fn counted_paths(config: Option<&Json>, network: &Network) -> HashMap<String, String> {
    let listed = config
        .and_then(|c| c.get("config"))
        .and_then(|c| c.get("layers"))
        .and_then(Json::as_array);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    match listed {
        Some(list) => {
            let stems: Vec<(String, String)> = list
                .iter()
                .filter_map(|l| {
                    let class = l.get("class_name")?.as_str()?;
                    let name = l
                        .get("name")
                        .or_else(|| l.get("config")?.get("name"))?
                        .as_str()?;
                    Some((name.to_string(), crate::model::snake_case(class)))
                })
                .collect();
            stems
                .iter()
                .map(|(name, stem)| {
                    (
                        name.clone(),
                        format!("layers/{}", unique(stem, &mut counts)),
                    )
                })
                .collect()
        }
        None => keras_paths(network)
            .into_iter()
            .map(|(l, path)| (network.layer_names[l].to_string(), path))
            .collect(),
    }
}

/// Whether anything under group `path` is a dataset: the layer holds weights. A nested
/// model's `layers` are left out: each of them is a layer of the file in its own right.
fn holds_weights(h5: &H5, path: &str) -> bool {
    !h5.datasets(path).unwrap_or_default().is_empty()
        || h5
            .groups(path)
            .unwrap_or_default()
            .iter()
            .filter(|g| g.as_str() != "layers")
            .any(|g| holds_weights(h5, &format!("{path}/{g}")))
}

/// The layer names a legacy file lists (`layer_names`, or `layer_names0`, `layer_names1`,
/// … when Keras split a long list), in order.
fn legacy_list(h5: &H5, group: &str, attr: &str) -> Result<Option<Vec<String>>, String> {
    if let Some(names) = h5.strings(group, attr)? {
        return Ok(Some(names));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(part) = h5.strings(group, &format!("{attr}{i}"))? {
        out.extend(part);
        i += 1;
    }
    Ok((i > 0).then_some(out))
}

/// The root of a legacy file's layers (`model_weights`, or the root for weights saved
/// alone), if it is one.
fn legacy_root(h5: &H5) -> Option<&'static str> {
    if h5.is_group("model_weights") {
        Some("model_weights")
    } else if matches!(legacy_list(h5, "", "layer_names"), Ok(Some(_))) {
        Some("")
    } else {
        None
    }
}

/// The file's weights for `network`, one set per layer in the network's order.
fn match_weights(
    path: &Path,
    h5: &H5,
    config: Option<&Json>,
    network: &Network,
) -> Result<Vec<LayerWeights>, Error> {
    let (tensors, _) = evaluate(network).map_err(|e| err(path, e))?;
    let inputs = layer_inputs(&network.graph, &tensors);
    let g = &network.graph;
    let mut problems: Vec<Problem> = Vec::new();
    let mut out = Vec::with_capacity(g.layers.len());
    let expected: Vec<Vec<WeightSpec>> = g
        .layers
        .iter()
        .zip(&inputs)
        .map(|(layer, input)| match layer.config.merge() {
            Some(_) => Vec::new(),
            None => weight_specs(layer, input),
        })
        .collect();
    // The layers that take weights: a file's layer with weights is left over unless one
    // of these has its name.
    let names: HashSet<&str> = network
        .layer_names
        .iter()
        .zip(&expected)
        .filter(|(_, specs)| !specs.is_empty())
        .map(|(n, _)| *n)
        .collect();
    if let Some(root) = legacy_root(h5) {
        let listed = legacy_list(h5, root, "layer_names")
            .map_err(|e| err(path, e))?
            .unwrap_or_default();
        for (l, specs) in expected.iter().enumerate() {
            let name = network.layer_names[l];
            let group = join(root, name);
            if specs.is_empty() {
                out.push(LayerWeights::default());
                continue;
            }
            if !listed.iter().any(|n| n == name) || !h5.is_group(&group) {
                problems.push(format!("layer `{name}` is not in the file"));
                out.push(LayerWeights::default());
                continue;
            }
            let weight_names = legacy_list(h5, &group, "weight_names")
                .map_err(|e| err(path, e))?
                .unwrap_or_default();
            out.push(legacy_layer(
                h5,
                &group,
                name,
                &g.layers[l],
                specs,
                &weight_names,
                &mut problems,
            ));
        }
        for name in &listed {
            let group = join(root, name);
            let weights = legacy_list(h5, &group, "weight_names").ok().flatten();
            if !names.contains(name.as_str()) && weights.is_some_and(|w| !w.is_empty()) {
                problems.push(format!(
                    "layer `{name}` of the file has weights, and the model has no layer of that name that takes them"
                ));
            }
        }
    } else {
        let mut paths = named_paths(h5);
        if paths.is_empty() {
            paths = counted_paths(config, network);
        }
        for (l, specs) in expected.iter().enumerate() {
            let name = network.layer_names[l];
            if specs.is_empty() {
                out.push(LayerWeights::default());
                continue;
            }
            let Some(at) = paths.get(name).filter(|p| h5.is_group(p)) else {
                problems.push(format!("layer `{name}` is not in the file"));
                out.push(LayerWeights::default());
                continue;
            };
            out.push(keras3_layer(
                h5,
                at,
                name,
                &g.layers[l],
                specs,
                &mut problems,
            ));
        }
        for (name, at) in &paths {
            if !names.contains(name.as_str()) && holds_weights(h5, at) {
                problems.push(format!(
                    "layer `{name}` of the file (`{at}`) has weights, and the model has no layer of that name that takes them"
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(out);
    }
    problems.sort();
    Err(err(
        path,
        format!(
            "{} problem{} matching the file's weights to `{}`:\n  {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            network.name,
            problems.join("\n  ")
        ),
    ))
}

fn keras3_layer(
    h5: &H5,
    at: &str,
    name: &str,
    layer: &Layer,
    specs: &[WeightSpec],
    problems: &mut Vec<Problem>,
) -> LayerWeights {
    let stem = at.rsplit('/').next().unwrap_or("");
    let auto = layer.kind.info().auto_name;
    let class_matches = stem == auto
        || stem
            .strip_prefix(auto)
            .and_then(|s| s.strip_prefix('_'))
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
    if !class_matches {
        problems.push(format!(
            "layer `{name}` is a {} in the model, but the file holds `{at}`",
            layer.kind.class_name()
        ));
        return LayerWeights::default();
    }
    let mut tensors = Vec::new();
    let mut next = specs.iter();
    for (sub, n) in var_groups(layer, specs.len()) {
        let dir = join(&join(at, &sub), "vars");
        let found = h5.datasets(&dir).unwrap_or_default();
        if found.len() != n {
            let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
            problems.push(format!(
                "layer `{name}`: `{dir}` holds {} weights, the model's layer has {n} ({})",
                found.len(),
                names.join(", ")
            ));
            return LayerWeights::default();
        }
        for (i, spec) in next.by_ref().take(n).enumerate() {
            let e = Expected {
                layer: name,
                spec: spec.clone(),
            };
            if let Some(t) = checked(h5, &format!("{dir}/{i}"), &e, problems) {
                tensors.push(t);
            }
        }
    }
    LayerWeights { tensors }
}

fn legacy_layer(
    h5: &H5,
    group: &str,
    name: &str,
    layer: &Layer,
    specs: &[WeightSpec],
    weight_names: &[String],
    problems: &mut Vec<Problem>,
) -> LayerWeights {
    if weight_names.len() != specs.len() {
        let ours: Vec<&str> = specs.iter().map(|s| s.name).collect();
        problems.push(format!(
            "layer `{name}`: the file has {} weights ({}), the model's {} has {} ({})",
            weight_names.len(),
            weight_names.join(", "),
            layer.kind.class_name(),
            specs.len(),
            ours.join(", ")
        ));
        return LayerWeights::default();
    }
    let mut tensors = Vec::new();
    for (wn, spec) in weight_names.iter().zip(specs) {
        // `dense/kernel:0` (Keras 2), `model/dense/kernel` (Keras 3): the last part names
        // the weight, as the model's last part does (`forward/kernel` → `kernel`).
        let file_last = wn.rsplit('/').next().unwrap_or(wn).trim_end_matches(":0");
        let ours = spec.name.rsplit('/').next().unwrap_or(spec.name);
        if file_last != ours {
            problems.push(format!(
                "layer `{name}`: the file's weight `{wn}` stands where the model has {}",
                spec.name
            ));
            continue;
        }
        let e = Expected {
            layer: name,
            spec: spec.clone(),
        };
        if let Some(t) = checked(h5, &join(group, wn), &e, problems) {
            tensors.push(t);
        }
    }
    LayerWeights { tensors }
}

/// The model config in a file: a `.keras`'s `config.json`, a legacy `.h5`'s
/// `model_config`; `None` for weights saved alone.
fn config_of(path: &Path, opened: &Opened) -> Result<Option<Json>, Error> {
    match opened {
        Opened::Archive { config, .. } => Ok(Some(config.clone())),
        Opened::Hdf5(h5) => {
            let text = h5
                .strings("", "model_config")
                .map_err(|e| err(path, e))?
                .and_then(|v| v.into_iter().next());
            text.map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| err(path, format!("`model_config` is not valid JSON: {e}")))
            })
            .transpose()
        }
    }
}

/// Reads the model and weights of a `.keras` or legacy `.h5` file. A `.weights.h5` (which
/// holds no model) is an error that says so.
pub fn read_keras(path: impl AsRef<Path>) -> Result<KerasFile, Error> {
    let path = path.as_ref();
    let opened = open(path)?;
    let config = config_of(path, &opened)?.ok_or_else(|| {
        err(
            path,
            "holds weights only, not a model (it has no `model_config`): write the model with `model!` and load the weights with `Name::load_keras`",
        )
    })?;
    let model = model(&config).map_err(|e| {
        err(
            path,
            format!("the model cannot be read:\n  {}", e.replace('\n', "\n  ")),
        )
    })?;
    let h5 = match &opened {
        Opened::Archive { h5, .. } | Opened::Hdf5(h5) => h5,
    };
    let weights = match_weights(path, h5, Some(&config), &model.network)?;
    Ok(KerasFile { model, weights })
}

/// Reads only the model of a `.keras` or legacy `.h5` file.
pub fn read_keras_model(path: impl AsRef<Path>) -> Result<KerasModel, Error> {
    let path = path.as_ref();
    let opened = open(path)?;
    let config = config_of(path, &opened)?.ok_or_else(|| {
        err(
            path,
            "holds weights only, not a model (it has no `model_config`)",
        )
    })?;
    model(&config).map_err(|e| {
        err(
            path,
            format!("the model cannot be read:\n  {}", e.replace('\n', "\n  ")),
        )
    })
}

/// The weights of `network`'s layers from a `.keras`, `.weights.h5` or legacy `.h5` file,
/// matched by layer name.
pub fn load_network(path: impl AsRef<Path>, network: &Network) -> Result<Vec<LayerWeights>, Error> {
    let path = path.as_ref();
    let opened = open(path)?;
    match &opened {
        Opened::Archive { config, h5 } => match_weights(path, h5, Some(config), network),
        Opened::Hdf5(h5) => match_weights(path, h5, None, network),
    }
}

/// A model of type `M` with the weights of a Keras file (`.keras`, `.weights.h5` or legacy
/// `.h5`), matched layer by layer by name, every problem reported by name.
pub fn load_keras<M: Model>(path: impl AsRef<Path>) -> Result<M, Error> {
    load_network(path, &M::NETWORK).map(M::from_weights)
}

/// Writes `model` as a Keras file: a `.keras` archive that `keras.saving.load_model` opens,
/// or, when `path` ends in `.weights.h5`, the weights alone (`model.load_weights` reads
/// them). Through a temporary file and a rename.
pub fn save_keras<M: Model>(model: &M, path: impl AsRef<Path>) -> Result<(), Error> {
    save_network(&M::NETWORK, &model.weights(), path)
}

/// [`save_keras`] for a network and its weights.
pub fn save_network(
    network: &Network,
    weights: &[&LayerWeights],
    path: impl AsRef<Path>,
) -> Result<(), Error> {
    let path = path.as_ref();
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let weights_only = file_name.ends_with(".weights.h5");
    if !weights_only && !file_name.ends_with(".keras") {
        return Err(err(
            path,
            "a Keras file is named `….keras` (the model and its weights) or `….weights.h5` (the weights alone)",
        ));
    }
    let h5 = weights_file(network, weights).map_err(|e| err(path, e))?;
    let bytes = if weights_only {
        h5
    } else {
        let config = model_config(network).map_err(|e| err(path, e))?;
        archive(&config, &h5).map_err(|e| err(path, format!("cannot build the archive: {e}")))?
    };
    crate::runtime::write_atomically(path, &bytes).map_err(|e| Error::caused_by("", e))
}

/// `model.weights.h5` for `network`: each layer's weights under its Keras path.
fn weights_file(network: &Network, weights: &[&LayerWeights]) -> Result<Vec<u8>, String> {
    let g = &network.graph;
    if weights.len() != g.layers.len() {
        return Err(format!(
            "{} sets of weights for {} layers",
            weights.len(),
            g.layers.len()
        ));
    }
    let (tensors, _) = evaluate(network)?;
    let inputs = layer_inputs(g, &tensors);
    let mut w = Writer::default();
    w.group("vars", Some(("name", network.name)));
    let paths = keras_paths(network);
    // Each nested model's own group, named as Keras names it (it holds no variables).
    for group in network.groups {
        if let Some((_, at)) = paths.iter().find(|(l, _)| *l == group.first) {
            if let Some((outer, _)) = at.rsplit_once("/layers/") {
                w.group(&join(outer, "vars"), Some(("name", group.name)));
            }
        }
    }
    for (l, at) in paths {
        let (layer, name) = (&g.layers[l], network.layer_names[l]);
        let specs = match layer.config.merge() {
            Some(_) => Vec::new(),
            None => weight_specs(layer, &inputs[l]),
        };
        let given = &weights[l].tensors;
        if given.len() != specs.len() {
            return Err(format!(
                "layer `{name}` has {} weights, its {} needs {}",
                given.len(),
                layer.kind.class_name(),
                specs.len()
            ));
        }
        if specs.is_empty() {
            continue;
        }
        w.group(&join(&at, "vars"), Some(("name", name)));
        let mut given = given.iter().zip(&specs);
        for (sub, n) in var_groups(layer, specs.len()) {
            let dir = join(&join(&at, &sub), "vars");
            w.group(&dir, None);
            for (i, (t, spec)) in given.by_ref().take(n).enumerate() {
                if t.shape != spec.shape || t.data.len() != t.shape.iter().product::<usize>() {
                    return Err(format!(
                        "layer `{name}`: {} has shape {:?} and {} values, its layer needs {:?}",
                        spec.name,
                        t.shape,
                        t.data.len(),
                        spec.shape
                    ));
                }
                w.dataset(&dir, &i.to_string(), &t.shape, &t.data);
            }
        }
    }
    w.finish()
}

/// The `.keras` archive: `metadata.json`, `config.json`, `model.weights.h5`, stored as
/// Keras stores them.
fn archive(config: &Json, weights: &[u8]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    // The format written is Keras 3.15.1's, the version `tools/keras_check_saved.py` checks.
    let metadata = json!({"keras_version": "3.15.1", "date_saved": date_saved()});
    z.start_file("metadata.json", options)?;
    z.write_all(metadata.to_string().as_bytes())?;
    z.start_file("config.json", options)?;
    z.write_all(config.to_string().as_bytes())?;
    z.start_file("model.weights.h5", options)?;
    z.write_all(weights)?;
    Ok(z.finish()?.into_inner())
}

/// Now, as Keras writes it (`2026-12-02@02:52:02`, UTC).
fn date_saved() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
