//! The one query pipeline of a session: parse once with the grammar, run the
//! relational part through the query engine, then draw the view, if any.
// Query errors are made once per failed query, far from any hot loop (as in query/).
#![allow(clippy::result_large_err)]
use crate::session::Session;
use crate::stack_filter::rewrite_query;
use crate::views::{draw, TraceFrames};
use columnar::DataTable;
use progress::Progress;
use query::error::QueryError;

impl Session {
    /// The one query pipeline: parse once, run the relational part through the query
    /// engine (in the `stacks` table `module =` and `func =` mean "has a frame in"),
    /// then draw the view that ends the query, if any.
    pub(crate) fn run_pipeline(&mut self, text: &str, progress: &Progress) -> Result<DataTable, QueryError> {
        // Every query passes here before frames are named (which may download symbols).
        self.share_cancel_flag();
        let mut query = query::grammar::parse_query(text)?;
        let view = query.view.take();
        rewrite_query(&mut query);
        self.ensure_tables_for(text, progress);
        self.cancel.store(false, std::sync::atomic::Ordering::SeqCst);
        let rows = query::run_parsed(query, text, &self.catalog, &self.cancel)?;
        let Some(view) = view else { return Ok(rows) };
        let traces: Vec<TraceFrames> = (self.traces.iter().enumerate())
            .map(|(index, t)| TraceFrames { name: &t.name, named: self.stack_state.named(index) })
            .collect();
        draw(view.kind, &rows, &traces)
    }
}
