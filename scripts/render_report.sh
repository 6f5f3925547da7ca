#!/usr/bin/env bash
# Renders an HTML report to a PNG screenshot with headless Chromium, to look at a report without a browser.
#
# Usage:
#   scripts/render_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]   # default OUT: REPORT.png, size 1400x2000
#   scripts/render_report.sh --sample [OUT.png] [WIDTHxHEIGHT]      # first writes the sample report of the
#                                                                   # Reports tests (every view, a small
#                                                                   # random model) to .build/sample-report.html
# The screenshot is the top WIDTH x HEIGHT pixels of the page; pass a larger height to see more of it.
# Needs `chromium` (Debian/Ubuntu: apt-get install -y chromium). Nothing is downloaded at run time.
# Do not commit the PNG or HTML files this produces.
set -euo pipefail

if [[ "${1:-}" == "--sample" ]]; then
    shift
    cd "$(dirname "$0")/.."
    report="$PWD/.build/sample-report.html"
    log="$(mktemp)"
    if ! SAMPLE_REPORT_PATH="$report" swift test -c release --filter SampleReportTests >"$log" 2>&1; then
        cat "$log" >&2
        exit 1
    fi
    rm -f "$log"
else
    report="$(realpath "${1:?usage: render_report.sh REPORT.html|--sample [OUT.png] [WIDTHxHEIGHT]}")"
    shift
fi
out="$(realpath -m "${1:-${report%.html}.png}")"
size="${2:-1400x2000}"

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
    echo "render_report.sh: chromium not found (apt-get install -y chromium)" >&2
    exit 1
fi
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$out" \
    --window-size="${size/x/,}" "file://$report" 2>/dev/null
echo "$out"
