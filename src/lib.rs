//! etwq: read Windows ETW traces (.etl) natively and ask them questions.
pub mod demo;
pub mod etl;
pub mod session;
pub mod summary;
pub mod table;
