//! etwq: read Windows ETW traces (.etl) natively and ask them questions.
pub mod etl;
pub mod summary;
pub mod decode;
pub mod dump;
