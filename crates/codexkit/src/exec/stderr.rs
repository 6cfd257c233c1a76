//! Draining codex's stderr into a bounded tail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The last bytes codex wrote to stderr, shared with the task that drains it.
#[derive(Debug, Clone)]
pub(crate) struct StderrTail {
    capacity: usize,
    bytes: Arc<Mutex<VecDeque<u8>>>,
}

impl StderrTail {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            bytes: Arc::new(Mutex::new(VecDeque::with_capacity(capacity.min(64 * 1024)))),
        }
    }

    /// Reads `stderr` to its end, keeping only the last `capacity` bytes, so the child never
    /// blocks on a full pipe and memory does not grow with its output.
    pub(crate) async fn drain(self, mut stderr: impl AsyncRead + Unpin) {
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            match stderr.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => self.push(&chunk[..n]),
                Err(error) => {
                    tracing::debug!(%error, "reading codex stderr failed");
                    break;
                }
            }
        }
    }

    fn push(&self, data: &[u8]) {
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        let data = &data[data.len().saturating_sub(self.capacity)..];
        let overflow = (bytes.len() + data.len()).saturating_sub(self.capacity);
        let drop_count = overflow.min(bytes.len());
        bytes.drain(..drop_count);
        bytes.extend(data);
    }

    /// The tail as text, starting at a line boundary when one is near.
    pub(crate) fn text(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = bytes.as_slices();
        let mut all = Vec::with_capacity(a.len() + b.len());
        all.extend_from_slice(a);
        all.extend_from_slice(b);
        drop(bytes);
        let text = String::from_utf8_lossy(&all).into_owned();
        let text = strip_ansi(&text);
        text.trim().to_owned()
    }
}

/// Removes ANSI colour sequences (codex colours its log lines).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_only_the_last_bytes() {
        let tail = StderrTail::new(10);
        let input: Vec<u8> = b"0123456789abcdefghij-end".to_vec();
        tail.clone().drain(std::io::Cursor::new(input)).await;
        assert_eq!(tail.text(), "efghij-end");
    }

    #[tokio::test]
    async fn strips_colour_codes() {
        let tail = StderrTail::new(100);
        tail.clone()
            .drain(std::io::Cursor::new(
                b"\x1b[31mERROR\x1b[0m boom\n".to_vec(),
            ))
            .await;
        assert_eq!(tail.text(), "ERROR boom");
    }
}
