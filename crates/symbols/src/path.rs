//! The symbol path: `--symbols`, `.symbols` in the shell, or `_NT_SYMBOL_PATH`.
//!
//! Elements are separated by `;`:
//! - `srv*URL` and `srv*CACHE*URL` (also `symsrv*symsrv.dll*...`): a symbol server, with
//!   the local stores in front of it that downloads land in (the default cache if none);
//!   `srv*DIR` is a local symbol store;
//! - `cache*DIR`: downloads from the elements after it land in DIR, and DIR is searched;
//! - anything else: a plain directory, searched in store layout and flat.
use std::path::PathBuf;

/// Where a symbol server element finally looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// An `http://` or `https://` symbol server.
    Url(String),
    /// A directory (usually a network share) in symbol store layout.
    Dir(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SymbolPathElement {
    /// `srv*[STORE*...]*UPSTREAM`: `downstream` stores are searched first and receive
    /// what is downloaded from `upstream`.
    Server { downstream: Vec<PathBuf>, upstream: Upstream },
    /// `cache*DIR`.
    Cache(PathBuf),
    /// A plain directory.
    Dir(PathBuf),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SymbolPath {
    pub elements: Vec<SymbolPathElement>,
}

impl SymbolPath {
    /// Parses a symbol path. Empty elements are skipped; nothing here fails: a
    /// directory that does not exist just finds nothing.
    pub fn parse(text: &str) -> SymbolPath {
        let mut elements = Vec::new();
        for raw in text.split(';') {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let parts: Vec<&str> = raw.split('*').map(str::trim).collect();
            let head = parts[0].to_ascii_lowercase();
            if parts.len() > 1 && (head == "srv" || head == "symsrv") {
                let mut rest: Vec<&str> = parts[1..].to_vec();
                if head == "symsrv" && !rest.is_empty() {
                    rest.remove(0); // the DLL name: symsrv*symsrv.dll*...
                }
                rest.retain(|p| !p.is_empty());
                let Some(last) = rest.pop() else { continue };
                let downstream = rest.into_iter().map(PathBuf::from).collect();
                let upstream = if is_url(last) { Upstream::Url(last.to_string()) } else { Upstream::Dir(last.into()) };
                elements.push(SymbolPathElement::Server { downstream, upstream });
            } else if parts.len() > 1 && head == "cache" {
                match parts[1..].iter().find(|p| !p.is_empty()) {
                    Some(dir) => elements.push(SymbolPathElement::Cache(PathBuf::from(dir))),
                    None => {
                        if let Some(dir) = default_cache_dir() {
                            elements.push(SymbolPathElement::Cache(dir));
                        }
                    }
                }
            } else {
                elements.push(SymbolPathElement::Dir(PathBuf::from(raw)));
            }
        }
        SymbolPath { elements }
    }

    /// `_NT_SYMBOL_PATH`, when set and not empty.
    pub fn from_env() -> Option<SymbolPath> {
        let text = std::env::var("_NT_SYMBOL_PATH").ok()?;
        if text.trim().is_empty() {
            return None;
        }
        Some(SymbolPath::parse(&text))
    }

    /// The path in force: an explicit one (`--symbols`, `.symbols`), else `_NT_SYMBOL_PATH`,
    /// else empty.
    pub fn choose(explicit: Option<&str>) -> SymbolPath {
        match explicit {
            Some(text) => SymbolPath::parse(text),
            None => SymbolPath::from_env().unwrap_or_default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }
}

fn is_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `off`, `0`, `no`, `false`, `none` (any case): a setting that turns a thing off.
pub fn is_off(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "off" | "0" | "no" | "false" | "none")
}

/// The symbol cache directory: `ETWQ_SYMBOL_CACHE` when set (`off`: none), else
/// `$XDG_CACHE_HOME/etwq/symbols`, else `~/.cache/etwq/symbols`
/// (`~/Library/Caches/etwq/symbols` on macOS, `%LOCALAPPDATA%\etwq\symbols` on Windows).
pub fn default_cache_dir() -> Option<PathBuf> {
    let nonempty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(chosen) = nonempty("ETWQ_SYMBOL_CACHE") {
        return (!chosen.to_str().is_some_and(|v| v.trim().eq_ignore_ascii_case("off"))).then_some(chosen);
    }
    let base = if cfg!(windows) {
        nonempty("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        nonempty("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        nonempty("XDG_CACHE_HOME").or_else(|| nonempty("HOME").map(|h| h.join(".cache")))
    }?;
    Some(base.join("etwq").join("symbols"))
}

/// Written back the way it is typed: `srv*DIR*URL;cache*DIR;DIR`.
impl std::fmt::Display for SymbolPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elements: Vec<String> = self
            .elements
            .iter()
            .map(|element| match element {
                SymbolPathElement::Server { downstream, upstream } => {
                    let mut parts = vec!["srv".to_string()];
                    parts.extend(downstream.iter().map(|d| d.display().to_string()));
                    parts.push(match upstream {
                        Upstream::Url(url) => url.clone(),
                        Upstream::Dir(dir) => dir.display().to_string(),
                    });
                    parts.join("*")
                }
                SymbolPathElement::Cache(dir) => format!("cache*{}", dir.display()),
                SymbolPathElement::Dir(dir) => dir.display().to_string(),
            })
            .collect();
        f.write_str(&elements.join(";"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_element_kind() {
        let p = SymbolPath::parse(
            "srv*C:\\sym*https://msdl.microsoft.com/download/symbols; srv*http://x/s ;cache*/tmp/c;;/plain/dir;srv*\\\\share\\store;symsrv*symsrv.dll*D:\\s*http://y",
        );
        use SymbolPathElement::*;
        assert_eq!(
            p.elements,
            vec![
                Server {
                    downstream: vec![PathBuf::from("C:\\sym")],
                    upstream: Upstream::Url("https://msdl.microsoft.com/download/symbols".into())
                },
                Server { downstream: vec![], upstream: Upstream::Url("http://x/s".into()) },
                Cache(PathBuf::from("/tmp/c")),
                Dir(PathBuf::from("/plain/dir")),
                Server { downstream: vec![], upstream: Upstream::Dir(PathBuf::from("\\\\share\\store")) },
                Server { downstream: vec![PathBuf::from("D:\\s")], upstream: Upstream::Url("http://y".into()) },
            ]
        );
    }

    #[test]
    fn degenerate_paths_do_not_fail() {
        assert!(SymbolPath::parse("").is_empty());
        assert!(SymbolPath::parse(";;; ;").is_empty());
        assert!(SymbolPath::parse("srv*").is_empty());
        assert!(SymbolPath::parse("srv**").is_empty());
        assert_eq!(SymbolPath::parse("*").elements, vec![SymbolPathElement::Dir("*".into())]);
    }
}
