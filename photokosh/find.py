"""Finding photos: who the faces in a few new photos are (`find`, a guest's selfie) and which
photos show all of some people (`photos --with`). Both only look at OUT: the state is read
without the lock and without writing a byte."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .analyze import analyze_file
from .catalog import Catalog, looking
from .errors import PhotokoshError, io_failures
from .faces import Embedder
from .people import resolve_person
from .scan import Candidate

# Tighter than dlib's same-person 0.6: a selfie of someone not in OUT had a face within 0.6 in
# 89.5% of cases on lfw-dev (79 people), within 0.5 in 8.5%, for 95.6% right against 96.7%
# (benchmarks/find_match.py, docs/sharing.md). Handing a stranger's photos over is the worse error.
THRESHOLD = 0.5
# A second person this much farther than the nearest at most makes the match a close call: on
# lfw-dev 40 of the 47 wrong matches at 0.6 are, and 51 of the 1,488 right ones
# (benchmarks/find_match.py, docs/sharing.md). `find --export` does not hand those over.
CLOSE_CALL = 0.05


@dataclass
class Match:
    """One face of a selfie: the nearest person and how near (the distance to the nearest of
    their faces); `person` is None ("nobody") beyond the threshold."""

    box: tuple[int, int, int, int]
    nearest: str | None
    distance: float | None
    runner_up: str | None = None  # the next nearest person
    runner_up_distance: float | None = None
    person: str | None = None
    name: str | None = None
    photos: list[str] = field(default_factory=list)
    nearest_name: str | None = None  # so that "nobody" can say who was nearest

    @property
    def close_call(self) -> bool:
        """A second person is nearly as near: the match may be the wrong one of the two."""
        return (self.person is not None and self.runner_up_distance is not None
                and self.runner_up_distance - self.distance <= CLOSE_CALL)


@dataclass
class Found:
    photo: Path
    faces: list[Match]
    error: str | None = None  # the photo could not be read: why


def find_people(out: Path, selfies: list[Path], embedder: Embedder,
                threshold: float = THRESHOLD) -> tuple[Catalog, list[Found]]:
    """The faces `embedder` finds in each of `selfies`, each matched with OUT's people."""
    with io_failures(out), looking(out) as (state, catalog):
        embeddings = {f.id: f.embedding for f in state.current_faces(catalog.settings["embedder"])
                      if f.embedding is not None}
    faces = [(f.id, f.person) for p in catalog.photos for f in p.faces
             if f.shown and f.person and f.id in embeddings]
    owners = np.array([person for _, person in faces])
    known = np.stack([embeddings[i] for i, _ in faces]) if faces else np.zeros((0, 128))
    people = {p.id: p for p in catalog.people}
    found = []
    for path in selfies:
        st = path.stat()
        analysis = analyze_file(Candidate(str(path), path, st.st_size, st.st_mtime_ns), embedder)
        matches = []
        for face in analysis.faces or []:
            ranked = nearest_people(face.embedding, known, owners)
            match = Match(face.box, *(ranked[0] if ranked else (None, None)),
                          *(ranked[1] if len(ranked) > 1 else (None, None)))
            nearest, distance = match.nearest, match.distance
            if nearest is not None:
                match.nearest_name = people[nearest].name
            if nearest is not None and distance <= threshold:
                person = people[nearest]
                match.person, match.name, match.photos = nearest, person.name, person.photos
            matches.append(match)
        found.append(Found(path, matches, analysis.error))
    return catalog, found


def nearest_people(embedding: np.ndarray, known: np.ndarray,
                   owners: np.ndarray) -> list[tuple[str, float]]:
    """The two people whose nearest faces are nearest `embedding`, with those distances. The
    nearest face and not the person's centre: dlib's threshold is a distance between two faces,
    and on lfw-dev the nearest face is as often right and less often wrong (docs/sharing.md)."""
    distances = np.linalg.norm(known - embedding, axis=1)
    ranked: list[tuple[str, float]] = []
    for k in np.argsort(distances, kind="stable"):
        if all(str(owners[k]) != person for person, _ in ranked):
            ranked.append((str(owners[k]), round(float(distances[k]), 4)))
            if len(ranked) == 2:
                break
    return ranked


def photos_with(out: Path, people: list[str]) -> tuple[list[str], list[str]]:
    """(ids, photos): the photos (paths in PHOTOS) in which all of `people` (ids or names)
    appear, as their folders hold them."""
    with io_failures(out), looking(out) as (state, catalog):
        ids = list(dict.fromkeys(resolve_person(state, p) for p in people))
    shown = {p.id: set(p.photos) for p in catalog.people}
    missing = [pid for pid in ids if pid not in shown]
    if missing:
        raise PhotokoshError(f"{', '.join(missing)} has no photos in OUT (hidden, or fewer "
                             "than --min-photos)")
    return ids, sorted(set.intersection(*(shown[pid] for pid in ids)))
