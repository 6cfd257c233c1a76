//! MIME type detection: magic numbers first (the `infer` crate), then the file name's
//! extension, then "is it UTF-8 text".

/// How much of the content is looked at.
pub(crate) const SNIFF_BYTES: usize = 8 * 1024;

/// What the content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detected {
    /// The MIME type.
    pub mime: String,
    /// The extension implied by the content itself (never by a name): part of the blob's file
    /// name, so the same bytes always get the same name.
    pub content_extension: Option<&'static str>,
}

impl Detected {
    /// Whether the content is an image codex can attach (recognised by its magic number).
    pub(crate) fn is_image(&self) -> bool {
        self.content_extension.is_some() && self.mime.starts_with("image/")
    }
}

/// Detects the type of content starting with `head` (its first [`SNIFF_BYTES`] or fewer),
/// with `name` (a file name) as the fallback.
pub(crate) fn detect(head: &[u8], name: Option<&str>) -> Detected {
    if let Some(kind) = infer::get(head) {
        return Detected {
            mime: kind.mime_type().to_owned(),
            content_extension: Some(kind.extension()),
        };
    }
    let by_name = name
        .and_then(|n| n.rsplit_once('.'))
        .and_then(|(_, ext)| by_extension(&ext.to_ascii_lowercase()));
    let mime = match by_name {
        Some(mime) => mime,
        None if looks_like_text(head) => "text/plain",
        None => "application/octet-stream",
    };
    Detected {
        mime: mime.to_owned(),
        content_extension: None,
    }
}

/// UTF-8 without NUL bytes (a character cut at the end of the sniffed part is fine).
fn looks_like_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none() && head.len() - error.valid_up_to() < 4,
    }
}

/// Types of text formats that carry no magic number.
fn by_extension(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "txt" | "log" | "text" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "xml" => "application/xml",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" | "cjs" => "text/javascript",
        "ts" | "tsx" => "text/x-typescript",
        "svg" => "image/svg+xml",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "ini" | "cfg" | "conf" => "text/plain",
        "sh" | "bash" => "application/x-sh",
        "py" => "text/x-python",
        "rs" => "text/x-rust",
        "go" => "text/x-go",
        "java" => "text/x-java",
        "c" | "h" => "text/x-c",
        "cc" | "cpp" | "hpp" | "cxx" => "text/x-c++",
        "rb" => "text/x-ruby",
        "sql" => "application/sql",
        "diff" | "patch" => "text/x-diff",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn content_wins_over_the_name() {
        let png = detect(PNG, Some("notes.txt"));
        assert_eq!(png.mime, "image/png");
        assert_eq!(png.content_extension, Some("png"));
        assert!(png.is_image());
    }

    #[test]
    fn the_name_is_the_fallback_then_text() {
        let csv = detect(b"a,b\n1,2\n", Some("data.CSV"));
        assert_eq!(csv.mime, "text/csv");
        assert_eq!(csv.content_extension, None);
        assert!(!csv.is_image());
        assert_eq!(detect(b"hello", None).mime, "text/plain");
        assert_eq!(detect(b"\0\x01\x02", None).mime, "application/octet-stream");
        // "é" cut in half at the end of the sniffed part is still text.
        assert_eq!(detect(b"caf\xc3", None).mime, "text/plain");
        // An SVG is an image type but not one codex attaches.
        assert!(!detect(b"<svg/>", Some("a.svg")).is_image());
    }
}
