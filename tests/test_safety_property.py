"""Issue 19's property: whatever OUT holds (links to a sibling folder, a stranger's files and
folders, wherever photokosh wants to write too), a sort changes nothing outside OUT and no
file inside OUT that is not photokosh's.

Each example builds an OUT from random entries at random places, optionally after a clean
run (the user then replaces what photokosh made), runs a sort with the fake face model, and
compares snapshots. A refusal (PhotokoshError) is a fine outcome; any other exception is not
(failures exit 1 with a message, never a traceback).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import tree_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safety_helpers import album, changes, outside, run, victim

from photokosh.errors import PhotokoshError

# Where photokosh writes (its state, person folders and copies, unknown/, no_faces/, blurred/,
# report and page) and a few places it does not.
PLACES = [".photokosh", ".photokosh/tmp", ".photokosh/thumbs", ".photokosh/lock",
          ".photokosh/state.db", "person_001", "person_001/sub", "person_001/a.jpg",
          "person_001/sub/c.jpg", "person_002", "person_002/d.jpg", "person_003", "no_faces",
          "no_faces/n.jpg", "unknown", "blurred", "blurred/a.jpg", "blurred/sub",
          "report.json", "index.html", "notes", "person_002/notes.txt"]
KINDS = ["link to the victim folder", "link to a victim file", "a stranger's file",
         "a stranger's folder"]


def private(rel: str) -> bool:
    """Inside photokosh's own state folder: links may be planted there, strangers' files
    are not (photokosh owns every name in it)."""
    return rel.startswith(".photokosh/")


def plant(out: Path, target: Path, entries: dict[str, str]) -> list[str]:
    """Create `entries` (place -> kind) in OUT, parents first; an entry below a link or a
    file is left out (it would be created through the link). Returns the places planted."""
    planted: list[str] = []
    for rel in sorted(entries, key=lambda r: r.count("/")):
        kind = entries[rel]
        if kind.startswith("a stranger") and private(rel):
            continue
        parents = [rel.rsplit("/", n)[0] for n in range(1, rel.count("/") + 1)]
        if any(os.path.islink(out / p) or (out / p).is_file() for p in parents):
            continue
        path = out / rel
        if path.is_symlink() or path.is_file():
            path.unlink()  # after a run: the user replaces what photokosh made
        elif path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "link to the victim folder":
            os.symlink(target, path)
        elif kind == "link to a victim file":
            os.symlink(target / "doc.txt", path)
        elif kind == "a stranger's file":
            path.write_bytes(f"a stranger's {rel}\n".encode())
        else:
            path.mkdir()
            (path / "mine.txt").write_text("a stranger's notes\n")
        planted.append(rel)
    return planted


def foreign(out: Path, planted: list[str]) -> dict[str, tuple]:
    """The planted entries and everything in the strangers' folders, as tree_state sees
    them (links by target, files by mode, mtime and bytes)."""
    state = tree_state(out)
    return {rel: what for rel, what in state.items()
            if any(rel == p or (rel.startswith(p + "/") and state[p][0] == "dir")
                   for p in planted) and what[0] != "dir"}


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.dictionaries(st.sampled_from(PLACES), st.sampled_from(KINDS),
                               min_size=1, max_size=4),
       after_a_run=st.booleans(), blur=st.booleans(), page=st.booleans(),
       link=st.sampled_from(["copy", "hard", "sym"]))
def test_nothing_outside_out_and_nothing_foreign_inside_changes(
        tmp_path_factory, entries, after_a_run, blur, page, link):
    root = tmp_path_factory.mktemp("tree")
    src, target = album(root), victim(root)
    out = root / "out"
    out.mkdir()
    if after_a_run:
        run(src, out, blur=blur, page=page, link=link)
    planted = plant(out, target, entries)
    before_outside, before_foreign = outside(root, out), foreign(out, planted)
    try:
        run(src, out, blur=blur, page=page, link=link)
    except PhotokoshError:
        pass  # a refusal: fine, if it touched nothing
    diff = changes(before_outside, outside(root, out))
    assert not diff, "outside OUT: " + "; ".join(diff)
    diff = changes(before_foreign, {rel: what for rel, what in tree_state(out).items()
                                    if rel in before_foreign})
    assert not diff, "a stranger's entry in OUT: " + "; ".join(diff)
    shutil.rmtree(root)
