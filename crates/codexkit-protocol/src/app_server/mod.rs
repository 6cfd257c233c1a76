//! Wire types of `codex app-server` (JSON-RPC over stdio or WebSocket) and the normalizer that
//! maps its notifications onto [`crate::ThreadEvent`].
//!
//! * [`jsonrpc`] holds the envelope. [`parse_incoming`] classifies a server message; the
//!   `Outgoing*` types serialize client messages with `"jsonrpc":"2.0"`.
//! * [`requests`] holds the client→server methods ([`ClientRequest`] markers such as
//!   [`TurnStart`]) with typed params and responses.
//! * [`notifications`] holds [`ServerNotification`], one variant per notification method.
//! * [`server_requests`] holds [`ServerRequest`] (approvals, dynamic tool calls, …) and the
//!   typed responses to them.
//! * [`items`] holds [`AppServerItem`], the v2 thread items, and [`threads`] holds [`Thread`]
//!   and [`Turn`].
//! * [`normalize`] holds [`TurnNormalizer`].
//!
//! Like the rest of the crate, decoding is tolerant: unknown methods, item types and enum values
//! decode to `Unknown` variants keeping the raw JSON, and unknown fields are kept in `extra`.
//!
//! ```
//! use codexkit_protocol::app_server::{parse_incoming, Incoming, ServerNotification, TurnNormalizer};
//! use codexkit_protocol::ThreadEvent;
//!
//! let line = r#"{"method":"item/agentMessage/delta","params":{"threadId":"t1","turnId":"u1","itemId":"msg_1","delta":"Hel"},"emittedAtMs":1}"#;
//! let Incoming::Notification { method, params } = parse_incoming(line).unwrap() else { panic!() };
//! let notification = ServerNotification::from_parts(&method, params);
//! assert_eq!(notification.thread_id(), Some("t1"));
//! let events = TurnNormalizer::new().on_notification(&notification);
//! assert!(matches!(&events[..], [ThreadEvent::AgentMessageDelta(d)] if d.delta == "Hel"));
//! ```

pub mod items;
pub mod jsonrpc;
pub mod normalize;
pub mod notifications;
pub mod requests;
pub mod server_requests;
pub mod threads;

pub use items::*;
pub use jsonrpc::*;
pub use normalize::*;
pub use notifications::*;
pub use requests::*;
pub use server_requests::*;
pub use threads::*;
