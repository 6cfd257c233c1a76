//! Keeping secrets out of messages.

/// Shorter values are not treated as secrets: replacing them would mangle ordinary text.
const MIN_SECRET_LEN: usize = 6;

/// Whether an environment variable's name says it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "_KEY",
        "_TOKEN",
        "_SECRET",
        "_PASSWORD",
        "_PASS",
        "_CREDENTIALS",
    ]
    .iter()
    .any(|suffix| upper.ends_with(suffix))
        || [
            "AUTHORIZATION",
            "PASSWORD",
            "SECRET",
            "API_KEY",
            "APIKEY",
            "TOKEN",
        ]
        .iter()
        .any(|word| upper.contains(word))
}

/// Replaces known secret values with `[redacted]`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for the secret-looking values of an environment.
    pub fn from_env<K, V>(env: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut redactor = Self::default();
        for (name, value) in env {
            if is_secret_name(&name.as_ref().to_string_lossy()) {
                redactor.add(value.as_ref().to_string_lossy());
            }
        }
        redactor
    }

    /// Adds a secret value.
    pub fn add(&mut self, secret: impl AsRef<str>) {
        let secret = secret.as_ref().trim();
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        // Redaction runs on codex's JSON lines before they are decoded, where a secret with
        // quotes, backslashes or control characters appears escaped: match that form too.
        let quoted = serde_json::Value::String(secret.to_owned()).to_string();
        let escaped = quoted
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(&quoted)
            .to_owned();
        for form in [secret.to_owned(), escaped] {
            if !self.secrets.contains(&form) {
                self.secrets.push(form);
            }
        }
        // Longest first, so a secret containing another is replaced whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every known secret replaced, borrowed when there was nothing to replace.
    pub fn redact_cow<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.secrets.iter().any(|s| text.contains(s.as_str())) {
            std::borrow::Cow::Owned(self.redact(text))
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every known secret replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "OPENAI_API_KEY",
            "CODEX_API_KEY",
            "GH_TOKEN",
            "AUTHORIZATION",
            "db_password",
            "MY_SECRET",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "HOME", "CODEX_HOME", "KEYBOARD"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn values_are_replaced_and_short_ones_ignored() {
        let env = [
            (
                OsString::from("OPENAI_API_KEY"),
                OsString::from("sk-live-123456"),
            ),
            (OsString::from("SHORT_TOKEN"), OsString::from("abc")),
            (OsString::from("HOME"), OsString::from("/home/someone")),
        ];
        let redactor = Redactor::from_env(env.iter().map(|(k, v)| (k, v)));
        assert_eq!(
            redactor.redact("key sk-live-123456 at /home/someone abc"),
            "key [redacted] at /home/someone abc"
        );
    }
}
