//! The MNIST files: IDX format (LeCun's), gzipped or raw.
//!
//! An IDX file is a big-endian `u32` magic number (2051 for 3-D `u8` arrays such as images,
//! 2049 for 1-D ones such as labels), one big-endian `u32` per dimension, then the values.
//! Whether a file is gzipped is told by its first two bytes (`1f 8b`), not by its name.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{DataError, Dataset, Part};

/// The IDX magic number of a 3-D `u8` array (images).
const IMAGES_MAGIC: u32 = 2051;
/// The IDX magic number of a 1-D `u8` array (labels).
const LABELS_MAGIC: u32 = 2049;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The four files of the MNIST distribution, without `.gz`: training images and labels, test
/// images and labels.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST (or a data set in its format, such as Fashion-MNIST): the training and test sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    /// `train-images-idx3-ubyte` and `train-labels-idx1-ubyte`.
    pub train: Dataset,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`.
    pub test: Dataset,
}

impl Mnist {
    /// Reads the four [`MNIST_FILES`] from `dir`, each as `NAME.gz` or else `NAME`, gzipped
    /// or not. Pixels are scaled to `[0, 1]` (`v / 255`), as Keras's examples do; labels
    /// are kept as read.
    ///
    /// Every failure is a [`DataError`] naming the file: missing, unreadable, corrupt gzip,
    /// wrong magic number, cut short, images and labels of different counts.
    pub fn load(dir: impl AsRef<Path>) -> Result<Mnist, DataError> {
        let dir = dir.as_ref();
        let [train_x, train_y, test_x, test_y] = MNIST_FILES.map(|name| locate(dir, name));
        let train = load_pair(&train_x?, &train_y?)?;
        let test = load_pair(&test_x?, &test_y?)?;
        if train.sample_shape != test.sample_shape {
            return Err(DataError::ShapeMismatch {
                train: train.sample_shape,
                test: test.sample_shape,
            });
        }
        Ok(Mnist { train, test })
    }
}

/// `dir/NAME.gz` if it exists, else `dir/NAME` if it exists.
fn locate(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let tried = vec![dir.join(format!("{name}.gz")), dir.join(name)];
    match tried.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => Err(DataError::Missing { tried }),
    }
}

fn load_pair(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let (x, shape) = read_idx_images(images)?;
    let y = read_idx_labels(labels)?;
    if shape[0] != y.len() {
        return Err(DataError::CountMismatch {
            images: images.to_path_buf(),
            image_count: shape[0],
            labels: labels.to_path_buf(),
            label_count: y.len(),
        });
    }
    Ok(Dataset {
        len: y.len(),
        x,
        y,
        sample_shape: shape[1..].to_vec(),
    })
}

/// Reads an IDX image file (magic 2051): the pixels scaled to `[0, 1]` and the shape
/// `[count, rows, columns]`.
pub fn read_idx_images(path: &Path) -> Result<(Vec<f32>, [usize; 3]), DataError> {
    let bytes = read_maybe_gzipped(path)?;
    let [count, rows, cols] = header::<3>(path, &bytes, IMAGES_MAGIC)?;
    let body = body(path, &bytes, 16, &[count, rows, cols])?;
    let pixels = body.iter().map(|&v| f32::from(v) / 255.0).collect();
    Ok((pixels, [count, rows, cols]))
}

/// Reads an IDX label file (magic 2049): one `u8` per sample.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u32>, DataError> {
    let bytes = read_maybe_gzipped(path)?;
    let [count] = header::<1>(path, &bytes, LABELS_MAGIC)?;
    let body = body(path, &bytes, 8, &[count])?;
    Ok(body.iter().map(|&v| u32::from(v)).collect())
}

/// The file's bytes, decompressed when they start with gzip's magic bytes.
fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>, DataError> {
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => DataError::Missing {
            tried: vec![path.to_path_buf()],
        },
        _ => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
    };
    let mut raw = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut raw))
        .map_err(io_error)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

/// Checks the magic number (first, as a wrong file is the likelier mistake) and reads the
/// `N` dimensions after it.
fn header<const N: usize>(path: &Path, bytes: &[u8], magic: u32) -> Result<[usize; N], DataError> {
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let truncated = || DataError::Truncated {
        path: path.to_path_buf(),
        part: Part::Header,
        expected: 4 * (N as u64 + 1),
        found: bytes.len() as u64,
    };
    let found = word(0).ok_or_else(truncated)?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            expected: magic,
            found,
        });
    }
    let mut dims = [0usize; N];
    for (i, d) in dims.iter_mut().enumerate() {
        *d = word(i + 1).ok_or_else(truncated)? as usize;
    }
    Ok(dims)
}

/// The `dims.product()` bytes after a header of `start` bytes; the file must end there.
fn body<'a>(
    path: &Path,
    bytes: &'a [u8],
    start: usize,
    dims: &[usize],
) -> Result<&'a [u8], DataError> {
    // u64: a header's product of three u32s cannot overflow it... almost; saturate anyway.
    let values = dims.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
    let expected = values.saturating_add(start as u64);
    let found = bytes.len() as u64;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            part: Part::Body,
            expected,
            found,
        });
    }
    if found > expected {
        return Err(DataError::TrailingBytes {
            path: path.to_path_buf(),
            expected,
            found,
        });
    }
    Ok(&bytes[start..])
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::GzEncoder;
    use flate2::Compression;

    use super::*;

    /// The copy of the data kept in the repository (see `data/mnist/README.md`).
    fn repo_mnist() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/mnist")
    }

    /// A fresh, empty directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("model-core-mnist-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [IMAGES_MAGIC, count, rows, cols] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(pixels);
        b
    }

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [LABELS_MAGIC, labels.len() as u32] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(labels);
        b
    }

    /// A valid 2×2 data set, 3 training and 1 test sample, as four raw files in `dir`.
    fn write_tiny(dir: &Path) {
        let files: [(&str, Vec<u8>); 4] = [
            (
                MNIST_FILES[0],
                idx_images(3, 2, 2, &[0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8]),
            ),
            (MNIST_FILES[1], idx_labels(&[7, 0, 9])),
            (MNIST_FILES[2], idx_images(1, 2, 2, &[255, 255, 0, 0])),
            (MNIST_FILES[3], idx_labels(&[3])),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    fn load_err(dir: &Path) -> String {
        Mnist::load(dir).unwrap_err().to_string()
    }

    #[test]
    fn reads_the_repository_copy() {
        let m = Mnist::load(repo_mnist()).unwrap();
        assert_eq!((m.train.len, m.test.len), (8000, 2000));
        assert_eq!(m.train.sample_shape, [28, 28]);
        assert_eq!(m.train.x.len(), 8000 * 784);
        assert_eq!(m.test.x.len(), 2000 * 784);
        // The first labels as the files hold them (bytes 8.. of the label files).
        assert_eq!(m.train.y[..4], [1, 9, 4, 1]);
        assert_eq!(m.test.y[..4], [4, 2, 0, 8]);
        assert!(m.train.y.iter().chain(&m.test.y).all(|&y| y < 10));
        assert_eq!(m.train.num_classes(), 10);
        // Every digit occurs; pixels span [0, 1] exactly, and are mostly background.
        for c in 0..10 {
            assert!(
                m.train.y.iter().filter(|&&y| y == c).count() > 600,
                "digit {c}"
            );
        }
        let (lo, hi) = m
            .train
            .x
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        assert_eq!((lo, hi), (0.0, 1.0));
        let zeros = m.train.x.iter().filter(|&&v| v == 0.0).count();
        assert!(zeros > m.train.x.len() / 2);
    }

    #[test]
    fn raw_and_gzipped_files_read_the_same_whatever_their_names() {
        let raw = scratch("raw");
        write_tiny(&raw);
        let a = Mnist::load(&raw).unwrap();
        assert_eq!(a.train.y, [7, 0, 9]);
        assert_eq!(a.train.x[..4], [0.0, 1.0, 0.2, 0.4]);
        assert_eq!(a.test.sample_shape, [2, 2]);

        // Gzipped content under the names without `.gz`, and raw content under `.gz` names.
        let mixed = scratch("mixed");
        for (i, name) in MNIST_FILES.iter().enumerate() {
            let bytes = std::fs::read(raw.join(name)).unwrap();
            if i % 2 == 0 {
                std::fs::write(mixed.join(name), gzip(&bytes)).unwrap();
            } else {
                std::fs::write(mixed.join(format!("{name}.gz")), bytes).unwrap();
            }
        }
        assert_eq!(Mnist::load(&mixed).unwrap(), a);
    }

    #[test]
    fn missing_file() {
        let dir = scratch("missing");
        write_tiny(&dir);
        std::fs::remove_file(dir.join(MNIST_FILES[3])).unwrap();
        let msg = load_err(&dir);
        assert!(msg.starts_with("missing data file: none of "), "{msg}");
        assert!(msg.contains("t10k-labels-idx1-ubyte.gz, "), "{msg}");
        assert!(msg.ends_with("t10k-labels-idx1-ubyte exists"), "{msg}");
        let e = read_idx_labels(&dir.join("nope")).unwrap_err();
        assert!(matches!(e, DataError::Missing { .. }));
    }

    #[test]
    fn wrong_magic_number() {
        let dir = scratch("magic");
        write_tiny(&dir);
        // A label file where the images should be.
        std::fs::write(dir.join(MNIST_FILES[0]), idx_labels(&[1, 2, 3])).unwrap();
        let msg = load_err(&dir);
        assert!(
            msg.ends_with(
                "train-images-idx3-ubyte: not an IDX image file: magic number 2049, \
                 expected 2051 (this is an IDX label file)"
            ),
            "{msg}"
        );
        std::fs::write(dir.join(MNIST_FILES[0]), b"PK\x03\x04 not idx at all").unwrap();
        assert!(load_err(&dir).contains("magic number 1347093252, expected 2051"));
    }

    #[test]
    fn truncated_header() {
        let dir = scratch("header");
        write_tiny(&dir);
        std::fs::write(dir.join(MNIST_FILES[0]), &idx_images(3, 2, 2, &[])[..10]).unwrap();
        let msg = load_err(&dir);
        assert!(
            msg.ends_with(
                "train-images-idx3-ubyte: truncated header: the header needs 16 bytes, \
                 the file has 10"
            ),
            "{msg}"
        );
        std::fs::write(dir.join(MNIST_FILES[1]), [0u8, 0]).unwrap();
        let e = read_idx_labels(&dir.join(MNIST_FILES[1])).unwrap_err();
        assert!(matches!(
            e,
            DataError::Truncated {
                part: Part::Header,
                expected: 8,
                found: 2,
                ..
            }
        ));
    }

    #[test]
    fn truncated_body_and_trailing_bytes() {
        let dir = scratch("body");
        write_tiny(&dir);
        // The header promises 3 images of 2×2 (12 bytes); give 11, gzipped.
        let short = idx_images(3, 2, 2, &[0; 11]);
        std::fs::write(dir.join(format!("{}.gz", MNIST_FILES[0])), gzip(&short)).unwrap();
        let msg = load_err(&dir);
        assert!(
            msg.ends_with(
                "train-images-idx3-ubyte.gz: truncated data: the header's count needs 28 \
                 bytes, the file has 27"
            ),
            "{msg}"
        );
        // A header claiming 2^32 - 1 huge images: no overflow, no allocation, an error.
        let huge = idx_images(u32::MAX, u32::MAX, u32::MAX, &[0; 4]);
        std::fs::write(dir.join(format!("{}.gz", MNIST_FILES[0])), huge).unwrap();
        assert!(load_err(&dir).contains("truncated data"));
        std::fs::write(
            dir.join(format!("{}.gz", MNIST_FILES[0])),
            idx_images(3, 2, 2, &[0; 13]),
        )
        .unwrap();
        assert!(load_err(&dir).ends_with("1 bytes after the 28 its header accounts for"));
    }

    #[test]
    fn image_and_label_counts_differ() {
        let dir = scratch("count");
        write_tiny(&dir);
        std::fs::write(dir.join(MNIST_FILES[3]), idx_labels(&[3, 4])).unwrap();
        let msg = load_err(&dir);
        assert!(
            msg.contains("t10k-images-idx3-ubyte holds 1 images but "),
            "{msg}"
        );
        assert!(
            msg.ends_with("t10k-labels-idx1-ubyte holds 2 labels"),
            "{msg}"
        );
    }

    #[test]
    fn corrupt_or_cut_gzip() {
        let dir = scratch("gzip");
        write_tiny(&dir);
        let good = gzip(&std::fs::read(dir.join(MNIST_FILES[1])).unwrap());
        // Cut in the middle of the stream.
        std::fs::write(dir.join(MNIST_FILES[1]), &good[..good.len() / 2]).unwrap();
        let msg = load_err(&dir);
        assert!(
            msg.contains("train-labels-idx1-ubyte: corrupt or truncated gzip data: "),
            "{msg}"
        );
        // The gzip magic followed by garbage.
        std::fs::write(dir.join(MNIST_FILES[1]), b"\x1f\x8b\x08\x00garbage garbage").unwrap();
        assert!(load_err(&dir).contains("corrupt or truncated gzip data"));
        // A damaged body: the CRC check fails.
        let mut bad = good.clone();
        let mid = bad.len() - 9;
        bad[mid] ^= 0xff;
        std::fs::write(dir.join(MNIST_FILES[1]), bad).unwrap();
        let e = Mnist::load(&dir).unwrap_err();
        assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
    }

    #[test]
    fn train_and_test_of_different_sizes() {
        let dir = scratch("shape");
        write_tiny(&dir);
        std::fs::write(dir.join(MNIST_FILES[2]), idx_images(1, 1, 4, &[0; 4])).unwrap();
        assert_eq!(
            load_err(&dir),
            "training images are [2, 2] but test images are [1, 4]"
        );
    }

    #[test]
    fn unreadable_path_is_an_io_error() {
        // A directory where a file should be: opening succeeds on Linux, reading fails.
        let dir = scratch("io");
        let e = read_idx_labels(&dir).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }), "{e:?}");
        assert!(e.to_string().contains(": cannot read: "));
    }
}
