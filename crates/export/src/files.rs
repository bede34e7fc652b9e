//! Writing a file: to a temporary name beside the target, renamed into place
//! once complete, so that a reader (or a re-run that skips finished traces)
//! never sees half a file, and a failed write leaves nothing behind.
use crate::arrays::BatchMaker;
use crate::layout;
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema, SchemaRef};
use columnar::DataTable;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rows converted to Arrow at a time: what an export holds beyond the table.
pub const ROWS_PER_BATCH: usize = 64 * 1024;
/// Rows per Parquet row group: the unit readers split work by. The writer
/// keeps one row group, encoded and compressed, in memory until it is full.
const ROWS_PER_ROW_GROUP: usize = 1024 * 1024;
/// zstd's fastest level: on a 1 GB trace's syscalls table, level 3 (zstd's default)
/// wrote a file of the same size (most bytes are timestamps, which neither level
/// shrinks much) and took 15% longer.
const ZSTD_LEVEL: i32 = 1;
/// Rows per Parquet data page at most. The writer's default, 20,000, made many
/// small pages of the dictionary-encoded columns, and parquet compresses each
/// page with a zstd context of its own, made anew (memset and page faults).
const ROWS_PER_PAGE: usize = ROWS_PER_BATCH;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// Parquet, zstd-compressed: for datasets that engines scan.
    Parquet,
    /// Arrow IPC file (Feather v2), uncompressed: for tools that map it.
    Arrow,
}

impl FileFormat {
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Arrow => "arrow",
        }
    }
}

/// How a table is written.
#[derive(Clone, Debug)]
pub struct TableOptions {
    /// The trace start as ns since 1970 UTC: timestamps gain `<name>_utc`
    /// columns with it. None (several traces, or unknown): they do not.
    pub start_unix_ns: Option<i64>,
    /// etwq columns not written (the `trace` column, which a dataset's path gives).
    pub leave_out: Vec<String>,
    /// Key-value metadata of the file (header facts, the etwq version).
    pub metadata: Vec<(String, String)>,
    /// The name of an NTSTATUS code, for the `<name>_name` columns.
    pub status_name: fn(u32) -> Option<&'static str>,
}

impl Default for TableOptions {
    fn default() -> TableOptions {
        TableOptions { start_unix_ns: None, leave_out: Vec::new(), metadata: Vec::new(), status_name: |_| None }
    }
}

/// A file that could not be written; nothing of it is left.
#[derive(Debug)]
pub struct ExportError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ExportError {}

/// Writes `table` to `path` (its directory must exist), a batch of rows at a
/// time; returns the rows written.
pub fn write_table(
    table: &DataTable,
    path: &Path,
    format: FileFormat,
    options: &TableOptions,
) -> Result<usize, ExportError> {
    let columns = layout::columns(table, &options.leave_out, options.start_unix_ns.is_some());
    let (sources, fields): (Vec<_>, Vec<_>) = columns.into_iter().unzip();
    let metadata: HashMap<String, String> = options.metadata.iter().cloned().collect();
    let schema = Arc::new(Schema::new(fields).with_metadata(metadata));
    let start = options.start_unix_ns.unwrap_or(0);
    let mut maker = BatchMaker::new(table, sources, schema.clone(), start, options.status_name);
    let rows = table.row_count();
    let batches = (0..rows).step_by(ROWS_PER_BATCH).map(|from| maker.batch(from, (from + ROWS_PER_BATCH).min(rows)));
    write_batches(path, schema, format, batches)?;
    Ok(rows)
}

/// Writes batches of `schema` (its metadata becomes the file's key-value
/// metadata) to `path` through a temporary file renamed into place.
pub fn write_batches(
    path: &Path,
    schema: SchemaRef,
    format: FileFormat,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
) -> Result<(), ExportError> {
    let error = |message: String| ExportError { path: path.to_path_buf(), message };
    let temporary = temporary_path(path);
    let written = File::create(&temporary)
        .map_err(|e| e.to_string())
        .and_then(|file| write_to(BufWriter::with_capacity(1 << 20, file), schema, format, batches))
        .and_then(|()| std::fs::rename(&temporary, path).map_err(|e| e.to_string()));
    if let Err(message) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error(message));
    }
    Ok(())
}

/// A name beside `path` that no other writer of this process, or of another, uses;
/// it starts with a dot, so that `*.parquet` globs do not see it.
fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map_or_else(|| "part".into(), |n| n.to_string_lossy().to_string());
    let unique = format!(".{name}.tmp-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    path.with_file_name(unique)
}

fn write_to(
    mut out: BufWriter<File>,
    schema: SchemaRef,
    format: FileFormat,
    batches: impl Iterator<Item = Result<RecordBatch, ArrowError>>,
) -> Result<(), String> {
    match format {
        FileFormat::Parquet => {
            let metadata = schema.metadata().iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone())).collect();
            let level = ZstdLevel::try_new(ZSTD_LEVEL).map_err(|e| e.to_string())?;
            let properties = WriterProperties::builder()
                .set_compression(Compression::ZSTD(level))
                .set_max_row_group_size(ROWS_PER_ROW_GROUP)
                .set_data_page_row_count_limit(ROWS_PER_PAGE)
                .set_key_value_metadata(Some(metadata))
                .build();
            let mut writer = ArrowWriter::try_new(&mut out, schema, Some(properties)).map_err(|e| e.to_string())?;
            for batch in batches {
                writer.write(&batch.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            }
            writer.close().map_err(|e| e.to_string())?;
        }
        FileFormat::Arrow => {
            let mut writer = arrow_ipc::writer::FileWriter::try_new(&mut out, &schema).map_err(|e| e.to_string())?;
            for batch in batches {
                writer.write(&batch.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            }
            writer.finish().map_err(|e| e.to_string())?;
        }
    }
    let file = out.into_inner().map_err(|e| e.error().to_string())?;
    file.sync_all().map_err(|e| e.to_string())
}
