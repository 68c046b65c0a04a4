"""Corrections that stick: what the user teaches photokosh about single faces and people.

Each command records a correction in the state (records.Correction), applies it, lets the
clustering place what it freed, and brings OUT in line. Every later run honours the
corrections in force (constraints.py): new photos, a re-detection (faces keep their ids),
and `recluster`, which clusters every face again from scratch.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np

from .catalog import last_run
from .constraints import enforce, from_corrections
from .doubt import halves
from .errors import InvalidName, PhotokoshError, UnknownPerson, io_failures
from .identify import identify
from .layout import PERSON_ID
from .names import clean_name, folder_name
from .people import resolve_person
from .pipeline import SortOptions, SortResult, refresh_output
from .records import Correction, StoredFace
from .state import State, open_state
from .sync import assign_people


class UnknownFace(PhotokoshError):
    pass


def move_face(out: Path, face: str, person: str) -> SortResult:
    """FACE is PERSON (an existing person, or a new one named PERSON), for good."""
    return move_faces(out, [face], person)


def move_faces(out: Path, faces: list[str], person: str) -> SortResult:
    """Every one of FACES is PERSON (as move_face), in one correction each and one refresh:
    "these 12 faces are one person" is one action."""
    with io_failures(out), open_state(out) as state:
        found = [resolve_face(state, face) for face in faces]
        if not found:
            raise UnknownFace("no face given")
        try:
            pid = resolve_person(state, person)
        except UnknownPerson:
            if PERSON_ID.fullmatch(person) or person.isdigit():
                raise  # a mistyped id must not make a new person
            if folder_name(clean_name(person)) is None:
                raise InvalidName(f"{person!r} has no characters usable in a folder name: "
                                  "choose another name") from None
            pid = None
        with state.transaction():  # a new person and the move, or neither
            pid = pid or _new_person(state, person)
            for f in found:
                _record(state, "move", f.id, pid)
        return _settle(out, state)


def not_same_person(out: Path, person: str, other: str) -> SortResult:
    """PERSON and OTHER are two people: never suggested as one, not merged without force."""
    with io_failures(out), open_state(out) as state:
        a, b = resolve_person(state, person), resolve_person(state, other)
        if a == b:
            raise PhotokoshError(f"{person} and {other} are the same person: "
                                 "`split` cuts one person in two")
        if frozenset((a, b)) not in from_corrections(state.corrections()).apart:
            with state.transaction():
                _record(state, "apart", None, a, value={"other": b})
        return _settle(out, state)


def not_this_person(out: Path, face: str, person: str | None = None) -> SortResult:
    """FACE is not PERSON (default: the person it is with now) and never rejoins them."""
    with io_failures(out), open_state(out) as state:
        pid = resolve_person(state, person) if person else None
        f = resolve_face(state, face, pid)
        pid = pid or f.person
        if pid is None:
            raise PhotokoshError(f"face {f.id} belongs to nobody: name the person it is not")
        with state.transaction():
            _record(state, "notme", f.id, pid)
        return _settle(out, state)


def not_a_face(out: Path, face: str) -> SortResult:
    """FACE is no face (a detector mistake): in no folder, chart or page; still blurred."""
    with io_failures(out), open_state(out) as state:
        with state.transaction():
            _record(state, "notface", resolve_face(state, face).id, None)
        return _settle(out, state)


def hide_person(out: Path, person: str) -> SortResult:
    """PERSON (a stranger) has no folder and is not in the chart; new photos of them still
    join them rather than making a new person."""
    with io_failures(out), open_state(out) as state:
        with state.transaction():
            _record(state, "hide", None, resolve_person(state, person))
        return _settle(out, state)


def unhide_person(out: Path, person: str) -> SortResult:
    with io_failures(out), open_state(out) as state:
        pid = resolve_person(state, person)
        hides = [c.id for c in state.corrections() if c.kind == "hide" and c.person == pid]
        if not hides:
            raise PhotokoshError(f"{pid} is not hidden")
        with state.transaction():
            state.undo_corrections(hides)
        return _settle(out, state)


def split_person(out: Path, person: str, faces: list[str]) -> SortResult:
    """Undo a merge: the given faces become a new person; without faces, PERSON's faces are
    cut in two (Ward linkage, as the doubtful flag sees them), the larger keeping PERSON's
    id and name."""
    with io_failures(out), open_state(out) as state:
        pid = resolve_person(state, person)
        mine = [f for f in _faces(state) if f.person == pid and f.embedding is not None]
        if faces:
            part = {resolve_face(state, spec, pid).id for spec in faces}
            if part - {f.id for f in mine}:
                raise UnknownFace(f"not all of those faces are {pid}'s")
        else:
            part = _halves(mine)
        if not part or len(part) == len(mine):
            raise PhotokoshError(f"{pid} cannot be split that way: it would leave one person")
        with state.transaction():  # the whole split, or none of it
            new = _new_person(state, None)
            for f in mine:  # `undo` of any of them takes back the whole split
                _record(state, "move", f.id, new if f.id in part else pid, "split",
                        {"split_from": pid})
        return _settle(out, state)


def undo(out: Path, correction: int) -> SortResult:
    """Take back one correction (its id from `corrections OUT`)."""
    with io_failures(out), open_state(out) as state:
        if correction not in {c.id for c in state.corrections()}:
            raise PhotokoshError(f"no correction {correction} in force: "
                                 "`photokosh corrections OUT` lists them")
        taken_back = next(c for c in state.corrections() if c.id == correction)
        value = taken_back.value or {}
        with state.transaction():
            if "split_from" in value:  # the split's faces all go back to the one person
                split = [c for c in state.corrections() if c.how == "split" and c.value == value]
                state.undo_corrections(c.id for c in split)
                state.set_persons((c.face, value["split_from"]) for c in split)
            else:
                state.undo_corrections([correction])
            if taken_back.kind == "merge":
                _unmerge(state, taken_back)
            if taken_back.face is not None and "split_from" not in value:
                state.set_persons([(taken_back.face, None)])  # back to the clustering
            if taken_back.kind == "name":  # learned from a renamed folder
                state.set_name(taken_back.person, value["was"])
        return _settle(out, state)


def list_corrections(out: Path) -> list[Correction]:
    with open_state(out, lock=False) as state:
        return state.corrections()


def recluster(out: Path) -> SortResult:
    """Cluster every face again from scratch, honouring the corrections; the new groups take
    the ids (and names) of the people they overlap most."""
    with io_failures(out), open_state(out) as state:
        last = last_run(state, out)
        faces = _faces(state)
        rules = from_corrections(state.corrections())
        old = {f.id: f.person for f in faces}
        for f in faces:
            f.person = None
        enforce(faces, rules)
        per_hash = Counter(r.hash for r in state.photo_rows().values() if r.hash)
        options = SortOptions(**last["options"])
        found = identify(faces, per_hash, options.cluster_settings(), options.min_photos, rules)
        with state.transaction():
            state.set_persons([(f.id, f.person) for f in faces])
            state.set_persons(found.joined.items())
            taken: set[str] = set()  # each old person names one new group at most
            for members in found.new_people:
                votes = Counter(old[m] for m in members if old[m] and old[m] not in taken)
                pid = votes.most_common(1)[0][0] if votes else None
                if pid is None:
                    pid = state.add_person(state.next_person_number(), last["run"])
                taken.add(pid)
                # a face barred from the person its group was stays out: _settle places it
                state.set_persons((m, None if (m, pid) in rules.barred else pid)
                                  for m in members)
        return _settle(out, state)


def resolve_face(state: State, spec: str, person: str | None = None) -> StoredFace:
    """A face by id (17), by PHOTO#N (its N-th face, as report.json lists them) or by PHOTO
    when the photo has one face (of `person`, if given)."""
    faces = _faces(state)
    if spec.isdigit():
        found = [f for f in faces if f.id == int(spec)]
        if found:
            return found[0]
    rows = state.photo_rows()
    # a photo whose name holds a "#" is itself first, PHOTO#N only then
    rel, _, number = spec.rpartition("#") if spec not in rows and "#" in spec else (spec, "", "")
    row = rows.get(rel)
    if row is None or row.hash is None:
        raise UnknownFace(f"no face {spec!r}: give a face id, PHOTO or PHOTO#N "
                          "(report.json lists every face with its id)")
    in_photo = [f for f in faces if f.hash == row.hash]
    if number:
        if not number.isdigit() or not 1 <= int(number) <= len(in_photo):
            raise UnknownFace(f"{rel} has {len(in_photo)} face(s): {spec!r} is none of them")
        return in_photo[int(number) - 1]
    candidates = [f for f in in_photo if person is None or f.person == person]
    if len(candidates) != 1:
        ids = ", ".join(f"#{i} (id {f.id}, {f.person or 'nobody'})"
                        for i, f in enumerate(in_photo, 1))
        raise UnknownFace(f"{rel} has {len(candidates)} such faces: say which, "
                          f"as {rel}#N or by id: {ids or 'none'}")
    return candidates[0]


def _faces(state: State) -> list[StoredFace]:
    return state.current_faces(state.get_meta("last_run")["key"])


def _unmerge(state: State, merge: Correction) -> None:
    src = merge.value["other"]
    state.unmerge(src, merge.person, merge.value, merge.id)
    names = {p.id: p.name for p in state.people()}
    if merge.value["took_name"] and names.get(merge.person) == names.get(src):
        state.set_name(merge.person, None)  # the name it took goes back; one given later stays


def _halves(faces: list[StoredFace]) -> set[int]:
    """The face ids of the smaller half, as the doubtful flag cuts a person (doubt.py)."""
    if len(faces) < 2:
        return set()
    labels = halves(np.stack([f.embedding for f in faces]))
    counts = Counter(labels.tolist())
    small = min(counts, key=lambda k: (counts[k], k))
    return {f.id for f, label in zip(faces, labels, strict=True) if label == small}


def _new_person(state: State, name: str | None) -> str:
    pid = state.add_person(state.next_person_number(), state.get_meta("last_run")["run"])
    if name:
        state.set_name(pid, clean_name(name))
    return pid


def _record(state: State, kind: str, face: int | None, person: str | None,
            how: str = "command", value=None) -> None:
    state.add_correction(kind, face, person, how, time.time(), value)


def _settle(out: Path, state: State) -> SortResult:
    """Apply the corrections in force, let the clustering place the faces they freed, and
    bring OUT in line."""
    last = last_run(state, out)
    options = SortOptions(**last["options"])
    assign_people(state, last["key"], options.cluster_settings(), options.min_photos,
                  last["run"])
    return refresh_output(out, state=state)
