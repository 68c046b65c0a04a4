"""`sort_photos`: the whole run, stage after stage, resumable at any point.

sync (scan -> analyze, cached by content -> identify: people that keep their ids) -> names
from PHOTOS' XMP face regions (xmpnames) -> known (names from reference photos) -> catalog
(the read model) -> organize (sync OUT) -> report and review page. This module only orders
the stages. Every stage commits what it finished to the state, so a killed run loses nothing
and the next run picks up where it stopped.
"""

from __future__ import annotations

import logging
import time
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path

from . import fsutil, layout, organize, own, thumbs
from .analyze import default_workers
from .catalog import Catalog, last_run, read_catalog
from .detectors import make_embedder
from .errors import io_failures
from .faces import Embedder
from .known import load_references, name_people
from .layout import default_output
from .learn import learn_from_folders
from .places import check_places
from .records import PhotoRow
from .report import build, write_json
from .review import publish_page
from .scan import ScanResult
from .settings import SortOptions, describe, in_force, saved_settings
from .state import State, open_state
from .sync import Progress, assign_people, check_removal, scan_source, update_analyses
from .xmpnames import name_from_regions

__all__ = ["SortOptions", "SortResult", "default_output", "refresh_output", "resolve_options",
           "sort_photos"]

log = logging.getLogger(__name__)


@dataclass
class SortResult:
    report: dict
    catalog: Catalog
    changes: organize.Changes


def sort_photos(source: Path, out: Path | None = None, options: SortOptions | None = None, *,
                embedder: Embedder | None = None, progress: Progress | None = None) -> SortResult:
    """Sort the photos under `source` into person folders under `out` and return the report.

    Options not given (None) are OUT's settings (`resolve_options`); the options given
    become OUT's settings. Raises PhotokoshError (or a subclass: LockedError, RefusedError
    for a PHOTOS missing, empty or mostly gone, PlacesError for a PHOTOS and OUT that
    overlap, both refused before anything changed) when the run cannot go on; files that
    cannot be used are skipped and listed in the report instead.
    """
    started = time.time()
    given = options or SortOptions()
    source = Path(source).resolve()
    out = Path(out).resolve() if out else default_output(source)
    check_places(source, out)  # before OUT is read: it may be PHOTOS' own folder
    workers = given.workers or default_workers()
    notify = progress or (lambda stage, done, total: None)
    with io_failures(out):
        known, saved = _look(out)  # read-only and before the lock: a refusal writes nothing
        options = given.resolved(saved)
        scanned = scan_source(source, known, [out], options.allow_removal)  # OUT by identity
        embedder = embedder or make_embedder(*options.model_settings())
        if fsutil.entry(out.parent, out.name) is not None and \
                fsutil.entry(out, layout.STATE_DB_PATH) is None:
            own.check(out, None, own.wanted(options.page))  # a first run: before any write
        if options.dry_run:
            opened = closing(State.snapshot(out))
        else:
            out.mkdir(parents=True, exist_ok=True)
            opened = open_state(out, create=True)
        with opened as state:
            # again under the lock: a run may have finished since the look
            check_removal(source, state.photo_rows(), scanned, options.allow_removal)
            _check_out(out, state, options)
            for note in describe(given, saved, _reanalysed(state, scanned, embedder.key),
                                 sum(o.kind == "blur" for o in state.outputs().values())):
                log.warning("%s", note)
            log.info("OUT's settings: %s (an option given changes one)", in_force(options))
            state.set_meta("settings", options.remembered())
            if not options.dry_run:
                fsutil.clean_tmp(out)
            return _run(source, out, options, embedder, workers, state, notify, started,
                        scanned)


def resolve_options(out: Path, options: SortOptions) -> SortOptions:
    """`options` with every setting not given taken from OUT's (its defaults for a new OUT):
    what a command needs to know before the run, such as the face model to make."""
    with io_failures(out):
        return options.resolved(_look(Path(out).resolve())[1])


def _look(out: Path) -> tuple[dict[str, PhotoRow], dict | None]:
    """The photos OUT knows and its settings, read without the lock and without a write."""
    state = State.reader(out)
    if state is None:
        return {}, None
    with closing(state):
        return state.photo_rows(), saved_settings(state.get_meta("last_run"),
                                                  state.get_meta("settings"))


def _reanalysed(state: State, scanned: ScanResult, key: str) -> int:
    # photos the state has analysed, but not under the face model's settings of this run
    rows, analysed = state.photo_rows(missing=True), state.analysed(key)
    return sum(1 for c in scanned.photos
               if (row := rows.get(c.rel)) and row.hash and row.hash not in analysed)


def _run(source, out, options, embedder, workers, state: State, notify, started,
         scanned: ScanResult) -> SortResult:
    run = state.begin_run(started)
    learned = learn_from_folders(state, out)  # before anything in OUT is planned
    # The page's thumbnails are cut while each photo is decoded anyway; not with --blur,
    # whose page shows blurred faces only, nor when nothing will be shown.
    keep_thumbs = options.page and not options.blur and not options.dry_run
    inventory = update_analyses(scanned, state, embedder, workers, run, notify,
                                scheduler=options.scheduler,
                                thumbs_to=out if keep_thumbs else None, prune=options.prune)
    notify("cluster", 0, 1)
    assign_people(state, embedder.key, options.cluster_settings(), options.min_photos, run)
    notify("cluster", 1, 1)
    errors = list(scanned.errors)
    _, conflicts = name_from_regions(state, embedder.key)  # before --known: PHOTOS' own say
    if options.known:
        references, problems = load_references(Path(options.known), state, embedder, workers)
        errors += problems
        name_people(state, embedder.key, references)
    state.set_meta("last_run", {
        "source": str(source), "key": embedder.key, "options": options.record(), "run": run,
        "scan_errors": errors, "name_conflicts": conflicts, "aliases": scanned.aliases,
        "ignored": scanned.ignored, "raw": scanned.raw, "hidden": len(scanned.hidden),
        "acknowledged": len(scanned.acknowledged),
        "missing": len(state.photo_rows(missing=True)) - len(state.photo_rows())})
    catalog = read_catalog(state, source, out, run)
    # Counted over the report's photos, so that analysed + reused == photos: an unreadable
    # file is neither, an alias is not a photo of its own.
    catalog.analysed = sum(p.rel in inventory.analysed for p in catalog.photos)
    catalog.reused = len(catalog.photos) - catalog.analysed
    catalog.learned = [item.plain() for item in learned]
    return _finish(state, catalog, options, workers, run, started, notify)


def refresh_output(out: Path, *, progress: Progress | None = None,
                   page: bool | None = None, state: State | None = None) -> SortResult:
    """Bring OUT, its report and its page in line with the state, without scanning or
    detecting: after a person is named, merged or forgotten. `page` forces the review page
    on or off (default: as the last run had it). `state`: OUT's state, already open under
    the lock by the caller, who so holds the lock from its change to the end of the refresh."""
    started = time.time()
    out = Path(out).resolve()
    opened = nullcontext(state) if state is not None else open_state(out)
    with io_failures(out), opened as state:
        last = last_run(state, out)
        check_places(Path(last["source"]), out)  # an OUT sorted before PHOTOS was checked
        options = SortOptions.stored(last["options"])
        # A page of photokosh's from an earlier run is rewritten too, or it would still show
        # the old names, and the faces of someone just forgotten.
        options.page = page if page is not None else (
            options.page or own.is_own(out, state, layout.PAGE))
        _check_out(out, state, options)
        catalog = read_catalog(state, Path(last["source"]), out, last["run"])
        catalog.reused = len(catalog.photos)
        notify = progress or (lambda stage, done, total: None)
        return _finish(state, catalog, options, options.workers or default_workers(),
                       None, started, notify)


def _check_out(out: Path, state: State, options: SortOptions) -> None:
    """Refuse, before anything in OUT changes, what would stop the run halfway: a report or
    page photokosh did not write, a link where its own folders are."""
    own.check(out, state, own.wanted(options.page))
    if not options.dry_run:
        for rel in (layout.TMP_PATH, layout.THUMBS_PATH):
            fsutil.private_folder(out, rel)


def _finish(state: State, catalog: Catalog, options: SortOptions, workers: int, run,
            started: float, notify: Progress) -> SortResult:
    source, out = catalog.source, catalog.output
    wanted = organize.layout(organize.placements(catalog), options.blur,
                             sidecars=options.xmp is not False)  # None: an OUT from before
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
        write_json(out, report, state)
        if options.page:
            publish_page(catalog, report, state, blurred=options.blur, workers=workers)
        else:  # the page cleans its thumbnails; without it, an erased face's go here
            thumbs.forget(out, [(p.hash, f.box) for p in catalog.photos for f in p.faces
                                if f.forgotten])
    return SortResult(report, catalog, changes)


