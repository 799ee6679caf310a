#!/usr/bin/env bash
# make report-check: open an evaluation report in a real headless Chromium
# and take a screenshot of it. REPORT defaults to a demo report of tiny
# random models; installs Debian's chromium when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
report=${REPORT:-}
if [ -z "$report" ]; then
  rm -rf tmp/report-demo
  go run ./bench/reportdemo -out tmp/report-demo
  report=tmp/report-demo/report.html
fi
if ! command -v chromium >/dev/null; then
  echo "report-check: installing Debian's chromium" >&2
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
shot=${SHOT:-$(dirname "$report")/report.png}
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1200,1400 --screenshot="$shot" "file://$(realpath "$report")" 2>/dev/null
rm -rf "$profile"
test -s "$shot" || { echo "report-check: no screenshot" >&2; exit 1; }
# the DOM as Chromium parsed it must hold both tables and the image grids
dom=$(chromium --headless --no-sandbox --disable-gpu --disable-background-networking --user-data-dir="$(mktemp -d)" --dump-dom "file://$(realpath "$report")" 2>/dev/null)
grep -q 'id="summary"' <<<"$dom" && grep -q 'id="subjects"' <<<"$dom" && grep -q 'data:image/png;base64' <<<"$dom" \
  || { echo "report-check: the report lacks its tables or images" >&2; exit 1; }
echo "report-check: $report renders; screenshot $shot"
