//! `codexkit-fake-codex`: a scripted stand-in for the `codex` binary, for fault injection.
//!
//! See `codexkit_testkit::fake_bin` for the script format and how tests find this binary.

fn main() -> std::process::ExitCode {
    codexkit_testkit::fake_bin::run_fake_codex()
}
