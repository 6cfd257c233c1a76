//! `hang_after` holds and `stream` responses, over real HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use codexkit_testkit::{MockModel, MockResponse, OutputItem, Scenario, usage};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::http::post_responses;
use crate::sse::parse_frames;

const WAIT: Duration = Duration::from_secs(10);
/// How long a held response must stay silent.
const SILENCE: Duration = Duration::from_millis(300);

fn user_body() -> Value {
    json!({"model": "gpt-5.5", "stream": true, "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}
    ]})
}

/// A raw `POST /v1/responses`: the open stream, for reading at the client's pace.
async fn open(addr: SocketAddr) -> TcpStream {
    let body = user_body().to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/responses HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    stream
}

/// Number of complete SSE frames in the raw bytes received so far (chunk framing uses
/// `\r\n`, and JSON escapes line breaks, so `\n\n` only ends frames).
fn frame_count(raw: &[u8]) -> usize {
    raw.windows(2).filter(|w| w == b"\n\n").count()
}

/// Reads until `frames` SSE frames arrived.
async fn read_frames(stream: &mut TcpStream, raw: &mut Vec<u8>, frames: usize) {
    tokio::time::timeout(WAIT, async {
        while frame_count(raw) < frames {
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "stream ended early: {}",
                String::from_utf8_lossy(raw)
            );
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("frames did not arrive");
}

/// Asserts that nothing arrives for [`SILENCE`].
async fn assert_silent(stream: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(SILENCE, stream.read(&mut buf)).await;
    assert!(
        read.is_err(),
        "expected silence, got {:?}",
        read.map(|r| r.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned()))
    );
}

/// Reads to the end (within [`WAIT`]) and returns the SSE text of the whole reply.
async fn finish(mut stream: TcpStream, mut raw: Vec<u8>) -> String {
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("the held stream did not end")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, chunked) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    dechunk(chunked)
}

fn dechunk(mut data: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = data.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            return out;
        }
        out.push_str(&rest[..size]);
        data = &rest[size + 2..];
    }
}

fn types(text: &str) -> Vec<String> {
    parse_frames(text)
        .iter()
        .map(|(_, d)| d["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn hang_after_holds_until_the_mock_is_dropped() {
    let mock = MockModel::start(
        Scenario::new().response(
            MockResponse::output([OutputItem::message("first"), OutputItem::message("second")])
                .hang_after(2),
        ),
    )
    .await
    .unwrap();
    let mut stream = open(mock.addr()).await;
    let mut raw = Vec::new();
    read_frames(&mut stream, &mut raw, 2).await;
    assert_silent(&mut stream).await;
    assert_eq!(mock.model_requests().len(), 1);
    drop(mock);
    let text = finish(stream, raw).await;
    assert_eq!(
        types(&text),
        ["response.created", "response.output_item.done"]
    );
    assert_eq!(
        parse_frames(&text)[1].1["item"]["content"][0]["text"],
        "first"
    );
}

#[tokio::test]
async fn hang_after_ends_on_shutdown_and_holds_streamed_messages() {
    // A message streamed up to its last delta, then nothing: created, item added, part added,
    // three deltas.
    let mock = MockModel::start(
        Scenario::from_json_str(
            r#"{"responses": [{"output": [{"message": "Hello streamed world"}],
                               "stream": true, "hang_after": 6}]}"#,
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut stream = open(mock.addr()).await;
    let mut raw = Vec::new();
    read_frames(&mut stream, &mut raw, 6).await;
    assert_silent(&mut stream).await;
    tokio::time::timeout(WAIT, mock.shutdown())
        .await
        .expect("shutdown blocked by the held stream");
    let text = finish(stream, raw).await;
    assert_eq!(
        types(&text),
        [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
        ]
    );
}

#[tokio::test]
async fn hang_after_zero_and_beyond_the_frames() {
    let mock = MockModel::start(
        Scenario::new()
            .response(MockResponse::message("x").hang_after(0))
            .response(MockResponse::sse([json!({"type": "response.created"})]).hang_after(5)),
    )
    .await
    .unwrap();
    // K = 0: the headers arrive, no frame.
    let mut first = open(mock.addr()).await;
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, async {
        while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut buf = [0u8; 1024];
            let n = first.read(&mut buf).await.unwrap();
            assert!(n > 0);
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("no response headers");
    assert_eq!(frame_count(&raw), 0);
    assert_silent(&mut first).await;

    // K beyond the frames: all frames, then the hold.
    let mut second = open(mock.addr()).await;
    let mut raw2 = Vec::new();
    read_frames(&mut second, &mut raw2, 1).await;
    assert_silent(&mut second).await;

    // A client that goes away does not disturb the mock.
    drop(first);
    let third = post_responses(mock.addr(), &user_body()).await;
    assert_eq!(third.status, 400);

    drop(mock);
    assert!(finish(second, raw2).await.contains("response.created"));
}

#[tokio::test]
async fn streamed_reply_over_http() {
    let mock = MockModel::start(
        Scenario::new().response(
            MockResponse::output([
                OutputItem::reasoning("think"),
                OutputItem::message("a b c"),
                OutputItem::exec_command("ls"),
            ])
            .with_usage(usage(1, 0, 1, 0))
            .streamed(),
        ),
    )
    .await
    .unwrap();
    let response = post_responses(mock.addr(), &user_body()).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        types(&response.text()),
        [
            "response.created",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    mock.ensure_no_failures().unwrap();
}
