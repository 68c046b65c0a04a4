#!/usr/bin/env bash
# Nightly sort of a growing photo library, for cron:
#   15 3 * * *  /path/to/photokosh/examples/nightly-cron.sh ~/Pictures ~/People
# Only new and changed photos are analysed; people keep their ids and names.
# Exit codes: 0 done, 3 some files skipped (--strict; see report.json "errors"),
# 4 another run is still working on OUT (this one did nothing), 1 failure, 2 usage error.
set -uo pipefail
photos=${1:?usage: nightly-cron.sh PHOTOS OUT}
out=${2:?usage: nightly-cron.sh PHOTOS OUT}
cd "$(dirname "$0")/.." || exit 1

uv run --quiet photokosh sort "$photos" -o "$out" --strict --quiet --json > "$out.last-run.json"
code=$?
case $code in
    0) ;;
    3) echo "photokosh: some photos were skipped:" >&2
       jq -r '.errors[] | "\(.path): \(.reason)"' "$out.last-run.json" >&2 ;;
    4) echo "photokosh: previous run still busy; skipped tonight" >&2; code=0 ;;
    *) echo "photokosh failed with exit code $code" >&2 ;;
esac
exit $code
