//! `codexkit completions SHELL`: prints a shell completion script.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Examples shown after `codexkit completions --help`.
pub const EXAMPLES: &str = "Examples:
  codexkit completions bash > ~/.local/share/bash-completion/completions/codexkit
  codexkit completions zsh > ~/.zfunc/_codexkit     # with `fpath+=~/.zfunc` in .zshrc
  codexkit completions fish > ~/.config/fish/completions/codexkit.fish";

/// Arguments of `codexkit completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the completion script to stdout.
pub fn completions(args: CompletionsArgs) -> u8 {
    use std::io::Write;
    let mut command = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "codexkit", &mut script);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => crate::exit::COMPLETED,
        // A closed pipe (`| head`) is not an error of ours.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => crate::exit::COMPLETED,
        Err(error) => {
            eprintln!("error: could not write the completion script: {error}");
            crate::exit::TURN_FAILED
        }
    }
}
