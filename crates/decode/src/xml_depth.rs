//! A cheap look at how deep XML nests, before a recursive parser sees it:
//! roxmltree recurses once per element level, so 20,000 levels would overflow
//! the stack. The scan never recurses and allocates nothing.

/// Deeper than any instrumentation manifest needs (they nest about ten
/// levels, structs in templates a few more), shallow enough for any stack.
pub const MAX_XML_DEPTH: usize = 128;

/// Err when elements nest deeper than `limit`. Markup the scan does not
/// understand is left for the parser to reject; comments, CDATA, processing
/// instructions, declarations and quoted attribute values are skipped so
/// that a `<` inside them does not count.
pub fn check_nesting(text: &str, limit: usize) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut pos = 0usize;
    while let Some(offset) = bytes[pos..].iter().position(|b| *b == b'<') {
        let at = pos + offset;
        let rest = &bytes[at..];
        pos = if rest.starts_with(b"<!--") {
            after(bytes, at + 4, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            after(bytes, at + 9, b"]]>")
        } else if rest.starts_with(b"<?") {
            after(bytes, at + 2, b"?>")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            after(bytes, at + 2, b">")
        } else if rest.starts_with(b"<!") {
            // DOCTYPE and other declarations open no element.
            after(bytes, at + 2, b">")
        } else {
            let end = tag_end(bytes, at + 1);
            // `<x/>` opens and closes at once.
            if bytes.get(end.wrapping_sub(2)) != Some(&b'/') {
                depth += 1;
                if depth > limit {
                    return Err(format!("the XML nests deeper than {limit} elements"));
                }
            }
            end
        };
    }
    Ok(())
}

/// The position right after the next `end` at or after `from`, or the end of the text.
fn after(bytes: &[u8], from: usize, end: &[u8]) -> usize {
    match bytes.get(from..).and_then(|rest| rest.windows(end.len()).position(|w| w == end)) {
        Some(i) => from + i + end.len(),
        None => bytes.len(),
    }
}

/// The position right after the `>` that closes a start tag, skipping quoted values.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote = None;
    for (i, b) in bytes.iter().enumerate().skip(from) {
        match (quote, *b) {
            (None, b'"' | b'\'') => quote = Some(*b),
            (Some(q), b) if b == q => quote = None,
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_open_elements_only() {
        let ok = "<?xml version='1.0'?><!-- <a><a><a> --><r><a x='<b>'/><b><![CDATA[<c><c>]]></b><c/></r>";
        assert!(check_nesting(ok, 2).is_ok());
        assert!(check_nesting("<r><a><b/></a></r>", 1).is_err());
        assert!(check_nesting("<r><a></a><a></a></r>", 2).is_ok());
    }

    #[test]
    fn deep_text_is_refused_without_recursing() {
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let err = check_nesting(&deep, MAX_XML_DEPTH).unwrap_err();
        assert!(err.contains("nests deeper than 128"), "{err}");
        // Unclosed markup ends the scan; the parser reports it.
        assert!(check_nesting("<a b='", 4).is_ok());
        assert!(check_nesting("<!-- <a><a>", 1).is_ok());
    }
}
