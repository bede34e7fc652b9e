//! etwq: read Windows ETW traces (.etl) natively and ask them questions.
pub mod columnar;
pub mod etl;
pub mod query;
pub mod session;
pub mod summary;
pub mod table;
