//! Resume a thread by its id, from a second client: the history carries over.
//!
//! ```sh
//! cargo run -p codexkit --example resume
//! CODEXKIT_REAL=1 cargo run -p codexkit --example resume
//! ```

mod common;

use codexkit::{Codex, Transport};
use codexkit_testkit::{MockResponse, Scenario};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::message("Noted: the code word is walnut."))
        .response(MockResponse::message("The code word was walnut."));
    let setup = common::Setup::new(scenario, Transport::Exec).await?;

    let first = Codex::new(setup.options.clone())?;
    let thread = first.start_thread(setup.thread_options());
    let turn = thread.run("Remember the code word: walnut.").await?;
    println!("first turn: {}", turn.final_response.trim());
    let id = thread.id().ok_or("codex did not report a thread id")?;
    println!("thread id: {id}");
    drop(thread);
    drop(first);

    // Later, maybe in another process: a new client resumes the thread by id.
    let second = Codex::new(setup.options.clone())?;
    let resumed = second.resume_thread(id.clone(), setup.thread_options());
    let turn = resumed.run("What was the code word?").await?;
    if let Some(mock) = setup.mock() {
        // The mock saw the first turn's prompt again: the history was sent with the request.
        let last = mock.requests().last().cloned().ok_or("no request")?;
        let remembered = last.user_texts().iter().any(|t| t.contains("walnut"));
        println!("history carried over: {remembered}");
    }
    println!("resumed {id}: {}", turn.final_response.trim());
    Ok(())
}
