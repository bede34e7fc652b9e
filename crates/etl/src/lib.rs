//! The ETL layer: bytes of an .etl file to raw records in time order, and back.
pub mod buffer;
pub mod bytes;
pub mod clock;
pub mod compress;
pub mod container;
pub mod guid;
pub mod layout;
pub mod locate;
pub mod logfile;
pub mod record;
pub mod writer;

pub use container::{EtlTrace, Lost, OpenError, Place, RecordRef, Warning};
pub use guid::Guid;
pub use record::{HeaderKind, Record, RecordId, RecordKey};
