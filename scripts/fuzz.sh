#!/usr/bin/env bash
# Runs one cargo-fuzz target of fuzz/ for a number of seconds (docs/fuzzing.md).
#
#   scripts/fuzz.sh TARGET [SECONDS] [LIBFUZZER_ARGS...]
#   scripts/fuzz.sh list
#
# TARGET is an2_roundtrip or wsq_decode; SECONDS defaults to 600. SECONDS=0 only replays the committed seeds, the
# generated corpus and fuzz/regressions/TARGET once (a quick regression check) and fuzzes nothing.
# Installs cargo-fuzz with `cargo install cargo-fuzz` when it is missing. Works on stable Rust: the nightly flags
# cargo-fuzz passes (-Zsanitizer=...) are allowed through RUSTC_BOOTSTRAP=1.
#
# Environment:
#   FUZZ_SANITIZER    address (default) or none: `none` is about twice as fast and enough for the parser crates,
#                     which forbid unsafe code; use it too if ASan fails to link on your toolchain
#   FUZZ_JOBS         parallel libFuzzer jobs (default 1; the machine has 2 cores shared with others)
#   FUZZ_SKIP_REGRESSIONS  1 leaves fuzz/regressions/TARGET out (an unfixed regression stops the run at start-up)
#   CARGO_TARGET_DIR  build directory (cargo-fuzz default: fuzz/target)
#
# The generated corpus goes to fuzz/corpus/TARGET and crash inputs to fuzz/artifacts/TARGET (both git-ignored);
# a crash ends the run with a non-zero status. Minimise one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin TARGET fuzz/artifacts/TARGET/crash-...
# and keep it under fuzz/regressions/TARGET/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes -Z flags; on a stable toolchain they need the bootstrap escape hatch.
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

target="${1:-}"
if [[ -z "$target" || "$target" == "-h" || "$target" == "--help" ]]; then
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
if [[ "$target" == "list" ]]; then
    cargo fuzz list
    exit 0
fi
shift
seconds="${1:-600}"
[[ $# -gt 0 ]] && shift

case "$target" in
    an2_roundtrip) max_len=16384 ;;
    wsq_decode) max_len=8192 ;;
    *)
        echo "fuzz.sh: unknown target '$target' (try: scripts/fuzz.sh list)" >&2
        exit 2
        ;;
esac

corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
inputs=("$corpus" "fuzz/seeds/$target")
[[ -d "fuzz/regressions/$target" && "${FUZZ_SKIP_REGRESSIONS:-}" != 1 ]] && inputs+=("fuzz/regressions/$target")

if [[ "$seconds" == 0 ]]; then
    limits=(-runs=0)
else
    limits=(-max_total_time="$seconds")
fi

# One job is libFuzzer's plain single-process mode (-jobs=1 would fork one worker and send its output to
# ./fuzz-0.log instead of the terminal); more jobs get one worker each.
jobs="${FUZZ_JOBS:-1}"
parallel=()
[[ "$jobs" -gt 1 ]] && parallel=(-jobs="$jobs" -workers="$jobs")
exec cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" "$target" "${inputs[@]}" -- \
    -max_len="$max_len" -print_final_stats=1 "${limits[@]}" "${parallel[@]}" "$@"
