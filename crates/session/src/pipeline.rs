//! The one query pipeline of a session: parse once with the grammar, run the
//! relational part through the query engine, then draw the view, if any.
// Query errors are made once per failed query, far from any hot loop (as in query/).
#![allow(clippy::result_large_err)]
use crate::session::Session;
use crate::stack_filter::rewrite_query;
use crate::views::{
    chart, check_sampled_rows, draw, export_chrome, histogram, waits, ChartFrame, RowKeys, TraceFrames,
};
use columnar::DataTable;
use model::symbolize::StackSet;
use progress::Progress;
use progress::Total;
use query::ast::{ExportFormat, Source, Span, ViewKind};
use query::error::{ErrorKind, QueryError};

impl Session {
    /// The one query pipeline: parse once, run the relational part through the query
    /// engine (in the `stacks` table `module =` and `func =` mean "has a frame in"),
    /// then draw the view that ends the query, if any.
    pub(crate) fn run_pipeline(&mut self, text: &str, progress: &Progress) -> Result<DataTable, QueryError> {
        // Every query passes here before frames are named (which may download symbols).
        self.share_cancel_flag();
        // Ctrl-C from here on stops this query: its builds, its run, its view.
        self.cancel.store(false, std::sync::atomic::Ordering::SeqCst);
        progress.stop_when(self.cancel.clone());
        let mut query = query::grammar::parse_query(text)?;
        let view = query.view.take();
        let source = match &query.source {
            Source::Table { name, .. } => Some(name.to_ascii_lowercase()),
            Source::Saved { .. } => None,
        };
        rewrite_query(&mut query);
        self.ensure_tables_for(text, progress)?;
        let rows = query::run_parsed(query, text, &self.catalog, &self.cancel)?;
        let Some(view) = view else { return Ok(rows) };
        match &view.kind {
            ViewKind::Histogram { column, to } => {
                let table = histogram(&rows, column, view.span).map_err(|e| e.in_query(text))?;
                return image_or_table(table, to.as_deref(), view.span).map_err(|e| e.in_query(text));
            }
            ViewKind::Chart(spec) => {
                let table = chart(&rows, spec, &self.chart_frame(), view.span).map_err(|e| e.in_query(text))?;
                return image_or_table(table, spec.to.as_deref(), view.span).map_err(|e| e.in_query(text));
            }
            ViewKind::Waits => {
                return self.draw_waits(&rows, source.as_deref(), view.span).map_err(|e| e.in_query(text))
            }
            ViewKind::Export { format: ExportFormat::Chrome, file, .. } => {
                let names: Vec<&str> = self.traces.iter().map(|t| t.name.as_str()).collect();
                let file = std::path::Path::new(file);
                return export_chrome(&rows, source.as_deref(), &names, file, view.span).map_err(|e| e.in_query(text));
            }
            ViewKind::Export { format, .. } => {
                check_sampled_rows(*format, &rows, view.span).map_err(|e| e.in_query(text))?
            }
            _ => {}
        }
        let names: Vec<&str> = self.traces.iter().map(|t| t.name.as_str()).collect();
        let keys = RowKeys::of(&rows, &names)?;
        self.name_stacks_of(&keys, progress);
        let traces: Vec<TraceFrames> = (0..self.traces.len())
            .map(|index| TraceFrames { name: &self.traces[index].name, named: self.stack_state.named(index) })
            .collect();
        draw(view.kind, &rows, &keys, &traces, view.span).map_err(|e| e.in_query(text))
    }

    /// What a chart is drawn over: the longest trace, the most cores, the screen's width.
    fn chart_frame(&self) -> ChartFrame {
        let trace_end_ns = self
            .traces
            .iter()
            .filter_map(|t| {
                let (_, last) = t.trace.time_range()?;
                Some(t.trace.clock.ns_since_start(last))
            })
            .max()
            .unwrap_or(0);
        let processors = self.traces.iter().map(|t| t.trace.header.number_of_processors).max().unwrap_or(1);
        ChartFrame { trace_end_ns, processors, columns: render::chart::plot_columns(self.chart_width) }
    }

    /// `| waits` over a cswitch query's rows.
    fn draw_waits(&self, rows: &DataTable, source: Option<&str>, span: Span) -> Result<DataTable, QueryError> {
        if source.is_some_and(|s| s != "cswitch") {
            let message = "waits draws the wait chains of switch-ins: cswitch where tid = 4250 | waits";
            return Err(QueryError::at(ErrorKind::Type, message, span));
        }
        let models: Vec<(&str, &model::TraceModel)> =
            self.traces.iter().filter_map(|t| Some((t.name.as_str(), t.model.as_deref()?))).collect();
        waits(rows, &models, span)
    }

    /// Names the stacks a view of these rows draws, and only those.
    fn name_stacks_of(&mut self, keys: &RowKeys, progress: &Progress) {
        let mut wanted: Vec<StackSet> = vec![StackSet::default(); self.traces.len()];
        for key in (0..keys.len()).filter_map(|row| keys.key(row)) {
            if let Some(set) = wanted.get_mut(key.trace as usize) {
                set.insert(key.stack);
            }
        }
        for (index, loaded) in self.traces.iter_mut().enumerate() {
            if wanted[index].is_empty() {
                continue;
            }
            progress.start("naming stack frames", Total::Uncounted);
            self.stack_state.name_stacks(index, loaded.model(), &wanted[index]);
        }
    }
}

/// A chart or histogram table as it is, or written to the image `to` names
/// (drawn by render): then a row saying what was written.
fn image_or_table(table: DataTable, to: Option<&str>, span: Span) -> Result<DataTable, QueryError> {
    let Some(file) = to else { return Ok(table) };
    let path = std::path::Path::new(file);
    let bytes = render::chart::write_image(&table, path)
        .map_err(|e| QueryError::at(ErrorKind::Type, format!("{}: {e}", table.name), span))?;
    let mut wrote = DataTable::new(&table.name);
    let _ = wrote.push_column("wrote", "the image file", columnar::Column::strs([file]));
    let _ = wrote.push_column("bytes", "file size", columnar::Column::u64(vec![bytes as u64]));
    Ok(wrote)
}
