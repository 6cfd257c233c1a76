//! Options → the argv, environment and stdin of one `codex exec --json` run.

use crate::config::{ConfigOverride, ConfigValue};
use crate::options::{CodexOptions, ThreadOptions};
use crate::{Error, Result};
use codexkit_protocol::ThreadId;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// What one turn adds to the thread's options.
#[derive(Debug, Default)]
pub(crate) struct TurnArgs<'a> {
    /// Resume this thread instead of starting one.
    pub resume: Option<&'a ThreadId>,
    /// Image files for the prompt.
    pub images: &'a [PathBuf],
    /// A file holding the output schema.
    pub output_schema_file: Option<&'a Path>,
}

/// The arguments after the program name, in an order codex accepts.
///
/// Thread-level flags come before the `resume` subcommand (codex accepts its parent's options
/// there, and `resume` has no `-s`/`-C`/`--add-dir` of its own). Images use the `--image=PATH`
/// form because `-i` takes several values and would swallow a following argument. The prompt is
/// always `-`: it is written to stdin, so its length is not limited by the OS argv limit.
pub(crate) fn exec_args(
    codex: &CodexOptions,
    thread: &ThreadOptions,
    turn: &TurnArgs<'_>,
) -> Result<Vec<OsString>> {
    let mut args: Vec<OsString> = vec!["exec".into(), "--json".into()];
    if let Some(model) = &thread.model {
        non_empty("model", model)?;
        args.push("--model".into());
        args.push(model.into());
    }
    if let Some(sandbox) = thread.sandbox {
        args.push("--sandbox".into());
        args.push(sandbox.as_str().into());
    }
    if let Some(dir) = &thread.working_directory {
        args.push("--cd".into());
        args.push(dir.into());
    }
    for dir in &thread.additional_directories {
        args.push("--add-dir".into());
        args.push(dir.into());
    }
    if thread.skip_git_repo_check {
        args.push("--skip-git-repo-check".into());
    }
    if let Some(profile) = &thread.profile {
        non_empty("profile", profile)?;
        args.push("--profile".into());
        args.push(profile.into());
    }
    if thread.ephemeral {
        args.push("--ephemeral".into());
    }
    if let Some(schema) = turn.output_schema_file {
        args.push("--output-schema".into());
        args.push(schema.into());
    }
    for config in derived_config(thread)?
        .iter()
        .chain(&codex.config)
        .chain(&thread.config)
    {
        args.push("-c".into());
        args.push(config.to_arg().into());
    }
    for image in turn.images {
        let mut arg = OsString::from("--image=");
        arg.push(image);
        args.push(arg);
    }
    if let Some(thread_id) = turn.resume {
        non_empty("thread id", thread_id.as_str())?;
        if thread_id.as_str().starts_with('-') {
            return Err(Error::invalid("thread id", "must not start with '-'"));
        }
        args.push("resume".into());
        args.push(thread_id.as_str().into());
    }
    args.push("-".into());
    Ok(args)
}

/// Typed thread options that codex takes as `-c` overrides.
fn derived_config(thread: &ThreadOptions) -> Result<Vec<ConfigOverride>> {
    let mut out = Vec::new();
    if let Some(effort) = thread.reasoning_effort {
        out.push(ConfigOverride::new(
            "model_reasoning_effort",
            effort.as_str(),
        )?);
    }
    if let Some(allowed) = thread.network_access {
        out.push(ConfigOverride::new(
            "sandbox_workspace_write.network_access",
            ConfigValue::Bool(allowed),
        )?);
    }
    if let Some(mode) = thread.web_search {
        out.push(ConfigOverride::new("web_search", mode.as_str())?);
    }
    Ok(out)
}

fn non_empty(option: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid(option, "must not be empty"))
    } else {
        Ok(())
    }
}

/// Variables that make codex's messages noisier without helping a program that reads them.
const REMOVED_BY_DEFAULT: &[&str] = &["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"];

/// The environment codex runs with.
///
/// Starts from `inherited` (all of it, or only [`crate::options::MINIMAL_ENV`] when not
/// inheriting), drops backtrace switches (they append stack traces to the error strings codex
/// reports) and `env_remove`, applies the overlay, the API key and `CODEX_HOME`. `PATH` and
/// `HOME` are never removed: codex and the commands it runs need them.
pub(crate) fn child_env(
    codex: &CodexOptions,
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<BTreeMap<OsString, OsString>> {
    let inherited: BTreeMap<OsString, OsString> = inherited.into_iter().collect();
    let mut env = if codex.inherit_env {
        inherited.clone()
    } else {
        inherited
            .iter()
            .filter(|(k, _)| {
                crate::options::MINIMAL_ENV
                    .iter()
                    .any(|m| OsStr::new(m) == k.as_os_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    for name in REMOVED_BY_DEFAULT {
        env.remove(OsStr::new(name));
    }
    for name in &codex.env_remove {
        if name == "PATH" || name == "HOME" {
            tracing::warn!(name = %name.to_string_lossy(), "ignoring the request to remove it from codex's environment");
            continue;
        }
        env.remove(name);
    }
    for (key, value) in &codex.env {
        env.insert(key.clone(), value.clone());
    }
    if let Some(key) = &codex.api_key {
        env.insert("CODEX_API_KEY".into(), key.expose().into());
    }
    let inherited_home = env.get(OsStr::new("CODEX_HOME")).cloned();
    if let Some(home) = codex.codex_home.resolve(inherited_home.as_deref())? {
        env.insert("CODEX_HOME".into(), home.into_os_string());
    }
    for keep in ["PATH", "HOME"] {
        if !env.contains_key(OsStr::new(keep))
            && let Some(value) = inherited.get(OsStr::new(keep))
        {
            env.insert(keep.into(), value.clone());
        }
    }
    Ok(env)
}

/// Checks paths the turn refers to, so a typo is a clear error before codex starts.
pub(crate) fn check_paths(thread: &ThreadOptions, images: &[PathBuf]) -> Result<()> {
    if let Some(dir) = &thread.working_directory
        && !dir.is_dir()
    {
        return Err(Error::invalid(
            "working directory",
            format!("{} is not a directory", dir.display()),
        ));
    }
    for dir in &thread.additional_directories {
        if !dir.is_dir() {
            return Err(Error::invalid(
                "additional directory",
                format!("{} is not a directory", dir.display()),
            ));
        }
    }
    for image in images {
        if !image.is_file() {
            return Err(Error::invalid(
                "image",
                format!("{} is not a readable file", image.display()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{ReasoningEffort, SandboxMode, WebSearchMode};
    use pretty_assertions::assert_eq;

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn minimal_invocation_reads_the_prompt_from_stdin() {
        let args = exec_args(
            &CodexOptions::default(),
            &ThreadOptions::default(),
            &TurnArgs::default(),
        );
        assert_eq!(strings(args.unwrap()), ["exec", "--json", "-"]);
    }

    #[test]
    fn every_thread_option_maps_to_its_flag_in_order() {
        let codex = CodexOptions::default()
            .with_config("model_provider", "mock")
            .unwrap();
        let thread = ThreadOptions::default()
            .with_model("gpt-5.5")
            .with_sandbox(SandboxMode::WorkspaceWrite)
            .with_working_directory("/work")
            .with_additional_directory("/data")
            .with_additional_directory("/more")
            .with_skip_git_repo_check(true)
            .with_profile("ci")
            .with_ephemeral(true)
            .with_reasoning_effort(ReasoningEffort::High)
            .with_network_access(true)
            .with_web_search(WebSearchMode::Live)
            .with_config("features.x", true)
            .unwrap();
        let images = [PathBuf::from("/img/a.png"), PathBuf::from("/img/b c.png")];
        let schema = PathBuf::from("/tmp/schema.json");
        let turn = TurnArgs {
            resume: None,
            images: &images,
            output_schema_file: Some(&schema),
        };
        assert_eq!(
            strings(exec_args(&codex, &thread, &turn).unwrap()),
            [
                "exec",
                "--json",
                "--model",
                "gpt-5.5",
                "--sandbox",
                "workspace-write",
                "--cd",
                "/work",
                "--add-dir",
                "/data",
                "--add-dir",
                "/more",
                "--skip-git-repo-check",
                "--profile",
                "ci",
                "--ephemeral",
                "--output-schema",
                "/tmp/schema.json",
                "-c",
                "model_reasoning_effort=\"high\"",
                "-c",
                "sandbox_workspace_write.network_access=true",
                "-c",
                "web_search=\"live\"",
                "-c",
                "model_provider=\"mock\"",
                "-c",
                "features.x=true",
                "--image=/img/a.png",
                "--image=/img/b c.png",
                "-",
            ]
        );
    }

    #[test]
    fn resume_puts_options_before_the_subcommand() {
        let thread = ThreadOptions::default()
            .with_sandbox(SandboxMode::ReadOnly)
            .with_skip_git_repo_check(true);
        let id = ThreadId::new("01a23d0e-429f-7e01-a975-37bbc53159e3");
        let images = [PathBuf::from("/i.png")];
        let turn = TurnArgs {
            resume: Some(&id),
            images: &images,
            output_schema_file: None,
        };
        assert_eq!(
            strings(exec_args(&CodexOptions::default(), &thread, &turn).unwrap()),
            [
                "exec",
                "--json",
                "--sandbox",
                "read-only",
                "--skip-git-repo-check",
                "--image=/i.png",
                "resume",
                "01a23d0e-429f-7e01-a975-37bbc53159e3",
                "-",
            ]
        );
    }

    #[test]
    fn bad_values_are_typed_errors() {
        let thread = ThreadOptions::default().with_model(" ");
        let err = exec_args(&CodexOptions::default(), &thread, &TurnArgs::default()).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { ref option, .. } if option == "model"));
        let id = ThreadId::new("--last");
        let turn = TurnArgs {
            resume: Some(&id),
            ..TurnArgs::default()
        };
        let err =
            exec_args(&CodexOptions::default(), &ThreadOptions::default(), &turn).unwrap_err();
        assert!(matches!(err, Error::InvalidOption { .. }));
    }

    #[test]
    fn env_inherits_overlays_and_never_drops_path() {
        let inherited = vec![
            (OsString::from("PATH"), OsString::from("/bin")),
            (OsString::from("HOME"), OsString::from("/home/u")),
            (OsString::from("RUST_BACKTRACE"), OsString::from("1")),
            (OsString::from("DROP_ME"), OsString::from("x")),
        ];
        let codex = CodexOptions::default()
            .with_env("EXTRA", "1")
            .without_env("DROP_ME")
            .without_env("PATH")
            .with_api_key("sk-secret");
        let env = child_env(&codex, inherited.clone()).unwrap();
        let keys: Vec<_> = env
            .keys()
            .map(|k| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(keys, ["CODEX_API_KEY", "EXTRA", "HOME", "PATH"]);
        assert_eq!(env[OsStr::new("CODEX_API_KEY")], "sk-secret");

        let minimal = CodexOptions::default()
            .with_inherit_env(false)
            .without_env("HOME");
        let env = child_env(&minimal, inherited).unwrap();
        let keys: Vec<_> = env
            .keys()
            .map(|k| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(keys, ["HOME", "PATH"]);
    }

    #[test]
    fn codex_home_is_created_expanded_or_isolated() {
        use crate::options::CodexHome;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        std::fs::create_dir(&base).unwrap();
        std::fs::write(base.join("auth.json"), "{}").unwrap();
        let inherited = vec![(OsString::from("CODEX_HOME"), base.clone().into_os_string())];

        let wanted = dir.path().join("new/home");
        let options = CodexOptions::default().with_codex_home(CodexHome::Dir(wanted.clone()));
        let env = child_env(&options, inherited.clone()).unwrap();
        assert_eq!(env[OsStr::new("CODEX_HOME")], wanted.as_os_str());
        assert!(wanted.is_dir());

        let tilde = CodexHome::Dir("~/x".into()).resolve(None).unwrap().unwrap();
        assert!(!tilde.starts_with("~"));

        let isolated = CodexOptions::default().with_codex_home(CodexHome::isolated());
        let first =
            child_env(&isolated, inherited.clone()).unwrap()[OsStr::new("CODEX_HOME")].clone();
        let again =
            child_env(&isolated.clone(), inherited).unwrap()[OsStr::new("CODEX_HOME")].clone();
        assert_eq!(first, again, "one isolated home per client");
        assert_ne!(first, base.as_os_str());
        assert!(std::path::Path::new(&first).join("auth.json").is_file());

        let blocked = dir.path().join("file");
        std::fs::write(&blocked, "").unwrap();
        let bad = CodexOptions::default().with_codex_home(CodexHome::Dir(blocked.join("sub")));
        assert!(matches!(child_env(&bad, Vec::new()), Err(Error::Io { .. })));
    }

    #[test]
    fn missing_paths_are_reported_before_spawning() {
        let thread = ThreadOptions::default().with_working_directory("/no/such/dir");
        assert!(check_paths(&thread, &[]).is_err());
        let images = [PathBuf::from("/no/such/image.png")];
        let err = check_paths(&ThreadOptions::default(), &images).unwrap_err();
        assert!(err.to_string().contains("/no/such/image.png"), "{err}");
    }
}
