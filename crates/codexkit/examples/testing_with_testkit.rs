//! Testing your own agent with the testkit: a tiny "agent" function, and checks that run it
//! against the mock model and assert on both its result and what codex sent to the model.
//!
//! ```sh
//! cargo run -p codexkit --example testing_with_testkit
//! ```
//!
//! In your crate, the checks would be `#[tokio::test]` functions; here `main` runs them.
//! With `CODEXKIT_REAL=1` the agent runs once against your real model instead.

mod common;

use codexkit::{Codex, Thread, Transport};
use codexkit_testkit::{MockResponse, OutputItem, Scenario};

/// The agent under test: asks codex to count the Rust files and returns the number it reports.
async fn count_rust_files(thread: &Thread) -> Result<u64, Box<dyn std::error::Error>> {
    let turn = thread
        .run("Count the *.rs files in this directory with `ls *.rs | wc -l`. Answer with the number only.")
        .await?;
    let number = turn
        .final_response
        .split_whitespace()
        .find_map(|word| word.parse::<u64>().ok())
        .ok_or_else(|| format!("no number in {:?}", turn.final_response))?;
    Ok(number)
}

/// Check 1: the agent parses the number out of the model's answer, which quotes a real command.
async fn agent_reports_the_count() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::output([OutputItem::exec_command(
            "ls *.rs | wc -l",
        )]))
        .response(MockResponse::message("{{last_output}}"));
    let setup = common::Setup::new(scenario, Transport::Exec).await?;
    for name in ["a.rs", "b.rs", "notes.txt"] {
        std::fs::write(setup.workdir.path().join(name), "")?;
    }
    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(setup.thread_options());
    let count = count_rust_files(&thread).await?;
    if setup.real {
        println!("real model counted {count} files");
        return Ok(());
    }
    assert_eq!(count, 2, "two .rs files");
    // Every request is recorded: the second one carries the command's output back.
    let mock = setup.mock().ok_or("offline")?;
    assert_eq!(mock.requests().len(), 2);
    println!("ok: agent_reports_the_count");
    Ok(())
}

/// Check 2: a model answer without a number is an error of the agent, not a panic.
async fn agent_rejects_an_answer_without_a_number() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::message("I could not count them."));
    let setup = common::Setup::new(scenario, Transport::Exec).await?;
    if setup.real {
        return Ok(());
    }
    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(setup.thread_options());
    let error = count_rust_files(&thread)
        .await
        .err()
        .ok_or("expected an error")?;
    assert!(error.to_string().contains("no number"), "{error}");
    println!("ok: agent_rejects_an_answer_without_a_number");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    agent_reports_the_count().await?;
    agent_rejects_an_answer_without_a_number().await?;
    println!("testkit checks passed: 2");
    Ok(())
}
