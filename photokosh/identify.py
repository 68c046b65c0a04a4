"""Stage 4b: turn clusters into people that keep their ids from run to run.

Faces that already belong to a person keep them. New faces, and earlier faces that belonged
to nobody, first try to join an existing person (cluster.place_new_faces); the groups the rest
form, weighed among the library's faces as a clustering of all would weigh them, become new
people (or stay nobody's, with fewer photos than --min-photos).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .cluster import DEFAULT_SETTINGS, cluster_faces, place_new_faces
from .constraints import Constraints
from .groups import GroupStats
from .records import StoredFace

log = logging.getLogger(__name__)

# A reference photo names a person when the person's centre lies this close to it: tighter
# than the same-person threshold (0.6) because a wrong name is worse than no name.
KNOWN_DISTANCE = 0.5
# dlib's descriptor stops telling people apart on small faces: on lfw-dev shrunk to N px, pair
# ROC AUC is 0.977 at 20 px, 0.988 at 24, 0.996 from 32 (docs/detector.md, "How small a face
# still carries an identity"). Smaller faces are found and blurred but never clustered.
RECOGNISABLE_FACE = 24


def unrecognisable(box: tuple[int, int, int, int]) -> str | None:
    """Why a face with this box (displayed full-size pixels) is not given to clustering, or
    None. Its size is the box's longer side, so a face cut by the photo's edge is not shrunk."""
    size = max(box[2] - box[0], box[3] - box[1])
    if size < RECOGNISABLE_FACE:
        return f"too small to recognise ({size} px)"
    return None


@dataclass
class Identities:
    joined: dict[int, str] = field(default_factory=dict)  # face id -> existing person id
    new_people: list[list[int]] = field(default_factory=list)  # face ids, most photos first
    unassigned: list[int] = field(default_factory=list)


def identify(faces: list[StoredFace], photos_per_hash: dict[str, int],
             settings=None, min_photos: int = 1,
             constraints: Constraints | None = None) -> Identities:
    """Decide who every face without a person is. Faces with a person are left alone (those
    of `constraints` must already obey it: constraints.enforce); a face never joins a person
    it is barred from, and a face that is no face is nobody's. A face too small to recognise
    (unrecognisable) neither forms nor joins a person, nor helps others join one."""
    c = constraints or Constraints()
    usable = [f for f in faces
              if not f.forgotten and f.embedding is not None and f.id not in c.not_faces
              and unrecognisable(f.box) is None]
    result = _decide(usable, photos_per_hash, settings or DEFAULT_SETTINGS, min_photos,
                     c.barred)
    log.info("%d faces, %d without a person: %d joined a person, %d make %d new people, "
             "%d belong to nobody", len(usable), sum(not f.person for f in usable),
             len(result.joined), sum(map(len, result.new_people)), len(result.new_people),
             len(result.unassigned))
    return result


def _decide(usable: list[StoredFace], photos_per_hash: dict[str, int], settings,
            min_photos: int, barred: set[tuple[int, str]]) -> Identities:
    known = [f for f in usable if f.person]
    fresh = [f for f in usable if not f.person]
    result = Identities()
    if not fresh:
        return result
    group_of = {h: i for i, h in enumerate(sorted({f.hash for f in usable}))}
    groups: dict[int, list[StoredFace]] = defaultdict(list)
    if known:
        taken = {(f.hash, f.person) for f in known}  # cannot-link with faces already placed
        modes, owner = _modes(known, group_of, settings)
        labels, alone = place_new_faces(
            np.stack([f.embedding for f in known]),
            modes,
            np.stack([f.embedding for f in fresh]),
            np.array([group_of[f.hash] for f in fresh]),
            settings,
        )
        refused = []  # would join a person they are barred from, or who is in their photo
        for face, label, group in zip(fresh, labels, alone, strict=True):
            person = owner[label] if label >= 0 else None
            if person is None and group < 0:
                result.unassigned.append(face.id)  # noise: only plain DBSCAN has any
            elif person is None:
                groups[int(group)].append(face)
            elif (face.hash, person) not in taken and (face.id, person) not in barred:
                result.joined[face.id] = person
                taken.add((face.hash, person))
            else:
                refused.append(face)
        fresh = refused
    if fresh:  # all faces on a first run; else the few refused a person, among themselves
        labels = cluster_faces(
            np.stack([f.embedding for f in fresh]),
            np.array([group_of[f.hash] for f in fresh]),
            settings,
        )
        first = max(groups, default=-1) + 1
        for face, label in zip(fresh, labels, strict=True):
            if label < 0:
                result.unassigned.append(face.id)
            else:
                groups[first + int(label)].append(face)
    ranked = []
    for members in groups.values():
        photos = sum(photos_per_hash.get(h, 1) for h in {f.hash for f in members})
        if photos < min_photos:
            result.unassigned.extend(f.id for f in members)
        else:
            first = min((f.hash, f.idx) for f in members)
            ranked.append((-photos, first, [f.id for f in members]))
    result.new_people = [ids for _, _, ids in sorted(ranked)]
    return result


def _modes(known: list[StoredFace], group_of: dict[str, int],
           settings) -> tuple[np.ndarray, list[str]]:
    """Label the faces of existing people for matching: one label per person, except that a
    person whose faces are not one tight group (two people merged by the user, or one person
    over decades) gets one label per sub-group, so that a new face close to either part
    joins them. Returns (label per face, person of each label)."""
    by_person: dict[str, list[int]] = defaultdict(list)
    for i, face in enumerate(known):
        by_person[face.person].append(i)
    labels = np.zeros(len(known), dtype=np.int64)
    owner: list[str] = []
    for person in sorted(by_person):
        rows = by_person[person]
        embs = np.stack([known[i].embedding for i in rows]).astype(np.float64)
        # RMS distance over all ordered pairs (a face with itself included): 2 * spread
        spread = GroupStats(embs, np.zeros(len(rows), dtype=np.int64)).spread()[0]
        parts = np.zeros(len(rows), dtype=np.int64)
        if len(rows) > 1 and np.sqrt(2 * spread) > settings.merge_distance:
            parts = cluster_faces(embs, np.array([group_of[known[i].hash] for i in rows]),
                                  settings)
            parts = np.unique(parts, return_inverse=True)[1].ravel()
        labels[rows] = parts + len(owner)
        owner.extend([person] * (int(parts.max()) + 1))
    return labels, owner


def match_known(people: dict[str, np.ndarray], references: dict[str, np.ndarray],
                max_distance: float = KNOWN_DISTANCE) -> dict[str, str]:
    """person id -> reference name, for people whose faces' centre is close to a name's
    reference faces. `people` maps ids to (n,128) embeddings, `references` names to (m,128).
    Each name goes to at most one person (the closest); ambiguous people get no name."""
    if not people or not references:
        return {}
    names = sorted(references)
    best: dict[str, tuple[float, str]] = {}
    for pid, embs in people.items():
        centre = embs.mean(axis=0)
        dists = [float(np.linalg.norm(references[n] - centre, axis=1).min()) for n in names]
        order = np.argsort(dists)
        d0 = dists[order[0]]
        if d0 > max_distance:
            continue
        if len(names) > 1 and dists[order[1]] - d0 < 0.05:
            continue  # two names fit about equally: leave it to the user
        name = names[order[0]]
        if name not in best or d0 < best[name][0]:
            best[name] = (d0, pid)
    return {pid: name for name, (_, pid) in best.items()}
