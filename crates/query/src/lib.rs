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
pub mod sql;
pub mod types;

pub use catalog::{Catalog, MemoryCatalog, SavedQuery};
pub use error::{ErrorKind, QueryError};
pub use library::{parse_library, LibraryError};

use ast::Query;
use columnar::DataTable;
use std::sync::atomic::AtomicBool;

/// Parses, checks and runs one query.
pub fn run_query(text: &str, catalog: &dyn Catalog, cancel: &AtomicBool) -> Result<DataTable, QueryError> {
    run_parsed(grammar::parse_query(text)?, text, catalog, cancel)
}

/// Checks and runs a query parsed from `text`. A view (`| tree`, ...) is the caller's
/// to draw: take it out of `query.view` first, since the engine draws none.
pub fn run_parsed(
    query: Query,
    text: &str,
    catalog: &dyn Catalog,
    cancel: &AtomicBool,
) -> Result<DataTable, QueryError> {
    if let Some(view) = &query.view {
        let message = format!("'| {}' is a view, which only a session draws", view.kind.name());
        return Err(QueryError::at(ErrorKind::Type, message, view.span).in_query(text));
    }
    let plan = plan::plan_query(query, text, catalog)?;
    let Some(table) = catalog.table(&plan.table) else {
        return Err(QueryError::new(ErrorKind::UnknownName, format!("unknown table '{}'", plan.table), None));
    };
    exec::execute(&plan, table, catalog, cancel)
}
