//! Text from a trace made safe to show. A process name, a file path or an
//! event field comes from the traced machine and may hold control
//! characters; every output of etwq writes them as visible escapes. The
//! decoder (JSON of decoded values) and the renderer (every result format)
//! both use this one definition.
mod escape;
mod json;

pub use escape::{escape_from, escaped, push_escaped};
pub use json::push_json_string;
