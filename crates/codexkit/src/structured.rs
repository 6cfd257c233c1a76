//! Typed structured output: ask for an answer following a JSON Schema, check it, decode it.
//!
//! ```no_run
//! use codexkit::{Codex, CodexOptions, ThreadOptions};
//! use codexkit::structured::StructuredOptions;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Review {
//!     verdict: String,
//!     issues: Vec<String>,
//! }
//!
//! # async fn run() -> codexkit::Result<()> {
//! let codex = Codex::new(CodexOptions::default())?;
//! let thread = codex.start_thread(ThreadOptions::default());
//! let review = thread.run_typed::<Review>("Review the last commit").await?;
//! println!("{}: {} issues", review.value.verdict, review.value.issues.len());
//!
//! // One repair turn when the answer does not match:
//! let again = thread
//!     .run_typed_with::<Review>("And the one before?", StructuredOptions::default().with_repair(true))
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! The schema is sent as codex's output schema (the Responses API's strict `json_schema`
//! format), so it must follow strict mode's rules; [`check_strict`] enforces them before any
//! process starts. Codex itself does not check the answer: codexkit validates the final
//! answer ([`TurnResult::final_response`], which prefers the `final_answer` phase) with the
//! schema and decodes it, and a mismatch is [`Error::SchemaMismatch`].

use crate::options::{Input, TurnOptions};
use crate::thread::{Thread, TurnResult};
use crate::{Error, Result};
use codexkit_protocol::ThreadItem;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// The most object properties a strict schema may have in all.
pub const MAX_PROPERTIES: usize = 5000;
/// The deepest nesting of objects a strict schema may have.
pub const MAX_NESTING: usize = 10;
/// The most values one `enum` may have.
pub const MAX_ENUM_VALUES: usize = 1000;
/// The most validation errors kept in one [`Error::SchemaMismatch`].
const MAX_ERRORS: usize = 20;
/// The longest error message kept.
const MAX_ERROR_CHARS: usize = 300;

/// The start of the message of a repair turn. The full message is this, the errors joined
/// with `; `, and `. Reply again with only a JSON value that matches the schema.`
pub const REPAIR_PROMPT: &str = "Your last answer did not match the schema: ";

/// Keywords strict mode accepts anywhere.
const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "$comment",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];
/// Keywords accepted at the root only.
const ROOT_KEYWORDS: &[&str] = &["$schema", "$id"];
/// String formats strict mode knows.
const FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];
const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// A value decoded from a structured answer, with the answer and the turn.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Typed<T> {
    /// The decoded answer.
    pub value: T,
    /// The answer's text as the model gave it.
    pub raw: String,
    /// The turn that gave it (the repair turn when there was one).
    pub turn: TurnResult,
    /// Whether a repair turn was needed.
    pub repaired: bool,
}

/// Options of a structured turn.
#[non_exhaustive]
#[derive(Debug, Clone, Default)]
pub struct StructuredOptions {
    /// Options of the turn (and of the repair turn); its `output_schema` is replaced.
    pub turn: TurnOptions,
    /// When the answer does not match, run one more turn on the same thread saying what was
    /// wrong (see [`REPAIR_PROMPT`]) and check that answer instead.
    pub repair: bool,
}

impl StructuredOptions {
    /// Sets the turn options.
    pub fn with_turn(mut self, turn: TurnOptions) -> Self {
        self.turn = turn;
        self
    }

    /// Allows one repair turn.
    pub fn with_repair(mut self, repair: bool) -> Self {
        self.repair = repair;
        self
    }
}

/// A schema checked against strict mode's rules and compiled for validation.
#[non_exhaustive]
#[derive(Clone)]
pub struct OutputSchema {
    schema: Value,
    validator: Arc<jsonschema::Validator>,
}

impl fmt::Debug for OutputSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputSchema")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl OutputSchema {
    /// Checks `schema` ([`check_strict`]) and compiles it.
    pub fn new(schema: Value) -> Result<Self> {
        check_strict(&schema)?;
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|error| Error::InvalidSchema {
                pointer: error.schema_path().to_string(),
                reason: error.to_string(),
            })?;
        Ok(Self {
            schema,
            validator: Arc::new(validator),
        })
    }

    /// The strict schema of `T` ([`schema_for`]), compiled.
    pub fn for_type<T: JsonSchema>() -> Result<Self> {
        Self::new(schema_for::<T>()?)
    }

    /// The schema.
    pub fn as_value(&self) -> &Value {
        &self.schema
    }

    /// Parses `raw` as JSON and validates it; [`Error::SchemaMismatch`] when it is not JSON
    /// or does not match.
    pub fn validate(&self, raw: &str) -> Result<Value> {
        let mismatch = |errors: Vec<String>| Error::SchemaMismatch {
            raw: raw.to_owned(),
            errors,
        };
        if raw.trim().is_empty() {
            return Err(mismatch(vec!["the turn gave no answer".to_owned()]));
        }
        let value: Value = serde_json::from_str(raw.trim())
            .map_err(|e| mismatch(vec![format!("the answer is not JSON: {e}")]))?;
        let errors: Vec<String> = self
            .validator
            .iter_errors(&value)
            .take(MAX_ERRORS)
            .map(|error| {
                let path = error.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                };
                shorten(format!("{path}: {error}"))
            })
            .collect();
        if errors.is_empty() {
            Ok(value)
        } else {
            Err(mismatch(errors))
        }
    }

    /// [`validate`](Self::validate)s `raw` and decodes it into `T`; a value that validates
    /// but does not decode is a [`Error::SchemaMismatch`] too.
    pub fn decode<T: DeserializeOwned>(&self, raw: &str) -> Result<T> {
        let value = self.validate(raw)?;
        serde_json::from_value(value).map_err(|e| Error::SchemaMismatch {
            raw: raw.to_owned(),
            errors: vec![format!(
                "the answer does not decode into {}: {e}",
                std::any::type_name::<T>()
            )],
        })
    }
}

fn shorten(text: String) -> String {
    if text.chars().count() <= MAX_ERROR_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(MAX_ERROR_CHARS).collect();
    short.push('…');
    short
}

/// The answer of a turn's items: the last agent message in the `final_answer` phase, else
/// the last agent message (what [`TurnResult::final_response`] holds).
pub fn final_answer(items: &[ThreadItem]) -> String {
    crate::thread::final_response(items)
}

/// The strict-mode schema of `T`, from `schemars`.
///
/// The generated schema is adjusted to what strict mode accepts without changing what `T`
/// decodes: every object lists all its properties in `required` (an `Option` field is
/// nullable instead of optional) and gets `additionalProperties: false`; `oneOf` becomes
/// `anyOf`; a `$ref` with sibling keywords is inlined; annotations strict mode rejects
/// (`$schema`, `default`, `examples`, `deprecated`, `readOnly`, `writeOnly`, `uniqueItems`,
/// numeric `format`s such as `uint32`) are dropped. What remains is checked with
/// [`check_strict`]: maps (`additionalProperties` with a schema), `serde_json::Value` fields
/// and length limits are reported as [`Error::InvalidSchema`].
pub fn schema_for<T: JsonSchema>() -> Result<Value> {
    let mut schema: Value = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .into();
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
    }
    strictify(&mut schema, &defs, 0);
    check_strict(&schema)?;
    Ok(schema)
}

/// Adjusts a generated schema node (see [`schema_for`]).
fn strictify(node: &mut Value, defs: &Value, depth: usize) {
    let Value::Object(map) = node else { return };
    // A `$ref` with siblings: inline the target, the siblings win. Bounded for recursive types.
    if map.len() > 1
        && depth < 32
        && let Some(target) = map
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve_local(defs, r))
    {
        let mut merged = match target {
            Value::Object(target) => target.clone(),
            _ => Map::new(),
        };
        map.remove("$ref");
        for (key, value) in std::mem::take(map) {
            merged.insert(key, value);
        }
        *map = merged;
        strictify(node, defs, depth + 1);
        return;
    }
    for key in [
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "uniqueItems",
    ] {
        map.remove(key);
    }
    if map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !FORMATS.contains(&f))
    {
        map.remove("format");
    }
    if let Some(one_of) = map.remove("oneOf") {
        map.insert("anyOf".into(), one_of);
    }
    let is_object = map.contains_key("properties") || type_includes(map.get("type"), "object");
    if is_object {
        let names: Vec<Value> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().map(Value::String).collect())
            .unwrap_or_default();
        map.entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        map.insert("required".into(), Value::Array(names));
        map.entry("additionalProperties")
            .or_insert(Value::Bool(false));
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Value::Object(children) = value {
                    for child in children.values_mut() {
                        strictify(child, defs, depth);
                    }
                }
            }
            "items" | "additionalProperties" => strictify(value, defs, depth),
            "anyOf" | "allOf" => {
                if let Value::Array(children) = value {
                    for child in children {
                        strictify(child, defs, depth);
                    }
                }
            }
            _ => {}
        }
    }
}

fn resolve_local<'a>(defs: &'a Value, reference: &str) -> Option<&'a Value> {
    let name = reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))?;
    defs.get(name.replace("~1", "/").replace("~0", "~"))
}

fn type_includes(ty: Option<&Value>, wanted: &str) -> bool {
    match ty {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

/// Checks that `schema` follows the Responses API's strict-mode rules:
///
/// * the root is an object schema (`"type": "object"`, not `anyOf`);
/// * every object schema has `additionalProperties: false` and lists every property in
///   `required` (make a property nullable, `"type": ["string", "null"]`, to allow no value);
/// * only supported keywords appear: `type`, `properties`, `required`,
///   `additionalProperties`, `items`, `enum`, `const`, `anyOf`, `$ref` (local, alone),
///   `$defs`/`definitions`, `description`, `title`, `$comment`, `pattern`, `format` (one of
///   `date-time`, `time`, `date`, `duration`, `email`, `hostname`, `ipv4`, `ipv6`, `uuid`),
///   `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minItems`,
///   `maxItems`, and `$schema`/`$id` at the root;
/// * every schema says what it accepts (`type`, `enum`, `const`, `anyOf` or `$ref`), arrays
///   have `items`;
/// * at most [`MAX_PROPERTIES`] properties, [`MAX_NESTING`] levels of objects and
///   [`MAX_ENUM_VALUES`] values per `enum`.
///
/// A violation is [`Error::InvalidSchema`] naming the JSON pointer of the offending node.
pub fn check_strict(schema: &Value) -> Result<()> {
    let mut checker = Checker { properties: 0 };
    checker.node(schema, "", 0, true)
}

struct Checker {
    properties: usize,
}

fn invalid(pointer: &str, reason: impl Into<String>) -> Error {
    Error::InvalidSchema {
        pointer: pointer.to_owned(),
        reason: reason.into(),
    }
}

fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

impl Checker {
    fn node(&mut self, node: &Value, pointer: &str, depth: usize, root: bool) -> Result<()> {
        let Value::Object(map) = node else {
            return Err(invalid(
                pointer,
                "a schema must be a JSON object (boolean schemas are not supported)",
            ));
        };
        for key in map.keys() {
            let allowed =
                KEYWORDS.contains(&key.as_str()) || (root && ROOT_KEYWORDS.contains(&key.as_str()));
            if !allowed {
                return Err(invalid(
                    &child(pointer, key),
                    format!("the keyword `{key}` is not supported in strict mode"),
                ));
            }
        }
        if let Some(reference) = map.get("$ref") {
            let Some(reference) = reference.as_str() else {
                return Err(invalid(&child(pointer, "$ref"), "must be a string"));
            };
            if !reference.starts_with('#') {
                return Err(invalid(
                    &child(pointer, "$ref"),
                    "only references inside the schema (`#…`) are supported",
                ));
            }
            if let Some(extra) = map.keys().find(|k| k.as_str() != "$ref")
                && !root
            {
                return Err(invalid(
                    &child(pointer, extra),
                    "`$ref` cannot have sibling keywords in strict mode; inline the definition",
                ));
            }
        }
        let types = self.types(map, pointer)?;
        if root {
            if map.contains_key("anyOf") {
                return Err(invalid(
                    &child(pointer, "anyOf"),
                    "the root must be an object, not `anyOf`",
                ));
            }
            if map.get("type").and_then(Value::as_str) != Some("object") {
                return Err(invalid(
                    &child(pointer, "type"),
                    "the root schema must have \"type\": \"object\"",
                ));
            }
        }
        let says_what = ["type", "enum", "const", "anyOf", "$ref"]
            .iter()
            .any(|k| map.contains_key(*k));
        if !says_what {
            return Err(invalid(
                pointer,
                "every schema needs `type`, `enum`, `const`, `anyOf` or `$ref` (an unconstrained value is not supported)",
            ));
        }
        let is_object = types.contains(&"object")
            || map.contains_key("properties")
            || map.contains_key("additionalProperties");
        if is_object {
            self.object(map, pointer, depth)?;
        }
        if types.contains(&"array") && !map.contains_key("items") {
            return Err(invalid(pointer, "an array schema needs `items`"));
        }
        if let Some(items) = map.get("items") {
            if !items.is_object() {
                return Err(invalid(
                    &child(pointer, "items"),
                    "must be one schema (tuples are not supported)",
                ));
            }
            self.node(items, &child(pointer, "items"), depth, false)?;
        }
        if let Some(any_of) = map.get("anyOf") {
            let pointer = child(pointer, "anyOf");
            let Some(options) = any_of.as_array().filter(|a| !a.is_empty()) else {
                return Err(invalid(&pointer, "must be a non-empty array of schemas"));
            };
            for (i, option) in options.iter().enumerate() {
                self.node(option, &child(&pointer, &i.to_string()), depth, false)?;
            }
        }
        if let Some(values) = map.get("enum") {
            let pointer = child(pointer, "enum");
            let Some(values) = values.as_array().filter(|a| !a.is_empty()) else {
                return Err(invalid(&pointer, "must be a non-empty array"));
            };
            if values.len() > MAX_ENUM_VALUES {
                return Err(invalid(
                    &pointer,
                    format!("has {} values; at most {MAX_ENUM_VALUES}", values.len()),
                ));
            }
        }
        for defs_key in ["$defs", "definitions"] {
            if let Some(defs) = map.get(defs_key) {
                let pointer = child(pointer, defs_key);
                let Some(defs) = defs.as_object() else {
                    return Err(invalid(&pointer, "must be an object of schemas"));
                };
                for (name, def) in defs {
                    self.node(def, &child(&pointer, name), depth, false)?;
                }
            }
        }
        if let Some(format) = map.get("format")
            && !format.as_str().is_some_and(|f| FORMATS.contains(&f))
        {
            return Err(invalid(
                &child(pointer, "format"),
                format!(
                    "the format {format} is not supported; use one of {}",
                    FORMATS.join(", ")
                ),
            ));
        }
        for text in ["description", "title", "$comment", "pattern"] {
            if map.get(text).is_some_and(|v| !v.is_string()) {
                return Err(invalid(&child(pointer, text), "must be a string"));
            }
        }
        for number in [
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ] {
            if map.get(number).is_some_and(|v| !v.is_number()) {
                return Err(invalid(&child(pointer, number), "must be a number"));
            }
        }
        for count in ["minItems", "maxItems"] {
            if map.get(count).is_some_and(|v| v.as_u64().is_none()) {
                return Err(invalid(
                    &child(pointer, count),
                    "must be a non-negative integer",
                ));
            }
        }
        Ok(())
    }

    fn types<'a>(&self, map: &'a Map<String, Value>, pointer: &str) -> Result<Vec<&'a str>> {
        let pointer = child(pointer, "type");
        let types: Vec<&str> = match map.get("type") {
            None => return Ok(Vec::new()),
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(list)) if !list.is_empty() => list
                .iter()
                .map(|t| {
                    t.as_str()
                        .ok_or_else(|| invalid(&pointer, "type names must be strings"))
                })
                .collect::<Result<_>>()?,
            Some(_) => {
                return Err(invalid(
                    &pointer,
                    "must be a type name or a non-empty array of them",
                ));
            }
        };
        if let Some(unknown) = types.iter().find(|t| !TYPES.contains(t)) {
            return Err(invalid(&pointer, format!("unknown type {unknown:?}")));
        }
        Ok(types)
    }

    fn object(&mut self, map: &Map<String, Value>, pointer: &str, depth: usize) -> Result<()> {
        if depth >= MAX_NESTING {
            return Err(invalid(
                pointer,
                format!("objects are nested deeper than {MAX_NESTING} levels"),
            ));
        }
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(invalid(
                &child(pointer, "additionalProperties"),
                "every object schema needs \"additionalProperties\": false (maps are not supported)",
            ));
        }
        let empty = Map::new();
        let properties = match map.get("properties") {
            None => &empty,
            Some(Value::Object(properties)) => properties,
            Some(_) => {
                return Err(invalid(
                    &child(pointer, "properties"),
                    "must be an object of schemas",
                ));
            }
        };
        let required: Vec<&str> = match map.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            Some(_) => {
                return Err(invalid(
                    &child(pointer, "required"),
                    "must be an array of property names",
                ));
            }
        };
        for name in properties.keys() {
            if !required.contains(&name.as_str()) {
                return Err(invalid(
                    &child(&child(pointer, "properties"), name),
                    format!(
                        "the property `{name}` must be listed in `required` (make its type nullable to allow no value)"
                    ),
                ));
            }
        }
        if let Some(extra) = required.iter().find(|r| !properties.contains_key(**r)) {
            return Err(invalid(
                &child(pointer, "required"),
                format!("names `{extra}`, which is not a property"),
            ));
        }
        self.properties += properties.len();
        if self.properties > MAX_PROPERTIES {
            return Err(invalid(
                pointer,
                format!("the schema has more than {MAX_PROPERTIES} properties in all"),
            ));
        }
        let properties_pointer = child(pointer, "properties");
        for (name, property) in properties {
            self.node(
                property,
                &child(&properties_pointer, name),
                depth + 1,
                false,
            )?;
        }
        Ok(())
    }
}

/// The message of a repair turn.
fn repair_prompt(errors: &[String]) -> String {
    format!(
        "{REPAIR_PROMPT}{}. Reply again with only a JSON value that matches the schema.",
        errors.join("; ")
    )
}

impl Thread {
    /// Runs a turn whose answer must be a `T`: the schema of `T` ([`schema_for`]) goes to
    /// codex, and the final answer is validated and decoded.
    ///
    /// An unusable schema is [`Error::InvalidSchema`] before any process starts; an answer
    /// that does not match is [`Error::SchemaMismatch`] (with the raw answer).
    pub async fn run_typed<T: JsonSchema + DeserializeOwned>(
        &self,
        input: impl Into<Input>,
    ) -> Result<Typed<T>> {
        self.run_typed_with(input, StructuredOptions::default())
            .await
    }

    /// [`Thread::run_typed`] with options (turn options, one repair turn).
    pub async fn run_typed_with<T: JsonSchema + DeserializeOwned>(
        &self,
        input: impl Into<Input>,
        options: StructuredOptions,
    ) -> Result<Typed<T>> {
        let input = input.into();
        let schema = OutputSchema::for_type::<T>()?;
        self.run_structured(input, &schema, options).await
    }

    /// Runs a turn whose answer must follow `schema` (checked with [`check_strict`] first) and
    /// returns the validated JSON value.
    pub async fn run_with_schema(
        &self,
        input: impl Into<Input>,
        schema: Value,
    ) -> Result<Typed<Value>> {
        let input = input.into();
        let schema = OutputSchema::new(schema)?;
        self.run_structured(input, &schema, StructuredOptions::default())
            .await
    }

    /// Runs a turn with a compiled schema and decodes the answer into `T`; the other
    /// structured methods end here.
    pub async fn run_structured<T: DeserializeOwned>(
        &self,
        input: impl Into<Input>,
        schema: &OutputSchema,
        options: StructuredOptions,
    ) -> Result<Typed<T>> {
        let turn_options = options
            .turn
            .clone()
            .with_output_schema(schema.as_value().clone());
        let turn = self.run_with(input, turn_options.clone()).await?;
        let errors = match schema.decode::<T>(&turn.final_response) {
            Ok(value) => {
                return Ok(Typed {
                    value,
                    raw: turn.final_response.clone(),
                    turn,
                    repaired: false,
                });
            }
            Err(Error::SchemaMismatch { errors, .. }) if options.repair => errors,
            Err(error) => return Err(error),
        };
        tracing::debug!(?errors, "the answer did not match the schema; asking again");
        let turn = self.run_with(repair_prompt(&errors), turn_options).await?;
        let value = schema.decode::<T>(&turn.final_response)?;
        Ok(Typed {
            value,
            raw: turn.final_response.clone(),
            turn,
            repaired: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn pointer_of(schema: Value) -> (String, String) {
        match check_strict(&schema) {
            Err(Error::InvalidSchema { pointer, reason }) => (pointer, reason),
            other => panic!("expected InvalidSchema, got {other:?}"),
        }
    }

    fn strict_object(properties: Value) -> Value {
        let names: Vec<String> = properties.as_object().unwrap().keys().cloned().collect();
        json!({"type": "object", "properties": properties, "required": names, "additionalProperties": false})
    }

    #[test]
    fn a_strict_schema_passes() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "who"},
                "age": {"type": ["integer", "null"], "minimum": 0},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "kind": {"enum": ["a", "b"]},
                "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}
            },
            "required": ["name", "age", "tags", "kind", "next"],
            "additionalProperties": false,
            "$defs": {"node": strict_object(json!({"id": {"type": "string", "format": "uuid"}}))}
        });
        check_strict(&schema).unwrap();
    }

    #[test]
    fn violations_name_their_pointer() {
        let (pointer, reason) = pointer_of(json!({
            "type": "object",
            "properties": {"inner": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}},
            "required": ["inner"],
            "additionalProperties": false
        }));
        assert_eq!(pointer, "/properties/inner/additionalProperties");
        assert!(reason.contains("additionalProperties"), "{reason}");

        let (pointer, _) = pointer_of(json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b/c": {"type": "string"}},
            "required": ["a"],
            "additionalProperties": false
        }));
        assert_eq!(pointer, "/properties/b~1c");

        let (pointer, _) = pointer_of(json!({
            "type": "object",
            "properties": {"a": {"type": "string", "minLength": 2}},
            "required": ["a"],
            "additionalProperties": false
        }));
        assert_eq!(pointer, "/properties/a/minLength");

        let (pointer, _) = pointer_of(json!({"anyOf": [{"type": "object"}]}));
        assert_eq!(pointer, "/anyOf");
        let (pointer, _) = pointer_of(json!({"type": "string"}));
        assert_eq!(pointer, "/type");
        let (pointer, _) = pointer_of(strict_object(json!({"x": {}})));
        assert_eq!(pointer, "/properties/x");
        let (pointer, _) = pointer_of(strict_object(json!({"x": {"type": "array"}})));
        assert_eq!(pointer, "/properties/x");
        let (pointer, _) = pointer_of(strict_object(
            json!({"x": {"type": "object", "additionalProperties": {"type": "string"}}}),
        ));
        assert_eq!(pointer, "/properties/x/additionalProperties");
        let (pointer, _) = pointer_of(strict_object(
            json!({"x": {"type": "string", "format": "uri"}}),
        ));
        assert_eq!(pointer, "/properties/x/format");
        let (pointer, _) = pointer_of(strict_object(json!({"x": {"oneOf": [{"type": "string"}]}})));
        assert_eq!(pointer, "/properties/x/oneOf");
    }

    #[test]
    fn nesting_and_size_limits() {
        let mut schema = strict_object(json!({"leaf": {"type": "string"}}));
        for _ in 0..MAX_NESTING {
            schema = strict_object(json!({"n": schema}));
        }
        let (pointer, reason) = pointer_of(schema);
        assert!(pointer.ends_with("/properties/n"), "{pointer}");
        assert!(reason.contains("nested"), "{reason}");
        let values: Vec<String> = (0..=MAX_ENUM_VALUES).map(|i| i.to_string()).collect();
        let (pointer, _) = pointer_of(strict_object(json!({"e": {"enum": values}})));
        assert_eq!(pointer, "/properties/e/enum");
    }

    #[allow(dead_code)]
    #[derive(Debug, serde::Deserialize, JsonSchema)]
    struct Report {
        /// The title.
        title: String,
        count: u32,
        note: Option<String>,
        #[serde(default)]
        tags: Vec<String>,
        kind: Kind,
        inner: Inner,
        ids: std::collections::BTreeSet<u8>,
    }

    #[allow(dead_code)]
    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Bug,
        Feature { size: u8 },
    }

    #[allow(dead_code)]
    #[derive(Debug, serde::Deserialize, JsonSchema)]
    struct Inner {
        ok: bool,
    }

    #[test]
    fn generated_schemas_are_strict_and_still_validate() {
        let schema = schema_for::<Report>().unwrap();
        assert_eq!(schema["additionalProperties"], json!(false));
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        required.sort_unstable();
        assert_eq!(
            required,
            ["count", "ids", "inner", "kind", "note", "tags", "title"]
        );
        assert!(schema.get("$schema").is_none());
        assert!(schema["properties"]["count"].get("format").is_none());
        let compiled = OutputSchema::new(schema).unwrap();
        let good = r#"{"title":"t","count":3,"note":null,"tags":[],"kind":{"feature":{"size":2}},"inner":{"ok":true},"ids":[1,2]}"#;
        let report: Report = compiled.decode(good).unwrap();
        assert_eq!(report.count, 3);
        let bad = r#"{"title":"t","count":-1,"note":null,"tags":[],"kind":"bug","inner":{"ok":true},"ids":[]}"#;
        match compiled.decode::<Report>(bad) {
            Err(Error::SchemaMismatch { raw, errors }) => {
                assert_eq!(raw, bad);
                assert!(
                    errors.iter().any(|e| e.starts_with("/count: ")),
                    "{errors:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        match compiled.decode::<Report>("no json here") {
            Err(Error::SchemaMismatch { errors, .. }) => {
                assert!(errors[0].contains("not JSON"), "{errors:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn maps_are_reported_with_their_pointer() {
        #[allow(dead_code)]
        #[derive(JsonSchema)]
        struct WithMap {
            counts: std::collections::HashMap<String, u32>,
        }
        match schema_for::<WithMap>() {
            Err(Error::InvalidSchema { pointer, .. }) => {
                assert_eq!(pointer, "/properties/counts/additionalProperties")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_repair_prompt_lists_the_errors() {
        assert_eq!(
            repair_prompt(&["/a: x".into(), "/b: y".into()]),
            "Your last answer did not match the schema: /a: x; /b: y. Reply again with only a JSON value that matches the schema."
        );
    }
}
