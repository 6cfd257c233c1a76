//! A remote app-server: start `codex app-server --listen ws://127.0.0.1:0` with a capability
//! token (`ListeningAppServer`), then reach it over WebSocket with `Transport::Remote`.
//! In production the server runs elsewhere; only its URL and token are needed.
//!
//! ```sh
//! cargo run -p codexkit --example remote_app_server
//! CODEXKIT_REAL=1 cargo run -p codexkit --example remote_app_server
//! ```

mod common;

use codexkit::binary::{DiscoveryOptions, discover};
use codexkit::{Codex, ListeningAppServer, RemoteAppServer, SecretString, Transport};
use codexkit_testkit::{MockResponse, Scenario};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::message("Hello over the WebSocket."));
    // The server gets the mock's provider and CODEX_HOME; the client needs none of it.
    let setup = common::Setup::new(scenario, Transport::AppServer).await?;
    let binary = discover(&DiscoveryOptions::default())?;
    let token = SecretString::new(format!("example-token-{}", std::process::id()));
    let server = ListeningAppServer::spawn(&binary, &setup.options, Some(&token)).await?;
    println!("app-server listening on {}", server.url());

    let remote = Codex::with_binary(
        binary,
        codexkit::CodexOptions::default().with_transport(Transport::Remote(
            RemoteAppServer::new(server.url()).with_token(token),
        )),
    );
    let thread = remote.start_thread(setup.thread_options());
    let turn = thread.run("Say hello.").await?;
    println!("remote answer: {}", turn.final_response.trim());
    Ok(())
}
