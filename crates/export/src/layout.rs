//! Which Arrow columns a table becomes: one per etwq column, in etwq's order,
//! then the columns some types add (`<name>_utc` after a timestamp,
//! `<name>_name` after a status), in the order of the columns they follow.
use arrow_schema::{DataType, Field, TimeUnit};
use columnar::{ColumnType, DataTable};

/// Where an Arrow column's values come from: the etwq column at an index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The column itself, in the type the table below the module doc gives.
    Same(usize),
    /// A timestamp column as absolute time: the trace start plus its ns.
    Utc(usize),
    /// A status column's NTSTATUS name.
    StatusName(usize),
}

impl Source {
    pub fn column(self) -> usize {
        match self {
            Source::Same(i) | Source::Utc(i) | Source::StatusName(i) => i,
        }
    }
}

/// The Arrow type an etwq column is written as.
pub fn arrow_type(column_type: ColumnType) -> DataType {
    match column_type {
        ColumnType::I64 | ColumnType::Timestamp | ColumnType::Duration => DataType::Int64,
        ColumnType::U64 | ColumnType::Address => DataType::UInt64,
        ColumnType::F64 => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Str => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        ColumnType::Status => DataType::UInt32,
        ColumnType::Fields => DataType::Utf8,
    }
}

/// Absolute time, as the `_utc` columns hold it.
pub fn utc_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The Arrow columns of `table`: each with where its values come from.
/// `leave_out` names etwq columns not written; `with_utc` says whether the
/// trace start is known, so that timestamps can gain absolute columns.
pub fn columns(table: &DataTable, leave_out: &[String], with_utc: bool) -> Vec<(Source, Field)> {
    let kept: Vec<usize> = (0..table.columns.len()).filter(|&i| !leave_out.contains(&table.columns[i].name)).collect();
    let mut out: Vec<(Source, Field)> = kept
        .iter()
        .map(|&i| {
            let c = &table.columns[i];
            (Source::Same(i), Field::new(&c.name, arrow_type(c.column.column_type()), true))
        })
        .collect();
    for &i in &kept {
        let c = &table.columns[i];
        let added = match c.column.column_type() {
            ColumnType::Timestamp if with_utc => Some((Source::Utc(i), format!("{}_utc", c.name), utc_type())),
            ColumnType::Status => Some((Source::StatusName(i), format!("{}_name", c.name), DataType::Utf8)),
            _ => None,
        };
        // A table that already has a column of that name keeps its own.
        if let Some((source, name, data_type)) = added {
            if table.column(&name).is_none() {
                out.push((source, Field::new(name, data_type, true)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use columnar::Column;

    #[test]
    fn added_columns_follow_etwq_columns_in_their_order() {
        let table = DataTable::new("t")
            .with_column("trace", "", Column::strs(["a"]))
            .unwrap()
            .with_column("ts", "", Column::timestamps(vec![1]))
            .unwrap()
            .with_column("status", "", Column::statuses(vec![0]))
            .unwrap()
            .with_column("end", "", Column::timestamps(vec![2]))
            .unwrap();
        let names = |with_utc| -> Vec<String> {
            columns(&table, &["trace".into()], with_utc).iter().map(|(_, f)| f.name().clone()).collect()
        };
        assert_eq!(names(true), ["ts", "status", "end", "ts_utc", "status_name", "end_utc"]);
        assert_eq!(names(false), ["ts", "status", "end", "status_name"]);
    }
}
