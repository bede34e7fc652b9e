//! The query language: text -> AST (nom) -> plan (names and types checked
//! against a catalog) -> columnar execution -> a result table.
//!
//! The engine sees tables only through [`Catalog`]; it knows nothing of ETL.

// A QueryError carries the query text and the caret's context; it is made once
// per failed query, far from any hot loop, so its size does not matter.
#![allow(clippy::result_large_err)]
pub mod ast;
pub mod catalog;
pub mod error;
pub mod exec;
pub mod functions;
pub mod grammar;
pub mod library;
pub mod plan;
pub mod types;

pub use catalog::{Catalog, MemoryCatalog, SavedQuery};
pub use error::{ErrorKind, QueryError};
pub use library::{parse_library, LibraryError};

use columnar::DataTable;
use std::sync::atomic::AtomicBool;

/// Parses, checks and runs one query. Stops with a `Cancelled` error soon
/// after `cancel` becomes true.
pub fn run_query(text: &str, catalog: &dyn Catalog, cancel: &AtomicBool) -> Result<DataTable, QueryError> {
    let query = grammar::parse_query(text)?;
    let plan = plan::plan_query(query, text, catalog)?;
    let Some(table) = catalog.table(&plan.table) else {
        return Err(QueryError::new(ErrorKind::UnknownName, format!("unknown table '{}'", plan.table), None));
    };
    exec::execute(&plan, table, cancel)
}
