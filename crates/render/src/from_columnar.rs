//! Query results (columnar tables) are rendered straight from their columns.
use super::{Field, Rows, Table};
use columnar::{DataTable, Value};

impl<'a> From<&'a Value> for Field<'a> {
    fn from(value: &'a Value) -> Field<'a> {
        match value {
            Value::Null => Field::Empty,
            Value::I64(v) => Field::Int(*v),
            Value::U64(v) => Field::UInt(*v),
            Value::F64(v) => Field::Float(*v),
            Value::Bool(true) => Field::Text("true"),
            Value::Bool(false) => Field::Text("false"),
            Value::Str(s) => Field::Text(s),
            Value::Timestamp(v) => Field::Timestamp(*v),
            Value::Duration(v) => Field::Duration(*v),
            Value::Address(v) => Field::Address(*v),
            Value::Status(v) => Field::Status(*v),
            Value::Fields(_) => Field::Shown(value),
        }
    }
}

impl Rows for DataTable {
    fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    fn row_count(&self) -> usize {
        DataTable::row_count(self)
    }

    fn visit_row(&self, row: usize, visit: &mut dyn FnMut(Field<'_>)) {
        for column in &self.columns {
            visit(Field::from(&column.column.value(row)));
        }
    }

    /// `| folded`: lines that flamegraph.pl and inferno read, as they are.
    fn bare_lines(&self) -> bool {
        self.name == "folded" && self.columns.len() == 1
    }

    fn chart(&self) -> Option<&DataTable> {
        crate::chart::is_chart(self).then_some(self)
    }
}

/// A copy into rows of values, for code that edits a result; rendering needs none.
impl From<&DataTable> for Table {
    fn from(data: &DataTable) -> Table {
        let mut table = Table {
            columns: data.columns.iter().map(|c| c.name.clone()).collect(),
            rows: Vec::new(),
            headerless: false,
        };
        for row in 0..data.row_count() {
            table.push(data.columns.iter().map(|c| c.column.value(row)).collect());
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;
    use columnar::Column;

    #[test]
    fn units_render_readably_and_raw() {
        let data = DataTable::new("t")
            .with_column("d", "", Column::durations(vec![1_500_000]))
            .and_then(|t| t.with_column("a", "", Column::addresses(vec![255])))
            .unwrap();
        let table = Table::from(&data);
        assert_eq!(table.render(Format::Tsv), "d\ta\n1500000\t0xff\n");
        assert!(table.render(Format::Table).contains("1.500 ms"));
        for format in [Format::Table, Format::Line, Format::Tsv, Format::Csv, Format::Json, Format::Markdown] {
            assert_eq!(crate::render(&data, format), table.render(format), "{format:?}");
        }
    }
}
