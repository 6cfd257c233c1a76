//! The JSON-RPC envelope of `codex app-server`: request ids, errors, classifying what the server
//! sends, and what the client sends back.
//!
//! The transport is newline-delimited JSON (stdio) or one message per WebSocket text frame.
//! Server messages omit `"jsonrpc":"2.0"`; client messages carry it.

use crate::ExtraFields;
use serde::de::{DeserializeOwned, Error as _};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// The `jsonrpc` version string client messages carry.
pub const JSONRPC_VERSION: &str = "2.0";

/// Error code codex returns when it is overloaded; the request may be retried later.
pub const OVERLOADED_ERROR_CODE: i64 = -32001;

/// Error code of an invalid request. Codex also uses it for most semantic failures
/// (`no active turn to interrupt`, `thread not found: …`, unknown methods).
pub const INVALID_REQUEST_ERROR_CODE: i64 = -32600;

/// Standard JSON-RPC error code for an unknown method.
pub const METHOD_NOT_FOUND_ERROR_CODE: i64 = -32601;

/// Standard JSON-RPC error code for invalid parameters.
pub const INVALID_PARAMS_ERROR_CODE: i64 = -32602;

/// Standard JSON-RPC error code for an internal error.
pub const INTERNAL_ERROR_CODE: i64 = -32603;

/// A JSON-RPC request id: an integer or a string.
///
/// Client and server number their requests independently (server→client request ids start at 0
/// too), so an id only identifies a request together with its direction.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// A numeric id (what codex and codexkit use).
    Integer(i64),
    /// A string id.
    String(String),
}

impl RequestId {
    /// The id as a JSON value, as [`crate::ApprovalEvent`] stores it.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Integer(n) => Value::from(*n),
            Self::String(s) => Value::from(s.as_str()),
        }
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Integer(n) => write!(f, "{n}"),
            Self::String(s) => f.write_str(s),
        }
    }
}

impl From<i64> for RequestId {
    fn from(id: i64) -> Self {
        Self::Integer(id)
    }
}

impl From<String> for RequestId {
    fn from(id: String) -> Self {
        Self::String(id)
    }
}

impl From<&str> for RequestId {
    fn from(id: &str) -> Self {
        Self::String(id.to_owned())
    }
}

impl From<RequestId> for Value {
    fn from(id: RequestId) -> Self {
        id.to_value()
    }
}

/// The `error` object of a JSON-RPC error response.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// The error code (for example [`INVALID_REQUEST_ERROR_CODE`] or [`OVERLOADED_ERROR_CODE`]).
    pub code: i64,
    /// A human-readable message.
    pub message: String,
    /// Additional data, when the sender gave some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl RpcError {
    /// Builds an error from its code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
            extra: ExtraFields::new(),
        }
    }

    /// Sets the `data` member.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// Whether codex refused the request because it is overloaded ([`OVERLOADED_ERROR_CODE`]).
    pub fn is_overloaded(&self) -> bool {
        self.code == OVERLOADED_ERROR_CODE
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for RpcError {}

/// One message from the server, classified by [`parse_incoming`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A successful response to one of the client's requests.
    Response {
        /// The id of the client request it answers.
        id: RequestId,
        /// The result (`null` when the server sent none).
        result: Value,
    },
    /// An error response. `id` is `None` when the server could not tell which request failed.
    Error {
        /// The id of the client request it answers, when known.
        id: Option<RequestId>,
        /// What went wrong.
        error: RpcError,
    },
    /// A server→client request (an approval, a dynamic tool call, …); it must be answered with
    /// an [`OutgoingResponse`] or [`OutgoingError`] carrying the same id.
    /// Decode it with [`crate::app_server::ServerRequest::from_parts`].
    Request {
        /// The server's id for the request.
        id: RequestId,
        /// The method name.
        method: String,
        /// The parameters (`null` when absent).
        params: Value,
    },
    /// A notification. Decode it with [`crate::app_server::ServerNotification::from_parts`].
    Notification {
        /// The method name.
        method: String,
        /// The parameters (`null` when absent).
        params: Value,
    },
}

impl Incoming {
    /// The method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request { method, .. } | Self::Notification { method, .. } => Some(method),
            Self::Response { .. } | Self::Error { .. } => None,
        }
    }
}

/// Parses and classifies one message from the server.
///
/// Classification is by the fields present, as server messages omit `"jsonrpc"`: `method` with
/// `id` is a server→client request; `method` alone a notification; `error` an error response;
/// `id` with `result` a response. Fails on text that is not a JSON object, on an object that is
/// none of these, and on an `id` that is neither a number nor a string.
pub fn parse_incoming(line: &str) -> Result<Incoming, serde_json::Error> {
    let value: Value = serde_json::from_str(line)?;
    classify(value)
}

/// Classifies an already parsed message; see [`parse_incoming`].
pub fn classify(value: Value) -> Result<Incoming, serde_json::Error> {
    let Value::Object(mut object) = value else {
        return Err(serde_json::Error::custom(
            "a JSON-RPC message must be a JSON object",
        ));
    };
    let id = match object.remove("id") {
        None | Some(Value::Null) => None,
        Some(id) => Some(RequestId::deserialize(id)?),
    };
    if let Some(method) = object.remove("method") {
        let Value::String(method) = method else {
            return Err(serde_json::Error::custom("`method` must be a string"));
        };
        let params = object.remove("params").unwrap_or(Value::Null);
        return Ok(match id {
            Some(id) => Incoming::Request { id, method, params },
            None => Incoming::Notification { method, params },
        });
    }
    if let Some(error) = object.remove("error") {
        let error = RpcError::deserialize(error)?;
        return Ok(Incoming::Error { id, error });
    }
    match id {
        Some(id) => Ok(Incoming::Response {
            id,
            result: object.remove("result").unwrap_or(Value::Null),
        }),
        None => Err(serde_json::Error::custom(
            "not a JSON-RPC message: no `method`, `id` or `error`",
        )),
    }
}

/// W3C trace context sent next to a request's `params` (`trace` member).
///
/// Codex only propagates it when an OTel trace exporter is configured.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceContext {
    /// The `traceparent` header value (`00-<trace id>-<span id>-<flags>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The `tracestate` header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// Fields this version of codexkit does not know.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl TraceContext {
    /// A trace context with this `traceparent` and no `tracestate`.
    pub fn new(traceparent: impl Into<String>) -> Self {
        Self {
            traceparent: Some(traceparent.into()),
            ..Self::default()
        }
    }

    /// Sets `tracestate`.
    pub fn with_tracestate(mut self, tracestate: impl Into<String>) -> Self {
        self.tracestate = Some(tracestate.into());
        self
    }
}

/// A request from the client, serialized as
/// `{"jsonrpc":"2.0","id","method","params","trace"?}`.
///
/// `params` is left out when it is `null`; `trace` when it is `None`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutgoingRequest {
    /// The client's id for the request; the response carries it back.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The parameters.
    #[serde(default)]
    pub params: Value,
    /// Optional W3C trace context.
    #[serde(default)]
    pub trace: Option<TraceContext>,
}

impl OutgoingRequest {
    /// Builds a request from raw parts.
    pub fn new(id: impl Into<RequestId>, method: impl Into<String>, params: Value) -> Self {
        Self {
            id: id.into(),
            method: method.into(),
            params,
            trace: None,
        }
    }

    /// Builds a typed request: the method is `R::METHOD` and `params` is serialized.
    pub fn typed<R: super::ClientRequest>(
        id: impl Into<RequestId>,
        params: &R::Params,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::new(id, R::METHOD, serde_json::to_value(params)?))
    }

    /// Sets the trace context.
    pub fn with_trace(mut self, trace: TraceContext) -> Self {
        self.trace = Some(trace);
        self
    }
}

impl Serialize for OutgoingRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("method", &self.method)?;
        if !self.params.is_null() {
            map.serialize_entry("params", &self.params)?;
        }
        if let Some(trace) = &self.trace {
            map.serialize_entry("trace", trace)?;
        }
        map.end()
    }
}

/// A notification from the client, serialized as `{"jsonrpc":"2.0","method","params"?}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutgoingNotification {
    /// The method name.
    pub method: String,
    /// The parameters; left out when `null`.
    #[serde(default)]
    pub params: Value,
}

impl OutgoingNotification {
    /// Builds a notification.
    pub fn new(method: impl Into<String>, params: Value) -> Self {
        Self {
            method: method.into(),
            params,
        }
    }

    /// The `initialized` notification that ends the handshake, sent after the `initialize`
    /// response.
    pub fn initialized() -> Self {
        Self::new("initialized", Value::Null)
    }
}

impl Serialize for OutgoingNotification {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        map.serialize_entry("method", &self.method)?;
        if !self.params.is_null() {
            map.serialize_entry("params", &self.params)?;
        }
        map.end()
    }
}

/// The client's answer to a server→client request, serialized as
/// `{"jsonrpc":"2.0","id","result"}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutgoingResponse {
    /// The server's request id.
    pub id: RequestId,
    /// The result.
    #[serde(default)]
    pub result: Value,
}

impl OutgoingResponse {
    /// Builds a response from a raw result.
    pub fn new(id: impl Into<RequestId>, result: Value) -> Self {
        Self {
            id: id.into(),
            result,
        }
    }

    /// Builds a response by serializing a typed result (for example a
    /// [`crate::app_server::CommandExecutionApprovalResponse`]).
    pub fn typed<T: Serialize>(
        id: impl Into<RequestId>,
        result: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self::new(id, serde_json::to_value(result)?))
    }
}

impl Serialize for OutgoingResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("result", &self.result)?;
        map.end()
    }
}

/// The client's refusal of a server→client request, serialized as
/// `{"jsonrpc":"2.0","id","error"}`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OutgoingError {
    /// The server's request id.
    pub id: RequestId,
    /// What went wrong.
    pub error: RpcError,
}

impl OutgoingError {
    /// Builds an error response.
    pub fn new(id: impl Into<RequestId>, error: RpcError) -> Self {
        Self {
            id: id.into(),
            error,
        }
    }
}

impl Serialize for OutgoingError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("error", &self.error)?;
        map.end()
    }
}

/// Decodes a response `result` into a typed value, treating a `null` result as an empty object
/// (codex answers some requests, such as `turn/interrupt`, with `{}` or `null`).
pub fn decode_result<T: DeserializeOwned>(result: Value) -> Result<T, serde_json::Error> {
    match result {
        Value::Null => serde_json::from_value(Value::Object(serde_json::Map::new())),
        other => serde_json::from_value(other),
    }
}
