//! The report as one self-contained HTML file: charts as inline SVG (drawn
//! by render), the flame graph as an SVG image in a data URL, a little CSS,
//! no script and nothing fetched from the network: it opens from disk.
use super::{Report, Section};
use base64::Engine;
use session::{DataTable, Value};
use std::fmt::Write;

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;padding:0 16px;max-width:1000px;color:#222}\
h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}\
h3{font-size:15px;margin-bottom:4px}.warning{background:#fff3cd;border-left:4px solid #e0a800;padding:6px 10px;margin:6px 0}\
.empty{color:#777;font-style:italic}table{border-collapse:collapse;font-size:13px;margin:4px 0 12px}\
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}td.n{text-align:right}th{background:#f3f3f3}\
svg,img{max-width:100%;height:auto}";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push_str(&render::escaped(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

fn cell(value: &Value) -> String {
    match value {
        Value::I64(v) => render::group_digits(&v.to_string()),
        Value::U64(v) => render::group_digits(&v.to_string()),
        Value::F64(v) => format!("{v:.2}"),
        other => other.to_string(),
    }
}

fn write_table(html: &mut String, table: &DataTable) {
    if let Ok(svg) = render::chart::svg(table) {
        // An SVG document inline: its XML prolog is not HTML.
        let body = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
        let _ = write!(html, "<div class=\"chart\">{body}</div>");
        return;
    }
    html.push_str("<table><tr>");
    for name in table.column_names() {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("</tr>");
    for row in 0..table.row_count() {
        html.push_str("<tr>");
        for value in table.row(row) {
            let number = matches!(value, Value::I64(_) | Value::U64(_) | Value::F64(_) | Value::Duration(_));
            let class = if number { " class=\"n\"" } else { "" };
            let _ = write!(html, "<td{class}>{}</td>", escape(&cell(&value)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
}

fn write_section(html: &mut String, section: &Section) {
    let _ = write!(html, "<section id=\"{}\"><h2>{}</h2>", section.id, escape(section.title));
    for warning in &section.warnings {
        let _ = write!(html, "<p class=\"warning\">{}</p>", escape(warning));
    }
    for line in &section.lines {
        let _ = write!(html, "<p>{}</p>", escape(line));
    }
    if let Some(because) = &section.empty_because {
        let _ = write!(html, "<p class=\"empty\">Nothing to show: {}.</p>", escape(because));
    }
    for (caption, table) in &section.tables {
        if !caption.is_empty() {
            let _ = write!(html, "<h3>{}</h3>", escape(caption));
        }
        write_table(html, table);
    }
    if let Some(svg) = &section.flame_svg {
        // inferno's SVG carries its own script; as an image it is drawn without it.
        let data = base64::engine::general_purpose::STANDARD.encode(svg);
        let title = escape(section.flame_title);
        let _ = write!(html, "<h3>{title}</h3><img alt=\"flame graph\" src=\"data:image/svg+xml;base64,{data}\">");
    }
    html.push_str("</section>\n");
}

pub fn write_html(report: &Report) -> String {
    let name = if report.traces.is_empty() { "trace".to_string() } else { report.traces.join(" vs ") };
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>etwq report: {}</title>\
         <style>{STYLE}</style></head><body><h1>etwq report: {}</h1>\n",
        escape(&name),
        escape(&name)
    );
    for section in &report.sections {
        write_section(&mut html, section);
    }
    html.push_str("</body></html>\n");
    html
}
