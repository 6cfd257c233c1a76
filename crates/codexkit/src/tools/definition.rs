//! One host tool: its name, schema, annotations, limits and handler.

use super::guard::{GuardDecision, ToolCall};
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How long a tool handler may run before the call fails, unless the tool sets its own limit.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// The future a type-erased handler returns.
pub(crate) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<ToolOutput, ToolError>> + Send + 'static>>;
/// A handler taking the (already validated) arguments as JSON.
pub(crate) type Handler = Arc<dyn Fn(Value) -> HandlerFuture + Send + Sync>;
/// A per-tool guard predicate.
pub(crate) type Predicate = Arc<dyn Fn(&ToolCall) -> GuardDecision + Send + Sync>;

/// A function of this process that the agent can call, on either transport.
///
/// ```
/// use codexkit::tools::{Tool, ToolOutput};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct AddArgs {
///     /// The first number.
///     a: i64,
///     /// The second number.
///     b: i64,
/// }
///
/// let add = Tool::new("add")
///     .description("Adds two integers")
///     .read_only(true)
///     .handler(|args: AddArgs| async move {
///         Ok(ToolOutput::json(&serde_json::json!({ "sum": args.a + args.b })))
///     });
/// ```
///
/// The input schema comes from the argument type ([`schemars::JsonSchema`]); every call's
/// arguments are checked against it before the handler runs, then deserialized into the type.
/// A handler runs on a task of its own, under the tool's timeout ([`DEFAULT_TOOL_TIMEOUT`]
/// unless [`Tool::timeout`] says otherwise). An error, a panic or a timeout becomes a failed
/// call that the model is told about; the turn goes on.
#[derive(Clone)]
#[non_exhaustive]
pub struct Tool {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) input_schema: Value,
    pub(crate) output_schema: Option<Value>,
    pub(crate) read_only: Option<bool>,
    pub(crate) destructive: Option<bool>,
    pub(crate) timeout: Duration,
    pub(crate) secret_fields: Vec<String>,
    pub(crate) predicate: Option<Predicate>,
    pub(crate) handler: Option<Handler>,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("read_only", &self.read_only)
            .field("destructive", &self.destructive)
            .field("timeout", &self.timeout)
            .field("has_handler", &self.handler.is_some())
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool named `name`: ASCII letters, digits, `_` and `-`, at most 64 characters (checked
    /// when it is registered). It needs a handler ([`Tool::handler`] or [`Tool::raw_handler`]).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            input_schema: json!({"type": "object", "properties": {}}),
            output_schema: None,
            read_only: None,
            destructive: None,
            timeout: DEFAULT_TOOL_TIMEOUT,
            secret_fields: Vec::new(),
            predicate: None,
            handler: None,
        }
    }

    /// What the tool does, for the model.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The handler, with arguments deserialized into `A`; the input schema is `A`'s JSON
    /// Schema.
    pub fn handler<A, F, Fut>(mut self, handler: F) -> Self
    where
        A: DeserializeOwned + schemars::JsonSchema + Send + 'static,
        F: Fn(A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
    {
        self.input_schema = schema_of::<A>();
        let handler = Arc::new(handler);
        self.handler = Some(Arc::new(move |arguments: Value| {
            let handler = Arc::clone(&handler);
            Box::pin(async move {
                let arguments = serde_json::from_value::<A>(arguments).map_err(|e| {
                    ToolError::invalid_arguments(format!("the arguments do not fit: {e}"))
                })?;
                handler(arguments).await
            }) as HandlerFuture
        }));
        self
    }

    /// The handler, with arguments as raw JSON; pair it with [`Tool::input_schema`] (the
    /// default schema accepts any object).
    pub fn raw_handler<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
    {
        self.handler = Some(Arc::new(move |arguments: Value| {
            Box::pin(handler(arguments)) as HandlerFuture
        }));
        self
    }

    /// Sets the input JSON Schema (an object schema). Call it after [`Tool::handler`], which
    /// sets the schema from the argument type.
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = schema;
        self
    }

    /// Declares the shape of the tool's JSON results, from `O`'s JSON Schema (exec: MCP
    /// `outputSchema`). A tool with an output schema should answer with [`ToolOutput::json`].
    pub fn output<O: schemars::JsonSchema>(mut self) -> Self {
        self.output_schema = Some(schema_of::<O>());
        self
    }

    /// Declares the output schema as raw JSON.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Hints that the tool changes nothing (MCP `readOnlyHint`).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = Some(read_only);
        self
    }

    /// Hints that the tool may destroy data (MCP `destructiveHint`).
    pub fn destructive(mut self, destructive: bool) -> Self {
        self.destructive = Some(destructive);
        self
    }

    /// How long the handler may run; then the call fails and the handler's task is aborted.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Marks an argument field as secret: its value (wherever the key appears in the
    /// arguments) is shown as `"[redacted]"` in events and logs. The handler sees the real
    /// value.
    pub fn secret_field(mut self, field: impl Into<String>) -> Self {
        self.secret_fields.push(field.into());
        self
    }

    /// A check run before every call of this tool; a [`GuardDecision::Deny`] fails the call
    /// without running the handler, and the model is told it was denied. See also
    /// [`crate::tools::ToolSet::with_guard`] for an asynchronous guard over all tools.
    pub fn guard<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&ToolCall) -> GuardDecision + Send + Sync + 'static,
    {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The arguments with secret fields redacted.
    pub(crate) fn redact(&self, arguments: &Value) -> Value {
        redact_fields(arguments, &self.secret_fields)
    }
}

/// The JSON Schema of `T`, as a JSON value.
fn schema_of<T: schemars::JsonSchema>() -> Value {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    schema.to_value()
}

/// Replaces the value of every object key in `fields`, at any depth.
pub(crate) fn redact_fields(value: &Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return value.clone();
    }
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let inner = if fields.iter().any(|f| f == key) {
                        json!("[redacted]")
                    } else {
                        redact_fields(inner, fields)
                    };
                    (key.clone(), inner)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| redact_fields(v, fields)).collect())
        }
        other => other.clone(),
    }
}

/// One piece of a tool's result.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolContent {
    /// Text.
    Text(String),
    /// An image.
    Image {
        /// The encoded image (PNG, JPEG, …).
        data: Vec<u8>,
        /// Its media type, e.g. `image/png`.
        mime_type: String,
    },
}

impl ToolContent {
    /// The image as base64 (for MCP).
    pub(crate) fn base64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }
}

/// What a tool returns to the model: text, JSON or images.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The content, in order.
    pub content: Vec<ToolContent>,
    /// The JSON result, for [`ToolOutput::json`] (exec: MCP `structuredContent` when it is an
    /// object).
    pub structured: Option<Value>,
    /// Set when [`ToolOutput::json`] could not serialize its value; the call then fails.
    pub(crate) serialize_error: Option<String>,
}

impl ToolOutput {
    /// A text result.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![ToolContent::Text(text.into())],
            structured: None,
            serialize_error: None,
        }
    }

    /// A JSON result: the model sees the JSON text. If `value` cannot be serialized the call
    /// fails with the serializer's message.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => Self {
                content: vec![ToolContent::Text(value.to_string())],
                structured: Some(value),
                serialize_error: None,
            },
            Err(error) => Self {
                content: Vec::new(),
                structured: None,
                serialize_error: Some(format!("the tool's result does not serialize: {error}")),
            },
        }
    }

    /// An image result (PNG, JPEG, …).
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Self {
            content: vec![ToolContent::Image {
                data: data.into(),
                mime_type: mime_type.into(),
            }],
            structured: None,
            serialize_error: None,
        }
    }

    /// A result made of several pieces.
    pub fn from_content(content: Vec<ToolContent>) -> Self {
        Self {
            content,
            structured: None,
            serialize_error: None,
        }
    }

    /// Adds a piece of text after the current content.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.content.push(ToolContent::Text(text.into()));
        self
    }

    /// The text pieces joined by newlines.
    pub fn text_content(&self) -> String {
        self.content
            .iter()
            .filter_map(|c| match c {
                ToolContent::Text(text) => Some(text.as_str()),
                ToolContent::Image { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Why a tool handler failed; the model is told the message.
///
/// Any `std::error::Error` converts into it, so handlers can use `?`; [`ToolError::new`] takes
/// any message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolError {
    pub(crate) message: String,
    pub(crate) invalid_arguments: bool,
}

impl ToolError {
    /// An error with this message for the model.
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            invalid_arguments: false,
        }
    }

    pub(crate) fn invalid_arguments(message: impl fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            invalid_arguments: true,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ToolError {
    fn from(error: E) -> Self {
        Self::new(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_redacted_at_any_depth() {
        let args = json!({"user": "me", "password": "hunter2", "nested": [{"password": 1}]});
        let redacted = redact_fields(&args, &["password".to_owned()]);
        assert_eq!(
            redacted,
            json!({"user": "me", "password": "[redacted]", "nested": [{"password": "[redacted]"}]})
        );
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Args {
        /// A number.
        a: i64,
        b: Option<String>,
    }

    #[test]
    fn the_schema_comes_from_the_argument_type() {
        let tool = Tool::new("t").handler(|_: Args| async { Ok(ToolOutput::text("")) });
        assert_eq!(tool.input_schema["type"], "object");
        assert_eq!(tool.input_schema["required"], json!(["a"]));
        assert_eq!(
            tool.input_schema["properties"]["a"]["description"],
            "A number."
        );
    }

    #[test]
    fn json_output_keeps_the_value_and_its_text() {
        let output = ToolOutput::json(&json!({"sum": 5}));
        assert_eq!(output.text_content(), r#"{"sum":5}"#);
        assert_eq!(output.structured, Some(json!({"sum": 5})));
    }
}
