//! Attachments: image bytes and a file, staged in the content-addressed attachment store.
//!
//! ```sh
//! cargo run -p codexkit --example attachments
//! CODEXKIT_REAL=1 cargo run -p codexkit --example attachments
//! ```

mod common;

use codexkit::{Codex, Input, Transport};
use codexkit_testkit::{MockResponse, OutputItem, Scenario};

/// A 1×1 red PNG.
const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = tempfile::tempdir()?;
    let report = data.path().join("report.csv");
    std::fs::write(&report, "quarter,revenue\nQ3,42\n")?;

    // Offline, the mock reads the attached file (its absolute path is listed in the prompt)
    // with a command, then quotes it.
    let scenario = Scenario::new()
        .retries(0)
        .response(MockResponse::output([OutputItem::exec_command(format!(
            "cat {}",
            report.display()
        ))]))
        .response(MockResponse::message("The report says:\n{{last_output}}"));
    let setup = common::Setup::new(scenario, Transport::Exec).await?;

    let codex = Codex::new(setup.options.clone())?;
    let thread = codex.start_thread(setup.thread_options());
    let input = Input::text("Summarize the attached report and describe the image.")
        .with_file(&report)
        .with_image_bytes(PIXEL_PNG);
    let turn = thread.run(input).await?;
    if let Some(mock) = setup.mock() {
        let requests = mock.requests();
        let image = requests.iter().any(|r| r.has_input_image());
        println!("model received an image: {image}");
        let listed = requests
            .iter()
            .any(|r| r.user_texts().iter().any(|t| t.contains("Attached files")));
        println!("prompt lists the attached file: {listed}");
    }
    println!("attachments answer: {}", turn.final_response.trim());
    Ok(())
}
