"""Bring the state in line with PHOTOS: what each photo holds, and who every face is.

scan_source scans PHOTOS and refuses one that looks unmounted or emptied. update_analyses
analyses what is new or changed (unchanged photos, same size and mtime, are not even read;
moved and duplicated ones cost a hash), committing results in small batches as they arrive,
so a killed run keeps what it analysed; a photo gone from PHOTOS keeps its faces and person
for GRACE_DAYS. assign_people then gives every new face a person (identify.py), new people
taking ids never used before.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing, nullcontext
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from . import thumbs
from .analyze import analyze, crash_mark, split_duplicates
from .cluster import ClusterSettings
from .constraints import enforce, from_corrections
from .errors import PhotokoshError, RefusedError
from .faces import Embedder
from .identify import identify
from .records import PhotoRow
from .scan import ScanResult, scan
from .state import State

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done so far, total)

# A photo gone from PHOTOS keeps its faces and person this long (a photo of a named person
# until a prune), so a folder unmounted for a night comes back without re-analysis.
GRACE_DAYS = 30
# A run that would lose more than this share of the photos OUT knows is refused: PHOTOS is
# more likely unmounted or half copied than emptied on purpose.
REMOVAL_SHARE = 0.5


@dataclass
class Inventory:
    scanned: ScanResult
    # files decoded and run through the face model in this run (those that proved unreadable
    # too); every other photo's faces came from the state
    analysed: frozenset[str]


def scan_source(source: Path, known: dict[str, PhotoRow], exclude: list[Path],
                allow_removal: bool = False) -> ScanResult:
    """Scan PHOTOS; refuse (RefusedError, before anything changed) a PHOTOS that is missing
    or empty, or that lost more than REMOVAL_SHARE of the photos `known` to OUT, unless
    `allow_removal`."""
    if not source.is_dir():
        if source.exists():
            raise PhotokoshError(f"{source} is not a folder: give the folder of your photos")
        if known and not allow_removal:
            raise RefusedError(f"{source} does not exist, but OUT knows {len(known):,} photos "
                               "from it: is it mounted?" + _NOTHING_CHANGED)
        raise PhotokoshError(f"{source} does not exist: give the folder of your photos")
    scanned = scan(source, exclude=exclude)
    check_removal(source, known, scanned, allow_removal)
    return scanned


_NOTHING_CHANGED = (" Nothing was changed. If the photos are really gone, run again with "
                    "--allow-removal (their names and faces are still kept for "
                    f"{GRACE_DAYS} days).")


def check_removal(source: Path, known: dict[str, PhotoRow], scanned: ScanResult,
                  allow_removal: bool) -> None:
    """Raise RefusedError if `scanned` lost more than REMOVAL_SHARE of the `known` photos.
    A photo found elsewhere with its size and modification time counts as moved."""
    if not known or allow_removal:
        return
    seen = {c.rel for c in scanned.photos}
    arrived = {(c.size, c.mtime_ns) for c in scanned.photos if c.rel not in known}
    gone = [rel for rel, row in known.items()
            if rel not in seen and (row.size, row.mtime_ns) not in arrived]
    if not scanned.photos:
        raise RefusedError(f"{source} holds no photos, but OUT knows {len(known):,} from it: "
                           "is it mounted?" + _NOTHING_CHANGED)
    if len(gone) > REMOVAL_SHARE * len(known):
        raise RefusedError(f"{len(gone):,} of the {len(known):,} photos OUT knows are gone "
                           f"from {source} (more than {REMOVAL_SHARE:.0%}): is all of it "
                           "mounted?" + _NOTHING_CHANGED)


def update_analyses(scanned: ScanResult, state: State, embedder: Embedder, workers: int,
                    run: int, notify: Progress, scheduler: str | None = None,
                    thumbs_to: Path | None = None, prune: bool = False) -> Inventory:
    """Bring the state's photos and faces up to date with `scanned`: new and changed photos
    are analysed, unchanged ones (same size and mtime) are not even read; a photo gone from
    the source is kept as missing for GRACE_DAYS (with `prune`, dropped now). With
    `thumbs_to` (an OUT folder), the analysis also leaves each new face's thumbnail there."""
    key = embedder.key
    rows = state.photo_rows(missing=True)
    analysed = state.analysed(key)
    jobs, reused = [], 0
    for c in scanned.photos:
        row = rows.get(c.rel)
        if row and (row.size, row.mtime_ns) == (c.size, c.mtime_ns) and row.hash in analysed:
            reused += 1
            continue
        jobs.append(c)
    present = {c.rel for c in scanned.photos}
    vanished = {rel: row for rel, row in rows.items() if rel not in present}
    first_seen = {row.hash: row.added_run for row in vanished.values() if row.hash}  # moved
    unique, copies = split_duplicates(jobs)
    log.info("%d photos: %d unchanged, %d to analyse (%d copies of another), %d gone",
             len(scanned.photos), reused, len(unique), len(copies), len(vanished))
    size = thumbs.SIZE if thumbs_to else None
    # A small batch is analysed in this process, where a photo that crashes a native decoder
    # kills the run; the mark left behind sends the next run's to worker processes, which
    # name that photo and skip it.
    guard = crash_mark(state, "photos") if unique and not scheduler else nullcontext(False)
    with guard as died:
        if scheduler:
            from .distributed import analyze_on_cluster

            results = analyze_on_cluster(unique, embedder, frozenset(analysed), scheduler,
                                         thumb_size=size)
        else:
            results = analyze(unique, embedder, known=frozenset(analysed), workers=workers,
                              thumb_size=size, isolate=died)
        # copies last: their content's analysis is in the state by then. Closed at once on
        # an interrupt, which stops the worker processes instead of letting them finish.
        with closing(results):
            decoded = _store(chain(results, copies), len(jobs), state, key, run, first_seen,
                             notify, thumbs_to)
    with state.transaction():
        _keep_missing(state, rows, present, vanished, prune)
        state.prune()
    return Inventory(scanned, frozenset(decoded))


def _keep_missing(state: State, rows: dict[str, PhotoRow], present: set[str],
                  vanished: dict[str, PhotoRow], prune: bool) -> None:
    # A content now in PHOTOS under another path was moved: its old path goes now. So does
    # an unreadable one (nothing to keep). The rest waits out the grace period.
    now = time.time()
    held = {row.hash for rel, row in state.photo_rows(missing=True).items() if rel in present}
    moved = {rel for rel, row in vanished.items() if row.hash is None or row.hash in held}
    back = [rel for rel in present if rel in rows and rows[rel].missing_since is not None]
    state.drop_photos(moved)
    state.set_missing([rel for rel in vanished if rel not in moved], back, now)
    expired = state.expired(None if prune else now - GRACE_DAYS * 86400)
    state.drop_photos(expired)
    log.info("%d photos moved, %d back, %d missing (%d dropped after the grace period or by "
             "a prune)", len(moved), len(back), len(vanished) - len(moved), len(expired))


def assign_people(state: State, key: str, settings: ClusterSettings, min_photos: int,
                  run: int) -> None:
    """Give every face analysed under `key` that has no person one (or leave it nobody's);
    a new person is recorded as created by `run`."""
    faces = state.current_faces(key, missing=True)  # a missing photo's person stays known
    per_hash = Counter(row.hash for row in state.photo_rows().values() if row.hash)
    rules = from_corrections(state.corrections())
    fixed = enforce(faces, rules)  # the user's corrections first: identify builds on them
    found = identify(faces, per_hash, settings, min_photos, rules)
    with state.transaction():
        state.set_persons(fixed)
        state.set_persons(found.joined.items())
        number = state.next_person_number()
        for members in found.new_people:
            pid = state.add_person(number, run)
            number += 1
            state.set_persons((fid, pid) for fid in members)


def _store(results, total: int, state: State, key, run, first_seen, notify,
           thumbs_to: Path | None = None) -> set[str]:
    """Commit analysis results to the state in small batches as they arrive (and their
    thumbnails to `thumbs_to`). Returns the photos decoded, not found to hold content
    analysed before (as moved or duplicated photos do)."""
    batch, last, decoded = [], time.monotonic(), set()

    def flush():
        with state.transaction():
            for r in batch:
                j = r.job
                if r.error:
                    log.debug("skipped %s: %s", j.rel, r.error)
                if r.hash and not r.cached:
                    state.put_analysis(r.hash, key, r.width, r.height, r.faces or [], r.error)
                    state.put_regions(r.hash, r.regions or [])
                state.put_photo(j.rel, j.size, j.mtime_ns, r.hash,
                                None if r.hash else r.error, first_seen.get(r.hash, run))
        for r in batch if thumbs_to else ():
            for face, data in zip(r.faces or [], r.thumbs or [], strict=False):
                thumbs.save_cached(thumbs_to, r.hash, face.box, data)
        batch.clear()

    notify("faces", 0, total)
    for n, result in enumerate(results, 1):
        batch.append(result)
        if not result.cached:
            decoded.add(result.job.rel)
        if len(batch) >= 64 or time.monotonic() - last > 2.0:
            flush()
            last = time.monotonic()
        notify("faces", n, total)
    flush()
    return decoded
