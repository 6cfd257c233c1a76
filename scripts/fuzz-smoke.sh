#!/usr/bin/env bash
# Fuzzes codexkit's decoders.
#
# With a nightly toolchain and cargo-fuzz: seeds fuzz/corpus/<target>/ from the recorded
# transcripts, then runs `cargo fuzz run` for FUZZ_SECONDS (default 60) per target. A crash
# leaves its input in fuzz/artifacts/<target>/; copy it to fuzz/regressions/<target>/ so the
# stable smoke test replays it from then on.
#
# Without them: runs the stable smoke test instead (the same target functions on the corpus,
# the regressions and FUZZ_SMOKE_ITERATIONS deterministic mutations per target).
#
# Usage: scripts/fuzz-smoke.sh [TARGET...]     (default: every target)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(exec_decode_event jsonrpc_parse_incoming notification_from_parts normalizer_sequence)
fi

have_nightly() { cargo +nightly --version >/dev/null 2>&1; }
have_cargo_fuzz() { cargo fuzz --version >/dev/null 2>&1; }

if ! have_nightly || ! have_cargo_fuzz; then
  have_nightly || echo "== no nightly toolchain: running the stable smoke test instead"
  have_nightly && echo "== cargo-fuzz is not installed (cargo install cargo-fuzz): running the stable smoke test instead"
  exec cargo test -p codexkit-protocol --test fuzz_smoke
fi

echo "== seeding fuzz/corpus from fixtures/transcripts"
cargo +nightly fuzz build -O
build_dir="fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"
"$build_dir/seed_corpus" fixtures/transcripts/codex-0.171.0 fuzz/corpus

status=0
for target in "${targets[@]}"; do
  echo "== cargo fuzz run $target (${seconds}s)"
  regressions=()
  [ -d "fuzz/regressions/$target" ] && regressions=("fuzz/regressions/$target")
  if ! cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" "${regressions[@]}" -- \
      -max_total_time="$seconds" -max_len=262144 -timeout=10 -print_final_stats=1; then
    echo "!! $target found a failure; the input is in fuzz/artifacts/$target/"
    status=1
  fi
done
exit "$status"
