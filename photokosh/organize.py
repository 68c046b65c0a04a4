"""Stage 5: lay the photos out in OUT and bring OUT in line with that layout.

The layout is computed from the catalogue alone; syncing compares it with the files photokosh
recorded as its own and adds, moves, replaces or removes only those. A file in OUT that
photokosh did not create is never touched: a layout entry that would land on it is reported.
Besides the photos, the layout holds their blurred copies (--blur) and XMP sidecars (--xmp):
every command that changes names or faces ends here, so this is where sidecars are kept current.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import blur, fsutil, images, xmp
from .catalog import Catalog
from .layout import NO_FACES, UNKNOWN, sidecar
from .records import Output, Region
from .state import State

CLOCK_SLACK_NS = 100_000_000
IN_THE_WAY = "a file photokosh did not create is in the way; it was left untouched"
IN_THE_WAY_MOVE = IN_THE_WAY + ": move it to make room"

log = logging.getLogger(__name__)


@dataclass
class Placed:
    """What one source photo contributes to the layout."""

    rel: str
    hash: str
    folders: list[str]  # person folders, or [UNKNOWN] / [NO_FACES]
    boxes: list[tuple[int, int, int, int]]  # every detected face, for blurring
    size: tuple[int, int] = (0, 0)  # displayed width and height
    named: list[Region] = field(default_factory=list)  # faces of named people, for XMP


@dataclass(frozen=True)
class Target:
    source: str
    kind: str  # "photo", "blur" or "xmp" (a sidecar: its hash is that of its content)
    hash: str
    regions: tuple = field(default=(), compare=False)  # xmp: (width, height, named faces)


@dataclass
class Changes:
    add: dict[str, Target] = field(default_factory=dict)
    move: dict[str, str] = field(default_factory=dict)  # new rel -> old rel
    move_to: dict[str, Target] = field(default_factory=dict)  # new rel -> what it holds
    remove: list[str] = field(default_factory=list)
    adopt: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # pending rows found done
    forget: list[str] = field(default_factory=list)  # records of files the user changed
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (out rel, reason)


def placements(catalog: Catalog) -> list[Placed]:
    """Where each photo goes: the folder of everyone in it, else unknown/ if any face was
    found in it (a forgotten or hidden person's too: their photos are not photos without
    faces), else no_faces/ (a face marked as no face is not one)."""
    folder = {p.id: p.folder for p in catalog.people}
    name = {p.id: p.name for p in catalog.people if p.name}
    placed = []
    for photo in catalog.photos:
        people = sorted({folder[f.person] for f in photo.faces
                         if f.person and f.shown and f.person in folder})
        if people:
            where = people
        elif any(not f.not_face for f in photo.faces):
            where = [UNKNOWN]
        else:
            where = [NO_FACES]
        named = [Region(name[f.person], f.box) for f in photo.faces
                 if f.shown and f.person in name]
        placed.append(Placed(photo.rel, photo.hash, where, [f.box for f in photo.faces],
                             (photo.width, photo.height), named))
    return placed


def layout(photos: list[Placed], blurred: bool, sidecars: bool = False) -> dict[str, Target]:
    """out rel -> what belongs there. `sidecars`: beside each photo of a named person, an
    XMP sidecar naming its faces, hashed by its content: a new name or box replaces it."""
    wanted: dict[str, Target] = {}
    for photo in photos:
        note = _sidecar(photo) if sidecars and photo.named else None
        for folder in photo.folders:
            wanted[f"{folder}/{photo.rel}"] = Target(photo.rel, "photo", photo.hash)
            if note:
                wanted[sidecar(f"{folder}/{photo.rel}")] = note
        if blurred:
            wanted[blur.blurred_rel(photo.rel)] = Target(photo.rel, "blur", photo.hash)
    return wanted


def _sidecar(photo: Placed) -> Target:
    regions = (*photo.size, tuple(photo.named))
    digest = hashlib.sha256(json.dumps([photo.hash, regions]).encode()).hexdigest()[:32]
    return Target(photo.rel, "xmp", digest, regions)


def plan(wanted: dict[str, Target], recorded: dict[str, Output], out: Path,
         source: Path) -> Changes:
    """Compare the layout with what photokosh recorded as its own files in OUT."""
    changes = Changes()
    ours: dict[str, Output] = {}
    for rel, rec in recorded.items():
        actual = fsutil.fingerprint(out, rel)
        if rec.done:
            if actual is not None and not _same(rec, actual) and _edited_source(
                    rec, actual, source, out, rel):
                changes.adopt[rel] = actual  # a hard link whose photo was edited in place
            elif actual is None or not _same(rec, actual):
                changes.forget.append(rel)  # gone, or changed by the user: no longer ours
                continue
        else:
            if actual is None or not _adoptable(rec, actual, source, out, rel):
                changes.forget.append(rel)
                continue
            changes.adopt[rel] = actual
        ours[rel] = rec
    spare: dict[tuple[str, str], list[str]] = {}
    folders: dict[str, bool] = {}
    for rel, rec in sorted(ours.items()):
        target = wanted.get(rel)
        if target is None or target.hash != rec.hash or target.kind != rec.kind:
            spare.setdefault((rec.hash, rec.kind), []).append(rel)
    for rel, target in sorted(wanted.items()):
        rec = ours.get(rel)
        if rec is not None and rec.hash == target.hash and rec.kind == target.kind:
            continue
        obstacle = None if rec is not None else _obstacle(out, rel, folders)
        if obstacle:
            changes.conflicts.append((rel, obstacle))
            continue
        reusable = [r for r in spare.get((target.hash, target.kind), [])
                    if _movable(out, r, source / target.source)]
        if reusable and rec is None:
            changes.move[rel] = reusable[-1]
            changes.move_to[rel] = target
            spare[(target.hash, target.kind)].remove(reusable[-1])
        else:
            changes.add[rel] = target
    moved = set(changes.move.values())
    changes.remove = sorted(r for group in spare.values() for r in group if r not in moved)
    log.info("OUT: %d files to add, %d to move, %d to remove, %d kept; %d in the way",
             len(changes.add), len(changes.move), len(changes.remove),
             len(wanted) - len(changes.add) - len(changes.move) - len(changes.conflicts),
             len(changes.conflicts))
    for rel, _ in changes.conflicts:
        log.info("not written, a file photokosh did not create is in the way: %s", rel)
    if changes.forget:
        log.debug("%d files photokosh made were changed or removed by the user: no longer "
                  "its own", len(changes.forget))
    return changes


def apply(changes: Changes, *, state: State, source: Path, out: Path, link: str,
          boxes: dict[str, list], workers: int = 1,
          progress: Callable[[int], None] | None = None) -> list[tuple[str, str]]:
    """Carry out `changes`. Returns (out rel, reason) for what could not be written."""
    failures = list(changes.conflicts)
    with state.transaction():
        state.done_outputs((rel, *fp) for rel, fp in changes.adopt.items())
        state.drop_outputs(changes.forget)
    # removals first, then moves, then additions, so that every path is free when needed
    for rel in changes.remove:
        fsutil.remove(out, rel)
    state.drop_outputs(changes.remove)
    recorded = state.outputs()
    for new, old in changes.move.items():
        rec, target = recorded[old], changes.move_to[new]
        # recorded under the photo's new path before the move, so that a run killed in
        # between finds the moved file and adopts it (_adoptable looks at that photo)
        # planned "at" the moved file's own time: a blurred copy is adopted when made after
        # planning, and a moved one keeps the time it was made at
        state.plan_outputs([(new, target.source, rec.kind, rec.hash)],
                           rec.mtime_ns or time.time_ns())
        try:
            fsutil.move(out, old, new)  # link + unlink: a rename that never clobbers
        except fsutil.Occupied:
            failures.append((new, IN_THE_WAY))
            continue
        with state.transaction():
            state.drop_outputs([old])
            state.done_outputs([(new, *fsutil.fingerprint(out, new))])
        if progress:
            progress(1)
    for batch in _batches(changes.add, 200):
        items = [item for group in batch for item in group]
        state.plan_outputs(((r, t.source, t.kind, t.hash) for r, t in items), time.time_ns())
        with ThreadPoolExecutor(max(1, workers)) as pool:
            results = [error for errors in pool.map(
                lambda group: _write_group(group, source, out, link, boxes), batch)
                for error in errors]
        done = []
        for (rel, _), error in zip(items, results, strict=True):
            if error:
                failures.append((rel, error))
            else:
                done.append((rel, *fsutil.fingerprint(out, rel)))
        with state.transaction():
            state.done_outputs(done)
            state.drop_outputs(rel for (rel, _), error in zip(items, results, strict=True) if error)
        if progress:
            progress(len(items))
    log.info("OUT: removed %d files, moved %d, added %d; %d of these could not be written",
             len(changes.remove), len(changes.move), len(changes.add),
             len(failures) - len(changes.conflicts))
    return failures


def _batches(add: dict[str, Target], size: int):
    """The additions as lists of about `size` files, in groups of the same source file and
    kind (the folders of everyone in one photo), so each group is written by one thread."""
    groups: dict[tuple[str, str], list[tuple[str, Target]]] = {}
    for rel, target in sorted(add.items()):
        groups.setdefault((target.source, target.kind), []).append((rel, target))
    batch, count = [], 0
    for group in groups.values():
        batch.append(group)
        count += len(group)
        if count >= size:
            yield batch
            batch, count = [], 0
    if batch:
        yield batch


def _write_group(group: list[tuple[str, Target]], source: Path, out: Path, link: str,
                 boxes: dict[str, list]) -> list[str | None]:
    """Write each file of one source's group; the first copy made serves the others."""
    first: str | None = None
    errors = []
    for rel, target in group:
        errors.append(_write(rel, target, source, out, link, boxes, first))
        if errors[-1] is None and target.kind == "photo" and first is None:
            first = rel
    return errors


def _write(rel: str, target: Target, source: Path, out: Path, link: str,
           boxes: dict[str, list], copy_of: str | None = None) -> str | None:
    try:
        if target.kind == "photo":
            fsutil.place(source / target.source, out, rel, link, copy_of)
        elif target.kind == "xmp":  # a file of its own: never one that shares a photo's inode
            width, height, named = target.regions
            fsutil.write_atomically(out, rel, xmp.sidecar(width, height, list(named)),
                                    replace=False, mode=0o644)
        else:
            data = images.read_bytes(source / target.source)
            # private: the faces are blurred, but the photos are still the user's own
            with fsutil.staged(out, rel, private=True) as f:
                blur.write_blurred(data, boxes.get(target.hash, []), target.source, f)
    except fsutil.Occupied as exc:
        return IN_THE_WAY if exc.rel == rel else linked_folder(exc.rel)
    except images.UnreadablePhoto as exc:
        return f"could not be copied: {exc.reason}"
    except OSError as exc:
        return f"could not be written: {exc.strerror or exc}"
    return None


def _same(rec: Output, actual: tuple[int, int, int]) -> bool:
    return (rec.size, rec.mtime_ns, rec.ino) == actual


def _obstacle(out: Path, rel: str, folders: dict[str, bool]) -> str | None:
    """Why nothing of photokosh's can go at OUT/rel, which it has no record of: something is
    there, or a link or a file stands where a folder on the way should be. `folders` caches
    which folders are real (or absent) across calls."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        head = "/".join(parts[:i])
        if head not in folders:
            st = fsutil.entry(out, head)
            folders[head] = st is None or stat.S_ISDIR(st.st_mode)
        if not folders[head]:
            return linked_folder(head)
    return IN_THE_WAY_MOVE if fsutil.entry(out, rel) is not None else None


def linked_folder(rel: str) -> str:
    return (f"{rel} is a symbolic link or a file where photokosh wants a folder; nothing was "
            "written through it: remove it to make room")


def _movable(out: Path, rel: str, photo: Path) -> bool:
    """A file of photokosh's can serve at another path unless it is a link to another photo
    (the photo moved in PHOTOS: the link must point at its new path, so a new one is made)."""
    target = fsutil.read_link(out, rel)
    return target is None or target == os.path.abspath(photo)


def _edited_source(rec: Output, actual: tuple[int, int, int], source: Path, out: Path,
                   rel: str) -> bool:
    """OUT's file is the very file of the photo (a hard link), which was edited in place:
    still photokosh's, with the photo's new size and time."""
    try:
        photo = os.stat(source / rec.source)
    except OSError:
        return False
    here = fsutil.entry(out, rel)
    return (rec.kind == "photo" and here is not None and actual[2] == rec.ino == photo.st_ino
            and here.st_dev == photo.st_dev)


def _adoptable(rec: Output, actual: tuple[int, int, int], source: Path, out: Path,
               rel: str) -> bool:
    """A pending row whose file exists: a run was killed between writing and recording it.
    Files appear at their final name only when complete, so the file is ours if it is what
    photokosh would have put there."""
    if rec.kind in ("blur", "xmp"):
        # made after planning; file times come from the kernel's coarse clock, which lags
        # time.time_ns() by up to a tick, so a file written right after can look older
        return rec.mtime_ns is not None and actual[1] >= rec.mtime_ns - CLOCK_SLACK_NS
    try:
        st = os.stat(source / rec.source)  # the photo in PHOTOS: a link there is followed
    except OSError:
        return False
    original = (st.st_size, st.st_mtime_ns, st.st_ino)
    target = fsutil.read_link(out, rel)
    if target is not None:
        return target == os.path.abspath(source / rec.source)
    return actual[:2] == original[:2] or actual[2] == original[2]  # copy, or hard link
