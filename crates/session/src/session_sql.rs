//! `etwq sql`: a query translated to SQL over the tables `etwq export` writes.
//! It plans against the tables' schema, so it needs no trace.
// A QueryError is made once per failed translation: its size does not matter.
#![allow(clippy::result_large_err)]
use crate::session::{built_in_catalog, Session};
use columnar::{ColumnBuilder, ColumnType, DataTable};
use query::catalog::{Catalog, MemoryCatalog, SavedQuery};
pub use query::sql::Dialect;
use query::QueryError;

/// Every table as an empty table of its columns, `trace` first, as etwq shows
/// them with several traces open (the export's `trace` partition column),
/// beside a catalog's saved queries and constants.
struct SchemaCatalog<'c> {
    tables: Vec<DataTable>,
    names: &'c MemoryCatalog,
}

impl SchemaCatalog<'_> {
    fn over(names: &MemoryCatalog) -> SchemaCatalog<'_> {
        let tables = model::schema::tables()
            .iter()
            .map(|schema| {
                let mut table = DataTable::new(schema.name);
                let _ = table.push_column("trace", "trace id", ColumnBuilder::new(ColumnType::Str).finish());
                for c in schema.columns {
                    let _ = table.push_column(c.name, c.doc, ColumnBuilder::new(c.kind).finish());
                }
                table
            })
            .collect();
        SchemaCatalog { tables, names }
    }
}

impl Catalog for SchemaCatalog<'_> {
    fn table(&self, name: &str) -> Option<&DataTable> {
        self.tables.iter().find(|t| t.name == name)
    }
    fn table_names(&self) -> Vec<String> {
        self.tables.iter().map(|t| t.name.clone()).collect()
    }
    fn saved_query(&self, name: &str) -> Option<&SavedQuery> {
        self.names.saved_query(name)
    }
    fn saved_query_names(&self) -> Vec<String> {
        self.names.saved_query_names()
    }
    fn constant(&self, name: &str) -> Option<u64> {
        self.names.constant(name)
    }
    fn constant_names(&self) -> Vec<&str> {
        self.names.constant_names()
    }
}

impl Session {
    /// The SQL that runs `text` over an exported dataset, with this session's
    /// saved queries: each table is read by its own name (`FROM syscalls`).
    pub fn sql(&self, text: &str, dialect: Dialect) -> Result<String, QueryError> {
        query::sql::translate(text, &SchemaCatalog::over(&self.catalog), dialect)
    }

    /// Like [`Session::sql`] without a trace: the built-in saved queries only.
    pub fn sql_without_trace(text: &str, dialect: Dialect) -> Result<String, QueryError> {
        query::sql::translate(text, &SchemaCatalog::over(&built_in_catalog()), dialect)
    }
}
