"""Runs one parity scenario through the official Python SDK (`openai-codex`, which drives
`codex app-server`) and prints the comparable record as one JSON object on stdout.

Usage: python run.py SPEC.json
SPEC: {codex_path, config_overrides: ["key=value"], env: {..}, model, workdir, sandbox,
       approval_policy, turns: [{prompt, image, output_schema, resume}]}
"""

import json
import re
import sys

from openai_codex import ApprovalMode, Codex, CodexConfig, LocalImageInput, Sandbox, TextInput

SANDBOXES = {
    "read-only": Sandbox.read_only,
    "workspace-write": Sandbox.workspace_write,
    "danger-full-access": Sandbox.full_access,
}


def snake(name):
    """`commandExecution` -> `command_execution`, `inProgress` -> `in_progress`."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower() if isinstance(name, str) else name


def text_of(content):
    return "".join(part.get("text", "") for part in content or [] if part.get("type") == "text")


def record_item(item):
    """The app-server item as the record's item: exec's type names and the fields users read."""
    kind = item.get("type")
    status = snake(item.get("status"))
    if kind == "agentMessage":
        return {"type": "agent_message", "text": item.get("text")}
    if kind == "reasoning":
        return {"type": "reasoning", "text": "\n".join(item.get("summary") or [])}
    if kind == "commandExecution":
        return {
            "type": "command_execution",
            "command": item.get("command"),
            "exit_code": item.get("exitCode"),
            "status": status,
        }
    if kind == "fileChange":
        changes = [
            {"path": change.get("path"), "kind": (change.get("kind") or {}).get("type")}
            for change in item.get("changes") or []
        ]
        return {"type": "file_change", "status": status, "changes": changes}
    if kind == "mcpToolCall":
        result = item.get("result")
        error = item.get("error")
        return {
            "type": "mcp_tool_call",
            "server": item.get("server"),
            "tool": item.get("tool"),
            "arguments": item.get("arguments"),
            "status": status,
            "result": text_of(result.get("content")) if result else None,
            "error": error.get("message") if error else None,
        }
    if kind == "userMessage":
        return {"type": "user_message", "text": text_of(item.get("content"))}
    return {"type": snake(kind)}


def record_usage(usage):
    """The thread's cumulative usage, as exec reports it."""
    if usage is None:
        return None
    total = usage.model_dump(mode="json", by_alias=True).get("total") or {}
    return {
        "input_tokens": total.get("inputTokens"),
        "cached_input_tokens": total.get("cachedInputTokens"),
        "output_tokens": total.get("outputTokens"),
        "reasoning_output_tokens": total.get("reasoningOutputTokens"),
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    config = CodexConfig(
        codex_bin=spec["codex_path"],
        config_overrides=tuple(spec["config_overrides"]),
        cwd=spec["workdir"],
        env=spec["env"],
    )
    thread_options = {"model": spec["model"], "cwd": spec["workdir"]}
    if spec.get("sandbox"):
        thread_options["sandbox"] = SANDBOXES[spec["sandbox"]]
    # The SDK knows two modes; `never` is its `deny_all`. Its default (`auto_review`) would
    # send every escalation to a reviewer model.
    thread_options["approval_mode"] = ApprovalMode.deny_all
    turns = []
    with Codex(config=config) as codex:
        thread = codex.thread_start(**thread_options)
        for turn in spec["turns"]:
            if turn.get("resume"):
                thread = codex.thread_resume(thread.id, **thread_options)
            run_input = [TextInput(turn["prompt"])]
            if turn.get("image"):
                run_input.append(LocalImageInput(turn["image"]))
            record = {
                "thread_id": thread.id,
                "status": "incomplete",
                "error": None,
                "final_response": None,
                "items": [],
                "user_messages": [],
                "usage": None,
            }
            try:
                result = thread.run(run_input, output_schema=turn.get("output_schema"))
                record["status"] = snake(getattr(result.status, "value", result.status))
                record["error"] = result.error.message if result.error else None
                record["final_response"] = result.final_response
                items = [record_item(i.model_dump(mode="json", by_alias=True)) for i in result.items]
                # The SDK also lists the turn's own input; exec has no such item, so it is
                # kept apart, where the comparison can name it.
                record["items"] = [i for i in items if i["type"] != "user_message"]
                record["user_messages"] = [i["text"] for i in items if i["type"] == "user_message"]
                record["usage"] = record_usage(result.usage)
            except RuntimeError as error:
                # How the SDK reports a failed turn: RuntimeError with codex's message.
                record["status"] = "failed"
                record["error"] = str(error)
            except Exception as error:  # the record says what happened; the run goes on
                record["status"] = "error"
                record["error"] = str(error)
            turns.append(record)
    sys.stdout.write(json.dumps({"turns": turns}) + "\n")


if __name__ == "__main__":
    main()
