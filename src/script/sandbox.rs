//! Where a script may write: relative paths inside one directory, through
//! no symbolic link, never over an existing file unless asked to.
use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// The file at `path` (relative, inside `dir`), newly created; with
/// `overwrite`, a file already there is replaced (the old one unlinked, so
/// a link put there meanwhile is not followed either).
pub fn create_confined(dir: &Path, path: &str, overwrite: bool) -> Result<File, String> {
    let target = confined_path(dir, path)?;
    if overwrite && std::fs::symlink_metadata(&target).is_ok_and(|m| m.is_file()) {
        std::fs::remove_file(&target).map_err(|e| format!("'{path}': {e}"))?;
    }
    // create_new refuses an existing name, a symbolic link included.
    std::fs::OpenOptions::new().write(true).create_new(true).open(&target).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("'{path}' exists; export_over(table, path) replaces it")
        } else {
            format!("'{path}': {e}")
        }
    })
}

/// `dir` joined with `path`, refused when `path` is absolute, climbs with
/// `..`, or passes through a symbolic link that exists now.
pub fn confined_path(dir: &Path, path: &str) -> Result<PathBuf, String> {
    let outside = || format!("'{path}' is outside the script's directory {} (--script-dir DIR)", dir.display());
    let mut target = dir.to_path_buf();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => {
                target.push(name);
                let is_link = std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink());
                if is_link {
                    return Err(format!("'{path}' goes through a symbolic link; scripts do not follow them"));
                }
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    if target == dir {
        return Err(format!("'{path}' names no file"));
    }
    Ok(target)
}

/// Whether a query ends in a view that writes a file: `flame FILE`,
/// `diff flame FILE`, `export FORMAT FILE`, or `chart ... to FILE` and
/// `histogram COLUMN to FILE`. Every `|` is taken as a possible view start (a
/// `|` inside a string too), and any word `to` after `chart` or `histogram` as
/// its file: a false alarm refuses a query, a miss would write anywhere.
pub fn query_writes_file(text: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let first_word = |rest: &str| -> (String, usize) {
        let rest_start = rest.len() - rest.trim_start().len();
        let rest = rest.trim_start();
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        (rest[..end].to_ascii_lowercase(), rest_start + end)
    };
    text.match_indices('|').any(|(at, _)| {
        let (view, end) = first_word(&text[at + 1..]);
        let after = &text[at + 1 + end..];
        let has_to = after.match_indices(['t', 'T']).any(|(i, _)| {
            after[i..].len() >= 2
                && after[i..i + 2].eq_ignore_ascii_case("to")
                && !after[..i].ends_with(is_word)
                && !after[i + 2..].starts_with(is_word)
        });
        match view.as_str() {
            "flame" | "export" => true,
            "diff" => first_word(after).0 == "flame",
            "chart" | "histogram" => has_to,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flame_views_are_found_wherever_a_pipe_is() {
        assert!(query_writes_file("samples | flame x.svg"));
        assert!(query_writes_file("samples|\n FLAME /tmp/x.svg"));
        assert!(!query_writes_file("samples | folded"));
        assert!(!query_writes_file("samples where func ~ \"flame\" | tree"));
        assert!(query_writes_file("samples | diff  Flame x.svg"));
        assert!(query_writes_file("samples | export speedscope x.json"));
        assert!(!query_writes_file("samples | diff tree"));
        assert!(query_writes_file("samples | chart cpu by proc to x.svg"));
        assert!(query_writes_file("samples | CHART cpu every 1s TO\n/tmp/x.png"));
        assert!(query_writes_file("cswitch | histogram ready_ns to 'x.png'"));
        assert!(!query_writes_file("samples | chart cpu by proc top 3"));
        assert!(!query_writes_file("samples | chart total by proc"));
    }
}
