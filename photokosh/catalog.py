"""The read model of a run: what the last run found, as plain data read from the state alone.

The catalogue is what layout, report and review page are made from; nothing here writes.
People come most photos first, with their folder (names.py), how alike their faces are
(groups.person_cohesion) and their faces in order of how typical they are (nearest their
centre first); faces of forgotten people stay as boxes, belonging to nobody.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .constraints import from_corrections
from .doubt import halves_keep_apart, looks_like_two, split_ratio
from .errors import NoState, PhotokoshError, PlacesError
from .groups import person_cohesion, to_centre
from .identify import unrecognisable
from .names import unique_folders
from .places import within
from .records import StoredFace
from .state import State, open_state


@dataclass
class FaceEntry:
    id: int
    box: tuple[int, int, int, int]
    score: float
    person: str | None
    forgotten: bool = False  # erased (forget): a box to blur, nobody's, never shown
    not_face: bool = False  # `notface`: a box to blur, never a face anywhere else
    hidden: bool = False  # of a hidden person: no folder, not shown
    unrecognised: str | None = None  # why it was never given to clustering (identify.py)

    @property
    def shown(self) -> bool:
        """Counts as a face in folders, report and page."""
        return not (self.forgotten or self.not_face or self.hidden)


@dataclass
class PhotoEntry:
    rel: str
    hash: str | None
    width: int
    height: int
    faces: list[FaceEntry]
    new: bool


@dataclass
class PersonEntry:
    id: str
    name: str | None
    folder: str
    photos: list[str]
    face_count: int
    new_photos: int
    cohesion: dict = field(default_factory=dict)
    typical: list[int] = field(default_factory=list)  # face ids, nearest the centre first


@dataclass
class Catalog:
    """Everything a run found, in plain data: the input of layout, report and page."""

    source: Path
    output: Path
    settings: dict
    photos: list[PhotoEntry]
    people: list[PersonEntry]  # most photos first
    errors: list[tuple[str, str]]
    aliases: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    analysed: int = 0
    reused: int = 0
    raw: list[str] = field(default_factory=list)  # camera RAW files, not read
    hidden: int = 0  # hidden entries in PHOTOS, passed over
    missing: int = 0  # photos gone from PHOTOS, kept for the grace period
    acknowledged: int = 0  # files matched by PHOTOS/.photokoshignore, passed over silently
    learned: list[dict] = field(default_factory=list)  # corrections learned from OUT (learn.py)
    name_conflicts: list[dict] = field(default_factory=list)  # XMP names not used (xmpnames)

    def duplicates(self) -> list[list[str]]:
        by_hash: dict[str, list[str]] = {}
        for photo in self.photos:
            if photo.hash:
                by_hash.setdefault(photo.hash, []).append(photo.rel)
        return [sorted(rels) for rels in by_hash.values() if len(rels) > 1]


def last_run(state: State, out: Path) -> dict:
    """What the last run recorded about itself (source, settings, scan results)."""
    last = state.get_meta("last_run")
    if last is None:
        raise PhotokoshError(f"{out} has no finished run: run `photokosh sort` first")
    return last


def load_catalog(out: Path) -> Catalog:
    """What the last run found, from the state alone."""
    out = Path(out).resolve()
    with open_state(out, lock=False) as state:
        last = last_run(state, out)
        return read_catalog(state, Path(last["source"]), out, last["run"])


def check_holds_no_photos(out: Path) -> None:
    """Refuse (PlacesError) an OUT whose last run's PHOTOS lies inside it, sorted before
    places.check_places refused that: a command changing it would write among the photos
    (refresh_output refuses too, but only after the change is in the state). Read-only."""
    out = Path(out).resolve()
    try:
        state = State.reader(out)
        if state is None:
            return
        with closing(state):
            last = state.get_meta("last_run")
    except sqlite3.Error:
        return  # a damaged state: the command itself says so
    if last and within(Path(last["source"]), out):
        raise PlacesError("OUT", "OUT", f"holds its photo folder ({last['source']}), from a "
                          "sort made before that was refused: sort PHOTOS again into an -o "
                          "OUT outside it")


@contextmanager
def looking(out: Path) -> Iterator[tuple[State, Catalog]]:
    """OUT's state, read-only and writing no byte (State.reader), and its catalogue: for the
    commands that only look at OUT (export, find, photos), even while a run works on it."""
    out = Path(out).resolve()
    state = State.reader(out)
    if state is None:
        raise NoState(out)
    with closing(state):
        last = last_run(state, out)
        yield state, read_catalog(state, Path(last["source"]), out, last["run"])


def read_catalog(state: State, source: Path, out: Path, run: int | None) -> Catalog:
    """The catalogue of the state's last run; photos added by `run` count as new."""
    last = state.get_meta("last_run")
    key = last["key"]
    rows = state.photo_rows()
    analysed = state.analysed(key)
    faces_by_hash: dict[str, list[StoredFace]] = defaultdict(list)
    for face in state.current_faces(key):
        faces_by_hash[face.hash].append(face)
    photos = []
    rules = from_corrections(state.corrections())
    errors = [tuple(e) for e in last["scan_errors"]]
    for rel, row in sorted(rows.items()):
        info = analysed.get(row.hash) if row.hash else None
        if info is None or info.error:
            errors.append((rel, (info.error if info else row.error) or "not analysed"))
            continue
        entries = [FaceEntry(f.id, f.box, f.score, f.person, f.forgotten,
                             f.id in rules.not_faces, f.person in rules.hidden,
                             None if f.person or f.forgotten else unrecognisable(f.box))
                   for f in faces_by_hash.get(row.hash, [])]
        photos.append(PhotoEntry(rel, row.hash, info.width, info.height, entries,
                                 row.added_run == run))
    o = last["options"]
    people = _people(state, photos, faces_by_hash, o.get("min_photos") or 1, rules.hidden)
    shown = {p.id for p in people}
    for face in (f for photo in photos for f in photo.faces):
        face.person = face.person if face.person in shown else None  # ruled out: unknown/
    settings = {"detector": o.get("detector", o.get("model")), "upsample": o["upsample"],
                "min_face": o.get("min_face"), "eps": o["eps"],
                "min_samples": o["min_samples"], "min_photos": o["min_photos"],
                "link": o["link"], "blur": o["blur"], "embedder": key}
    return Catalog(source, out, settings, photos, people, errors,
                   [tuple(a) for a in last["aliases"]], last["ignored"], raw=last.get("raw", []),
                   hidden=last.get("hidden", 0), missing=last.get("missing", 0),
                   acknowledged=last.get("acknowledged", 0),
                   name_conflicts=last.get("name_conflicts", []))


def _people(state: State, photos: list[PhotoEntry], faces_by_hash: dict[str, list[StoredFace]],
            min_photos: int, hidden: set[str]) -> list[PersonEntry]:
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
        for pid, value in cohesion.items():  # a merged pair can be as tight as one person
            own = embs[labels == index[pid]]
            ratio, smaller, seen = split_ratio(own)
            value["split_ratio"] = ratio
            value["doubtful"] = bool(value["doubtful"] or looks_like_two(ratio, smaller, seen)
                                     and halves_keep_apart(own))
        for k in np.argsort(to_centre(embs, labels), kind="stable"):
            typical[members[k].person].append(members[k].id)
    face_count = Counter(f.person for f in members)
    result = [
        PersonEntry(p.id, p.name, folders[p.id], photos_of[p.id], face_count[p.id],
                    new_of[p.id], _plain(cohesion.get(p.id, {})), typical[p.id])
        # --min-photos on an OUT sorted without it: the people it now rules out are kept
        # in the state (and come back with more photos); a named one always shows. Hidden
        # people are kept too, and shown nowhere.
        for p in known if photos_of.get(p.id) and p.id not in hidden
        and (p.name or len(photos_of[p.id]) >= min_photos)
    ]
    result.sort(key=lambda p: (-len(p.photos), p.id))
    return result


def _plain(values: dict) -> dict:
    """numpy numbers as JSON's: floats rounded to 4 places, bools as bools."""
    return {k: (round(float(v), 4) if isinstance(v, float | np.floating) else
                bool(v) if isinstance(v, np.bool_) else v) for k, v in values.items()}
