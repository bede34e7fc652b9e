//! The scenario builder (see `write`).
mod write;

pub use write::*;
