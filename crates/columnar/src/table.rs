//! A named table of documented columns: what the model produces and a query returns.
use super::column::Column;
use super::value::Value;
use std::fmt;

#[derive(Clone, Debug)]
pub struct NamedColumn {
    pub name: String,
    /// One line for `describe`-style help: what the column holds, in which unit.
    pub doc: String,
    pub column: Column,
}

#[derive(Clone, Debug, Default)]
pub struct DataTable {
    pub name: String,
    pub columns: Vec<NamedColumn>,
}

/// A column whose length differs from the table's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LengthMismatch {
    pub table: String,
    pub column: String,
    pub expected: usize,
    pub found: usize,
}

impl fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column '{}' of table '{}' has {} rows, the table has {}",
            self.column, self.table, self.found, self.expected
        )
    }
}

impl std::error::Error for LengthMismatch {}

impl DataTable {
    pub fn new(name: &str) -> DataTable {
        DataTable { name: name.to_string(), columns: Vec::new() }
    }

    /// Adds a column; every column must have as many rows as the first.
    pub fn push_column(&mut self, name: &str, doc: &str, column: Column) -> Result<(), LengthMismatch> {
        if let Some(first) = self.columns.first() {
            if first.column.len() != column.len() {
                return Err(LengthMismatch {
                    table: self.name.clone(),
                    column: name.to_string(),
                    expected: first.column.len(),
                    found: column.len(),
                });
            }
        }
        self.columns.push(NamedColumn { name: name.to_string(), doc: doc.to_string(), column });
        Ok(())
    }

    /// Builder-style `push_column`.
    pub fn with_column(mut self, name: &str, doc: &str, column: Column) -> Result<DataTable, LengthMismatch> {
        self.push_column(name, doc, column)?;
        Ok(self)
    }

    pub fn row_count(&self) -> usize {
        self.columns.first().map_or(0, |c| c.column.len())
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name).map(|c| &c.column)
    }

    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// One row as values, in column order.
    pub fn row(&self, row: usize) -> Vec<Value> {
        self.columns.iter().map(|c| c.column.value(row)).collect()
    }
}
