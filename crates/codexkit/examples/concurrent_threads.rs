//! Several threads at once on one client. Offline, the mock answers each thread on its own
//! (`per_thread`), keyed by codex's session id.
//!
//! ```sh
//! cargo run -p codexkit --example concurrent_threads
//! CODEXKIT_REAL=1 cargo run -p codexkit --example concurrent_threads
//! ```

mod common;

use codexkit::{Codex, Transport};
use codexkit_testkit::{MockResponse, Scenario};

const THREADS: usize = 4;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::new()
        .retries(0)
        .per_thread(true)
        .response(MockResponse::message("This thread is done."));
    // One app-server process serves every thread of the client.
    let setup = common::Setup::new(scenario, Transport::AppServer).await?;
    let codex = Codex::new(setup.options.clone())?;

    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..THREADS {
        let thread = codex.start_thread(setup.thread_options());
        tasks.spawn(async move {
            let turn = thread.run(format!("Task {n}: say you are done.")).await?;
            Ok::<_, codexkit::Error>((n, turn))
        });
    }
    let mut completed = 0;
    while let Some(joined) = tasks.join_next().await {
        let (n, turn) = joined??;
        println!(
            "[thread {n}] {:?}: {}",
            turn.thread_id,
            turn.final_response.trim()
        );
        completed += 1;
    }
    println!("concurrent threads done: {completed}/{THREADS}");
    Ok(())
}
