"""The folders are a UI: at the start of a run, learn what the user did to the files
photokosh made in OUT, and turn it into corrections (undoable like those given by command).

- A person's folder renamed (gone, its files found in a folder photokosh did not make): the
  new folder's name names that person.
- A photo file moved from one person's folder into another's: that face moves to the other
  person; moved into unknown/: the face is not that person.
- A photo file deleted from a person's folder: nothing is learned. Deleting is also how
  people tidy up or free space, too weak a sign to take a face from someone for good; the
  run puts the file back, and `notme` is the way to say it. (docs/corrections.md)

An XMP sidecar moved along (its folder renamed, or by hand) teaches nothing; it is recorded
again at its new path like a photo, and the run rewrites it with the new names.

Files are recognised by inode and size, which a rename or move within OUT keeps. A file
found is recorded again at its new path, so it stays photokosh's (the run moves it to where
the layout wants it), never a stray copy.
"""

from __future__ import annotations

import logging
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import fsutil
from .layout import RESERVED, STATE_DIR, UNKNOWN
from .names import clean_name, unique_folders
from .state import State

log = logging.getLogger(__name__)


@dataclass
class Learned:
    kind: str  # "name", "move" or "notme"
    person: str  # whose folder the file was in
    to: str | None  # the new name, or the person the face moved to
    photo: str | None  # the photo (relative to PHOTOS) whose face moved
    face: int | None
    correction: int  # its id, for `photokosh undo`

    def plain(self) -> dict:
        return asdict(self)


def learn_from_folders(state: State, out: Path) -> list[Learned]:
    """Corrections learned from OUT's folders (recorded in `state`), in a stable order."""
    last = state.get_meta("last_run")
    if last is None:
        return []
    folders = unique_folders([(p.id, p.name) for p in state.people()])
    person_in = {folder: pid for pid, folder in folders.items()}
    recorded = state.outputs()
    missing = {rel: rec for rel, rec in sorted(recorded.items())
               if rec.done and rec.kind in ("photo", "xmp") and rel.split("/")[0] in person_in
               and fsutil.entry(out, rel) is None}
    if not missing:
        return []
    found = {}  # (inode, size) -> rel of files photokosh has no record of
    for rel in _files(out, ""):
        if rel not in recorded and (fp := fsutil.fingerprint(out, rel)) is not None:
            found.setdefault((fp[2], fp[0]), rel)
    faces = {}
    for f in state.current_faces(last["key"]):
        faces.setdefault(f.hash, []).append(f)
    learned: list[Learned] = []
    renamed: set[str] = set()
    with state.transaction():
        for old, rec in missing.items():
            new = found.pop((rec.ino, rec.size), None)
            if new is None:
                continue  # deleted: nothing learned (see above); the run restores it
            src, dst = old.split("/")[0], new.split("/")[0]
            pid = person_in[src]
            if rec.kind == "xmp":  # a sidecar moved with its folder or photo: nothing to learn
                if dst not in person_in and dst != UNKNOWN and (
                        dst in RESERVED or fsutil.entry(out, src) is not None):
                    continue
            elif dst not in person_in and dst not in RESERVED and fsutil.entry(out, src) is None:
                if src not in renamed:  # the whole folder was renamed
                    renamed.add(src)
                    learned.append(_name(state, pid, dst))
            elif dst in person_in and dst != src or dst == UNKNOWN:
                mine = [f for f in faces.get(rec.hash, []) if f.person == pid]
                to = person_in.get(dst)
                if len(mine) != 1 or any(f.person == to for f in faces.get(rec.hash, [])):
                    log.warning("moved by hand, not learned (say which face with `move`): %s",
                                new)
                    continue
                kind = "notme" if dst == UNKNOWN else "move"
                cid = state.add_correction(kind, mine[0].id, pid if kind == "notme" else to,
                                           "folder", time.time())
                learned.append(Learned(kind, pid, to, rec.source, mine[0].id, cid))
            else:
                continue  # moved within its folder, or somewhere else: the user's business
            # still photokosh's file, at its new path
            state.plan_outputs([(new, rec.source, rec.kind, rec.hash)], rec.mtime_ns or 0)
            state.done_outputs([(new, *fsutil.fingerprint(out, new))])
            state.drop_outputs([old])
    for item in learned:
        log.warning("learned from OUT's folders: %s", describe(item))
    return learned


def describe(item: Learned) -> str:
    if item.kind == "name":
        return f"{item.person} is named {item.to!r} (folder renamed)"
    if item.kind == "move":
        return f"{item.photo}: face {item.face} moved from {item.person} to {item.to}"
    return f"{item.photo}: face {item.face} is not {item.person} (moved to unknown/)"


def _name(state: State, pid: str, folder: str) -> Learned:
    was = next(p.name for p in state.people() if p.id == pid)
    name = clean_name(folder)
    state.set_name(pid, name)
    cid = state.add_correction("name", None, pid, "folder", time.time(),
                               {"name": name, "was": was})
    return Learned("name", pid, name, None, None, cid)


def _files(out: Path, rel: str):
    """Every file or link under OUT/rel, but photokosh's state folder; links to folders are
    not followed."""
    for name in sorted(fsutil.listdir(out, rel)):
        path = f"{rel}/{name}" if rel else name
        if path == STATE_DIR:
            continue
        st = fsutil.entry(out, path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            yield from _files(out, path)
        elif st is not None:
            yield path
