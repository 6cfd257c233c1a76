//! Typed `-c key=value` configuration overrides, rendered as TOML literals.

use crate::{Error, Result};
use std::fmt;

/// A configuration value for a `-c key=value` override.
///
/// Codex parses the value as TOML; codexkit renders typed values as TOML literals so strings are
/// quoted and escaped correctly. [`ConfigValue::Literal`] passes text through unchanged, for
/// values that are already TOML (or that the user typed on a command line).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A string, rendered as a quoted TOML string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// An array.
    Array(Vec<ConfigValue>),
    /// An inline table; keys keep their order.
    Table(Vec<(String, ConfigValue)>),
    /// Text passed through as it is.
    Literal(String),
}

impl ConfigValue {
    /// Renders the value as a TOML literal.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        self.write_toml(&mut out);
        out
    }

    fn write_toml(&self, out: &mut String) {
        match self {
            // A JSON string literal is also a valid TOML basic string: both use `\"`, `\\`,
            // `\n`, `\t`, `\uXXXX`, and serde_json escapes every control character.
            Self::String(s) => out.push_str(&json_quote(s)),
            Self::Integer(i) => out.push_str(&i.to_string()),
            Self::Float(f) => out.push_str(&toml_float(*f)),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_toml(out);
                }
                out.push(']');
            }
            Self::Table(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&toml_key(key));
                    out.push_str(" = ");
                    value.write_toml(out);
                }
                out.push('}');
            }
            Self::Literal(text) => out.push_str(text),
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_toml())
    }
}

fn json_quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn toml_float(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// A bare key when TOML allows one, a quoted key otherwise.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        json_quote(key)
    }
}

impl From<&str> for ConfigValue {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for ConfigValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<bool> for ConfigValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<i64> for ConfigValue {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<i32> for ConfigValue {
    fn from(value: i32) -> Self {
        Self::Integer(value.into())
    }
}

impl From<u32> for ConfigValue {
    fn from(value: u32) -> Self {
        Self::Integer(value.into())
    }
}

impl From<f64> for ConfigValue {
    fn from(value: f64) -> Self {
        Self::Float(value)
    }
}

impl<T: Into<ConfigValue>> From<Vec<T>> for ConfigValue {
    fn from(values: Vec<T>) -> Self {
        Self::Array(values.into_iter().map(Into::into).collect())
    }
}

/// One `-c key=value` override.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOverride {
    /// The dotted config path (`model_providers.mock.base_url`).
    pub key: String,
    /// The value.
    pub value: ConfigValue,
}

impl ConfigOverride {
    /// Builds an override, checking that the key is usable.
    pub fn new(key: impl Into<String>, value: impl Into<ConfigValue>) -> Result<Self> {
        let key = key.into();
        validate_key(&key)?;
        Ok(Self {
            key,
            value: value.into(),
        })
    }

    /// Parses `key=value` as typed on a command line; the value is passed through as written.
    pub fn parse(text: &str) -> Result<Self> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(Error::invalid(
                "config override",
                format!("{text:?} is not of the form key=value"),
            ));
        };
        Self::new(key.trim(), ConfigValue::Literal(value.to_owned()))
    }

    /// The `key=value` argument codex receives.
    pub fn to_arg(&self) -> String {
        format!("{}={}", self.key, self.value.to_toml())
    }
}

fn validate_key(key: &str) -> Result<()> {
    let problem = if key.is_empty() {
        Some("the key is empty")
    } else if key.contains('=') {
        Some("the key contains '='")
    } else if key.chars().any(char::is_control) {
        Some("the key contains a control character")
    } else if key.starts_with('.') || key.ends_with('.') || key.contains("..") {
        Some("the key has an empty path segment")
    } else {
        None
    };
    match problem {
        Some(reason) => Err(Error::invalid(
            "config override",
            format!("{key:?}: {reason}"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_and_escaped() {
        let value = ConfigValue::from("say \"hi\"\n\\ \u{1}");
        assert_eq!(value.to_toml(), r#""say \"hi\"\n\\ \u0001""#);
    }

    #[test]
    fn scalars_arrays_and_tables_render_as_toml() {
        assert_eq!(ConfigValue::from(3).to_toml(), "3");
        assert_eq!(ConfigValue::from(true).to_toml(), "true");
        assert_eq!(ConfigValue::from(2.0).to_toml(), "2.0");
        assert_eq!(ConfigValue::from(0.25).to_toml(), "0.25");
        assert_eq!(ConfigValue::Float(f64::INFINITY).to_toml(), "inf");
        assert_eq!(ConfigValue::from(vec!["a", "b"]).to_toml(), r#"["a", "b"]"#);
        let table = ConfigValue::Table(vec![
            ("name".into(), "mock".into()),
            ("base url".into(), "http://x".into()),
            ("retries".into(), 0.into()),
        ]);
        assert_eq!(
            table.to_toml(),
            r#"{name = "mock", "base url" = "http://x", retries = 0}"#
        );
    }

    #[test]
    fn overrides_render_and_parse() {
        let o = ConfigOverride::new("model_reasoning_effort", "high").unwrap();
        assert_eq!(o.to_arg(), r#"model_reasoning_effort="high""#);
        let parsed = ConfigOverride::parse("a.b=[1, 2]").unwrap();
        assert_eq!(parsed.to_arg(), "a.b=[1, 2]");
        let with_eq = ConfigOverride::parse("k=x=y").unwrap();
        assert_eq!(with_eq.to_arg(), "k=x=y");
    }

    #[test]
    fn bad_keys_are_rejected() {
        for bad in ["", "a..b", ".a", "a.", "a\nb"] {
            assert!(ConfigOverride::new(bad, 1).is_err(), "{bad:?} accepted");
        }
        assert!(ConfigOverride::parse("no-equals-sign").is_err());
    }
}
