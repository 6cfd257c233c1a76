//! The app-server transport's side of host tools: `thread/start.dynamicTools` and the answers
//! to `item/tool/call` requests.

use super::definition::ToolContent;
use super::registry::{RegisteredTool, ToolSet};
use super::runner::{self, CallRequest, CallResult, EventSink};
use serde_json::{Value, json};
use std::sync::Arc;

/// The `dynamicTools` of `thread/start` for a set: top-level tools as function tools, each
/// namespace as a namespace tool.
pub(crate) fn dynamic_tools(set: &ToolSet) -> Vec<Value> {
    let mut specs: Vec<Value> = set.tools_in(None).iter().map(function_spec).collect();
    for namespace in set.namespaces() {
        let tools: Vec<Value> = set
            .tools_in(Some(&namespace))
            .iter()
            .map(function_spec)
            .collect();
        specs.push(json!({
            "type": "namespace",
            "name": namespace,
            "description": set.namespace_description(&namespace),
            "tools": tools,
        }));
    }
    specs
}

fn function_spec(registered: &Arc<RegisteredTool>) -> Value {
    let tool = &registered.tool;
    let mut schema = tool.input_schema.clone();
    // Keys that describe the document, not the arguments; the model does not need them.
    if let Some(map) = schema.as_object_mut() {
        map.remove("$schema");
        map.remove("title");
    }
    let description = if tool.description.is_empty() {
        tool.name.clone()
    } else {
        tool.description.clone()
    };
    json!({
        "type": "function",
        "name": tool.name,
        "description": description,
        "inputSchema": schema,
    })
}

/// Answers one `item/tool/call` request from `set`: the result for codex
/// (`{contentItems, success}`).
pub(crate) async fn answer_call(set: &ToolSet, params: &Value, events: &EventSink) -> Value {
    let text = |key: &str| params.get(key).and_then(Value::as_str).map(str::to_owned);
    let request = CallRequest {
        namespace: text("namespace"),
        name: text("tool").unwrap_or_default(),
        arguments: params.get("arguments").cloned().unwrap_or(Value::Null),
        call_id: text("callId"),
        thread_id: text("threadId"),
        turn_id: text("turnId"),
    };
    to_response(runner::run_call(set, request, events).await)
}

/// A call's result as a dynamic tool response.
pub(crate) fn to_response(result: CallResult) -> Value {
    match result {
        CallResult::Success(output) => {
            let mut items: Vec<Value> = output
                .content
                .iter()
                .map(|piece| match piece {
                    ToolContent::Text(text) => json!({"type": "inputText", "text": text}),
                    ToolContent::Image { data, mime_type } => json!({
                        "type": "inputImage",
                        "imageUrl": format!("data:{mime_type};base64,{}", ToolContent::base64(data)),
                    }),
                })
                .collect();
            if items.is_empty() {
                items.push(json!({"type": "inputText", "text": ""}));
            }
            json!({"contentItems": items, "success": true})
        }
        CallResult::Failure { message, .. } => json!({
            "contentItems": [{"type": "inputText", "text": message}],
            "success": false,
        }),
    }
}

/// The answer when the thread has no tool set at all.
pub(crate) fn no_tools_response(params: &Value) -> Value {
    let tool = params.get("tool").and_then(Value::as_str).unwrap_or("?");
    json!({
        "contentItems": [{"type": "inputText", "text": format!("no handler is registered for tool {tool}")}],
        "success": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{Tool, ToolOutput};

    #[test]
    fn specs_follow_the_experimental_schema() {
        let set = ToolSet::new();
        set.register(
            Tool::new("lookup")
                .description("Look up")
                .input_schema(json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T", "type": "object", "properties": {"city": {"type": "string"}}}))
                .raw_handler(|_| async { Ok(ToolOutput::text("sunny")) }),
        )
        .unwrap();
        set.namespace("calc")
            .with_description("Calculator")
            .register(Tool::new("add").raw_handler(|_| async { Ok(ToolOutput::text("5")) }))
            .unwrap();
        assert_eq!(
            dynamic_tools(&set),
            [
                json!({"type": "function", "name": "lookup", "description": "Look up",
                       "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}),
                json!({"type": "namespace", "name": "calc", "description": "Calculator", "tools": [
                    {"type": "function", "name": "add", "description": "add",
                     "inputSchema": {"type": "object", "properties": {}}}
                ]}),
            ]
        );
    }

    #[test]
    fn results_become_content_items() {
        let image = ToolOutput::image(vec![1, 2, 3], "image/png").with_text("caption");
        assert_eq!(
            to_response(CallResult::Success(image)),
            json!({"contentItems": [
                {"type": "inputImage", "imageUrl": "data:image/png;base64,AQID"},
                {"type": "inputText", "text": "caption"},
            ], "success": true})
        );
        assert_eq!(
            to_response(CallResult::Failure {
                kind: runner::FailureKind::Denied,
                message: "no".into()
            }),
            json!({"contentItems": [{"type": "inputText", "text": "no"}], "success": false})
        );
    }
}
