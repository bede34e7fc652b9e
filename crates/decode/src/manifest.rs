//! Instrumentation manifests: the XML that EventSource writes into the trace
//! as ManifestData events (split over chunks), and `--manifest` files.
//! Providers, tasks, opcodes, value and bit maps, templates and events become
//! `EventSchema`s keyed by event id and version.
use super::schema::{f, Field, FieldType, Len, MapRef, Name, ValueMap};
use super::{xml_depth, EventSchema};
use etl::bytes::u16_at;
use etl::Guid;
use std::collections::HashMap;
use std::sync::Arc;

/// EventSource writes its manifest as event 0xFFFE with opcode 0xFE.
pub const MANIFEST_EVENT_ID: u16 = 0xFFFE;
pub const MANIFEST_OPCODE: u8 = 0xFE;

/// The envelope of each ManifestData chunk, before the XML text.
pub const MANIFEST_DATA_LAYOUT: &[Field] = &[
    f("Format", FieldType::U8),
    f("MajorVersion", FieldType::U8),
    f("MinorVersion", FieldType::U8),
    f("Magic", FieldType::U8),
    f("TotalChunks", FieldType::U16),
    f("ChunkNumber", FieldType::U16),
];
const ENVELOPE_LEN: usize = 8;

pub struct Provider {
    pub guid: Guid,
    pub name: String,
    /// By (event id, version).
    pub events: HashMap<(u16, u8), Arc<EventSchema>>,
}

#[derive(Default)]
pub struct Registry {
    providers: HashMap<Guid, Provider>,
}

impl Registry {
    pub fn add(&mut self, provider: Provider) {
        self.providers.insert(provider.guid, provider);
    }

    /// The event's schema at its version, or at the nearest version the manifest has.
    pub fn lookup(&self, provider: &Guid, id: u16, version: u8) -> Option<Arc<EventSchema>> {
        let p = self.providers.get(provider)?;
        if let Some(s) = p.events.get(&(id, version)) {
            return Some(s.clone());
        }
        p.events.iter().filter(|((i, _), _)| *i == id).max_by_key(|((_, v), _)| *v).map(|(_, s)| s.clone())
    }

    pub fn provider_name(&self, provider: &Guid) -> Option<&str> {
        self.providers.get(provider).map(|p| p.name.as_str())
    }
}

/// Collects ManifestData chunks per provider until a manifest is whole.
#[derive(Default)]
pub struct ChunkAssembler {
    pending: HashMap<Guid, Vec<Option<Vec<u8>>>>,
}

impl ChunkAssembler {
    /// Adds one chunk; returns the manifest text when its last chunk arrives.
    pub fn add(&mut self, provider: Guid, payload: &[u8]) -> Option<String> {
        let total = usize::from(u16_at(payload, 4)?);
        let number = usize::from(u16_at(payload, 6)?);
        let body = payload.get(ENVELOPE_LEN..)?;
        if total == 0 || number >= total {
            return None;
        }
        let chunks = self.pending.entry(provider).or_default();
        if chunks.len() != total {
            *chunks = vec![None; total];
        }
        chunks[number] = Some(body.to_vec());
        if chunks.iter().any(Option::is_none) {
            return None;
        }
        let bytes: Vec<u8> = self.pending.remove(&provider)?.into_iter().flatten().flatten().collect();
        let text = String::from_utf8_lossy(&bytes);
        Some(text.trim_end_matches('\0').to_string())
    }
}

fn parse_number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The name a standard `win:` opcode shows under.
fn standard_opcode(name: &str) -> Option<(u8, &'static str)> {
    Some(match name {
        "win:Info" => (0, ""),
        "win:Start" => (1, "Start"),
        "win:Stop" => (2, "Stop"),
        "win:DC_Start" => (3, "DCStart"),
        "win:DC_Stop" => (4, "DCStop"),
        "win:Extension" => (5, "Extension"),
        "win:Reply" => (6, "Reply"),
        "win:Resume" => (7, "Resume"),
        "win:Suspend" => (8, "Suspend"),
        "win:Send" => (9, "Send"),
        "win:Receive" => (240, "Receive"),
        _ => return None,
    })
}

fn in_type(in_type: &str, out_type: &str) -> Option<FieldType> {
    use FieldType::*;
    let name = in_type.trim_start_matches("win:");
    let out = out_type.trim_start_matches("win:").trim_start_matches("xs:");
    Some(match (name, out) {
        ("UnicodeString", _) => Utf16,
        ("AnsiString", _) => Ansi,
        ("Int8", _) => I8,
        ("UInt8", "boolean") => Bool8,
        ("UInt8", _) => U8,
        ("Int16", _) => I16,
        ("UInt16", "Port") => PortBe,
        ("UInt16", _) => U16,
        ("Int32", "HResult" | "NTSTATUS" | "Win32Error") => Hex32,
        ("Int32", _) => I32,
        ("UInt32", "HexInt32" | "HResult" | "NTSTATUS" | "Win32Error") => Hex32,
        ("UInt32", "IPv4") => Ipv4,
        ("UInt32", _) => U32,
        ("Int64", _) => I64,
        ("UInt64", "HexInt64") => Hex64,
        ("UInt64", _) => U64,
        ("Float", _) => F32,
        ("Double", _) => F64,
        ("Boolean", _) => Bool32,
        ("Binary", "IPv6") => Ipv6,
        ("Binary", "SocketAddress") => SocketAddress,
        ("Binary", _) => Binary,
        ("GUID", _) => Guid,
        ("Pointer", _) => Pointer,
        ("FILETIME", _) => FileTime,
        ("SYSTEMTIME", _) => SystemTime,
        ("SID", _) => Sid,
        ("HexInt32", _) => Hex32,
        ("HexInt64", _) => Hex64,
        ("CountedUnicodeString", _) => Utf16Counted,
        ("CountedAnsiString", _) => AnsiCounted,
        ("CountedBinary", _) => BinaryCounted,
        _ => return None,
    })
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

fn children<'a, 'i>(node: Node<'a, 'i>, tag: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == tag)
}

fn child<'a, 'i>(node: Node<'a, 'i>, tag: &'static str) -> Option<Node<'a, 'i>> {
    children(node, tag).next()
}

/// Resolves `$(string.id)` through the manifest's string table.
fn message(strings: &HashMap<String, String>, text: &str) -> String {
    text.strip_prefix("$(string.")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|id| strings.get(id).cloned())
        .unwrap_or_else(|| text.to_string())
}

/// The name tools show for a task or opcode: its message string when the
/// manifest has one (as TDH does, e.g. "GC" for task GarbageCollection), else its name.
fn display_name(strings: &HashMap<String, String>, node: Node<'_, '_>, name: &str) -> String {
    match node.attribute("message") {
        Some(m) if m.starts_with("$(string.") => {
            let shown = message(strings, m);
            if shown == m || shown.trim().is_empty() {
                name.to_string()
            } else {
                shown.trim().to_string()
            }
        }
        _ => name.to_string(),
    }
}

/// Fields of a template (or struct): a length or count naming another field
/// refers to that field's index in the same list.
fn template_fields(
    node: Node<'_, '_>,
    maps: &HashMap<String, Arc<ValueMap>>,
    depth: usize,
) -> Result<Vec<Field>, String> {
    if depth > 8 {
        return Err("structs nest too deep".into());
    }
    let mut fields: Vec<Field> = Vec::new();
    for item in node.children().filter(|n| n.is_element()) {
        let name = item.attribute("name").unwrap_or("").to_string();
        let mut field = match item.tag_name().name() {
            "data" => {
                let in_name = item.attribute("inType").unwrap_or("");
                let out_name = item.attribute("outType").unwrap_or("");
                let ty = in_type(in_name, out_name)
                    .ok_or_else(|| format!("field {name:?} has unknown inType {in_name:?}"))?;
                let mut field = Field::owned(name, ty);
                if let Some(map) = item.attribute("map") {
                    field.map = maps.get(map).cloned().map(MapRef::Dynamic);
                }
                field
            }
            "struct" => Field::owned(name, FieldType::Struct(template_fields(item, maps, depth + 1)?)),
            _ => continue,
        };
        let refer = |attr: &str| -> Result<Len, String> {
            match parse_number(attr) {
                Some(n) => Ok(Len::Fixed(u32::try_from(n).map_err(|_| format!("length {n} too large"))?)),
                None => fields
                    .iter()
                    .position(|f| f.name == attr)
                    .map(Len::Field)
                    .ok_or_else(|| format!("length or count names unknown field {attr:?}")),
            }
        };
        if let Some(length) = item.attribute("length") {
            field.len = refer(length)?;
        }
        if let Some(count) = item.attribute("count") {
            let count = refer(count)?;
            // count="1" is a single value in practice.
            if count != Len::Fixed(1) {
                field.count = count;
            }
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Fields of a list, counting struct members.
fn field_count(fields: &[Field]) -> usize {
    fields
        .iter()
        .map(|f| match &f.ty {
            FieldType::Struct(members) => 1 + field_count(members),
            _ => 1,
        })
        .sum()
}

/// Parses every provider of an instrumentation manifest.
pub fn parse_manifest(xml: &str) -> Result<Vec<Provider>, String> {
    // roxmltree recurses per element level; refuse deep text before it can overflow the stack.
    xml_depth::check_nesting(xml, xml_depth::MAX_XML_DEPTH).map_err(|e| format!("manifest XML refused: {e}"))?;
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("manifest XML does not parse: {e}"))?;
    let root = doc.root_element();
    let mut strings = HashMap::new();
    for table in root.descendants().filter(|n| n.has_tag_name("stringTable")) {
        // The first culture wins: en-US comes first in what EventSource writes.
        for s in children(table, "string") {
            if let (Some(id), Some(value)) = (s.attribute("id"), s.attribute("value")) {
                strings.entry(id.to_string()).or_insert_with(|| value.to_string());
            }
        }
    }
    let mut providers = Vec::new();
    let mut copied_fields = 0usize;
    for p in root.descendants().filter(|n| n.has_tag_name("provider")) {
        let name = p.attribute("name").unwrap_or("").to_string();
        let guid =
            p.attribute("guid").and_then(Guid::parse).ok_or_else(|| format!("provider {name:?} has no valid guid"))?;
        // Task name -> (value, shown name, its own opcodes: name -> shown name).
        let mut tasks: HashMap<String, (u16, String, HashMap<String, String>)> = HashMap::new();
        let mut task_names_by_value: HashMap<u16, String> = HashMap::new();
        let mut opcode_names: HashMap<String, (u8, String)> = HashMap::new();
        let mut maps: HashMap<String, Arc<ValueMap>> = HashMap::new();
        let mut templates: HashMap<String, Result<Vec<Field>, String>> = HashMap::new();
        if let Some(node) = child(p, "opcodes") {
            for o in children(node, "opcode") {
                if let (Some(n), Some(v)) = (o.attribute("name"), o.attribute("value").and_then(parse_number)) {
                    opcode_names.insert(n.to_string(), (v as u8, display_name(&strings, o, n)));
                }
            }
        }
        if let Some(node) = child(p, "tasks") {
            for t in children(node, "task") {
                let (Some(n), Some(v)) = (t.attribute("name"), t.attribute("value").and_then(parse_number)) else {
                    continue;
                };
                let mut local = HashMap::new();
                if let Some(ops) = child(t, "opcodes") {
                    for o in children(ops, "opcode") {
                        if let Some(on) = o.attribute("name") {
                            local.insert(on.to_string(), display_name(&strings, o, on));
                        }
                    }
                }
                let shown = display_name(&strings, t, n);
                task_names_by_value.insert(v as u16, shown.clone());
                tasks.insert(n.to_string(), (v as u16, shown, local));
            }
        }
        if let Some(node) = child(p, "maps") {
            for m in node.children().filter(|n| n.is_element()) {
                let bitmap = m.tag_name().name() == "bitMap";
                let Some(map_name) = m.attribute("name") else {
                    continue;
                };
                let entries = children(m, "map")
                    .filter_map(|e| {
                        let v = parse_number(e.attribute("value")?)?;
                        Some((v, message(&strings, e.attribute("message").unwrap_or(""))))
                    })
                    .collect();
                maps.insert(map_name.to_string(), Arc::new(ValueMap { bitmap, entries }));
            }
        }
        if let Some(node) = child(p, "templates") {
            for t in children(node, "template") {
                if let Some(tid) = t.attribute("tid") {
                    templates.insert(tid.to_string(), template_fields(t, &maps, 0));
                }
            }
        }
        let mut events = HashMap::new();
        if let Some(node) = child(p, "events") {
            for e in children(node, "event") {
                let Some(id) = e.attribute("value").and_then(parse_number) else {
                    continue;
                };
                let version = e.attribute("version").and_then(parse_number).unwrap_or(0) as u8;
                let task = e.attribute("task").and_then(|t| tasks.get(t));
                let opcode_attr = e.attribute("opcode").unwrap_or("");
                let opcode_name = standard_opcode(opcode_attr)
                    .map(|(_, n)| n.to_string())
                    .or_else(|| task.and_then(|(_, _, local)| local.get(opcode_attr)).cloned())
                    .or_else(|| opcode_names.get(opcode_attr).map(|(_, n)| n.clone()))
                    .unwrap_or_default();
                let task_name = task.map(|(_, n, _)| n.clone()).or_else(|| {
                    e.attribute("task")
                        .and_then(parse_number)
                        .and_then(|v| task_names_by_value.get(&(v as u16)).cloned())
                });
                let event_name = match (task_name, opcode_name.is_empty()) {
                    (Some(t), true) => t,
                    (Some(t), false) => format!("{t}/{opcode_name}"),
                    (None, _) => e.attribute("symbol").map(str::to_string).unwrap_or_else(|| format!("EventID({id})")),
                };
                let fields = match e.attribute("template") {
                    Some(tid) => match templates.get(tid) {
                        Some(Ok(fields)) => {
                            // Events share templates: copies of one huge template
                            // must not outgrow the text that described it.
                            copied_fields += field_count(fields);
                            if copied_fields > xml.len() {
                                return Err(format!(
                                    "events copy more template fields than the {}-byte manifest could describe",
                                    xml.len()
                                ));
                            }
                            fields.clone()
                        }
                        Some(Err(why)) => return Err(format!("template {tid:?}: {why}")),
                        None => return Err(format!("event {id} names unknown template {tid:?}")),
                    },
                    None => Vec::new(),
                };
                let schema = EventSchema { provider: Name::from(name.clone()), name: Name::from(event_name), fields };
                events.insert((id as u16, version), Arc::new(schema));
            }
        }
        providers.push(Provider { guid, name, events });
    }
    if providers.is_empty() {
        return Err("the manifest names no provider".into());
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::decode_payload;
    use crate::Value;

    const MANIFEST: &str = r#"<instrumentationManifest xmlns="http://schemas.microsoft.com/win/2004/08/events">
 <instrumentation><events>
  <provider name="Demo" guid="{11111111-2222-3333-4444-555555555555}" symbol="Demo">
   <tasks><task name="Work" value="1" message="$(string.t1)"/></tasks>
   <maps><valueMap name="Kind"><map value="0" message="$(string.k0)"/><map value="1" message="$(string.k1)"/></valueMap></maps>
   <templates><template tid="T">
     <data name="Kind" inType="win:UInt32" map="Kind"/>
     <data name="N" inType="win:UInt16"/>
     <data name="Items" inType="win:UInt8" count="N"/>
     <data name="Text" inType="win:UnicodeString"/>
   </template></templates>
   <events><event value="7" version="1" task="Work" opcode="win:Start" template="T"/></events>
  </provider>
 </events></instrumentation>
 <localization><resources culture="en-US"><stringTable>
  <string id="t1" value="W"/><string id="k0" value="Small"/><string id="k1" value="Large"/>
 </stringTable></resources></localization>
</instrumentationManifest>"#;

    #[test]
    fn manifests_give_names_maps_and_counted_arrays() {
        let providers = parse_manifest(MANIFEST).unwrap();
        let mut registry = Registry::default();
        let guid = providers[0].guid;
        registry.add(providers.into_iter().next().unwrap());
        let schema = registry.lookup(&guid, 7, 1).unwrap();
        // The task shows under its message text, as TDH shows it.
        assert_eq!(schema.name, "W/Start");
        let payload = [1, 0, 0, 0, 2, 0, 9, 8, b'h', 0, 0, 0];
        let v = decode_payload(&schema.fields, &payload, 8);
        assert_eq!(v[0].1, Value::Enum { value: 1, name: "Large".into() });
        assert_eq!(v[2].1, Value::Array(vec![Value::U8(9), Value::U8(8)]));
        assert_eq!(v[3].1, Value::Str("h".into()));
    }

    #[test]
    fn bad_manifests_are_errors() {
        assert!(parse_manifest("<x").is_err());
        assert!(parse_manifest("<instrumentationManifest/>").is_err());
        let bad_ref = MANIFEST.replace("count=\"N\"", "count=\"Nope\"");
        assert!(parse_manifest(&bad_ref).is_err());
    }

    /// MANIFEST with template T replaced by `template` (the text inside <template>).
    fn with_template(template: &str) -> Vec<Provider> {
        let start = MANIFEST.find("<template tid=\"T\">").unwrap() + "<template tid=\"T\">".len();
        let end = MANIFEST.find("</template>").unwrap();
        parse_manifest(&format!("{}{template}{}", &MANIFEST[..start], &MANIFEST[end..])).unwrap()
    }

    #[test]
    fn signed_in_types_read_signed() {
        let providers = with_template(
            r#"<data name="I8" inType="win:Int8"/><data name="I16" inType="win:Int16"/>
               <data name="I32" inType="win:Int32"/><data name="I64" inType="win:Int64"/>"#,
        );
        let schema = &providers[0].events[&(7, 1)];
        let mut payload = vec![0xFF];
        payload.extend_from_slice(&(-2i16).to_le_bytes());
        payload.extend_from_slice(&(-3i32).to_le_bytes());
        payload.extend_from_slice(&(-204i64).to_le_bytes());
        let v = decode_payload(&schema.fields, &payload, 8);
        let values: Vec<_> = v.into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, [Value::I8(-1), Value::I16(-2), Value::I32(-3), Value::I64(-204)]);
    }

    #[test]
    fn deep_xml_is_refused_before_the_parser_recurses() {
        let deep = MANIFEST.replace("<events>", &format!("<events>{}{}", "<a>".repeat(20_000), "</a>".repeat(20_000)));
        let err = parse_manifest(&deep).err().unwrap();
        assert!(err.contains("nests deeper than"), "{err}");
    }

    #[test]
    fn events_cannot_copy_a_template_beyond_the_text_size() {
        let kind = r#"<data name="Kind" inType="win:UInt32" map="Kind"/>"#;
        let big = MANIFEST.replace(kind, &format!("{kind}{}", r#"<data name="A" inType="win:UInt8"/>"#.repeat(2_000)));
        // One copy of a 2,000-field template is fine; 200 more are not.
        let few = parse_manifest(&big).unwrap();
        assert_eq!(few[0].events[&(7, 1)].fields.len(), 2_004);
        let many: String = (100..300).map(|i| format!(r#"<event value="{i}" template="T"/>"#)).collect();
        let last = r#"template="T"/></events>"#;
        let err = parse_manifest(&big.replace(last, &format!(r#"template="T"/>{many}</events>"#))).err().unwrap();
        assert!(err.contains("more template fields than"), "{err}");
    }

    #[test]
    fn chunks_assemble_in_any_order() {
        let mut a = ChunkAssembler::default();
        let g = Guid::ZERO;
        let chunk = |n: u8, text: &[u8]| {
            let mut v = vec![1, 1, 0, 0x5b, 2, 0, n, 0];
            v.extend_from_slice(text);
            v
        };
        assert_eq!(a.add(g, &chunk(1, b"world")), None);
        assert_eq!(a.add(g, &chunk(0, b"hello ")), Some("hello world".to_string()));
        assert_eq!(a.add(g, &[1, 2]), None);
    }
}
