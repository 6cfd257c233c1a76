//! A typed answer: `run_typed::<T>` derives a strict JSON Schema from `T`, asks for it, then
//! validates and decodes the final answer.
//!
//! ```sh
//! cargo run -p codexkit --example structured_output
//! CODEXKIT_REAL=1 cargo run -p codexkit --example structured_output
//! ```

mod common;

use codexkit::{Codex, Transport};
use codexkit_testkit::{MockResponse, Scenario};
use serde::Deserialize;

/// The answer's shape.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Summary {
    /// A short title.
    title: String,
    /// Risks found, most important first.
    risks: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scenario = Scenario::new().retries(0).response(MockResponse::message(
        r#"{"title":"Parser rewrite","risks":["no tests for unicode input","slower on big files"]}"#,
    ));
    let setup = common::Setup::new(scenario, Transport::Exec).await?;

    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(setup.thread_options());
    let summary = thread
        .run_typed::<Summary>(
            "Summarize this plan as JSON: we rewrite the parser; it has no unicode tests and may be slower.",
        )
        .await?;
    println!("raw answer: {}", summary.raw);
    for risk in &summary.value.risks {
        println!("- risk: {risk}");
    }
    println!("typed title: {}", summary.value.title);
    Ok(())
}
