#!/usr/bin/env bash
# Peak resident memory and wall time of every analysis on one checkpoint, against its bytes on disk.
#
# Usage:
#   scripts/measure_large_model.sh DIR [COMMAND...]
#     DIR      a checkpoint written by scripts/make_bench_model.py (config.json, safetensors shards, the word-level
#              tokenizer and its IOI task.json), e.g. /tmp/interp-bench/llama-8b-shape-bf16
#     COMMAND  run only these rows (info run generate trace dla patch attribute eap eap-ig acdc); default: all
# Environment:
#   INTERP=path          the binary (default: .build/release/interp; build it with swift build -c release)
#   ACDC_SECONDS=120     ACDC is stopped after this many seconds (a full run at 8B takes days); its peak is the
#                        peak of the setup and of the tests run so far (the row says "stopped")
#   MEMORY_LIMIT=GB      passed as --memory-limit to every command
# Each command runs under /usr/bin/time -v on 4 prompts x 16 tokens of task.json (--limit 4); run, generate, trace
# and dla take its first clean prompt. The table gives wall time, peak RSS (VmHWM), RSS / checkpoint bytes on
# disk and the working memory (peak RSS - bytes on disk; the weights are memory-mapped, so every touched page
# of them counts in RSS). Logs go to $TMPDIR/measure-large-model.*/COMMAND.log.
# Needs GNU time (/usr/bin/time; Debian: apt-get install time).
set -euo pipefail

dir="$(realpath "${1:?usage: measure_large_model.sh DIR [COMMAND...]}")"
shift
interp="${INTERP:-$(dirname "$0")/../.build/release/interp}"
acdc_seconds="${ACDC_SECONDS:-120}"
task="$dir/task.json"
[[ -x "$interp" ]] || { echo "no interp binary at $interp (swift build -c release, or set INTERP)" >&2; exit 1; }
[[ -f "$task" ]] || { echo "$dir has no task.json (write the checkpoint with scripts/make_bench_model.py)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 1; }

disk=$(stat -c %s "$dir"/*.safetensors | awk '{ s += $1 } END { print s }')
prompt=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["examples"][0]["clean"])' "$task")
model=(--model "$dir")
[[ -n "${MEMORY_LIMIT:-}" ]] && model+=(--memory-limit "$MEMORY_LIMIT")
pairs=(--task "$task" --limit 4)
logs="$(mktemp -d "${TMPDIR:-/tmp}/measure-large-model.XXXXXX")"

declare -A commands=(
    [info]="info"
    [run]="run --prompt PROMPT"
    [generate]="generate --prompt PROMPT --max-tokens 4"
    [trace]="trace --prompt PROMPT --match resid_post"
    [dla]="dla --prompt PROMPT"
    [patch]="patch TASK --component resid_pre --positions END"
    [attribute]="attribute TASK"
    [eap]="eap TASK"
    [eap-ig]="eap TASK --ig-steps 3"
    [acdc]="acdc TASK --threshold 0.05"
)
order=(info run generate trace dla patch attribute eap eap-ig acdc)
(( $# > 0 )) && order=("$@")

awk -v d="$disk" -v dir="$dir" -v logs="$logs" 'BEGIN { printf "%s: %.2f GB on disk; logs in %s\n", dir, d / 1e9, logs }'
printf '%-10s %10s %12s %9s %12s  %s\n' command wall_s peak_RSS_GB RSS/disk working_GB note
for name in "${order[@]}"; do
    spec="${commands[$name]:?unknown command $name (one of ${order[*]})}"
    read -r -a words <<<"$spec"
    args=()
    for word in "${words[@]}"; do
        case "$word" in
            PROMPT) args+=("$prompt") ;;
            TASK) args+=("${pairs[@]}") ;;
            *) args+=("$word") ;;
        esac
    done
    cap=()
    [[ "$name" == acdc ]] && cap=(timeout --signal=INT "$acdc_seconds")
    log="$logs/$name.log"
    set +e
    /usr/bin/time -v "${cap[@]}" "$interp" "${args[@]:0:1}" "${model[@]}" "${args[@]:1}" --progress >"$log" 2>&1
    status=$?
    set -e
    peak_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$log" \
        | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    note=ok
    if [[ "$name" == acdc && $status -eq 124 ]]; then note="stopped after ${acdc_seconds} s"
    elif (( status != 0 )); then note="exit $status: $(grep -v '^\s' "$log" | grep -iv 'command exited\|command terminated' | tail -1 | cut -c1-80)"
    fi
    awk -v n="$name" -v w="$wall" -v kb="$peak_kb" -v d="$disk" -v note="$note" 'BEGIN {
        peak = kb * 1024; printf "%-10s %10.1f %12.2f %9.3f %12.2f  %s\n", n, w, peak / 1e9, peak / d, (peak - d) / 1e9, note }'
done
