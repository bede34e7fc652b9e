//! The `fields` column of the events table as one JSON object a row. One
//! table for every event keeps the dataset stable across traces, providers and
//! event versions (per-event tables would be hundreds per trace), and both
//! DuckDB (`json_extract_string`) and Spark (`get_json_object`) read JSON text.
use columnar::{FieldMap, Value};
use std::fmt::Write as _;

/// Appends `{"Name": value, ...}`: numbers as JSON numbers (u64 exactly, never
/// through f64), booleans as JSON booleans, strings as JSON strings, null as
/// null and anything else as a string of its etwq text. A float that JSON
/// cannot hold (NaN, infinity) is null.
pub fn push_fields_json(out: &mut String, fields: &FieldMap) {
    out.push('{');
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        text::push_json_string(out, name);
        out.push(':');
        push_value(out, value);
    }
    out.push('}');
}

fn push_value(out: &mut String, value: &Value) {
    let _ = match value {
        Value::Null => write!(out, "null"),
        Value::I64(v) | Value::Timestamp(v) | Value::Duration(v) => write!(out, "{v}"),
        Value::U64(v) | Value::Address(v) => write!(out, "{v}"),
        Value::Status(v) => write!(out, "{v}"),
        Value::F64(v) if v.is_finite() => write!(out, "{v}"),
        Value::F64(_) => write!(out, "null"),
        Value::Bool(v) => write!(out, "{v}"),
        Value::Str(s) => {
            text::push_json_string(out, s);
            Ok(())
        }
        other @ Value::Fields(_) => {
            text::push_json_string(out, &other.to_string());
            Ok(())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn json(fields: Vec<(&str, Value)>) -> String {
        let map: FieldMap = fields.into_iter().map(|(n, v)| (Arc::from(n), v)).collect();
        let mut out = String::new();
        push_fields_json(&mut out, &map);
        out
    }

    #[test]
    fn numbers_stay_exact_and_text_is_escaped() {
        let text = json(vec![
            ("Big", Value::U64(u64::MAX)),
            ("Neg", Value::I64(-5)),
            ("Addr", Value::Address(0xfffff800)),
            ("Half", Value::F64(0.5)),
            ("Nan", Value::F64(f64::NAN)),
            ("Ok", Value::Bool(true)),
            ("Name", Value::Str("a\"b\n".into())),
            ("None", Value::Null),
        ]);
        assert_eq!(
            text,
            r#"{"Big":18446744073709551615,"Neg":-5,"Addr":4294965248,"Half":0.5,"Nan":null,"Ok":true,"Name":"a\"b\n","None":null}"#
        );
        assert_eq!(json(vec![]), "{}");
    }
}
