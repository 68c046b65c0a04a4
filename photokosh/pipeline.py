"""`sort_photos`: the whole run, stage after stage, resumable at any point.

sync (scan -> analyze, cached by content -> identify: people that keep their ids) -> known
(names from reference photos) -> catalog (the read model) -> organize (sync OUT) -> report and
review page. This module only orders the stages. Every stage commits what it finished to the
state, so a killed run loses nothing and the next run picks up where it stopped.
"""

from __future__ import annotations

import os
import time
from contextlib import closing, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal, get_args

from . import fsutil, layout, organize, own, thumbs
from .analyze import default_workers
from .catalog import Catalog, last_run, read_catalog
from .cluster import DEFAULT_SETTINGS, ClusterSettings
from .detectors import DEFAULT as DEFAULT_DETECTOR
from .detectors import make_embedder
from .errors import OptionError, PhotokoshError, io_failures
from .faces import Embedder
from .known import load_references, name_people
from .layout import default_output
from .report import build, write_json
from .review import publish_page
from .state import State, open_state
from .sync import Progress, assign_people, update_analyses

__all__ = ["SortOptions", "SortResult", "default_output", "refresh_output", "sort_photos"]


Detector = Literal["yunet", "hog", "cnn"]  # detectors.py: OpenCV's YuNet, dlib's HOG and CNN
Link = Literal["copy", "hard", "sym"]  # how a photo is placed in a person folder
EPS_RANGE = (0.1, 1.0)  # DBSCAN eps that can mean anything on dlib's embeddings
MIN_FACE_FLOOR = 20  # px: smaller faces carry no identity for dlib's descriptor
UPSAMPLE_RANGE = (0, 4)  # dlib upsamples by doubling: 4 is 256 times the pixels


@dataclass
class SortOptions:
    """The settings of a run. Values out of range raise OptionError on construction."""

    detector: Detector = DEFAULT_DETECTOR
    upsample: int | None = None  # hog and cnn only; None: chosen per photo from min_face
    min_face: int | None = None  # px; None: 1/40 of the photo's long side, at least 40
    eps: float = DEFAULT_SETTINGS.eps
    min_samples: int = DEFAULT_SETTINGS.min_samples
    min_photos: int = 1
    link: Link = "copy"
    blur: bool = False
    workers: int | None = None
    dry_run: bool = False
    known: str | None = None  # folder of reference photos: KNOWN/<name>/*.jpg
    scheduler: str | None = None  # a Dask scheduler's address: the face stage runs there
    page: bool = True  # write OUT/index.html, the review page

    def __post_init__(self) -> None:
        _choice("detector", self.detector, get_args(Detector))
        _choice("link", self.link, get_args(Link))
        if isinstance(self.eps, bool) or not isinstance(self.eps, int | float) \
                or not EPS_RANGE[0] <= self.eps <= EPS_RANGE[1]:
            raise OptionError(f"eps must be a number from {EPS_RANGE[0]} to {EPS_RANGE[1]}, "
                              f"not {self.eps!r}")
        _whole("min_samples", self.min_samples, 1)
        _whole("min_photos", self.min_photos, 1)
        _whole("workers", self.workers, 1, optional=True)
        _whole("min_face", self.min_face, MIN_FACE_FLOOR, optional=True)
        _whole("upsample", self.upsample, *UPSAMPLE_RANGE, optional=True)
        if self.upsample is not None and self.detector == "yunet":
            raise OptionError("upsample is a setting of dlib's detectors (hog, cnn), "
                              f"not yunet's: {self.upsample!r}")

    @classmethod
    def stored(cls, options: dict) -> SortOptions:
        """The options a run stored in the state; before the detector choice, `model`."""
        options = dict(options)
        if "model" in options:
            options.setdefault("detector", options.pop("model"))
        return cls(**options)

    def cluster_settings(self) -> ClusterSettings:
        return replace(DEFAULT_SETTINGS, eps=self.eps, min_samples=self.min_samples)


def _choice(name: str, value, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise OptionError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _whole(name: str, value, low: int, high: int | None = None, *,
           optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low \
            or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise OptionError(f"{name} must be a whole number {allowed}"
                          + (" or None" if optional else "") + f", not {value!r}")


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
    if out == source or _same_folder(out, source):
        raise PhotokoshError("the output folder must not be the photo folder itself: "
                             "choose another -o OUT")
    embedder = embedder or make_embedder(options.detector, options.upsample, options.min_face)
    workers = options.workers or default_workers()
    notify = progress or (lambda stage, done, total: None)
    with io_failures(out):
        if fsutil.entry(out.parent, out.name) is not None and \
                fsutil.entry(out, layout.STATE_DB_PATH) is None:
            own.check(out, None, own.wanted(options.page))  # a first run: before any write
        if options.dry_run:
            opened = closing(State.snapshot(out))
        else:
            out.mkdir(parents=True, exist_ok=True)
            opened = open_state(out, create=True)
        with opened as state:
            _check_out(out, state, options)
            if not options.dry_run:
                fsutil.clean_tmp(out)
            return _run(source, out, options, embedder, workers, state, notify, started)


def _same_folder(a: Path, b: Path) -> bool:
    # By device and inode: a bind mount or a link makes one folder two paths.
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False  # OUT does not exist yet, so it is not PHOTOS


def _run(source, out, options, embedder, workers, state: State, notify, started) -> SortResult:
    run = state.begin_run(started)
    # The page's thumbnails are cut while each photo is decoded anyway; not with --blur,
    # whose page shows blurred faces only, nor when nothing will be shown.
    keep_thumbs = options.page and not options.blur and not options.dry_run
    inventory = update_analyses(source, state, embedder, workers, run, notify,
                                exclude=[out],  # by identity: OUT may be behind a link
                                scheduler=options.scheduler,
                                thumbs_to=out if keep_thumbs else None)
    notify("cluster", 0, 1)
    assign_people(state, embedder.key, options.cluster_settings(), options.min_photos, run)
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
        "raw": scanned.raw, "hidden": len(scanned.hidden)})
    catalog = read_catalog(state, source, out, run)
    # Counted over the report's photos, so that analysed + reused == photos: an unreadable
    # file is neither, an alias is not a photo of its own.
    catalog.analysed = sum(p.rel in inventory.analysed for p in catalog.photos)
    catalog.reused = len(catalog.photos) - catalog.analysed
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
    wanted = organize.layout(organize.placements(catalog), options.blur)
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


