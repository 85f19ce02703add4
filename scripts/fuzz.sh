#!/usr/bin/env bash
# Fuzzes the parsers that read untrusted input (docs/FUZZING.md), each target
# for SECONDS seconds, one after another, at the lowest CPU priority.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   run (default: 60 s, every target)
#   scripts/fuzz.sh merge [TARGET...]       add this run's coverage-increasing
#                                           inputs to the corpus kept in the repo
#   scripts/fuzz.sh list                    the targets
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); the
# stable build and CI never touch fuzz/. New inputs go to target/fuzz-corpus/,
# never straight into the repo: `merge` adds only those that reach new code.
# A crash, a hang over 25 s or more than 2 GiB of memory (an allocation bomb)
# stops a target; the input is saved under fuzz/artifacts/TARGET/ and the
# script exits non-zero after running the rest. Turn every one into a
# regression test in the normal suite before fixing it.
set -uo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN="${FUZZ_TOOLCHAIN:-+nightly}"
TARGETS=(client_frame import_csv import_xlsx event_toml)
SCRATCH="target/fuzz-corpus"
LIBFUZZER_FLAGS=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=25 -print_final_stats=1)

if ! cargo "$TOOLCHAIN" fuzz --version >/dev/null 2>&1; then
  echo "error: cargo-fuzz on the $TOOLCHAIN toolchain is missing: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 2
fi

fuzz() {
  nice -n 19 cargo "$TOOLCHAIN" fuzz "$@"
}

case "${1:-}" in
  list)
    printf '%s\n' "${TARGETS[@]}"
    exit 0
    ;;
  merge)
    shift
    selected=("${@:-${TARGETS[@]}}")
    for t in "${selected[@]}"; do
      mkdir -p "$SCRATCH/$t"
      # The fewest inputs that reach every edge (hit counts ignored): a plain
      # -merge=1 of a 7-minute run kept 1,770 frames for client_frame, this 512.
      fuzz run "$t" -- -merge=1 -set_cover_merge=1 -use_counters=0 \
        "fuzz/corpus/$t" "$SCRATCH/$t" "${LIBFUZZER_FLAGS[@]}" || exit 1
    done
    du -sh --apparent-size fuzz/corpus
    exit 0
    ;;
esac

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS] [TARGET...] | merge [TARGET...] | list" >&2
  exit 2
fi
shift || true
selected=("${@:-${TARGETS[@]}}")

failed=()
for t in "${selected[@]}"; do
  mkdir -p "$SCRATCH/$t" "target/fuzz-logs"
  log="target/fuzz-logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  echo "== $t for ${seconds}s (log: $log)"
  # One job: the machine is shared. The repo corpus is read, never written.
  fuzz run "$t" "$SCRATCH/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" "${LIBFUZZER_FLAGS[@]}" >"$log" 2>&1
  status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs)' "$log" | sed 's/^/   /'
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    echo "   FAILED (exit $status): see $log and fuzz/artifacts/$t/"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|thread .* panicked|artifact_prefix|Test unit written)' "$log" | head -5 | sed 's/^/   /'
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "crashed: ${failed[*]}" >&2
  exit 1
fi
