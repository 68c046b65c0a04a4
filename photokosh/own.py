"""photokosh's own files at the top of OUT, report.json and index.html: replaced only when the
state records them as written by photokosh, exactly as they are now.

Scripts read OUT/report.json, so a file there that photokosh did not write (the user's own,
a link, a folder) is never replaced nor written elsewhere: the run is refused before it
changes anything, with a message that names the file.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from . import fsutil
from .errors import PhotokoshError
from .layout import PAGE, REPORT
from .page import MARKER
from .state import State

_META = "own_files"


def wanted(page: bool) -> list[str]:
    return [REPORT, PAGE] if page else [REPORT]


def check(out: Path, state: State | None, rels: list[str]) -> None:
    """Refuse when one of `rels` holds something photokosh cannot replace. `state`: OUT's
    state, or None on a first run (then any file there is the user's)."""
    for rel in rels:
        if fsutil.entry(out, rel) is None or is_own(out, state, rel):
            continue
        raise PhotokoshError(
            f"{Path(out) / rel} was not written by photokosh (or was changed since): "
            "photokosh never replaces a file it did not write. Move it away, or choose "
            "another -o OUT; this run changed nothing")


def is_own(out: Path, state: State | None, rel: str) -> bool:
    """OUT/rel is a file photokosh wrote, as it left it."""
    st = fsutil.entry(out, rel)
    if state is None or st is None or not stat.S_ISREG(st.st_mode):
        return False
    recorded = state.get_meta(_META, {})
    if rel in recorded:
        return recorded[rel] == _fingerprint(st)
    return state.get_meta("last_run") is not None and _signed(out, rel)


def record(out: Path, state: State, rels: list[str]) -> None:
    """Remember `rels` as photokosh's own, as they are now (just written)."""
    recorded = state.get_meta(_META, {})
    for rel in rels:
        st = fsutil.entry(out, rel)
        if st is not None:
            recorded[rel] = _fingerprint(st)
    state.set_meta(_META, recorded)


def _fingerprint(st) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _signed(out: Path, rel: str) -> bool:
    """Written by a photokosh from before these records: it carries photokosh's mark."""
    try:
        text = (Path(out) / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if rel == PAGE:
        return MARKER in text
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return isinstance(document, dict) and "photokosh" in document and "schema" in document
