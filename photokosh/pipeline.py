"""`sort_photos`: the whole run, stage after stage, resumable at any point.

scan -> analyze (images + faces, cached by content) -> identify (cluster into people that keep
their ids) -> organize (sync OUT) -> report. Every stage commits what it finished to the state,
so a killed run loses nothing and the next run picks up where it stopped.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, replace
from itertools import chain
from pathlib import Path

import numpy as np

from . import fsutil, organize, thumbs
from .analyze import analyze, default_workers, split_duplicates
from .cluster import DEFAULT_SETTINGS, ClusterSettings, person_cohesion
from .errors import PhotokoshError
from .faces import DlibEmbedder, Embedder
from .groups import to_centre
from .identify import identify
from .known import load_references, name_people
from .layout import NO_FACES, UNKNOWN, default_output
from .names import unique_folders
from .report import Catalog, FaceEntry, PersonEntry, PhotoEntry, build, write_json
from .review import publish_page
from .scan import ScanResult, scan
from .state import State, open_state

Progress = Callable[[str, int, int], None]  # (stage, done so far, total)


@dataclass
class SortOptions:
    model: str = "hog"
    upsample: int | None = None  # None: chosen per photo from min_face
    min_face: int | None = None  # px; None: 1/40 of the photo's long side, at least 40
    eps: float = DEFAULT_SETTINGS.eps
    min_samples: int = DEFAULT_SETTINGS.min_samples
    min_photos: int = 1
    link: str = "copy"  # copy | hard | sym
    blur: bool = False
    workers: int | None = None
    dry_run: bool = False
    known: str | None = None  # folder of reference photos: KNOWN/<name>/*.jpg
    scheduler: str | None = None  # a Dask scheduler's address: the face stage runs there
    page: bool = True  # write OUT/index.html, the review page

    def cluster_settings(self) -> ClusterSettings:
        return replace(DEFAULT_SETTINGS, eps=self.eps, min_samples=self.min_samples)


@dataclass
class SortResult:
    report: dict
    catalog: Catalog
    changes: organize.Changes


def sort_photos(source: Path, out: Path | None = None, options: SortOptions | None = None, *,
                embedder: Embedder | None = None, progress: Progress | None = None) -> SortResult:
    """Sort the photos under `source` into person folders under `out` and return the report.

    Raises PhotokoshError (or a subclass: LockedError) when the run cannot go on; files that
    cannot be used are skipped and listed in the report instead.
    """
    started = time.time()
    options = options or SortOptions()
    source = Path(source).resolve()
    out = Path(out).resolve() if out else default_output(source)
    if out == source:
        raise PhotokoshError("the output folder must not be the photo folder itself: "
                             "choose another -o OUT")
    embedder = embedder or DlibEmbedder(options.model, options.upsample, options.min_face)
    workers = options.workers or default_workers()
    notify = progress or (lambda stage, done, total: None)
    if options.dry_run:
        opened = closing(State.snapshot(out))
    else:
        out.mkdir(parents=True, exist_ok=True)
        opened = open_state(out, create=True)
    with opened as state:
        if not options.dry_run:
            fsutil.clean_tmp(out)
        return _run(source, out, options, embedder, workers, state, notify, started)


def _run(source, out, options, embedder, workers, state: State, notify, started) -> SortResult:
    run = state.begin_run(started)
    # The page's thumbnails are cut while each photo is decoded anyway; not with --blur,
    # whose page shows blurred faces only, nor when nothing will be shown.
    keep_thumbs = options.page and not options.blur and not options.dry_run
    inventory = update_analyses(source, state, embedder, workers, run, notify,
                                exclude=[out] if source in out.parents else [],
                                scheduler=options.scheduler,
                                thumbs_to=out if keep_thumbs else None)
    notify("cluster", 0, 1)
    _identify(state, embedder.key, options, run)
    notify("cluster", 1, 1)
    scanned = inventory.scanned
    errors = list(scanned.errors)
    if options.known:
        references, problems = load_references(Path(options.known), state, embedder, workers)
        errors += problems
        name_people(state, embedder.key, references)
    state.set_meta("last_run", {
        "source": str(source), "key": embedder.key, "options": asdict(options), "run": run,
        "scan_errors": errors, "aliases": scanned.aliases, "ignored": scanned.ignored,
        "raw": scanned.raw})
    catalog = _catalog(state, source, out, run)
    catalog.reused = inventory.reused
    catalog.analysed = inventory.analysed
    return _finish(state, catalog, options, workers, run, started, notify)


@dataclass
class Inventory:
    scanned: ScanResult
    reused: int  # photos whose faces came from the state
    analysed: int  # photos decoded and run through the face model


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
    size = thumbs.SIZE if thumbs_to else None
    if scheduler:
        from .distributed import analyze_on_cluster

        results = analyze_on_cluster(unique, embedder, frozenset(analysed), scheduler,
                                     thumb_size=size)
    else:
        results = analyze(unique, embedder, known=frozenset(analysed), workers=workers,
                          thumb_size=size)
    # copies last: their content's analysis is in the state by then
    cached = _store(chain(results, copies), len(jobs), state, key, run, first_seen, notify,
                    thumbs_to)
    with state.transaction():
        state.drop_photos(vanished)
        state.prune()
    return Inventory(scanned, reused + cached, len(jobs) - cached)


def refresh_output(out: Path, *, progress: Progress | None = None,
                   page: bool | None = None) -> SortResult:
    """Bring OUT, its report and its page in line with the state, without scanning or
    detecting: after a person is named, merged or forgotten. `page` forces the review page
    on or off (default: as the last run had it)."""
    started = time.time()
    out = Path(out).resolve()
    with open_state(out) as state:
        last = state.get_meta("last_run")
        if last is None:
            raise PhotokoshError(f"{out} has no finished run: run `photokosh sort` first")
        options = SortOptions(**last["options"])
        if page is not None:
            options.page = page
        catalog = _catalog(state, Path(last["source"]), out, last["run"])
        catalog.reused = len(catalog.photos)
        notify = progress or (lambda stage, done, total: None)
        return _finish(state, catalog, options, options.workers or default_workers(),
                       None, started, notify)


def load_catalog(out: Path) -> Catalog:
    """What the last run found, from the state alone."""
    out = Path(out).resolve()
    with open_state(out, lock=False) as state:
        last = state.get_meta("last_run")
        if last is None:
            raise PhotokoshError(f"{out} has no finished run: run `photokosh sort` first")
        return _catalog(state, Path(last["source"]), out, last["run"])


def _finish(state: State, catalog: Catalog, options: SortOptions, workers: int, run,
            started: float, notify: Progress) -> SortResult:
    source, out = catalog.source, catalog.output
    placed = _placements(catalog)
    wanted = organize.layout(placed, options.blur)
    changes = organize.plan(wanted, state.outputs(), out, source)
    failures: list[tuple[str, str]] = []
    if not options.dry_run:
        boxes = {p.hash: [f.box for f in p.faces] for p in catalog.photos if p.hash}
        total = len(changes.add) + len(changes.move)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            notify("organize", done[0], total)

        failures = organize.apply(changes, state=state, source=source, out=out,
                                  link=options.link, boxes=boxes, workers=workers,
                                  progress=advance)
    catalog.errors.extend((f"OUT/{rel}", reason) for rel, reason in failures)
    report = build(catalog, time.time() - started)
    if not options.dry_run:
        if run is not None:
            state.finish_run(run, time.time())
        write_json(out, report)
        if options.page:
            publish_page(catalog, report, blurred=options.blur, workers=workers)
    return SortResult(report, catalog, changes)


def _store(results, total: int, state: State, key, run, first_seen, notify,
           thumbs_to: Path | None = None) -> int:
    """Commit analysis results to the state in small batches as they arrive (and their
    thumbnails to `thumbs_to`). Returns how many photos turned out to hold content analysed
    before (moved or duplicated photos)."""
    batch, last, cached = [], time.monotonic(), 0

    def flush():
        with state.transaction():
            for r in batch:
                j = r.job
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
        cached += result.cached
        if len(batch) >= 64 or time.monotonic() - last > 2.0:
            flush()
            last = time.monotonic()
        notify("faces", n, total)
    flush()
    return cached


def _identify(state: State, key: str, options: SortOptions, run: int) -> None:
    faces = state.current_faces(key)
    per_hash = Counter(row.hash for row in state.photo_rows().values() if row.hash)
    found = identify(faces, per_hash, options.cluster_settings(), options.min_photos)
    with state.transaction():
        state.set_persons(found.joined.items())
        number = state.next_person_number()
        for members in found.new_people:
            pid = state.add_person(number, run)
            number += 1
            state.set_persons((fid, pid) for fid in members)


def _catalog(state: State, source: Path, out: Path, run: int | None) -> Catalog:
    last = state.get_meta("last_run")
    key = last["key"]
    rows = state.photo_rows()
    analysed = state.analysed(key)
    faces_by_hash: dict[str, list] = defaultdict(list)
    for face in state.current_faces(key):
        faces_by_hash[face.hash].append(face)
    photos = []
    errors = [tuple(e) for e in last["scan_errors"]]
    for rel, row in sorted(rows.items()):
        info = analysed.get(row.hash) if row.hash else None
        if info is None or info.error:
            errors.append((rel, (info.error if info else row.error) or "not analysed"))
            continue
        entries = [FaceEntry(f.id, f.box, f.score, f.person, f.forgotten)
                   for f in faces_by_hash.get(row.hash, [])]
        photos.append(PhotoEntry(rel, row.hash, info.width, info.height, entries,
                                 row.added_run == run))
    people = _people(state, photos, faces_by_hash)
    o = last["options"]
    settings = {"model": o["model"], "upsample": o["upsample"],
                "min_face": o.get("min_face"), "eps": o["eps"],
                "min_samples": o["min_samples"], "min_photos": o["min_photos"],
                "link": o["link"], "blur": o["blur"], "embedder": key}
    return Catalog(source, out, settings, photos, people, errors,
                   [tuple(a) for a in last["aliases"]], last["ignored"], raw=last.get("raw", []))


def _people(state: State, photos: list[PhotoEntry], faces_by_hash) -> list[PersonEntry]:
    known = state.people()
    folders = unique_folders([(p.id, p.name) for p in known])
    photos_of: dict[str, list[str]] = defaultdict(list)
    new_of: Counter = Counter()
    for photo in photos:
        for pid in sorted({f.person for f in photo.faces if f.person and not f.forgotten}):
            photos_of[pid].append(photo.rel)
            new_of[pid] += photo.new
    members = [f for faces in faces_by_hash.values() for f in faces
               if f.person and f.embedding is not None]
    ids = sorted({f.person for f in members})
    cohesion, typical = {}, defaultdict(list)
    if members:
        index = {p: i for i, p in enumerate(ids)}
        embs = np.stack([f.embedding for f in members])
        labels = np.array([index[f.person] for f in members])
        stats = person_cohesion(embs, labels)
        cohesion = {ids[i]: value for i, value in stats.items()}
        for k in np.argsort(to_centre(embs, labels), kind="stable"):
            typical[members[k].person].append(members[k].id)
    face_count = Counter(f.person for f in members)
    result = [
        PersonEntry(p.id, p.name, folders[p.id], photos_of[p.id], face_count[p.id],
                    new_of[p.id], _plain(cohesion.get(p.id, {})), typical[p.id])
        for p in known if photos_of.get(p.id)
    ]
    result.sort(key=lambda p: (-len(p.photos), p.id))
    return result


def _plain(values: dict) -> dict:
    return {k: (round(float(v), 4) if isinstance(v, float | np.floating) else
                bool(v) if isinstance(v, np.bool_) else v) for k, v in values.items()}


def _placements(catalog: Catalog) -> list[organize.Placed]:
    folder = {p.id: p.folder for p in catalog.people}
    placed = []
    for photo in catalog.photos:
        people = sorted({folder[f.person] for f in photo.faces
                         if f.person and not f.forgotten and f.person in folder})
        if people:
            where = people
        elif any(not f.forgotten for f in photo.faces):
            where = [UNKNOWN]
        else:
            where = [NO_FACES]
        placed.append(organize.Placed(photo.rel, photo.hash, where,
                                      [f.box for f in photo.faces]))
    return placed

