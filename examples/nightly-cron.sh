#!/usr/bin/env bash
# Nightly sort of a growing photo library, for cron:
#   15 3 * * *  /path/to/photokosh/examples/nightly-cron.sh ~/Pictures ~/People
# Cron runs it with almost no environment (PATH=/usr/bin:/bin, the working folder $HOME), so
# it needs neither uv nor the repository: install photokosh once with
#   uv tool install photokosh        (or: uv tool install /path/to/the/repository)
# and it is found in uv's tool folder ($XDG_BIN_HOME or ~/.local/bin); PHOTOKOSH=/path/to/it
# overrides. Only new and changed photos are analysed; people keep their ids and names, and
# OUT keeps the settings it was first sorted with (give options once, by hand, not here).
# Known-bad files are acknowledged in PHOTOS/.photokoshignore (gitignore patterns), so that
# --strict reports only new ones.
# Exit codes: 0 done, 3 new files skipped (--strict; listed on stderr), 4 another run is still
# working on OUT (this one did nothing; reported as 0), 5 refused: PHOTOS missing, empty or
# mostly gone (not mounted?), nothing changed, 1 failure, 2 usage error.
set -uo pipefail
usage="usage: nightly-cron.sh PHOTOS OUT"
photos=${1:?$usage}
out=${2:?$usage}
# No cd: relative arguments mean what they meant where the script was started.

photokosh=${PHOTOKOSH:-$(command -v photokosh || echo "${XDG_BIN_HOME:-$HOME/.local/bin}/photokosh")}
if [ ! -x "$photokosh" ]; then
    echo "photokosh: not found at $photokosh: install it with \`uv tool install photokosh\`," \
         "or set PHOTOKOSH=/path/to/photokosh in the crontab" >&2
    exit 1
fi

last="${out%/}.last-run.json"  # beside OUT: the report of the last run, for a look later
"$photokosh" sort "$photos" -o "$out" --strict --quiet --json > "$last.part"
code=$?
[ -s "$last.part" ] && mv -f "$last.part" "$last" || rm -f "$last.part"
case $code in
    0) ;;
    3) echo "photokosh: new files were skipped (acknowledge known ones in" \
            "$photos/.photokoshignore):" >&2
       if command -v jq > /dev/null; then
           jq -r '.errors[] | "  \(.path): \(.reason)"' "$last" >&2
       else
           echo "  see \"errors\" in $last" >&2
       fi ;;
    4) echo "photokosh: previous run still busy; skipped tonight" >&2; code=0 ;;
    5) echo "photokosh: refused to sort $photos (see above); nothing was changed" >&2 ;;
    *) echo "photokosh failed with exit code $code" >&2 ;;
esac
exit $code
