//! The app-server over WebSocket: one JSON-RPC message per text frame.

use super::connection::{ClosedInfo, Connection, Inbound};
use crate::binary::CodexBinary;
use crate::exec::process::{self, GroupGuard, Launch};
use crate::options::{CodexOptions, RemoteAppServer, SecretString};
use crate::{Error, Result};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Deadline for the WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Deadline for a spawned app-server to say where it listens.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Ends the socket's pump tasks when the connection is dropped.
struct WsGuard {
    writer: tokio::task::AbortHandle,
    reader: tokio::task::AbortHandle,
}

impl Drop for WsGuard {
    fn drop(&mut self) {
        self.writer.abort();
        self.reader.abort();
    }
}

/// Connects to a remote app-server and performs the handshake.
pub(crate) async fn connect(
    remote: &RemoteAppServer,
    options: &CodexOptions,
) -> Result<Connection> {
    let url = remote.url.trim();
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(Error::invalid(
            "remote app-server url",
            format!("{url:?}; expected ws://host:port"),
        ));
    }
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::invalid("remote app-server url", e.to_string()))?;
    if let Some(token) = &remote.token {
        let value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
            Error::invalid(
                "remote app-server token",
                "contains characters not allowed in a header",
            )
        })?;
        request.headers_mut().insert("authorization", value);
    }
    // No Origin header: the app-server refuses upgrades that carry one.
    let connect = tokio_tungstenite::connect_async(request);
    let (socket, _response) = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(connected)) => connected,
        Ok(Err(error)) => {
            return Err(Error::ConnectionClosed {
                code: None,
                signal: None,
                stderr_tail: format!("could not connect to {url}: {error}"),
            });
        }
        Err(_) => {
            return Err(Error::DeadlineExceeded {
                deadline: "connect",
                after: CONNECT_TIMEOUT,
            });
        }
    };
    let (mut sink, mut source) = socket.split();
    let (inbound_tx, inbound_rx) = mpsc::channel(1024);
    let (outgoing_tx, mut outgoing_rx) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing_rx.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let max_line_bytes = options.max_line_bytes;
    let reader = tokio::spawn(async move {
        let detail = loop {
            match source.next().await {
                Some(Ok(Message::Text(text))) => {
                    if text.len() > max_line_bytes {
                        break format!(
                            "the app-server sent a message longer than {max_line_bytes} bytes"
                        );
                    }
                    if inbound_tx
                        .send(Inbound::Message(text.to_string()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break format!(
                        "the app-server closed the WebSocket{}",
                        frame.map(|f| format!(": {}", f.reason)).unwrap_or_default()
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => break format!("WebSocket error: {error}"),
                None => break "the WebSocket closed".to_owned(),
            }
        };
        let _ = inbound_tx
            .send(Inbound::Closed(ClosedInfo {
                code: None,
                signal: None,
                detail,
            }))
            .await;
    });
    let guard = WsGuard {
        writer: writer.abort_handle(),
        reader: reader.abort_handle(),
    };
    let connection = Connection::start(
        inbound_rx,
        outgoing_tx,
        Box::new(guard),
        options.request_timeout,
    );
    super::initialize(
        &connection,
        options.experimental_api,
        options.startup_timeout,
    )
    .await?;
    Ok(connection)
}

/// A `codex app-server --listen ws://127.0.0.1:0` started by codexkit; killed when dropped.
pub struct ListeningAppServer {
    url: String,
    _group: GroupGuard,
    _child: tokio::process::Child,
    _token_file: Option<tempfile::NamedTempFile>,
}

impl std::fmt::Debug for ListeningAppServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListeningAppServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl ListeningAppServer {
    /// Starts an app-server listening on a free loopback port, with the client options'
    /// environment and `-c` overrides. With a token, the server requires
    /// `Authorization: Bearer <token>` (`--ws-auth capability-token`).
    pub async fn spawn(
        binary: &CodexBinary,
        options: &CodexOptions,
        token: Option<&SecretString>,
    ) -> Result<Self> {
        let mut args: Vec<std::ffi::OsString> = vec![
            "app-server".into(),
            "--listen".into(),
            "ws://127.0.0.1:0".into(),
        ];
        let token_file = match token {
            Some(token) => {
                let mut file = tempfile::NamedTempFile::new()
                    .map_err(|e| Error::io("creating", std::env::temp_dir(), e))?;
                std::io::Write::write_all(&mut file, token.expose().as_bytes())
                    .map_err(|e| Error::io("writing", file.path().to_path_buf(), e))?;
                args.push("--ws-auth".into());
                args.push("capability-token".into());
                args.push("--ws-token-file".into());
                args.push(file.path().into());
                Some(file)
            }
            None => None,
        };
        for config in &options.config {
            args.push("-c".into());
            args.push(config.to_arg().into());
        }
        let env = crate::exec::argv::child_env(options, std::env::vars_os())?;
        let launch = Launch {
            program: &binary.path,
            args: &args,
            env: &env,
            current_dir: None,
            stdin: false,
        };
        let (mut child, group) = process::spawn(&launch).await?;
        let Some(stderr) = child.stderr.take() else {
            return Err(Error::Protocol {
                message: "the app-server's stderr was not captured".into(),
                excerpt: String::new(),
            });
        };
        let mut lines = BufReader::new(stderr).lines();
        let find = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("listening on:").nth(1) {
                    return Some(rest.trim().to_owned());
                }
            }
            None
        };
        let url = match tokio::time::timeout(LISTEN_TIMEOUT, find).await {
            Ok(Some(url)) => url,
            Ok(None) => {
                return Err(Error::ProcessExited {
                    code: child.try_wait().ok().flatten().and_then(|s| s.code()),
                    signal: None,
                    stderr_tail: "the app-server exited before it said where it listens".into(),
                });
            }
            Err(_) => {
                return Err(Error::DeadlineExceeded {
                    deadline: "startup",
                    after: LISTEN_TIMEOUT,
                });
            }
        };
        // Keep draining stderr so the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            url,
            _group: group,
            _child: child,
            _token_file: token_file,
        })
    }

    /// The `ws://127.0.0.1:PORT` address.
    pub fn url(&self) -> &str {
        &self.url
    }
}
