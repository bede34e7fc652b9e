//! etwq: read Windows ETW traces (.etl) natively and ask them questions.
pub mod etl;
pub mod model;
pub mod session;
pub mod summary;
pub mod table;
