//! Registry operations, with each key's full name from the key control
//! block (KCB) events: an operation names its key by KCB address, and a
//! relative name or a value name beside it.
use decode::{Event, Value};
use rustc_hash::FxHashMap as HashMap;

#[derive(Clone, Debug, PartialEq)]
pub struct RegistryRow {
    /// When the operation completed (the event is logged then).
    pub ts: i64,
    pub tid: Option<u32>,
    pub pid: Option<u32>,
    /// Open, Create, QueryValue, SetValue, ...
    pub op: &'static str,
    /// The key's full name, with the value's name after it for value operations.
    pub key: Option<String>,
    pub status: Option<u32>,
}

/// A row whose key is named once every KCB event is known.
struct Unnamed {
    row: usize,
    kcb: u64,
    /// The relative key name, or the value name, the event carried.
    tail: String,
}

/// Builds the registry rows from the Registry events in time order; KCB
/// names often arrive later (the KCB rundown at the end of a trace), so
/// names are resolved in `finish`.
#[derive(Default)]
pub struct RegistryBuilder {
    pub rows: Vec<RegistryRow>,
    kcb_names: HashMap<u64, Vec<(i64, String)>>,
    unnamed: Vec<Unnamed>,
}

/// The operations that become rows; the KCB events only name keys.
fn operation(op: &str) -> Option<&'static str> {
    Some(match op {
        "Create" => "Create",
        "Open" => "Open",
        "Delete" => "Delete",
        "Query" => "Query",
        "SetValue" => "SetValue",
        "DeleteValue" => "DeleteValue",
        "QueryValue" => "QueryValue",
        "EnumerateKey" => "EnumerateKey",
        "EnumerateValueKey" => "EnumerateValueKey",
        "QueryMultipleValue" => "QueryMultipleValue",
        "SetInformation" => "SetInformation",
        "Flush" => "Flush",
        "Virtualize" => "Virtualize",
        "Close" => "Close",
        _ => return None,
    })
}

/// `parent\tail`, or whichever of them is there.
fn joined(parent: Option<&str>, tail: &str) -> Option<String> {
    match (parent, tail.is_empty()) {
        (Some(parent), true) => Some(parent.to_string()),
        (Some(parent), false) => Some(format!("{}\\{}", parent.trim_end_matches('\\'), tail.trim_start_matches('\\'))),
        (None, false) => Some(tail.to_string()),
        (None, true) => None,
    }
}

impl RegistryBuilder {
    /// `pid_of` maps a thread to its process at this time.
    pub fn apply(&mut self, event: &Event, op: &str, ts: i64, pid_of: impl Fn(u32) -> Option<u32>) {
        let kcb = event.field("KeyHandle").and_then(Value::as_u64).unwrap_or(0);
        let name = event.field("KeyName").and_then(Value::as_str).unwrap_or_default();
        if matches!(op, "KCBCreate" | "KCBRundownBegin" | "KCBRundownEnd") {
            if kcb != 0 && !name.is_empty() {
                self.kcb_names.entry(kcb).or_default().push((ts, name.to_string()));
            }
            return;
        }
        let Some(op) = operation(op) else { return };
        let tid = event.record.thread_id.filter(|&t| t != u32::MAX);
        // A name from the root ("\REGISTRY\...") stands alone.
        let absolute = name.starts_with('\\');
        let key = if kcb == 0 || absolute { joined(None, name) } else { None };
        if key.is_none() && kcb != 0 {
            self.unnamed.push(Unnamed { row: self.rows.len(), kcb, tail: name.to_string() });
        }
        self.rows.push(RegistryRow {
            ts,
            tid,
            pid: tid.and_then(pid_of),
            op,
            key,
            status: event.field("Status").and_then(Value::as_u64).map(|s| s as u32),
        });
    }

    /// Names every row's key by its KCB's name at its time (the last given at
    /// or before it, else the first after); a KCB never named leaves the tail alone.
    pub fn finish(&mut self) {
        for u in std::mem::take(&mut self.unnamed) {
            let parent = self.kcb_names.get(&u.kcb).and_then(|names| {
                let after = names.partition_point(|(t, _)| *t <= self.rows[u.row].ts);
                names.get(after.saturating_sub(1)).map(|(_, n)| n.as_str())
            });
            self.rows[u.row].key = joined(parent, &u.tail);
        }
        self.kcb_names = HashMap::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_join_the_kcb_and_the_tail() {
        assert_eq!(
            joined(Some("\\REGISTRY\\MACHINE\\SOFTWARE\\"), "\\Foo"),
            Some("\\REGISTRY\\MACHINE\\SOFTWARE\\Foo".into())
        );
        assert_eq!(joined(Some("\\REGISTRY\\MACHINE"), ""), Some("\\REGISTRY\\MACHINE".into()));
        assert_eq!(joined(None, "Foo"), Some("Foo".into()));
        assert_eq!(joined(None, ""), None);
        assert_eq!(operation("KCBCreate"), None);
        assert_eq!(operation("QueryValue"), Some("QueryValue"));
    }
}
