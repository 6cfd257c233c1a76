//! Run one turn and print the answer.
//!
//! ```sh
//! cargo run -p codexkit --example basic                 # offline, scripted mock model
//! CODEXKIT_REAL=1 cargo run -p codexkit --example basic # your codex config and credentials
//! ```
//!
//! Needs the pinned codex: `CODEXKIT_CODEX_PATH`, or `cargo run -p codexkit-cli -- install`.

mod common;

use codexkit::{Codex, Transport};
use codexkit_testkit::{MockResponse, OutputItem, Scenario};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Offline, the mock first asks codex to run a command, then answers with its output.
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::output([OutputItem::exec_command(
            "echo hello from the sandbox",
        )]))
        .response(MockResponse::message(
            "The command printed: {{last_output}}",
        ));
    let setup = common::Setup::new(scenario, Transport::Exec).await?;

    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(setup.thread_options());
    let turn = thread
        .run("Run `echo hello from the sandbox` and tell me what it printed.")
        .await?;
    for item in &turn.items {
        println!("[item] {}", serde_json::to_string(item)?);
    }
    println!("thread: {:?}", turn.thread_id);
    // The answer on one line, so it is easy to spot.
    let answer: Vec<&str> = turn.final_response.lines().map(str::trim).collect();
    println!("final answer: {}", answer.join(" / "));
    Ok(())
}
