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
/// `diff flame FILE` or `export FORMAT FILE`. Every `|` is taken as a possible
/// view start (a `|` inside a string too): a false alarm refuses a query, a
/// miss would write anywhere.
pub fn query_writes_file(text: &str) -> bool {
    let first_word = |rest: &str| -> (String, usize) {
        let rest_start = rest.len() - rest.trim_start().len();
        let rest = rest.trim_start();
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        (rest[..end].to_ascii_lowercase(), rest_start + end)
    };
    text.match_indices('|').any(|(at, _)| {
        let (word, end) = first_word(&text[at + 1..]);
        match word.as_str() {
            "flame" | "export" => true,
            "diff" => first_word(&text[at + 1 + end..]).0 == "flame",
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
    }
}
