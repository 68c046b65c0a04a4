"""What users do to people after a run: list, name, merge, forget. Each change goes to the
state first and then OUT is brought in line with it (no detection is re-run)."""

from __future__ import annotations

import time
from pathlib import Path

from . import thumbs
from .catalog import load_catalog
from .errors import InvalidName, MergeRefused, PhotokoshError, UnknownPerson, io_failures
from .layout import person_id
from .names import clean_name, folder_name
from .pipeline import SortResult, refresh_output
from .state import State, open_state


def list_people(out: Path) -> list[dict]:
    """Every person in OUT: id, name, folder, photo and face counts; doubtful people (to
    check first) before the others, then most photos first."""
    catalog = load_catalog(out)
    rows = [{"id": p.id, "name": p.name, "folder": p.folder, "photo_count": len(p.photos),
             "face_count": p.face_count, **p.cohesion} for p in catalog.people]
    return sorted(rows, key=lambda r: not r.get("doubtful"))  # stable: keeps the rest


def name_person(out: Path, person: str, name: str) -> SortResult:
    """Give `person` a name; their folder becomes the (sanitised) name on this and every
    later run."""
    display = clean_name(name)
    if folder_name(display) is None:
        raise InvalidName(f"{name!r} has no characters usable in a folder name: "
                          "choose another name")
    with io_failures(out), open_state(out) as state:
        pid = resolve_person(state, person)
        with state.transaction():
            state.set_name(pid, display)
    return refresh_output(out)


def merge_people(out: Path, source: str, target: str, force: bool = False) -> SortResult:
    """Make `source` part of `target` (who keeps their id and name), for good."""
    with io_failures(out), open_state(out) as state:
        src, dst = resolve_person(state, source), resolve_person(state, target)
        if src == dst:
            raise PhotokoshError(f"{source} and {target} are the same person already")
        apart = [c.id for c in state.corrections() if c.kind == "apart"
                 and {c.person, c.value["other"]} == {src, dst}]
        if apart and not force:
            raise MergeRefused(f"{src} and {dst} are two people, you said (correction "
                                 f"{apart[0]}): `undo` it, or add --force to merge them anyway")
        together = state.shared_photos(src, dst)
        if together and not force:
            raise MergeRefused(
                f"{src} and {dst} appear side by side in {together} photo(s), so they look like "
                "two people; add --force to merge them anyway")
        with state.transaction():
            names = {p.id: p.name for p in state.people()}
            took_name = not names.get(dst) and bool(names.get(src))
            if took_name:
                state.set_name(dst, names[src])
            # A correction like a split's (constraints.py pins each face the two had to the
            # target), so `recluster` and re-detection keep them one and `undo` parts them.
            merged = state.merge(src, dst)
            state.add_correction("merge", None, dst, "command", time.time(),
                                 {"other": src, "took_name": took_name, **merged})
    return refresh_output(out)


def describe_person(out: Path, person: str) -> str:
    """`person` as the user knows them ("person_007 (Alice, 12 photos)"); UnknownPerson if
    there is no such person."""
    with open_state(out, lock=False) as state:
        pid = resolve_person(state, person)
    row = next((p for p in list_people(out) if p["id"] == pid), None)
    if row is None:
        return pid
    photos = f"{row['photo_count']} photos"
    return f"{pid} ({row['name']}, {photos})" if row["name"] else f"{pid} ({photos})"


def forget_person(out: Path, person: str) -> SortResult:
    """Erase a person: their embeddings, thumbnails and folder go, and the same photos never
    bring them back (the way to honour an erasure request)."""
    # The lock is held through the refresh: no run can come between erasure and OUT.
    with io_failures(out), open_state(out) as state:
        pid = resolve_person(state, person)
        with state.transaction():
            erased = state.forget(pid)
        state.scrub()
        thumbs.forget(out, erased)
        return refresh_output(out, state=state)


def resolve_person(state: State, person: str) -> str:
    """A person by id (person_003, or just 3) or by exact name."""
    people = state.people()
    for p in people:
        if p.id == person or (person.isdigit() and p.num == int(person)):
            return p.id
    named = [p.id for p in people if p.name and p.name == clean_name(person)]
    if len(named) == 1:
        return named[0]
    if named:
        raise UnknownPerson(f"{person!r} names {len(named)} people ({', '.join(named)}): give "
                            "the id, or `photokosh merge` them if they are one person")
    given = person_id(int(person)) if person.isdigit() else person
    merge = next((c for c in state.corrections()
                  if c.kind == "merge" and c.value["other"] == given), None)
    if merge:
        raise UnknownPerson(f"{merge.value['other']} was merged into {merge.person} (correction "
                            f"{merge.id}): `photokosh undo OUT {merge.id}` parts them again")
    raise UnknownPerson(f"no person {person!r} in this output folder: "
                        "`photokosh people OUT` lists them")
