//! `| flame FILE.svg`: a flame graph of the folded stacks, written as SVG by inferno.
use super::folded::folded_lines;
use super::row_stacks::RowStacks;
use columnar::{Column, DataTable};
use query::error::{ErrorKind, QueryError};

pub(super) fn flame(stacks: &RowStacks, file: &std::path::Path) -> Result<DataTable, QueryError> {
    let lines = folded_lines(stacks);
    if lines.is_empty() {
        return Err(QueryError::new(ErrorKind::Type, "flame: no rows, nothing to draw", None));
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = "etwq".to_string();
    options.count_name = "samples".to_string();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
        .map_err(|e| QueryError::new(ErrorKind::Type, format!("flame: {e}"), None))?;
    std::fs::write(file, &svg)
        .map_err(|e| QueryError::new(ErrorKind::Type, format!("flame: {}: {e}", file.display()), None))?;
    let mut t = DataTable::new("flame");
    let _ = t.push_column("wrote", "the SVG file", Column::strs([file.display().to_string()]));
    let _ = t.push_column("stacks", "distinct stacks drawn", Column::u64(vec![lines.len() as u64]));
    let _ = t.push_column("bytes", "file size", Column::u64(vec![svg.len() as u64]));
    Ok(t)
}
