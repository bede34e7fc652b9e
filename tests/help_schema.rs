//! `etwq --help` documents every table and every column the session builds.
use session::Session;
use std::process::Command;

#[test]
fn help_lists_every_table_and_column() {
    let output = Command::new(env!("CARGO_BIN_EXE_etwq")).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let tables_section = help.split("Tables (").nth(1).expect("a Tables section in --help");
    let mut session = Session::demo();
    for (table, _) in session.tables() {
        // The table's entry: from its name at the start of a line to the next table's line.
        let start =
            tables_section.find(&format!("\n  {table} ")).unwrap_or_else(|| panic!("{table} missing from --help"));
        let entry: String = tables_section[start + 1..]
            .lines()
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with("              "))
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join(" ");
        for (column, _, _) in session.schema(&table).unwrap() {
            let listed = entry.split([' ', ',', ':']).any(|word| word == column);
            assert!(listed, "--help does not list {table}.{column}: {entry}");
        }
    }
}

/// The README's table section is the schema, row for row.
#[test]
fn the_readme_lists_every_table_and_column_of_the_schema() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for table in session::table_schemas() {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        let row = format!("| `{}` | {} | {} |", table.name, table.row, columns.join(", "));
        assert!(readme.lines().any(|l| l == row), "README.md lacks the row\n{row}");
    }
}
