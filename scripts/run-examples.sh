#!/usr/bin/env bash
# Runs every example of the codexkit crate offline (against the testkit mock model and the real
# pinned codex binary) and checks that each prints its expected final line.
#
#   scripts/run-examples.sh            # all examples
#   scripts/run-examples.sh basic ...  # only these
#
# Needs the pinned codex: CODEXKIT_CODEX_PATH, or a prior `cargo run -p codexkit-cli -- install`.
# Exits non-zero if any example fails or its expected text is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
unset CODEXKIT_REAL

# name|extra args|text the output must contain (grep -E)
EXAMPLES=(
  "basic||^final answer: The command printed: .*hello from the sandbox"
  "streaming||^streaming done: [1-9][0-9]* deltas received"
  "resume||^history carried over: true"
  "resume||^resumed .*: The code word was walnut"
  "structured_output||^typed title: Parser rewrite"
  "approvals||^allowed.txt exists: true, refused.txt exists: false"
  "approvals||^approvals done: 1 accepted, 1 declined"
  "attachments||^model received an image: true"
  "attachments||^attachments answer: The report says:"
  "concurrent_threads||^concurrent threads done: 4/4"
  "remote_app_server||^remote answer: Hello over the WebSocket."
  "testing_with_testkit||^testkit checks passed: 2"
  "tools||^2 \\+ 3 gives \\{\"sum\":5\\}"
  "tools|app-server|^2 \\+ 3 gives \\{\"sum\":5\\}"
)

want=("$@")
selected() {
  [ ${#want[@]} -eq 0 ] && return 0
  local n
  for n in "${want[@]}"; do [ "$n" = "$1" ] && return 0; done
  return 1
}

cargo build -q -p codexkit --examples
examples_dir="${CARGO_TARGET_DIR:-target}/debug/examples"
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT
failed=0
declare -A ran
for entry in "${EXAMPLES[@]}"; do
  IFS='|' read -r name args expect <<<"$entry"
  selected "$name" || continue
  key="$name|$args"
  log="$out_dir/${name}${args:+-$args}.log"
  if [ -z "${ran[$key]:-}" ]; then
    ran[$key]=1
    # shellcheck disable=SC2086
    if ! timeout 300 "$examples_dir/$name" $args >"$log" 2>&1; then
      echo "FAIL $name $args: exited non-zero"
      sed 's/^/    /' "$log" | tail -20
      failed=1
      ran[$key]=failed
      continue
    fi
  fi
  [ "${ran[$key]}" = failed ] && continue
  if grep -Eq -- "$expect" "$log"; then
    echo "ok   $name${args:+ $args}: $(grep -E -- "$expect" "$log" | tail -1 | cut -c1-100)"
  else
    echo "FAIL $name $args: expected /$expect/ in its output"
    sed 's/^/    /' "$log" | tail -20
    failed=1
  fi
done
exit $failed
