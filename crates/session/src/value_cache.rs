//! The distinct values of text columns that Tab offers inside quotes: found
//! once per table and column, then kept until the tables are dropped.
use columnar::{Column, ColumnData};
use std::collections::HashMap;
use std::sync::Arc;

/// The most distinct values kept per column: a column with more (object
/// names, say) offers its first ones in sorted order rather than hold them all.
pub const MAX_VALUES: usize = 50_000;

/// Distinct values already found, by (table, column): found once, then every
/// Tab reads them from here. Emptied whenever the tables they came from are
/// dropped (a model built again, a new symbol path).
#[derive(Default)]
pub(crate) struct ValueCache {
    values: HashMap<(String, String), Arc<[String]>>,
}

impl ValueCache {
    pub(crate) fn get(&self, table: &str, column: &str) -> Option<Arc<[String]>> {
        self.values.get(&(table.to_string(), column.to_string())).cloned()
    }

    /// The distinct texts of `column` (of `table`), found now and kept.
    pub(crate) fn keep(&mut self, table: &str, column: &str, values: &Column) -> Arc<[String]> {
        let found: Arc<[String]> = Arc::from(distinct_texts(values));
        self.values.insert((table.to_string(), column.to_string()), found.clone());
        found
    }

    pub(crate) fn clear(&mut self) {
        self.values.clear();
    }
}

/// Sorted without regard to case (then exactly), each once.
pub(crate) fn sort_names(names: &mut Vec<String>) {
    names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b)));
    names.dedup();
}

/// The distinct non-empty texts of a column's rows, sorted, at most
/// `MAX_VALUES`. Rows share dictionary codes, so each code is looked at once.
fn distinct_texts(column: &Column) -> Vec<String> {
    let dense = column.dense();
    let ColumnData::Str(data) = &dense.data else { return Vec::new() };
    let mut used = vec![false; data.dict.len()];
    let mut row = 0;
    data.codes.for_each(|code| {
        if dense.is_valid(row) {
            if let Some(seen) = used.get_mut(code as usize) {
                *seen = true;
            }
        }
        row += 1;
    });
    let mut texts: Vec<String> = Vec::new();
    for (text, _) in data.dict.values().iter().zip(&used).filter(|(_, &used)| used) {
        // `|a.dll|b.sys|`: a list of names, each a value of its own.
        match text.strip_prefix('|').and_then(|t| t.strip_suffix('|')) {
            Some(list) => texts.extend(list.split('|').filter(|s| !s.is_empty()).map(str::to_string)),
            None if !text.is_empty() => texts.push(text.to_string()),
            None => {}
        }
    }
    sort_names(&mut texts);
    texts.truncate(MAX_VALUES);
    texts
}
