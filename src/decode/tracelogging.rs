//! TraceLogging: events that carry their own schema.
use super::Event;
use crate::etl::Record;

pub fn decode<'a>(_record: &Record<'a>) -> Option<Event<'a>> {
    None
}
