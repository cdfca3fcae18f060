//! The little of HDF5 that Keras's files use, over the `hdf5-pure` crate: groups, string
//! attributes (one string or a list), and float datasets, read and written.
//!
//! # Why `hdf5-pure`
//!
//! Keras's weights are HDF5 files written by h5py. The `hdf5` crate (and its `hdf5-metno`
//! fork) bind the C library, a system dependency this project does not want. Of the pure
//! Rust crates, `hdf5-pure` (MIT or Apache-2.0, actively released) reads every file h5py
//! wrote for the fixtures (version 0 superblocks, symbol-table groups, variable-length
//! string attributes and string arrays) and writes files h5py and Keras 3.15.1 read
//! (`tools/keras_check_saved.py`); its writer builds the file in memory, which suits the
//! zip that a `.keras` file is. `hdf5-pure-rust` is yanked; `rustyhdf5` and `hdf5-rust`
//! were not needed once `hdf5-pure` read and wrote everything here.
//!
//! What it does not read as numbers, this module decodes from the raw bytes: `float16`
//! datasets (a 2-byte HDF5 float, which `hdf5-pure` reads only as raw bytes) and
//! Keras's `bfloat16` (a 2-byte opaque type with the attribute `dtype = "bfloat16"`). Both
//! convert to `f32` exactly.

use std::collections::BTreeMap;

use hdf5_pure::{AttrValue, Datatype, DatatypeByteOrder, File, FileBuilder};

/// An HDF5 file opened from its bytes.
pub(crate) struct H5 {
    file: File,
}

/// A dataset's values as `f32`, or why they are not numbers.
pub(crate) type Values = Result<Vec<f32>, String>;

fn message(e: hdf5_pure::Error) -> String {
    e.to_string()
}

impl H5 {
    /// Parses `bytes` as HDF5: the superblock and the root group.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Result<H5, String> {
        let file = File::from_bytes(bytes).map_err(message)?;
        // Touch the root so that a file whose superblock parses but whose root does not
        // fails here, with the file named, rather than at the first look-up.
        file.root().attrs().map_err(message)?;
        Ok(H5 { file })
    }

    /// Whether `path` is a group.
    pub(crate) fn is_group(&self, path: &str) -> bool {
        self.file.group(path).is_ok()
    }

    /// The names of the groups in group `path`.
    pub(crate) fn groups(&self, path: &str) -> Result<Vec<String>, String> {
        self.file
            .group(path)
            .and_then(|g| g.groups())
            .map_err(message)
    }

    /// The names of the datasets in group `path`.
    pub(crate) fn datasets(&self, path: &str) -> Result<Vec<String>, String> {
        self.file
            .group(path)
            .and_then(|g| g.datasets())
            .map_err(message)
    }

    /// A string attribute of the group `path` (`""` for the root), or a list of them,
    /// as strings; `None` when there is no such attribute. An empty numeric array (what
    /// h5py writes for an empty list) is an empty list.
    pub(crate) fn strings(&self, path: &str, name: &str) -> Result<Option<Vec<String>>, String> {
        let attrs = if path.is_empty() {
            self.file.root().attrs()
        } else {
            self.file.group(path).and_then(|g| g.attrs())
        }
        .map_err(message)?;
        let Some(v) = attrs.get(name) else {
            return Ok(None);
        };
        Ok(Some(match v {
            AttrValue::String(s)
            | AttrValue::AsciiString(s)
            | AttrValue::VarLenString(s)
            | AttrValue::VarLenAsciiString(s) => vec![s.clone()],
            AttrValue::StringArray(v)
            | AttrValue::AsciiStringArray(v)
            | AttrValue::VarLenStringArray(v)
            | AttrValue::VarLenAsciiStringArray(v)
            | AttrValue::VarLenAsciiCharArray(v) => v.clone(),
            AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
                vec![value.clone()]
            }
            AttrValue::StringArraySized { values, .. }
            | AttrValue::AsciiStringArraySized { values, .. } => values.clone(),
            AttrValue::F64Array(v) if v.is_empty() => Vec::new(),
            other => return Err(format!("attribute `{name}` is not a string but {other:?}")),
        }))
    }

    /// The shape of dataset `path`.
    pub(crate) fn shape(&self, path: &str) -> Result<Vec<usize>, String> {
        let shape = self
            .file
            .dataset(path)
            .and_then(|d| d.shape())
            .map_err(message)?;
        Ok(shape.into_iter().map(|d| d as usize).collect())
    }

    /// Dataset `path` as `f32`: floats of 2, 4 or 8 bytes, Keras's `bfloat16`, and
    /// integers (a `Normalization`'s count). Read only after its shape was checked, so the
    /// allocation is the model's own size.
    pub(crate) fn read(&self, path: &str) -> Values {
        let ds = self.file.dataset(path).map_err(message)?;
        let datatype = ds.datatype().map_err(message)?;
        let bfloat16 = || -> bool {
            ds.attrs().is_ok_and(|a| {
                matches!(a.get("dtype"), Some(AttrValue::String(s) | AttrValue::VarLenString(s) | AttrValue::AsciiString(s) | AttrValue::VarLenAsciiString(s)) if s == "bfloat16")
            })
        };
        match datatype {
            Datatype::FloatingPoint { size: 4 | 8, .. } => ds.read_f32().map_err(message),
            Datatype::FloatingPoint {
                size: 2,
                byte_order,
                ..
            } => Ok(halves(
                &ds.read_raw().map_err(message)?,
                byte_order,
                f16_to_f32,
            )),
            Datatype::Opaque { size: 2, .. } if bfloat16() => Ok(halves(
                &ds.read_raw().map_err(message)?,
                DatatypeByteOrder::LittleEndian,
                bf16_to_f32,
            )),
            Datatype::FixedPoint { .. } => Ok(ds
                .read_f64()
                .map_err(message)?
                .into_iter()
                .map(|v| v as f32)
                .collect()),
            other => Err(format!("holds {}, not numbers", describe(&other))),
        }
    }
}

fn describe(d: &Datatype) -> String {
    match d {
        Datatype::FloatingPoint { size, .. } => format!("{}-bit floats", size * 8),
        Datatype::FixedPoint { size, .. } => format!("{}-bit integers", size * 8),
        Datatype::String { .. }
        | Datatype::VariableLength {
            is_string: true, ..
        } => "strings".to_string(),
        Datatype::Opaque { size, .. } => format!("opaque {size}-byte values"),
        Datatype::Compound { .. } => "records (a compound type)".to_string(),
        other => format!("{other:?}"),
    }
}

fn halves(raw: &[u8], order: DatatypeByteOrder, f: fn(u16) -> f32) -> Vec<f32> {
    raw.chunks_exact(2)
        .map(|b| {
            let bits = match order {
                DatatypeByteOrder::BigEndian => u16::from_be_bytes([b[0], b[1]]),
                _ => u16::from_le_bytes([b[0], b[1]]),
            };
            f(bits)
        })
        .collect()
}

/// IEEE half precision to single, exactly (subnormals, infinities and NaN included).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let frac = u32::from(h & 0x3ff);
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // A subnormal: normalize it.
            let shift = f.leading_zeros() - 21;
            let f = (f << shift) & 0x3ff;
            sign | ((113 - shift) << 23) | (f << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// bfloat16 is the top half of an `f32`.
pub(crate) fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

/// An HDF5 file being written: groups with string attributes, and `f32` datasets.
#[derive(Default)]
pub(crate) struct Writer {
    root: Group,
}

#[derive(Default)]
struct Group {
    attrs: Vec<(String, String)>,
    groups: BTreeMap<String, Group>,
    datasets: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl Group {
    fn at(&mut self, path: &str) -> &mut Group {
        path.split('/')
            .filter(|p| !p.is_empty())
            .fold(self, |g, part| {
                g.groups.entry(part.to_string()).or_default()
            })
    }
}

impl Writer {
    /// Makes group `path` (and its parents) and sets a string attribute on it.
    pub(crate) fn group(&mut self, path: &str, attr: Option<(&str, &str)>) {
        let g = self.root.at(path);
        if let Some((k, v)) = attr {
            g.attrs.push((k.to_string(), v.to_string()));
        }
    }

    /// Writes dataset `name` of shape `shape` into group `path`.
    pub(crate) fn dataset(&mut self, path: &str, name: &str, shape: &[usize], data: &[f32]) {
        self.root
            .at(path)
            .datasets
            .push((name.to_string(), shape.to_vec(), data.to_vec()));
    }

    /// The file's bytes.
    pub(crate) fn finish(self) -> Result<Vec<u8>, String> {
        let mut b = FileBuilder::new();
        for (k, v) in &self.root.attrs {
            b.set_attr(k, AttrValue::VarLenString(v.clone()));
        }
        for (name, shape, data) in &self.root.datasets {
            b.create_dataset(name)
                .with_f32_data(data)
                .with_shape(&dims(shape));
        }
        for (name, g) in &self.root.groups {
            let mut gb = b.create_group(name);
            fill(&mut gb, g);
            b.add_group(gb.finish());
        }
        b.finish().map_err(message)
    }
}

fn dims(shape: &[usize]) -> Vec<u64> {
    shape.iter().map(|&d| d as u64).collect()
}

fn fill(gb: &mut hdf5_pure::GroupBuilder, g: &Group) {
    for (k, v) in &g.attrs {
        gb.set_attr(k, AttrValue::VarLenString(v.clone()));
    }
    for (name, shape, data) in &g.datasets {
        gb.create_dataset(name)
            .with_f32_data(data)
            .with_shape(&dims(shape));
    }
    for (name, child) in &g.groups {
        let mut cb = gb.create_group(name);
        fill(&mut cb, child);
        gb.add_group(cb.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_floats_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc040), -3.0);
    }

    #[test]
    fn what_is_written_reads_back() {
        let mut w = Writer::default();
        w.group("layers/dense/vars", Some(("name", "hidden")));
        w.dataset(
            "layers/dense/vars",
            "0",
            &[2, 3],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        );
        w.group("", Some(("note", "root")));
        let h = H5::from_bytes(w.finish().unwrap()).unwrap();
        assert_eq!(h.groups("layers").unwrap(), ["dense"]);
        assert_eq!(
            h.strings("layers/dense/vars", "name").unwrap(),
            Some(vec!["hidden".to_string()])
        );
        assert_eq!(
            h.strings("", "note").unwrap(),
            Some(vec!["root".to_string()])
        );
        assert_eq!(h.shape("layers/dense/vars/0").unwrap(), [2, 3]);
        assert_eq!(
            h.read("layers/dense/vars/0").unwrap(),
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert!(h.read("layers/dense/vars/1").is_err());
    }
}
