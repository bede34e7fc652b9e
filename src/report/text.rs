//! The report as terminal text: sections one after the other, tables and
//! charts drawn as the shell draws them.
use super::Report;
use render::{Format, Screen};
use std::io::{self, Write};

pub fn write_text(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let screen = Screen { max_lines: None, ..Screen::of_stdout() };
    let warning = if screen.ascii { "!" } else { "⚠" };
    for section in &report.sections {
        writeln!(out, "\n{}", section.title)?;
        writeln!(out, "{}", if screen.ascii { "=" } else { "═" }.repeat(section.title.chars().count()))?;
        for line in &section.warnings {
            writeln!(out, "{warning} {}", render::escaped(line))?;
        }
        for line in &section.lines {
            writeln!(out, "{}", render::escaped(line))?;
        }
        if let Some(because) = &section.empty_because {
            writeln!(out, "Nothing to show: {because}.")?;
        }
        for (caption, table) in &section.tables {
            if !caption.is_empty() {
                writeln!(out, "\n{caption}:")?;
            }
            render::write_on_screen(table, Format::Table, &screen, out)?;
        }
        if section.flame_svg.is_some() {
            let what = section.flame_title.to_lowercase();
            writeln!(out, "(the {what} is in the HTML report: etwq report FILE... --to report.html)")?;
        }
    }
    Ok(())
}
