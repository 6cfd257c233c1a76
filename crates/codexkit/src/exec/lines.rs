//! A line reader for codex's stdout that survives partial writes and huge lines.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// Why no further line can be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// A line grew past the limit; the stream can't go on.
    TooLong { limit: usize },
    /// Reading failed.
    Io(std::io::Error),
}

/// Splits a byte stream at `\n` without ever holding more than `limit` bytes of one line.
///
/// Lines are split on bytes, so a UTF-8 character cut across two reads is whole again in the
/// returned line. A trailing `\r` is removed. A final line without `\n` is returned at EOF.
pub(crate) struct LineReader<R> {
    reader: R,
    limit: usize,
    pending: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    pub(crate) fn new(reader: R, limit: usize) -> Self {
        Self {
            reader,
            limit,
            pending: Vec::new(),
        }
    }

    /// The next line, `None` at the end of the stream.
    pub(crate) async fn next_line(&mut self) -> Result<Option<Vec<u8>>, LineError> {
        loop {
            let available = self.reader.fill_buf().await.map_err(LineError::Io)?;
            if available.is_empty() {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.take_line()));
            }
            let newline = available.iter().position(|b| *b == b'\n');
            let take = newline.unwrap_or(available.len());
            if self.pending.len().saturating_add(take) > self.limit {
                self.pending = Vec::new();
                return Err(LineError::TooLong { limit: self.limit });
            }
            self.pending.extend_from_slice(&available[..take]);
            match newline {
                Some(index) => {
                    self.reader.consume(index + 1);
                    return Ok(Some(self.take_line()));
                }
                None => self.reader.consume(take),
            }
        }
    }

    fn take_line(&mut self) -> Vec<u8> {
        let mut line = std::mem::take(&mut self.pending);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, BufReader, ReadBuf};

    /// Hands out its data a few bytes at a time, like a pipe under load.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let end = (self.at + self.step)
                .min(self.data.len())
                .min(self.at + buf.remaining());
            let chunk = self.data[self.at..end].to_vec();
            buf.put_slice(&chunk);
            self.at = end;
            Poll::Ready(Ok(()))
        }
    }

    async fn collect(data: &[u8], step: usize, limit: usize) -> Result<Vec<String>, LineError> {
        let trickle = Trickle {
            data: data.to_vec(),
            at: 0,
            step,
        };
        let mut reader = LineReader::new(BufReader::with_capacity(3, trickle), limit);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await? {
            out.push(String::from_utf8(line).expect("utf-8 line"));
        }
        Ok(out)
    }

    #[tokio::test]
    async fn partial_writes_and_split_utf8_are_joined() {
        let text = "{\"text\":\"héllo wörld ✓\"}\r\n{\"b\":2}\nlast";
        for step in [1, 2, 3, 7] {
            let lines = collect(text.as_bytes(), step, 1024).await.unwrap();
            assert_eq!(
                lines,
                ["{\"text\":\"héllo wörld ✓\"}", "{\"b\":2}", "last"],
                "step {step}"
            );
        }
    }

    #[tokio::test]
    async fn empty_lines_are_kept_and_empty_input_ends_at_once() {
        assert_eq!(collect(b"a\n\nb\n", 1, 10).await.unwrap(), ["a", "", "b"]);
        assert!(collect(b"", 1, 10).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_an_error() {
        let err = collect(b"short\n0123456789ABC\n", 4, 10).await.unwrap_err();
        assert!(matches!(err, LineError::TooLong { limit: 10 }));
        // Exactly at the limit is fine.
        assert_eq!(
            collect(b"0123456789\n", 4, 10).await.unwrap(),
            ["0123456789"]
        );
    }

    #[tokio::test]
    async fn memory_stays_bounded_on_an_endless_line() {
        let data = vec![b'x'; 1 << 20];
        let mut reader = LineReader::new(BufReader::new(Cursor::new(data)), 4096);
        let err = reader.next_line().await.unwrap_err();
        assert!(matches!(err, LineError::TooLong { limit: 4096 }));
        assert!(reader.pending.capacity() <= 4096 * 2);
    }
}

#[cfg(test)]
mod props {
    //! Arbitrary bytes, read in arbitrary chunk sizes, never make the line reader panic, and
    //! it gives exactly the lines (or the `TooLong` error) a simple model predicts.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    /// What the reader must return: each `\n`-separated segment (a final empty one is no
    /// line) with one trailing `\r` removed, or `TooLong` at the first segment over `limit`.
    fn model(input: &[u8], limit: usize) -> (Vec<Vec<u8>>, bool) {
        let mut segments: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
        if segments.last().is_some_and(|s| s.is_empty()) {
            segments.pop();
        }
        let mut lines = Vec::new();
        for segment in segments {
            if segment.len() > limit {
                return (lines, true);
            }
            let mut line = segment.to_vec();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            lines.push(line);
        }
        (lines, false)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn lines_match_the_model(
            input in prop::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'{'), any::<u8>()],
                0..300,
            ),
            chunk in 1usize..32,
            limit in 1usize..64,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (expected, too_long) = model(&input, limit);
            let (lines, failed) = runtime.block_on(async {
                let reader = tokio::io::BufReader::with_capacity(chunk, &input[..]);
                let mut reader = LineReader::new(reader, limit);
                let mut lines = Vec::new();
                loop {
                    match reader.next_line().await {
                        Ok(Some(line)) => lines.push(line),
                        Ok(None) => return (lines, false),
                        Err(LineError::TooLong { limit: reported }) => {
                            assert_eq!(reported, limit);
                            return (lines, true);
                        }
                        Err(LineError::Io(error)) => panic!("{error}"),
                    }
                }
            });
            prop_assert_eq!(failed, too_long);
            prop_assert_eq!(lines, expected);
        }
    }
}
