//! `--on-approval ask`: approval prompts on the terminal.

use codexkit::approvals::{ApprovalDecision, ApprovalError, ApprovalHandler, approval_fn};
use std::io::{BufRead, Write};
use std::sync::Arc;

/// Asks on stderr and reads the answer from stdin, one request at a time. Without an answer
/// (stdin closed or nothing typed) the approval deadline applies.
pub fn terminal_approver() -> Arc<dyn ApprovalHandler> {
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    approval_fn(move |request| {
        let one_at_a_time = Arc::clone(&one_at_a_time);
        async move {
            let _turn = one_at_a_time.lock().await;
            let what = match (&request.command, &request.reason) {
                (Some(command), _) => format!("run `{command}`"),
                (None, Some(reason)) => reason.clone(),
                (None, None) => request.kind.as_str().replace('_', " "),
            };
            let answer = tokio::task::spawn_blocking(move || {
                let mut stderr = std::io::stderr();
                let _ = write!(
                    stderr,
                    "\nApprove: {what}? [y]es / [a]lways / [n]o / [c]ancel turn: "
                );
                let _ = stderr.flush();
                let mut line = String::new();
                match std::io::stdin().lock().read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line.trim().to_lowercase()),
                }
            })
            .await
            .map_err(|e| ApprovalError::new(format!("the prompt failed: {e}")))?;
            match answer.as_deref() {
                Some("y" | "yes") => Ok(ApprovalDecision::Accept),
                Some("a" | "always") => Ok(ApprovalDecision::AcceptForSession),
                Some("c" | "cancel") => Ok(ApprovalDecision::Cancel),
                Some(_) => Ok(ApprovalDecision::Decline),
                // No terminal input: leave it to the deadline.
                None => std::future::pending().await,
            }
        }
    })
}
