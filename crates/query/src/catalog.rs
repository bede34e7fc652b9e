//! Where a query finds its tables and saved queries. The engine sees only this
//! trait, never the trace or the model behind it.
use columnar::DataTable;
use std::collections::HashMap;

/// A query kept under a name: `name(params) = text`; `$param` in the text is
/// replaced by the argument given at the call site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedQuery {
    pub name: String,
    pub params: Vec<String>,
    pub text: String,
}

pub trait Catalog {
    fn table(&self, name: &str) -> Option<&DataTable>;
    fn table_names(&self) -> Vec<String>;
    fn saved_query(&self, _name: &str) -> Option<&SavedQuery> {
        None
    }
    fn saved_query_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// The value of a named constant such as `STATUS_ACCESS_DENIED`.
    fn constant(&self, _name: &str) -> Option<u64> {
        None
    }
    fn constant_names(&self) -> Vec<&str> {
        Vec::new()
    }
    /// The names the field maps of `table` hold (`fields.X`), when known: a
    /// name outside them is an error, not a column of nulls.
    fn field_names(&self, _table: &str) -> Option<&[String]> {
        None
    }
}

/// A catalog held in memory: the tables by name plus a library of saved queries.
#[derive(Clone, Debug, Default)]
pub struct MemoryCatalog {
    pub tables: HashMap<String, DataTable>,
    pub saved: HashMap<String, SavedQuery>,
    /// Tables that exist but are built only when a query first reads them.
    pub unbuilt: Vec<String>,
    /// Named constants by name, e.g. the NTSTATUS names the model's decoder knows.
    pub constants: HashMap<String, u64>,
    /// The field names of each table with field maps, where known.
    pub field_names: HashMap<String, Vec<String>>,
}

impl MemoryCatalog {
    pub fn new() -> MemoryCatalog {
        MemoryCatalog::default()
    }

    pub fn add_table(&mut self, table: DataTable) {
        self.tables.insert(table.name.clone(), table);
    }

    pub fn add_saved(&mut self, query: SavedQuery) {
        self.saved.insert(query.name.clone(), query);
    }
}

impl Catalog for MemoryCatalog {
    fn table(&self, name: &str) -> Option<&DataTable> {
        self.tables.get(name)
    }

    fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().chain(&self.unbuilt).cloned().collect();
        names.sort();
        names.dedup();
        names
    }

    fn saved_query(&self, name: &str) -> Option<&SavedQuery> {
        self.saved.get(name)
    }

    fn saved_query_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.saved.keys().cloned().collect();
        names.sort();
        names
    }

    fn constant(&self, name: &str) -> Option<u64> {
        self.constants.get(name).copied()
    }

    fn constant_names(&self) -> Vec<&str> {
        self.constants.keys().map(String::as_str).collect()
    }

    fn field_names(&self, table: &str) -> Option<&[String]> {
        self.field_names.get(table).map(Vec::as_slice)
    }
}
