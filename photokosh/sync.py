"""Bring the state in line with PHOTOS: what each photo holds, and who every face is.

update_analyses scans PHOTOS and analyses what is new or changed (unchanged photos, same size
and mtime, are not even read; moved and duplicated ones cost a hash), committing results in
small batches as they arrive, so a killed run keeps what it analysed. assign_people then
gives every new face a person (identify.py), new people taking ids never used before.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from . import thumbs
from .analyze import analyze, split_duplicates
from .cluster import ClusterSettings
from .constraints import enforce, from_corrections
from .faces import Embedder
from .identify import identify
from .scan import ScanResult, scan
from .state import State

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done so far, total)


@dataclass
class Inventory:
    scanned: ScanResult
    # files decoded and run through the face model in this run (those that proved unreadable
    # too); every other photo's faces came from the state
    analysed: frozenset[str]


def update_analyses(source: Path, state: State, embedder: Embedder, workers: int, run: int,
                    notify: Progress, exclude: list[Path],
                    scheduler: str | None = None, thumbs_to: Path | None = None) -> Inventory:
    """Scan `source` and bring the state's photos and faces up to date: new and changed
    photos are analysed, unchanged ones (same size and mtime) are not even read, and photos
    gone from the source are dropped. With `thumbs_to` (an OUT folder), the analysis also
    leaves each new face's thumbnail there."""
    key = embedder.key
    scanned = scan(source, exclude=exclude)
    rows = state.photo_rows()
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
    log.info("%d photos in %s: %d unchanged, %d to analyse (%d copies of another), %d gone",
             len(scanned.photos), source, reused, len(unique), len(copies), len(vanished))
    size = thumbs.SIZE if thumbs_to else None
    if scheduler:
        from .distributed import analyze_on_cluster

        results = analyze_on_cluster(unique, embedder, frozenset(analysed), scheduler,
                                     thumb_size=size)
    else:
        results = analyze(unique, embedder, known=frozenset(analysed), workers=workers,
                          thumb_size=size)
    # copies last: their content's analysis is in the state by then
    decoded = _store(chain(results, copies), len(jobs), state, key, run, first_seen, notify,
                     thumbs_to)
    with state.transaction():
        state.drop_photos(vanished)
        state.prune()
    return Inventory(scanned, frozenset(decoded))


def assign_people(state: State, key: str, settings: ClusterSettings, min_photos: int,
                  run: int) -> None:
    """Give every face analysed under `key` that has no person one (or leave it nobody's);
    a new person is recorded as created by `run`."""
    faces = state.current_faces(key)
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
