//! Host tools, offline: a Rust function exposed to the agent as a tool, called by a scripted
//! mock model through the real codex binary.
//!
//! ```sh
//! cargo run -p codexkit --example tools                 # exec transport (in-process MCP server)
//! cargo run -p codexkit --example tools -- app-server   # app-server transport (dynamic tools)
//! ```
//!
//! Needs the pinned codex: `CODEXKIT_CODEX_PATH`, or `cargo run -p codexkit-cli -- install`.

use codexkit::tools::{Tool, ToolOutput, ToolSet};
use codexkit::{Codex, CodexOptions, ConfigOverride, ConfigValue, ThreadOptions, Transport};
use codexkit_testkit::{HermeticCodex, MockModel, MockResponse, OutputItem, Scenario};
use serde::Deserialize;
use serde_json::json;

/// The arguments of the `add` tool; the tool's JSON Schema is derived from this type.
#[derive(Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app_server = std::env::args().nth(1).as_deref() == Some("app-server");

    // The tools of this process.
    let tools = ToolSet::new().with(
        Tool::new("add")
            .description("Adds two integers")
            .read_only(true)
            .handler(|args: AddArgs| async move {
                println!("[host] add({}, {}) called", args.a, args.b);
                Ok(ToolOutput::json(&json!({ "sum": args.a + args.b })))
            }),
    )?;

    // A scripted model: first it calls the tool, then it answers with the tool's output.
    // On exec the top-level tools are the MCP server `codexkit` (namespace `mcp__codexkit`);
    // on the app-server they are plain function tools.
    let call = if app_server {
        OutputItem::tool("add", json!({"a": 2, "b": 3}))
    } else {
        OutputItem::namespaced_tool("mcp__codexkit", "add", json!({"a": 2, "b": 3}))
    };
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::output([call]))
        .response(MockResponse::message("2 + 3 gives {{last_output}}"));
    let mock = MockModel::start(scenario).await?;
    let hermetic = HermeticCodex::new(&mock)?;
    let mut options = CodexOptions::default();
    for (key, value) in hermetic.env() {
        options = options.with_env(key, value);
    }
    for (key, value) in hermetic.config_overrides() {
        options
            .config
            .push(ConfigOverride::new(&key, ConfigValue::Literal(value))?);
    }
    if app_server {
        options = options.with_transport(Transport::AppServer);
    }

    let codex = Codex::new(options)?;
    let workdir = tempfile::tempdir()?;
    let thread = codex.start_thread(
        ThreadOptions::default()
            .with_model(hermetic.model())
            .with_working_directory(workdir.path())
            .with_skip_git_repo_check(true)
            .with_tools(tools),
    );
    let turn = thread.run("What is 2 + 3? Use the add tool.").await?;
    for event in &turn.events {
        if event.kind().starts_with("tool.call.") {
            println!("[event] {}", serde_json::to_string(event)?);
        }
    }
    println!("{}", turn.final_response);
    Ok(())
}
