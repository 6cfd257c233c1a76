// Runs one parity scenario through the official TypeScript SDK (`@openai/codex-sdk`, which
// drives `codex exec`) and prints the comparable record as one JSON object on stdout.
//
// Usage: node run.mjs SPEC.json
// SPEC: {codex_path, config_overrides: ["key=value"], env: {..}, model, workdir, sandbox,
//        approval_policy, turns: [{prompt, image, output_schema, resume}]}
import { readFileSync } from "node:fs";
import { Codex } from "@openai/codex-sdk";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));

const codex = new Codex({
  codexPathOverride: spec.codex_path,
  configOverrides: spec.config_overrides,
  env: { ...process.env, ...spec.env },
});
const threadOptions = {
  model: spec.model,
  workingDirectory: spec.workdir,
  skipGitRepoCheck: true,
  ...(spec.sandbox ? { sandboxMode: spec.sandbox } : {}),
  ...(spec.approval_policy ? { approvalPolicy: spec.approval_policy } : {}),
};

function textOf(content) {
  return (content ?? [])
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
}

// The exec item as the record's item: its type and the fields users read.
function recordItem(item) {
  switch (item.type) {
    case "agent_message":
    case "reasoning":
      return { type: item.type, text: item.text };
    case "command_execution":
      return {
        type: item.type,
        command: item.command,
        exit_code: item.exit_code ?? null,
        status: item.status,
      };
    case "file_change":
      return {
        type: item.type,
        status: item.status,
        changes: item.changes.map((c) => ({ path: c.path, kind: c.kind })),
      };
    case "mcp_tool_call":
      return {
        type: item.type,
        server: item.server,
        tool: item.tool,
        arguments: item.arguments ?? null,
        status: item.status,
        result: item.result ? textOf(item.result.content) : null,
        error: item.error?.message ?? null,
      };
    case "error":
      return { type: item.type, message: item.message };
    default:
      return { type: item.type };
  }
}

function recordUsage(usage) {
  if (!usage) return null;
  return {
    input_tokens: usage.input_tokens,
    cached_input_tokens: usage.cached_input_tokens,
    output_tokens: usage.output_tokens,
    reasoning_output_tokens: usage.reasoning_output_tokens,
  };
}

let thread = codex.startThread(threadOptions);
const turns = [];
for (const turn of spec.turns) {
  if (turn.resume) {
    thread = codex.resumeThread(thread.id, threadOptions);
  }
  const input = turn.image
    ? [
        { type: "text", text: turn.prompt },
        { type: "local_image", path: turn.image },
      ]
    : turn.prompt;
  const record = {
    thread_id: null,
    status: "incomplete",
    error: null,
    final_response: null,
    items: [],
    usage: null,
  };
  try {
    const { events } = await thread.runStreamed(
      input,
      turn.output_schema ? { outputSchema: turn.output_schema } : {},
    );
    for await (const event of events) {
      if (event.type === "thread.started") {
        record.thread_id = event.thread_id;
      } else if (event.type === "item.completed") {
        record.items.push(recordItem(event.item));
        if (event.item.type === "agent_message") record.final_response = event.item.text;
      } else if (event.type === "turn.completed") {
        record.status = "completed";
        record.usage = recordUsage(event.usage);
      } else if (event.type === "turn.failed") {
        record.status = "failed";
        record.error = event.error?.message ?? null;
      }
    }
  } catch (error) {
    // The SDK throws when codex exits non-zero, also after a reported `turn.failed`.
    if (record.status === "incomplete") record.status = "error";
    record.error ??= String(error?.message ?? error);
  }
  record.thread_id ??= thread.id;
  turns.push(record);
}
process.stdout.write(JSON.stringify({ turns }) + "\n");
