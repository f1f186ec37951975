#!/usr/bin/env bash
# `tally report`'s page in a real browser: headless Chromium loads it from a file, runs its
# script and dumps the resulting DOM. The page ships its charts as empty <svg> elements plus a
# JSON island, so the stacked tag areas, phase bands and peak marker checked below exist only if
# the script ran without error.
#   report_browser_test.sh TALLY_BINARY
set -uo pipefail
tally="$1"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "FAIL: chromium is not installed; scripts/test.sh installs it (apt-get install chromium)"
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/expect.sh"

if ! "$tally" train --model mlp --steps 2 --batch 16 --dataset synthetic --optimizer adamw \
  --trace "$work/t.csv" >/dev/null 2>&1 ||
  ! "$tally" report "$work/t.csv" -o "$work/r.html" >/dev/null 2>&1; then
  echo "FAIL: could not record a trace and render its report"
  exit 1
fi
if grep -qE '<path class="tag-area|<line id="peak-marker"' "$work/r.html"; then
  echo "FAIL: the page draws statically, so this test cannot tell whether its script ran"
  exit 1
fi

dump_dom() {  # dump_dom PAGE OUT: the DOM after the page's scripts ran
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --user-data-dir="$work/profile" \
    --enable-logging=stderr --v=0 --dump-dom "file://$1" >"$2" 2>"$work/browser.log"
  local status=$?
  if [ "$status" -ne 0 ] || [ ! -s "$2" ]; then
    echo "FAIL: chromium exited $status without a DOM for $1:"
    tail -20 "$work/browser.log"
    exit 1
  fi
  if grep -q "CONSOLE.*Uncaught" "$work/browser.log"; then
    fail "the page's script threw: $(grep "CONSOLE.*Uncaught" "$work/browser.log" | head -3)"
  fi
}
dump_dom "$work/r.html" "$work/dom.html"

dom="$work/dom.html"
for tag in parameter gradient optimizer activation; do
  grep -q "<path class=\"tag-area tag-$tag\" d=\"M" "$dom" || fail "no stacked $tag area"
done
grep -q '<path class="reserved-line" d="M' "$dom" || fail "no reserved line"
for phase in forward backward optimizer; do
  grep -q "<rect class=\"phase phase-$phase\"" "$dom" || fail "no $phase band"
done
grep -q '<line id="peak-marker" class="peak-marker"' "$dom" || fail "no peak marker"
grep -qE '<text id="peak-label"[^>]*>peak [0-9.]+ [KM]iB \([a-z]+\)</text>' "$dom" ||
  fail "no peak label"
grep -q '<rect class="segment"' "$dom" || fail "no segment in the segment map"
grep -q '<rect class="block tag-' "$dom" || fail "no block in the segment map"
grep -qE 'id="segments-note">[0-9]+ of [0-9]+ segments' "$dom" || fail "no segment map note"

# Zoom: a drag across part of the timeline redraws it over that range of events.
sed 's|</body>|<script>\
const box = document.getElementById("timeline").getBoundingClientRect();\
const at = (f) => ({clientX: box.left + box.width * f, clientY: box.top + 40, bubbles: true});\
document.getElementById("timeline").dispatchEvent(new MouseEvent("mousedown", at(0.3)));\
window.dispatchEvent(new MouseEvent("mouseup", at(0.6)));\
</script></body>|' "$work/r.html" >"$work/drag.html"
dump_dom "$work/drag.html" "$work/drag-dom.html"
grep -qE 'events [0-9]+-[0-9]+ shown: double-click to zoom out</text>' "$work/drag-dom.html" ||
  fail "dragging across the timeline does not zoom in"
grep -q '<path class="tag-area tag-parameter" d="M' "$work/drag-dom.html" ||
  fail "the zoomed timeline lost its tag areas"

if [ "$failures" -ne 0 ]; then
  echo "$failures browser checks failed; the DOM begins:"
  head -c 2000 "$dom"
  exit 1
fi
echo "all browser checks passed"
