#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (address sanitizer on) and runs them.
#
#   scripts/fuzz.sh [target|all] [seconds per target]      e.g.  nice -n 19 scripts/fuzz.sh fuzz-safetensors 600
#
# Targets: fuzz-safetensors, fuzz-tokenizer-json, fuzz-tokenizer-encode, fuzz-task-file, fuzz-circuit-file, fuzz-gguf
# (default: all, one after the other; 60 seconds each). Each run starts from the committed seeds in
# Fuzz/Corpus/<target>/ plus the inputs earlier runs found (Fuzz/.build/corpus/<target>/, not committed).
# A crashing, hanging (over 60 s, generous for a busy machine) or memory-hungry (over 2 GB) input stops the run
# and is written to Fuzz/.build/crashes/<target>/. Replay it with Fuzz/.build/release/<target> <file>; shrink it
# with Fuzz/.build/release/<target> -minimize_crash=1 -max_total_time=60 -exact_artifact_path=small <file>.
# Extra libFuzzer flags can be given in FUZZ_FLAGS. Needs a Swift toolchain for Linux with libFuzzer and lld
# (the swift.org ones have both; gold fails to link these programs).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/Fuzz"
all=(fuzz-safetensors fuzz-tokenizer-json fuzz-tokenizer-encode fuzz-task-file fuzz-circuit-file fuzz-gguf)
target="${1:-all}"
seconds="${2:-60}"
if [[ "$target" == all ]]; then targets=("${all[@]}"); else targets=("$target"); fi
for name in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $name "* ]] || { echo "unknown target '$name' (known: ${all[*]})" >&2; exit 2; }
done

# SwiftPM can keep a stale list of the main package's source files in this package's build plan (a file added
# there is then missing here); planning again is cheap.
rm -f "$fuzz"/.build/*/release/description.json
(cd "$fuzz" && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)

for name in "${targets[@]}"; do
    corpus="$fuzz/.build/corpus/$name"
    crashes="$fuzz/.build/crashes/$name"
    mkdir -p "$corpus" "$crashes"
    echo "== $name: ${seconds}s"
    # The Swift runtime's backtracer would otherwise race libFuzzer's own crash handling.
    SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp" "$fuzz/.build/release/$name" "$corpus" "$fuzz/Corpus/$name" \
        -dict="$fuzz/json.dict" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -max_len=8192 \
        -artifact_prefix="$crashes/" -print_final_stats=1 ${FUZZ_FLAGS:-}
done
