//! Human-readable rendering of a turn's events.

use codexkit::protocol::{
    CommandExecutionItem, FileChangeKind, ItemDetails, ThreadEvent, ThreadItem, Usage,
};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// Lines of command output shown per command.
const OUTPUT_EXCERPT_LINES: usize = 12;

/// Prints items as they complete, with a spinner on stderr while waiting.
pub struct HumanRenderer {
    spinner: ProgressBar,
    /// The latest agent message, held back until we know whether it is the final answer.
    pending_message: Option<String>,
    thread_id: Option<String>,
    /// The agent message being streamed by deltas, if any.
    streaming: Option<String>,
    output_closed: bool,
    /// The latest `turn.diff.updated` (cumulative for the turn), shown at the end.
    diff: Option<String>,
}

impl HumanRenderer {
    pub fn new() -> Self {
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_message("codex is working…");
        spinner.enable_steady_tick(Duration::from_millis(120));
        Self {
            spinner,
            pending_message: None,
            thread_id: None,
            streaming: None,
            output_closed: false,
            diff: None,
        }
    }

    fn out(&mut self, text: &str) {
        self.write_out(&format!("{text}\n"));
    }

    /// Writes to stdout without panicking when it is closed; remembers that it is.
    fn write_out(&mut self, text: &str) {
        use std::io::Write;
        if self.output_closed {
            return;
        }
        let written = self.spinner.suspend(|| {
            let mut stdout = std::io::stdout();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
        });
        if written.is_err() {
            self.output_closed = true;
        }
    }

    fn err(&self, text: &str) {
        self.spinner.suspend(|| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{text}");
        });
    }

    /// Whether stdout was closed by the reader (the turn should stop).
    pub fn output_closed(&self) -> bool {
        self.output_closed
    }

    fn flush_message(&mut self) {
        if let Some(message) = self.pending_message.take() {
            self.out(&format!("• {message}\n"));
        }
    }

    pub fn event(&mut self, event: &ThreadEvent) {
        match event {
            ThreadEvent::ThreadStarted(started) => {
                self.thread_id = Some(started.thread_id.to_string());
            }
            ThreadEvent::ItemStarted(started) => {
                if let ItemDetails::CommandExecution(cmd) = &started.item.details {
                    self.spinner
                        .set_message(format!("running {}", short(&cmd.command, 60)));
                }
            }
            ThreadEvent::ItemCompleted(done) => self.item(&done.item),
            ThreadEvent::AgentMessageDelta(delta) => {
                self.flush_message();
                let first = self.streaming.as_deref() != Some(delta.item_id.as_str());
                self.streaming = Some(delta.item_id.to_string());
                let text = if first {
                    format!("• {}", delta.delta)
                } else {
                    delta.delta.clone()
                };
                self.write_out(&text);
            }
            ThreadEvent::ApprovalRequested(request) => {
                let what = request
                    .params
                    .get("command")
                    .and_then(|c| c.as_str())
                    .map(|c| format!("`{c}`"))
                    .unwrap_or_else(|| request.kind.replace('_', " "));
                self.spinner
                    .set_message(format!("waiting for approval of {what}"));
            }
            ThreadEvent::ApprovalResolved(resolved) => {
                let decision = resolved
                    .decision
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_default();
                let by = resolved.decided_by.as_deref().unwrap_or("?");
                self.err(&format!(
                    "approval ({}): {} by {by}{}",
                    resolved.kind.replace('_', " "),
                    decision.trim_matches('"'),
                    resolved
                        .message
                        .as_deref()
                        .map(|m| format!(" — {m}"))
                        .unwrap_or_default()
                ));
                self.spinner.set_message("codex is working…");
            }
            ThreadEvent::TurnDiffUpdated(diff) => {
                self.diff = Some(diff.diff.clone()).filter(|d| !d.trim().is_empty());
            }
            ThreadEvent::Lagged(lagged) => {
                tracing::debug!(
                    skipped = lagged.skipped,
                    "display fell behind; skipped updates"
                );
            }
            ThreadEvent::Error(error) => self.err(&format!("codex: {}", error.message)),
            ThreadEvent::Warning(warning) => self.err(&format!("warning: {}", warning.message)),
            _ => {}
        }
    }

    fn item(&mut self, item: &ThreadItem) {
        if !matches!(item.details, ItemDetails::AgentMessage(_)) {
            self.flush_message();
        }
        match &item.details {
            ItemDetails::AgentMessage(message) => {
                self.flush_message();
                if self.streaming.as_deref() == Some(item.id.as_str()) {
                    // Already on screen, delta by delta.
                    self.streaming = None;
                    self.out("");
                } else {
                    self.pending_message = Some(message.text.clone());
                }
            }
            ItemDetails::Reasoning(reasoning) => {
                self.out(&format!("thinking: {}\n", reasoning.text.trim()));
            }
            ItemDetails::CommandExecution(cmd) => self.out(&command_block(cmd)),
            ItemDetails::FileChange(change) => {
                let mut text = String::new();
                for file in &change.changes {
                    let mark = match file.kind {
                        FileChangeKind::Add => "added",
                        FileChangeKind::Delete => "deleted",
                        FileChangeKind::Update => "updated",
                        _ => "changed",
                    };
                    text.push_str(&format!("{mark} {}\n", file.path));
                }
                self.out(&text);
            }
            ItemDetails::McpToolCall(call) => {
                self.out(&format!(
                    "tool {}.{} ({:?})\n",
                    call.server, call.tool, call.status
                ));
            }
            ItemDetails::WebSearch(search) => self.out(&format!("web search: {}\n", search.query)),
            ItemDetails::TodoList(todo) => {
                let mut text = String::from("plan:\n");
                for entry in &todo.items {
                    let mark = if entry.completed { "x" } else { " " };
                    text.push_str(&format!("  [{mark}] {}\n", entry.text));
                }
                self.out(&text);
            }
            ItemDetails::Error(error) => self.err(&format!("warning: {}", error.message)),
            _ => self.out(&format!("({} item)\n", item.kind())),
        }
    }

    /// Ends the rendering: final answer and usage after a completed turn.
    pub fn finish(mut self, usage: Option<&Usage>) {
        self.spinner.finish_and_clear();
        if let Some(diff) = self.diff.take() {
            let colored = color_enabled(std::io::IsTerminal::is_terminal(&std::io::stdout()));
            self.out(&format!("Changes:\n{}", render_diff(&diff, colored)));
        }
        if let Some(answer) = self.pending_message.take() {
            self.out(&format!("Final answer:\n{answer}"));
        }
        if let Some(usage) = usage {
            self.out(&format!(
                "\ntokens: {} input ({} cached), {} output ({} reasoning)",
                usage.input_tokens,
                usage.cached_input_tokens,
                usage.output_tokens,
                usage.reasoning_output_tokens
            ));
        }
        if let Some(id) = self.thread_id.clone() {
            self.out(&format!("thread: {id}"));
        }
    }

    /// Ends the rendering after a failure; whatever the agent said so far is still shown.
    pub fn abort(mut self) {
        self.flush_message();
        self.spinner.finish_and_clear();
    }
}

/// Whether to color output going to a terminal: never when `NO_COLOR` is set (to anything
/// non-empty), see <https://no-color.org>.
pub fn color_enabled(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A unified diff for the terminal: added lines green, removed red, hunk headers cyan.
fn render_diff(diff: &str, colored: bool) -> String {
    let mut out = String::new();
    for line in diff.lines() {
        let color = if !colored || line.starts_with("+++") || line.starts_with("---") {
            None
        } else if line.starts_with('+') {
            Some("32")
        } else if line.starts_with('-') {
            Some("31")
        } else if line.starts_with("@@") {
            Some("36")
        } else {
            None
        };
        match color {
            Some(code) => out.push_str(&format!("\x1b[{code}m{line}\x1b[0m\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn command_block(cmd: &CommandExecutionItem) -> String {
    let status = match cmd.exit_code {
        Some(code) => format!("exit {code}"),
        None => format!("{:?}", cmd.status).to_lowercase(),
    };
    let mut text = format!("$ {}  ({status})\n", cmd.command);
    let lines: Vec<&str> = cmd.aggregated_output.lines().collect();
    for line in lines.iter().take(OUTPUT_EXCERPT_LINES) {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    if lines.len() > OUTPUT_EXCERPT_LINES {
        text.push_str(&format!(
            "  … {} more lines\n",
            lines.len() - OUTPUT_EXCERPT_LINES
        ));
    }
    text
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::render_diff;

    #[test]
    fn diffs_are_colored_only_when_asked() {
        let diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n";
        assert_eq!(render_diff(diff, false), diff);
        let colored = render_diff(diff, true);
        assert!(colored.contains("\x1b[32m+new\x1b[0m"), "{colored}");
        assert!(colored.contains("\x1b[31m-old\x1b[0m"), "{colored}");
        assert!(colored.starts_with("--- a/x\n+++ b/x\n"), "{colored}");
    }
}
