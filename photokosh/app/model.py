"""What `photokosh review` shows, read from the state alone: the catalogue of the last run
(catalog.py) and the review queues made from the faces' embeddings.

- people in the order to check them: doubtful first (doubt.py), then most photos first;
  people seen once apart (a collapsed list);
- "same person?" suggestions: pairs of people whose centres are close, nearest first, but
  never a pair seen side by side in a photo or said to be two people (`notsame`);
- unknown faces grouped by similarity, so one action names a whole group;
- per person the most typical faces and those furthest from their centre (where the
  mistakes are).
Nothing here writes; the app builds a new Review after each action.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..catalog import Catalog, FaceEntry, PersonEntry, last_run, read_catalog
from ..constraints import from_corrections
from ..errors import StateError
from ..names import clean_name
from ..records import Correction
from ..state import State

SUGGEST_BELOW = 0.6  # centre-to-centre distance: every piece of a person split by the
# clustering sits nearer its other pieces (lfw-dev 18 of 18, with lfw-crowd 140 of 140); the
# demo's different people, 0.68-0.74, were suggested at 0.75
SUGGESTIONS = 50
GROUP_BELOW = 0.55  # average-linkage distance within a group of unknown faces
GROUPED_AT_MOST = 2000  # unknown faces grouped (linkage is quadratic); the rest one by one
TYPICAL, FURTHEST = 12, 6
FEW = 3  # faces: a person with more has their furthest from the centre shown apart


@dataclass(frozen=True)
class FaceRef:
    id: int
    photo: str  # relative path in PHOTOS (the first, for a duplicate content)
    hash: str
    box: tuple[int, int, int, int]
    person: str | None
    new: bool  # its photo came in the last run


@dataclass(frozen=True)
class Suggestion:
    a: str
    b: str
    distance: float


@dataclass
class Review:
    catalog: Catalog
    faces: dict[int, FaceRef]  # every face shown anywhere (not forgotten, not a non-face)
    people: dict[str, PersonEntry]
    order: list[str]  # people to check, doubtful first; seen once excluded
    once: list[str]  # people seen in one photo
    hidden: list[str]  # hidden people's ids
    suggestions: list[Suggestion]
    unknown_groups: list[list[int]]  # face ids, largest group first
    photos: dict[str, list[FaceEntry]] = field(default_factory=dict)  # hash -> faces
    photo_of: dict[str, str] = field(default_factory=dict)  # hash -> relative path
    marks_new: bool = False  # "new" means something: not every photo came in the last run
    hash_of: dict[str, str] = field(default_factory=dict)  # relative path -> hash
    corrections: list[Correction] = field(default_factory=list)  # in force, oldest first

    @property
    def blurred(self) -> bool:
        return bool(self.catalog.settings.get("blur"))

    def typical(self, pid: str, n: int = TYPICAL) -> list[int]:
        """The person's `n` faces nearest their centre, nearest first."""
        return [f for f in self.people[pid].typical if f in self.faces][:n]

    def strips(self, pid: str) -> tuple[list[int], list[int]]:
        """A person's page: the most typical faces, and apart the furthest from the centre
        (furthest first, where the mistakes are), never the same face in both. With more
        than FEW faces, up to half of them (at most FURTHEST) are the furthest."""
        faces = [f for f in self.people[pid].typical if f in self.faces]
        far = min(FURTHEST, len(faces) // 2) if len(faces) > FEW else 0
        return faces[:len(faces) - far][:TYPICAL], faces[len(faces) - far:][::-1]

    def find(self, spec: str) -> str | None:
        """The id of the person `spec` names (an id, or a name only one person has, as
        people.resolve_person reads it), if any."""
        if spec in self.people:
            return spec
        named = [p.id for p in self.people.values() if p.name and p.name == clean_name(spec)]
        return named[0] if len(named) == 1 else None

    def together(self, a: str, b: str) -> list[str]:
        """The photos (content hashes) where people `a` and `b` are side by side."""
        return [h for h, faces in self.photos.items()
                if {a, b} <= {f.person for f in faces if f.shown}]

    def label(self, pid: str | None) -> str:
        if pid is None:
            return "nobody"
        person = self.people.get(pid)
        return person.name or pid if person else pid


def build_review(out: Path) -> Review:
    """The review of OUT's last run, from its state (read-only, without the lock)."""
    out = Path(out).resolve()
    state = State.reader(out)  # writes no byte, not even SQLite's side files: GET is a look
    if state is None:
        raise StateError(f"{out} holds no photokosh state: run `photokosh sort` first")
    with closing(state):
        last = last_run(state, out)
        catalog = read_catalog(state, Path(last["source"]), out, last["run"])
        embeddings = {f.id: f.embedding for f in state.current_faces(last["key"])
                      if f.embedding is not None}
        corrections = state.corrections()
        rules = from_corrections(corrections)
    faces: dict[int, FaceRef] = {}
    photos, photo_of = {}, {}
    together: set[frozenset[str]] = set()
    for photo in catalog.photos:
        photos.setdefault(photo.hash, photo.faces)
        photo_of.setdefault(photo.hash, photo.rel)
        shown = [f for f in photo.faces if f.shown]
        pids = sorted({f.person for f in shown if f.person})
        together.update(frozenset((a, b)) for i, a in enumerate(pids) for b in pids[i + 1:])
        for f in shown:
            if f.id not in faces:
                faces[f.id] = FaceRef(f.id, photo.rel, photo.hash, tuple(f.box), f.person,
                                      photo.new)
    people = {p.id: p for p in catalog.people}
    ranked = sorted(catalog.people, key=lambda p: not p.cohesion.get("doubtful"))
    order = [p.id for p in ranked if len(p.photos) > 1 or p.cohesion.get("doubtful")]
    once = [p.id for p in ranked if p.id not in set(order)]
    unknown = [f.id for f in faces.values() if f.person is None and f.id in embeddings]
    return Review(catalog, faces, people, order, once, sorted(rules.hidden),
                  suggest(people, faces, embeddings, together | rules.apart),
                  group_unknown(unknown, embeddings), photos, photo_of,
                  any(not p.new for p in catalog.photos),
                  {p.rel: p.hash for p in catalog.photos}, corrections)


def suggest(people: dict[str, PersonEntry], faces: dict[int, FaceRef],
            embeddings: dict[int, np.ndarray], ruled_out: set[frozenset[str]]) -> list[Suggestion]:
    """Pairs of people whose centres are nearer than SUGGEST_BELOW, nearest first."""
    members = defaultdict(list)
    for f in faces.values():
        if f.person in people and f.id in embeddings:
            members[f.person].append(embeddings[f.id])
    ids = sorted(members)
    if len(ids) < 2:
        return []
    centres = np.stack([np.mean(members[p], axis=0) for p in ids])
    sq = np.einsum("ij,ij->i", centres, centres)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * centres @ centres.T, 0))
    i, j = np.triu_indices(len(ids), 1)
    close = dist[i, j] < SUGGEST_BELOW
    found = []
    for k in np.argsort(dist[i, j][close], kind="stable"):
        a, b = ids[i[close][k]], ids[j[close][k]]
        if frozenset((a, b)) not in ruled_out:
            found.append(Suggestion(a, b, round(float(dist[i[close][k], j[close][k]]), 3)))
        if len(found) == SUGGESTIONS:
            break
    return found


def group_unknown(ids: list[int], embeddings: dict[int, np.ndarray]) -> list[list[int]]:
    """Unknown faces in groups of look-alikes (average linkage cut at GROUP_BELOW), largest
    first; past GROUPED_AT_MOST faces the rest stay single."""
    head, tail = ids[:GROUPED_AT_MOST], ids[GROUPED_AT_MOST:]
    groups: list[list[int]] = []
    if len(head) > 1:
        from scipy.cluster.hierarchy import fcluster, linkage

        x = np.stack([embeddings[i] for i in head]).astype(np.float64)
        labels = fcluster(linkage(x, "average"), GROUP_BELOW, "distance")
        by_label = defaultdict(list)
        for fid, label in zip(head, labels, strict=True):
            by_label[label].append(fid)
        groups = list(by_label.values())
    else:
        groups = [[i] for i in head]
    groups += [[i] for i in tail]
    return sorted(groups, key=lambda g: (-len(g), g[0]))
