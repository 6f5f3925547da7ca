#!/usr/bin/env bash
# Checks the interactive circuit view in a real browser (headless Chromium), on large circuits of the graph
# of a 30-layer model with 9 query and 3 key-value heads (70,651 edges):
#   1. writes the check page of the Reports tests (random circuits of 2,000 and 600 edges, and a static one of
#      40) and draws the 2,000-edge circuit again through the CLI (`interp graph --circuit ... --html ...`);
#   2. checks that the pages name no URL but the SVG namespace and load nothing (no src=, <link>, @import);
#   3. opens each page with a probe script added (a copy; the pages themselves are untouched) that reports
#      into the DOM: no script errors, every explorer set up and drawn, the number of edges actually displayed
#      at first and with the slider at its ends and in the middle, and that clicking a node highlights its
#      paths; Chromium runs with every host name unresolvable and a network log, which must hold no request;
#   4. takes screenshots (the default view, a node selected after a search, zoomed in) to look at.
#
# Usage: scripts/check_circuit_view.sh [--pages-only|--no-build] [OUT_DIR]
#   default OUT_DIR .build/circuit-view-check (do not commit its files); --no-build checks the pages already
#   in OUT_DIR again (after editing them by hand, say); --pages-only stops after writing them.
# Builds as the project does (`swift build -c release --build-tests`), so that the test and CLI builds agree.
# Needs `chromium` (Debian: apt-get update && apt-get install -y chromium). Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
[[ "$mode" == --* ]] && shift || mode=""
out="$(realpath -m "${1:-.build/circuit-view-check}")"
mkdir -p "$out"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
    echo "check_circuit_view.sh: chromium not found (apt-get install -y chromium)" >&2
    exit 1
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The pages.
if [[ "$mode" != --no-build ]]; then
    log="$out/build.log"
    swift build -c release --build-tests >"$log" 2>&1 || { cat "$log" >&2; fail "the build failed"; }
    CIRCUIT_VIEW_PATH="$out/check.html" swift test -c release --skip-build --filter CircuitExplorerTests/checkPageForTheBrowser \
        >>"$log" 2>&1 || { cat "$log" >&2; fail "the check page could not be written"; }
    .build/release/interp graph --circuit "$out/check.json" --html "$out/graph.html" >>"$log" 2>&1 \
        || { cat "$log" >&2; fail "interp graph --html failed"; }
    [[ "$mode" == --pages-only ]] && exit 0
fi

# 2. Nothing to fetch.
for page in "$out/check.html" "$out/graph.html"; do
    urls="$(grep -oE 'https?://[^"'"'"' )<>]*' "$page" | sort -u)"
    [[ -z "$urls" || "$urls" == "http://www.w3.org/2000/svg" ]] || fail "$page names URLs: $urls"
    ! grep -qE 'src=|<link|@import|url\(' "$page" || fail "$page loads something"
done

# 3. In the browser. The probe runs after the page's own scripts (it is added at the end of the body).
probe='<script>
(function () {
  var lines = [], errors = window.cxErrors || [];
  function check(ok, what) { lines.push((ok ? "PASS " : "FAIL ") + what); }
  function displayed(figure) {
    var n = 0;
    figure.querySelectorAll("path.cx-edge").forEach(function (path) {
      if (getComputedStyle(path).display === "none") return;
      var box = path.getBBox();
      if (box.width + box.height > 0) n += 1;
    });
    return n;
  }
  function slide(figure, value) {
    var slider = figure.querySelector(".cx-slider");
    slider.value = value;
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    return displayed(figure);
  }
  var figures = document.querySelectorAll("figure.circuit-explorer");
  check(figures.length > 0, figures.length + " interactive circuit views");
  figures.forEach(function (figure, i) {
    var name = "view " + (i + 1) + ": ";
    var total = figure.querySelectorAll("path.cx-edge").length, initial = +figure.getAttribute("data-initial");
    check(figure.classList.contains("cx-ready"), name + "set up");
    var box = figure.querySelector(".cx-scene").getBoundingClientRect();
    check(box.width > 200 && box.height > 200, name + "drawn " + Math.round(box.width) + "x" + Math.round(box.height) + " px");
    check(total === +figure.getAttribute("data-edges"), name + total + " edges in the drawing");
    var first = displayed(figure);
    check(first === initial, name + first + " edges displayed at first (expected " + initial + "): " + figure.querySelector(".cx-status").textContent);
    var all = slide(figure, 1000), none = slide(figure, 0), half = slide(figure, 500);
    check(all === total, name + "slider at the right: " + all + " edges displayed");
    check(none === 1, name + "slider at the left: " + none + " edge displayed");
    check(half > 1 && half < total && half === +figure.getAttribute("data-visible"),
          name + "slider in the middle: " + half + " edges displayed, status: " + figure.querySelector(".cx-status").textContent);
    // The sender of the strongest edge into the logits lies on a path to the logits: clicking it lights that edge.
    slide(figure, 1000);
    var edge = figure.querySelector("path.cx-edge[data-kind=logits]:not(.cx-hidden)");
    var node = figure.querySelector("g.cx-node[data-id=\"" + edge.getAttribute("data-from") + "\"]");
    node.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    var lit = figure.querySelectorAll("path.cx-edge.cx-on").length;
    check(figure.classList.contains("cx-focused") && edge.classList.contains("cx-on") && lit < total,
          name + "clicking " + node.getAttribute("data-name") + " highlights " + lit + " edges on its paths, " + edge.getAttribute("data-name") + " among them");
    figure.querySelector(".cx-scene").dispatchEvent(new MouseEvent("click", { bubbles: true }));
    check(!figure.classList.contains("cx-focused"), name + "clicking the background clears it");
  });
  check(errors.length === 0, "script errors: " + JSON.stringify(errors));
  var fetched = performance.getEntriesByType("resource").map(function (entry) { return entry.name; });
  check(fetched.length === 0, "resources fetched: " + JSON.stringify(fetched));
  var pre = document.createElement("pre");
  pre.id = "check-result";
  pre.textContent = lines.join("\n");
  document.body.appendChild(pre);
})();
</script>'
catcher='<script>window.cxErrors = []; window.addEventListener("error", function (e) { window.cxErrors.push(String(e.message)); });</script>'

# `with_script PAGE SCRIPT COPY`: COPY is PAGE with the error catcher first in <head> and SCRIPT last in <body>.
with_script() {
    CATCHER="$catcher" SCRIPT="$2" awk '
        /^<head>$/ { print; print ENVIRON["CATCHER"]; next }
        /^<\/body>$/ { print ENVIRON["SCRIPT"] }
        { print }' "$1" >"$3"
}
chrome() {
    # Less background traffic of Chromium's own (it is told apart from the page's anyway, see page_requests).
    "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --host-resolver-rules="MAP * ~NOTFOUND" \
        --disable-background-networking --disable-component-update --disable-sync --disable-default-apps --no-first-run \
        --disable-features=SpellcheckService,OptimizationHints,MediaRouter,Translate --disable-client-side-phishing-detection \
        --virtual-time-budget=20000 "$@" 2>/dev/null
}

# Requests the page makes carry its origin as initiator ("null" for a file); Chromium's own background
# requests (updates, accounts) are "not an origin".
page_requests() { grep '"url":"http' "$1" | grep '"initiator":"' | grep -v '"initiator":"not an origin"' | grep -oE '"url":"[^"]*"' | sort -u || true; }

# The network check must see a page that does fetch.
echo '<!DOCTYPE html><img src="http://example.invalid/a.png"><script>fetch("https://example.invalid/b").catch(function () {});</script>' \
    >"$out/control.html"
chrome --log-net-log="$out/control-netlog.json" --dump-dom "file://$out/control.html" >/dev/null
[[ "$(page_requests "$out/control-netlog.json" | wc -l)" == 2 ]] || fail "the network log check does not see a page's requests"

status=0
for page in check graph; do
    with_script "$out/$page.html" "$probe" "$out/$page-probe.html"
    chrome --window-size=1400,1000 --log-net-log="$out/$page-netlog.json" --dump-dom "file://$out/$page-probe.html" >"$out/$page-dom.html"
    result="$(sed -n '/<pre id="check-result">/,/<\/pre>/p' "$out/$page-dom.html" | sed -e 's/.*<pre id="check-result">//' -e 's/<\/pre>.*//')"
    [[ -n "$result" ]] || { echo "FAIL $page: the probe reported nothing"; status=1; continue; }
    echo "$result" | sed -e "s/^/$page: /" -e 's/&gt;/>/g' -e 's/&lt;/</g' -e 's/&amp;/\&/g'
    grep -q '^FAIL' <<<"$result" && status=1
    requests="$(page_requests "$out/$page-netlog.json")"
    if [[ -n "$requests" ]]; then
        echo "FAIL $page: the page made requests: $requests"
        status=1
    else
        echo "$page: PASS no request from the page in Chromium's network log"
    fi
done

# 4. Screenshots, each of one section of the page (the rest hidden): as opened; after searching a node (selected
# and centred); the 600-edge circuit with the slider at the right, a node clicked and an edge hovered; the static
# drawing.
only() { echo "<script>document.querySelectorAll(\"main > *\").forEach(function (e, i) { if (e.id !== \"section-$1\") e.style.display = \"none\"; });</script>"; }
search='<script>
(function () {
  var search = document.querySelector(".cx-search");
  search.value = "a20.h4";
  search.dispatchEvent(new Event("input"));
  search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
})();
</script>'
clicked='<script>
(function () {
  var figure = document.querySelectorAll("figure.circuit-explorer")[1], slider = figure.querySelector(".cx-slider");
  slider.value = 1000;
  slider.dispatchEvent(new Event("input"));
  var edge = figure.querySelector("path.cx-edge[data-kind=logits]");
  figure.querySelector("g.cx-node[data-id=\"" + edge.getAttribute("data-from") + "\"]").dispatchEvent(new MouseEvent("click", { bubbles: true }));
  var box = edge.getBoundingClientRect();
  edge.dispatchEvent(new MouseEvent("mouseover", { bubbles: true, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 }));
})();
</script>'
with_script "$out/check.html" "$(only 1)" "$out/shot-default.html"
with_script "$out/check.html" "$(only 1)$search" "$out/shot-search.html"
with_script "$out/check.html" "$(only 2)$clicked" "$out/shot-clicked.html"
with_script "$out/check.html" "$(only 3)" "$out/shot-static.html"
for shot in default search clicked static; do
    chrome --window-size=1400,1000 --screenshot="$out/$shot.png" "file://$out/shot-$shot.html"
    echo "screenshot: $out/$shot.png"
done
exit $status
