//! Approvals on the app-server: a handler accepts one command and declines the rest, with a
//! deadline after which the fallback (decline) is sent. Every decision is audited in the events.
//!
//! ```sh
//! cargo run -p codexkit --example approvals
//! CODEXKIT_REAL=1 cargo run -p codexkit --example approvals
//! ```

mod common;

use std::time::Duration;

use codexkit::approvals::{ApprovalDecision, Approver, approval_fn};
use codexkit::{ApprovalMode, Codex, SandboxMode, ThreadEvent, Transport};
use codexkit_testkit::{MockResponse, OutputItem, Scenario};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The mock asks to run two commands; the handler allows only the first.
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::output([OutputItem::exec_command(
            "touch allowed.txt",
        )]))
        .response(MockResponse::output([OutputItem::exec_command(
            "touch refused.txt",
        )]))
        .response(MockResponse::message("Done; one command was refused."));
    let setup = common::Setup::new(scenario, Transport::AppServer).await?;

    let approver = Approver::new(approval_fn(|request| async move {
        let command = request.command.clone().unwrap_or_default();
        println!("[approval] {:?} asks: {command}", request.kind);
        Ok(if command.contains("allowed.txt") {
            ApprovalDecision::Accept
        } else {
            ApprovalDecision::Decline
        })
    }))
    // A handler that does not answer in time gets the fallback decision (decline).
    .with_timeout(Duration::from_secs(10));

    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(
        setup
            .thread_options()
            .with_sandbox(SandboxMode::WorkspaceWrite)
            .with_approval_mode(ApprovalMode::Untrusted)
            .with_approver(approver),
    );
    let turn = thread
        .run("Create allowed.txt, then refused.txt, with touch.")
        .await?;
    let mut accepted = 0;
    let mut declined = 0;
    for event in &turn.events {
        if let ThreadEvent::ApprovalResolved(resolved) = event {
            println!(
                "[audit] {} -> {} (by {})",
                resolved.kind,
                resolved.decision.clone().unwrap_or_default(),
                resolved.decided_by.as_deref().unwrap_or("?")
            );
            match resolved.decision.as_ref().and_then(|d| d.as_str()) {
                Some("accept") => accepted += 1,
                _ => declined += 1,
            }
        }
    }
    println!(
        "allowed.txt exists: {}, refused.txt exists: {}",
        setup.workdir.path().join("allowed.txt").exists(),
        setup.workdir.path().join("refused.txt").exists()
    );
    println!("approvals done: {accepted} accepted, {declined} declined");
    Ok(())
}
