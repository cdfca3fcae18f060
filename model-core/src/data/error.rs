//! Why data could not be read, naming the file at fault.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Which part of an IDX file was cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The magic number and the dimensions.
    Header,
    /// The values after the header.
    Body,
}

/// Why a data set could not be read or built. Every variant that concerns a file names it.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// None of the names tried exists.
    Missing {
        /// The paths tried, in order.
        tried: Vec<PathBuf>,
    },
    /// The file exists but could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file starts like gzip but does not decompress.
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decompressor said.
        source: io::Error,
    },
    /// The first four bytes are not the expected IDX magic number.
    BadMagic {
        /// The file.
        path: PathBuf,
        /// 2051 for images, 2049 for labels.
        expected: u32,
        /// What the file holds.
        found: u32,
    },
    /// The file ends before its header or its values do.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where it ends.
        part: Part,
        /// Bytes the header promises (up to the end of `part`).
        expected: u64,
        /// Bytes the file has.
        found: u64,
    },
    /// The file has more bytes than its header accounts for.
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header accounts for.
        expected: u64,
        /// Bytes the file has.
        found: u64,
    },
    /// An image file and its label file disagree on the number of samples.
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its number of images.
        image_count: usize,
        /// The label file.
        labels: PathBuf,
        /// Its number of labels.
        label_count: usize,
    },
    /// The training and test images differ in size.
    ShapeMismatch {
        /// The training images.
        train: Vec<usize>,
        /// The test images.
        test: Vec<usize>,
    },
    /// A dataset built from buffers whose lengths do not fit together, or a split that
    /// would leave one side empty.
    Invalid {
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Missing { tried } => {
                f.write_str("missing data file: none of ")?;
                for (i, p) in tried.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}", p.display())?;
                }
                f.write_str(" exists")
            }
            DataError::Io { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            DataError::Gzip { path, source } => write!(
                f,
                "{}: corrupt or truncated gzip data: {source}",
                path.display()
            ),
            DataError::BadMagic {
                path,
                expected,
                found,
            } => {
                write!(
                    f,
                    "{}: not an IDX {} file: magic number {found}, expected {expected}",
                    path.display(),
                    kind(*expected)
                )?;
                if let Some(other) = [2049, 2051].into_iter().find(|m| m == found) {
                    write!(f, " (this is an IDX {} file)", kind(other))?;
                }
                Ok(())
            }
            DataError::Truncated {
                path,
                part,
                expected,
                found,
            } => write!(
                f,
                "{}: truncated {}: {} needs {expected} bytes, the file has {found}",
                path.display(),
                match part {
                    Part::Header => "header",
                    Part::Body => "data",
                },
                match part {
                    Part::Header => "the header",
                    Part::Body => "the header's count",
                },
            ),
            DataError::TrailingBytes {
                path,
                expected,
                found,
            } => write!(
                f,
                "{}: {} bytes after the {expected} its header accounts for",
                path.display(),
                found - expected
            ),
            DataError::CountMismatch {
                images,
                image_count,
                labels,
                label_count,
            } => write!(
                f,
                "{} holds {image_count} images but {} holds {label_count} labels",
                images.display(),
                labels.display()
            ),
            DataError::ShapeMismatch { train, test } => write!(
                f,
                "training images are {train:?} but test images are {test:?}"
            ),
            DataError::Invalid { message } => f.write_str(message),
        }
    }
}

fn kind(magic: u32) -> &'static str {
    if magic == 2051 {
        "image"
    } else {
        "label"
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Io { source, .. } | DataError::Gzip { source, .. } => Some(source),
            _ => None,
        }
    }
}
