//! etwq: read Windows ETW traces (.etl) natively and ask them questions.
pub mod etl;
pub mod session;
pub mod summary;
pub mod symbols;
pub mod table;
