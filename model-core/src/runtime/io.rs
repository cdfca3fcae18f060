//! Weights in safetensors files. A model's file names each tensor
//! `"{layer_name}/{weight_name}"` (`dense/kernel`, `bidirectional/forward/kernel`).

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use safetensors::tensor::{Dtype, SafeTensors, View};

use super::weights::specs;
use super::{eval_output, LayerWeights, Tensor};
use crate::layer::Layer;
use crate::shape::Shape;

/// One thing wrong with one tensor of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadProblem {
    /// The tensor is not in the file.
    Missing {
        /// Its name.
        name: String,
    },
    /// The tensor is not `F32`.
    Dtype {
        /// Its name.
        name: String,
        /// The type the file has.
        found: String,
    },
    /// The tensor's shape is not the expected one.
    Shape {
        /// Its name.
        name: String,
        /// What the layer needs.
        expected: Vec<usize>,
        /// What the file has.
        found: Vec<usize>,
    },
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadProblem::Missing { name } => write!(f, "`{name}` is missing"),
            LoadProblem::Dtype { name, found } => write!(f, "`{name}` is {found}, expected F32"),
            LoadProblem::Shape {
                name,
                expected,
                found,
            } => {
                write!(f, "`{name}` has shape {found:?}, expected {expected:?}")
            }
        }
    }
}

/// Why a weights file could not be read or used.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        error: std::io::Error,
    },
    /// The file is not a (complete) safetensors file.
    Format {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// Tensors missing or not fitting, every one of them.
    Tensors {
        /// The file.
        path: PathBuf,
        /// Each problem, in the order the tensors were expected.
        problems: Vec<LoadProblem>,
    },
    /// The model itself does not evaluate (its layers do not fit the input).
    Model(super::RuntimeError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            LoadError::Format { path, message } => {
                write!(
                    f,
                    "{} is not a valid safetensors file: {message}",
                    path.display()
                )
            }
            LoadError::Tensors { path, problems } => {
                write!(
                    f,
                    "{}: {} problem{}",
                    path.display(),
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" }
                )?;
                for p in problems {
                    write!(f, "\n  {p}")?;
                }
                Ok(())
            }
            LoadError::Model(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { error, .. } => Some(error),
            LoadError::Model(e) => Some(e),
            LoadError::Format { .. } | LoadError::Tensors { .. } => None,
        }
    }
}

/// A file that cannot be used, as the crate's one error (the [`LoadError`] its source).
impl From<LoadError> for crate::error::Error {
    fn from(e: LoadError) -> crate::error::Error {
        crate::error::Error::caused_by("", e)
    }
}

/// A tensor as safetensors sees it: `F32`, little-endian.
struct F32View<'a>(&'a Tensor);

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.0.data.len() * 4
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// Writes `tensors` to `path` as `F32`. The bytes go to a temporary file beside it, which
/// replaces `path` only once completely written and synced: a crash or a full disk never
/// leaves a half-written file where a good one was.
pub fn save(path: impl AsRef<Path>, tensors: &[(&str, &Tensor)]) -> std::io::Result<()> {
    let path = path.as_ref();
    for (name, t) in tensors {
        if t.shape.iter().product::<usize>() != t.data.len() {
            return Err(invalid(format!(
                "tensor `{name}` has shape {:?} but {} values",
                t.shape,
                t.data.len()
            )));
        }
    }
    let mut names: Vec<&str> = tensors.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(invalid(format!("tensor name `{}` is used twice", w[0])));
    }
    let bytes = safetensors::serialize(tensors.iter().map(|(n, t)| (*n, F32View(t))), None)
        .map_err(|e| invalid(format!("cannot serialize: {e}")))?;
    write_atomically(path, &bytes)
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let file_name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{} is not a file path", path.display())))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        // The system's message alone ("No such file or directory") does not say which file.
        std::io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
    })
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|error| LoadError::Io {
        path: path.to_path_buf(),
        error,
    })
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>, LoadError> {
    SafeTensors::deserialize(bytes).map_err(|e| LoadError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn decode_f32(data: &[u8]) -> Vec<f32> {
    data.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Every tensor of a safetensors file, in the file's order. `F32` tensors as they are;
/// integer tensors (`I32`, `I64`, e.g. token ids for `Embedding`) converted to `f32`; any
/// other type is a [`LoadProblem::Dtype`].
pub fn read(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor)>, LoadError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let file = parse(path, &bytes)?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, view) in file.iter() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => decode_f32(data),
            Dtype::I32 => data
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
                .collect(),
            Dtype::I64 => data
                .chunks_exact(8)
                .map(|b| {
                    i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                })
                .collect(),
            other => {
                problems.push(LoadProblem::Dtype {
                    name: name.to_string(),
                    found: format!("{other:?}"),
                });
                continue;
            }
        };
        out.push((
            name.to_string(),
            Tensor {
                shape: view.shape().to_vec(),
                data: values,
            },
        ));
    }
    if !problems.is_empty() {
        return Err(LoadError::Tensors {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(out)
}

/// The tensors named in `expected`, in its order, each checked to be present, `F32` and of
/// the given shape. Every problem is reported, by name, in one error.
pub fn load(
    path: impl AsRef<Path>,
    expected: &[(&str, &[usize])],
) -> Result<Vec<Tensor>, LoadError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    let file = parse(path, &bytes)?;
    let mut out = Vec::with_capacity(expected.len());
    let mut problems = Vec::new();
    for (name, shape) in expected {
        let view = match file.tensor(name) {
            Ok(v) => v,
            Err(_) => {
                problems.push(LoadProblem::Missing {
                    name: name.to_string(),
                });
                continue;
            }
        };
        if view.dtype() != Dtype::F32 {
            problems.push(LoadProblem::Dtype {
                name: name.to_string(),
                found: format!("{:?}", view.dtype()),
            });
            continue;
        }
        if view.shape() != *shape {
            problems.push(LoadProblem::Shape {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
            continue;
        }
        out.push(Tensor {
            shape: shape.to_vec(),
            data: decode_f32(view.data()),
        });
    }
    if !problems.is_empty() {
        return Err(LoadError::Tensors {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(out)
}

/// Tensor names and shapes of one layer.
type Named = Vec<(String, Vec<usize>)>;

/// Each layer's tensor names and shapes, `"{layer_name}/{weight_name}"`, layer `i` on the
/// input shape `inputs[i]`.
fn layer_names(
    names: &[&str],
    layers: &[Layer],
    inputs: &[Shape],
) -> Result<Vec<Named>, super::RuntimeError> {
    if names.len() != layers.len() || inputs.len() != layers.len() {
        return Err(super::RuntimeError::new(format!(
            "{} layer names and {} input shapes for {} layers",
            names.len(),
            inputs.len(),
            layers.len()
        )));
    }
    let mut out = Vec::with_capacity(layers.len());
    for (i, ((layer, name), input)) in layers.iter().zip(names).zip(inputs).enumerate() {
        // A layer called on a list (a merge) has no weights.
        let s = match layer.config.merge() {
            Some(_) => Vec::new(),
            None => specs(layer, input)
                .map_err(|e| e.at(i))?
                .as_slice()
                .iter()
                .map(|w| (format!("{name}/{}", w.name), w.shape.dims().to_vec()))
                .collect(),
        };
        out.push(s);
    }
    Ok(out)
}

/// Each layer's input shape in a straight stack of `layers` on `input`.
pub(crate) fn chain_inputs(
    layers: &[Layer],
    input: Shape,
) -> Result<Vec<Shape>, super::RuntimeError> {
    let mut shape = input;
    let mut out = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        out.push(shape);
        shape = eval_output(layer, &shape).map_err(|e| e.at(i))?;
    }
    Ok(out)
}

/// Saves a model's weights: layer `i` named `names[i]`, each tensor
/// `"{layer_name}/{weight_name}"`, after checking every tensor's shape against its layer.
pub fn save_model<W: Borrow<LayerWeights>>(
    path: impl AsRef<Path>,
    names: &[&str],
    layers: &[Layer],
    input: Shape,
    weights: &[W],
) -> std::io::Result<()> {
    let inputs = chain_inputs(layers, input).map_err(|e| invalid(e.to_string()))?;
    save_layers(path, names, layers, &inputs, weights)
}

/// Loads the weights [`save_model`] wrote for the same layers, names and input shape.
/// Every missing or mismatched tensor is reported, by name, in one error.
pub fn load_model(
    path: impl AsRef<Path>,
    names: &[&str],
    layers: &[Layer],
    input: Shape,
) -> Result<Vec<LayerWeights>, LoadError> {
    let inputs = chain_inputs(layers, input).map_err(LoadError::Model)?;
    load_layers(path, names, layers, &inputs)
}

/// [`save_model`] for layers each on its own input shape (a graph model's layers, on the
/// input of their first call).
pub fn save_layers<W: Borrow<LayerWeights>>(
    path: impl AsRef<Path>,
    names: &[&str],
    layers: &[Layer],
    inputs: &[Shape],
    weights: &[W],
) -> std::io::Result<()> {
    let expected = layer_names(names, layers, inputs).map_err(|e| invalid(e.to_string()))?;
    if weights.len() != layers.len() {
        return Err(invalid(format!(
            "{} sets of weights for {} layers",
            weights.len(),
            layers.len()
        )));
    }
    let mut tensors = Vec::new();
    for (i, (want, w)) in expected.iter().zip(weights).enumerate() {
        let w = &w.borrow().tensors;
        if w.len() != want.len() {
            return Err(invalid(format!(
                "layer {i} `{}` has {} weights, got {}",
                names[i],
                want.len(),
                w.len()
            )));
        }
        for ((name, shape), t) in want.iter().zip(w) {
            if &t.shape != shape {
                return Err(invalid(format!(
                    "`{name}` must have shape {shape:?}, got {:?}",
                    t.shape
                )));
            }
            tensors.push((name.as_str(), t));
        }
    }
    save(path, &tensors)
}

/// [`load_model`] for layers each on its own input shape.
pub fn load_layers(
    path: impl AsRef<Path>,
    names: &[&str],
    layers: &[Layer],
    inputs: &[Shape],
) -> Result<Vec<LayerWeights>, LoadError> {
    let expected = layer_names(names, layers, inputs).map_err(LoadError::Model)?;
    let flat: Vec<(&str, &[usize])> = expected
        .iter()
        .flatten()
        .map(|(n, s)| (n.as_str(), s.as_slice()))
        .collect();
    let mut tensors = load(path, &flat)?.into_iter();
    Ok(expected
        .iter()
        .map(|layer| LayerWeights {
            tensors: tensors.by_ref().take(layer.len()).collect(),
        })
        .collect())
}
