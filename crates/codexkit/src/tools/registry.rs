//! The registry of a thread's host tools.

use super::definition::Tool;
use super::guard::ToolGuard;
use crate::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// The MCP server name under which the exec transport serves the top-level tools of a
/// [`ToolSet`] (the model calls them with namespace `mcp__codexkit`).
pub const DEFAULT_MCP_SERVER_NAME: &str = "codexkit";

/// Longest tool or namespace name.
const MAX_NAME_LEN: usize = 64;

/// A tool ready to run: the definition and its compiled argument validator.
pub(crate) struct RegisteredTool {
    pub(crate) namespace: Option<String>,
    pub(crate) tool: Tool,
    pub(crate) validator: jsonschema::Validator,
}

struct Entry {
    id: u64,
    tool: Arc<RegisteredTool>,
}

type Key = (Option<String>, String);

#[derive(Default)]
struct Registry {
    tools: BTreeMap<Key, Entry>,
    namespace_descriptions: BTreeMap<String, String>,
    next_id: u64,
    guard: Option<Arc<dyn ToolGuard>>,
    mcp_server_name: Option<String>,
}

/// The host tools of a thread: set it with [`crate::ThreadOptions::with_tools`].
///
/// Cheap to clone; clones share the same registry, so tools can be registered and
/// deregistered at runtime through any clone or through the [`ToolHandle`] that
/// [`ToolSet::register`] returns.
///
/// * **exec**: each turn serves the set's tools to codex as MCP servers inside this process
///   (one server per namespace; the top-level tools are the server
///   [`DEFAULT_MCP_SERVER_NAME`]). The model calls a top-level tool `add` as namespace
///   `mcp__codexkit`, name `add`, and a tool `add` of namespace `calc` as namespace
///   `mcp__calc`, name `add`. Codex shows the model `-` in these names as `_` (namespace
///   `my-ns` is `mcp__my_ns`, tool `get-x` is `get_x`); names that would then look alike are
///   refused when the turn starts. Changes made during a turn apply to calls at once; the
///   list of tools codex shows the model is read when the turn starts.
/// * **app-server**: the tools are sent with `thread/start` as dynamic tools (a top-level tool
///   is a plain function tool `add`; a namespace `calc` is a namespace tool, called as
///   namespace `calc`, name `add`). Codex fixes the list at `thread/start`: tools registered
///   later are not shown to the model, and calls of deregistered tools fail.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ToolSet {
    inner: Arc<RwLock<Registry>>,
}

impl fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let registry = self.read();
        f.debug_struct("ToolSet")
            .field(
                "tools",
                &registry
                    .tools
                    .keys()
                    .map(|(ns, name)| qualified(ns.as_deref(), name))
                    .collect::<Vec<_>>(),
            )
            .field("guard", &registry.guard.is_some())
            .finish_non_exhaustive()
    }
}

impl ToolSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a top-level tool. Fails with [`Error::DuplicateTool`] when the name is taken and
    /// [`Error::InvalidTool`] when the tool is unusable (bad name, no handler, bad schema).
    pub fn register(&self, tool: Tool) -> Result<ToolHandle> {
        self.register_in(None, tool)
    }

    /// [`ToolSet::register`] for chaining while building a set.
    pub fn with(self, tool: Tool) -> Result<Self> {
        self.register(tool)?;
        Ok(self)
    }

    /// The tools of namespace `name`: tools registered through it are grouped under that
    /// namespace (see [`ToolSet`] for how each transport names them).
    pub fn namespace(&self, name: impl Into<String>) -> ToolNamespace {
        ToolNamespace {
            set: self.clone(),
            name: name.into(),
        }
    }

    /// Sets a guard over every tool of the set; it may deny a call before the handler runs.
    pub fn with_guard(self, guard: impl ToolGuard) -> Self {
        self.write().guard = Some(Arc::new(guard));
        self
    }

    /// Names the MCP server of the top-level tools on the exec transport (default
    /// [`DEFAULT_MCP_SERVER_NAME`]); the model then calls them as namespace `mcp__<name>`.
    pub fn with_mcp_server_name(self, name: impl Into<String>) -> Self {
        self.write().mcp_server_name = Some(name.into());
        self
    }

    /// Removes a tool; returns whether it was registered.
    pub fn deregister(&self, namespace: Option<&str>, name: &str) -> bool {
        self.write()
            .tools
            .remove(&(namespace.map(str::to_owned), name.to_owned()))
            .is_some()
    }

    /// Every registered tool's metadata, namespaces first in name order, then top-level tools.
    pub fn list(&self) -> Vec<ToolInfo> {
        self.read()
            .tools
            .values()
            .map(|entry| ToolInfo::of(&entry.tool))
            .collect()
    }

    /// Whether the set has no tools.
    pub fn is_empty(&self) -> bool {
        self.read().tools.is_empty()
    }

    fn register_in(&self, namespace: Option<&str>, tool: Tool) -> Result<ToolHandle> {
        if let Some(namespace) = namespace {
            check_name(namespace, "namespace")?;
        }
        check_name(&tool.name, "tool")?;
        let qualified_name = qualified(namespace, &tool.name);
        if tool.handler.is_none() {
            return Err(Error::InvalidTool {
                name: qualified_name,
                reason: "it has no handler; call Tool::handler or Tool::raw_handler".into(),
            });
        }
        if !tool.input_schema.is_object() {
            return Err(Error::InvalidTool {
                name: qualified_name,
                reason: "its input schema is not a JSON object".into(),
            });
        }
        let validator =
            jsonschema::validator_for(&tool.input_schema).map_err(|e| Error::InvalidTool {
                name: qualified_name.clone(),
                reason: format!("its input schema is not a valid JSON Schema: {e}"),
            })?;
        if tool.timeout.is_zero() {
            return Err(Error::InvalidTool {
                name: qualified_name,
                reason: "its timeout is zero".into(),
            });
        }
        let key = (namespace.map(str::to_owned), tool.name.clone());
        let mut registry = self.write();
        if registry.tools.contains_key(&key) {
            return Err(Error::DuplicateTool {
                namespace: key.0,
                name: key.1,
            });
        }
        registry.next_id += 1;
        let id = registry.next_id;
        let registered = RegisteredTool {
            namespace: key.0.clone(),
            tool,
            validator,
        };
        registry.tools.insert(
            key.clone(),
            Entry {
                id,
                tool: Arc::new(registered),
            },
        );
        drop(registry);
        tracing::debug!(tool = %qualified_name, "host tool registered");
        Ok(ToolHandle {
            set: self.clone(),
            key,
            id,
        })
    }

    /// The tool registered under this namespace and name.
    pub(crate) fn lookup(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Arc<RegisteredTool>> {
        self.read()
            .tools
            .get(&(namespace.map(str::to_owned), name.to_owned()))
            .map(|entry| Arc::clone(&entry.tool))
    }

    /// The registered tools of one namespace (`None`: the top level).
    pub(crate) fn tools_in(&self, namespace: Option<&str>) -> Vec<Arc<RegisteredTool>> {
        self.read()
            .tools
            .iter()
            .filter(|((ns, _), _)| ns.as_deref() == namespace)
            .map(|(_, entry)| Arc::clone(&entry.tool))
            .collect()
    }

    /// The namespaces that have tools, in name order.
    pub(crate) fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .read()
            .tools
            .keys()
            .filter_map(|(ns, _)| ns.clone())
            .collect();
        names.dedup();
        names
    }

    /// Whether there are top-level tools.
    pub(crate) fn has_top_level(&self) -> bool {
        self.read().tools.keys().any(|(ns, _)| ns.is_none())
    }

    pub(crate) fn namespace_description(&self, namespace: &str) -> String {
        self.read()
            .namespace_descriptions
            .get(namespace)
            .cloned()
            .unwrap_or_else(|| format!("Tools of {namespace}"))
    }

    pub(crate) fn guard(&self) -> Option<Arc<dyn ToolGuard>> {
        self.read().guard.clone()
    }

    pub(crate) fn mcp_server_name(&self) -> String {
        self.read()
            .mcp_server_name
            .clone()
            .unwrap_or_else(|| DEFAULT_MCP_SERVER_NAME.to_owned())
    }

    /// The longest tool timeout (for codex's own MCP call deadline).
    pub(crate) fn longest_timeout(&self) -> Duration {
        self.read()
            .tools
            .values()
            .map(|entry| entry.tool.tool.timeout)
            .max()
            .unwrap_or(super::DEFAULT_TOOL_TIMEOUT)
    }

    /// A short list of the registered tools, for "unknown tool" messages.
    pub(crate) fn describe_names(&self) -> String {
        let names: Vec<String> = self
            .read()
            .tools
            .keys()
            .map(|(ns, name)| qualified(ns.as_deref(), name))
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    }
}

/// The tools of one namespace of a [`ToolSet`] (see [`ToolSet::namespace`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolNamespace {
    set: ToolSet,
    name: String,
}

impl ToolNamespace {
    /// Adds a tool to the namespace.
    pub fn register(&self, tool: Tool) -> Result<ToolHandle> {
        self.set.register_in(Some(&self.name), tool)
    }

    /// [`ToolNamespace::register`] for chaining.
    pub fn with(self, tool: Tool) -> Result<Self> {
        self.register(tool)?;
        Ok(self)
    }

    /// Describes the namespace for the model (app-server namespace tools).
    pub fn with_description(self, description: impl Into<String>) -> Self {
        self.set
            .write()
            .namespace_descriptions
            .insert(self.name.clone(), description.into());
        self
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The set it belongs to.
    pub fn set(&self) -> &ToolSet {
        &self.set
    }
}

/// A registered tool; [`ToolHandle::deregister`] removes it. Dropping the handle keeps the
/// tool registered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolHandle {
    set: ToolSet,
    key: Key,
    id: u64,
}

impl ToolHandle {
    /// Removes the tool, unless it was already removed (or replaced by another registration
    /// of the same name). Returns whether it removed it.
    pub fn deregister(self) -> bool {
        let mut registry = self.set.write();
        if registry
            .tools
            .get(&self.key)
            .is_some_and(|e| e.id == self.id)
        {
            registry.tools.remove(&self.key);
            true
        } else {
            false
        }
    }

    /// The tool's namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.key.0.as_deref()
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.key.1
    }
}

/// Metadata of a registered tool.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    /// Its namespace.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its input JSON Schema.
    pub input_schema: Value,
    /// Its output JSON Schema, if declared.
    pub output_schema: Option<Value>,
    /// The read-only hint.
    pub read_only: Option<bool>,
    /// The destructive hint.
    pub destructive: Option<bool>,
    /// The handler's time limit.
    pub timeout: Duration,
    /// Argument fields redacted in events.
    pub secret_fields: Vec<String>,
}

impl ToolInfo {
    fn of(registered: &RegisteredTool) -> Self {
        let tool = &registered.tool;
        Self {
            namespace: registered.namespace.clone(),
            name: tool.name.clone(),
            description: tool.description.clone(),
            input_schema: tool.input_schema.clone(),
            output_schema: tool.output_schema.clone(),
            read_only: tool.read_only,
            destructive: tool.destructive,
            timeout: tool.timeout,
            secret_fields: tool.secret_fields.clone(),
        }
    }
}

/// `namespace/name`, or `name`.
pub(crate) fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.to_owned(),
    }
}

/// Checks a tool, namespace or server name: 1 to 64 ASCII letters, digits, `_` or `-`.
pub(crate) fn check_name(name: &str, what: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidTool {
            name: name.to_owned(),
            reason: format!(
                "a {what} name must be 1 to {MAX_NAME_LEN} ASCII letters, digits, '_' or '-'"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolOutput;

    fn echo(name: &str) -> Tool {
        Tool::new(name).raw_handler(|args| async move { Ok(ToolOutput::json(&args)) })
    }

    #[test]
    fn duplicates_are_typed_errors_and_handles_deregister() {
        let set = ToolSet::new();
        let handle = set.register(echo("a")).unwrap();
        let error = set.register(echo("a")).unwrap_err();
        assert!(
            matches!(&error, Error::DuplicateTool { namespace: None, name } if name == "a"),
            "{error:?}"
        );
        // The same name in a namespace is another tool.
        let calc = set.namespace("calc").with_description("Calculator");
        let in_ns = calc.register(echo("a")).unwrap();
        assert_eq!(set.list().len(), 2);
        assert_eq!(set.namespaces(), ["calc"]);
        assert_eq!(set.namespace_description("calc"), "Calculator");
        assert!(handle.clone().deregister());
        assert!(!handle.deregister(), "already removed");
        assert_eq!(in_ns.namespace(), Some("calc"));
        assert!(set.lookup(Some("calc"), "a").is_some());
        assert!(set.lookup(None, "a").is_none());
        assert!(set.deregister(Some("calc"), "a"));
        assert!(set.is_empty());
    }

    #[test]
    fn a_stale_handle_leaves_a_new_registration_alone() {
        let set = ToolSet::new();
        let old = set.register(echo("a")).unwrap();
        assert!(set.deregister(None, "a"));
        let _new = set.register(echo("a")).unwrap();
        assert!(!old.deregister());
        assert!(set.lookup(None, "a").is_some());
    }

    #[test]
    fn bad_tools_are_refused() {
        let set = ToolSet::new();
        for bad in ["", "has space", "dots.no", &"x".repeat(65)] {
            assert!(
                matches!(set.register(echo(bad)), Err(Error::InvalidTool { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            set.register(Tool::new("no_handler")),
            Err(Error::InvalidTool { .. })
        ));
        assert!(matches!(
            set.register(echo("s").input_schema(serde_json::json!({"type": 12}))),
            Err(Error::InvalidTool { .. })
        ));
        assert!(matches!(
            set.namespace("bad ns").register(echo("x")),
            Err(Error::InvalidTool { .. })
        ));
    }
}
