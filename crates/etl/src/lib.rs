//! The ETL layer: bytes of an .etl file to raw records in time order, and back.
pub mod buffer;
pub mod bytes;
pub mod clock;
pub mod compress;
pub mod container;
pub mod guid;
mod index;
pub mod layout;
pub mod locate;
pub mod logfile;
mod merge;
mod offsets;
pub mod record;
mod warning;
pub mod writer;

pub use container::EtlTrace;
pub use guid::Guid;
pub use index::{Buffer, RecordRef, MAX_DECOMPRESSION_RATIO};
pub use merge::Records;
pub use record::{HeaderKind, Record, RecordId, RecordKey};
pub use warning::{Lost, OpenError, Place, Warning};
