//! Live rendering on the app-server transport: the answer is printed as the model writes it.
//!
//! ```sh
//! cargo run -p codexkit --example streaming
//! CODEXKIT_REAL=1 cargo run -p codexkit --example streaming
//! ```

mod common;

use std::io::Write;

use codexkit::{Codex, ThreadEvent, Transport};
use codexkit_testkit::{MockResponse, Scenario};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `streamed()` makes the mock send the answer in several `output_text.delta` frames, the
    // way the real API does.
    let scenario = Scenario::new().retries(0).response(
        MockResponse::message("Streaming works: one token after another, as the model writes.")
            .streamed(),
    );
    let setup = common::Setup::new(scenario, Transport::AppServer).await?;

    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(setup.thread_options());
    let mut stream = thread.run_streamed("Say something, slowly.").await?;
    let mut deltas = 0usize;
    let mut stdout = std::io::stdout();
    while let Some(event) = stream.next().await {
        match event? {
            ThreadEvent::AgentMessageDelta(delta) => {
                deltas += 1;
                write!(stdout, "{}", delta.delta)?;
                stdout.flush()?;
            }
            ThreadEvent::ReasoningDelta(delta) => eprint!("{}", delta.delta),
            ThreadEvent::TurnCompleted(_) => println!(),
            ThreadEvent::TurnFailed(failed) => {
                return Err(format!("turn failed: {failed:?}").into());
            }
            _ => {}
        }
    }
    println!("streaming done: {deltas} deltas received");
    Ok(())
}
