//! What went wrong while a trace opened: the error that stops it, and the
//! damage the reader met while the rest of the trace still loaded.
use std::fmt;
use std::path::PathBuf;

/// A problem that stops the trace from opening at all.
#[derive(Debug)]
pub enum OpenError {
    Io { path: PathBuf, error: std::io::Error },
    NotEtl { what: String },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            OpenError::NotEtl { what } => write!(f, "not an ETL trace: {what}"),
        }
    }
}

impl std::error::Error for OpenError {}

/// Damage the reader met while the rest of the trace still loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub place: Place,
    pub what: String,
    pub lost: Lost,
}

/// Where the damage is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A buffer of the file: its index in file order and its file offset.
    Buffer { index: usize, file_offset: u64 },
    /// Buffers the logger wrote that are not in the file.
    MissingBuffers,
}

/// The records the damage cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lost {
    Nothing,
    /// Records were lost; damaged or absent data does not say how many.
    Unknown,
}

impl Warning {
    pub(crate) fn in_buffer(index: usize, file_offset: u64, what: String, lost: Lost) -> Warning {
        Warning { place: Place::Buffer { index, file_offset }, what, lost }
    }

    pub fn buffer_index(&self) -> Option<usize> {
        match self.place {
            Place::Buffer { index, .. } => Some(index),
            Place::MissingBuffers => None,
        }
    }

    pub fn file_offset(&self) -> Option<u64> {
        match self.place {
            Place::Buffer { file_offset, .. } => Some(file_offset),
            Place::MissingBuffers => None,
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Place::Buffer { index, file_offset } = self.place {
            write!(f, "buffer {index} at file offset {file_offset:#x}: ")?;
        }
        f.write_str(&self.what)?;
        match self.lost {
            Lost::Nothing => Ok(()),
            Lost::Unknown => f.write_str("; records lost: how many is not known"),
        }
    }
}
