"""Stage 4b: turn clusters into people that keep their ids from run to run.

Faces that already belong to a person keep them. New faces first try to join an existing
person (cluster.assign_to_people); the rest are clustered among themselves, together with
earlier faces that belonged to nobody, and each resulting group becomes a new person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .state import StoredFace

# A reference photo names a person when the person's centre lies this close to it: tighter
# than the same-person threshold (0.6) because a wrong name is worse than no name.
KNOWN_DISTANCE = 0.5


@dataclass
class Identities:
    joined: dict[int, str] = field(default_factory=dict)  # face id -> existing person id
    new_people: list[list[int]] = field(default_factory=list)  # face ids, most photos first
    unassigned: list[int] = field(default_factory=list)


def identify(faces: list[StoredFace], photos_per_hash: dict[str, int],
             settings=None, min_photos: int = 1) -> Identities:
    """Decide who every face without a person is. Faces with a person are left alone."""
    # Imported here: clustering pulls in scikit-learn, which a re-run with nothing new skips.
    from .cluster import DEFAULT_SETTINGS, assign_to_people, cluster_faces

    settings = settings or DEFAULT_SETTINGS
    usable = [f for f in faces if not f.forgotten and f.embedding is not None]
    known = [f for f in usable if f.person]
    fresh = [f for f in usable if not f.person]
    result = Identities()
    if not fresh:
        return result
    group_of = {h: i for i, h in enumerate(sorted({f.hash for f in usable}))}
    if known:
        taken = {(f.hash, f.person) for f in known}  # cannot-link with faces already placed
        ids = sorted({f.person for f in known})
        index = {p: i for i, p in enumerate(ids)}
        labels = assign_to_people(
            np.stack([f.embedding for f in known]),
            np.array([index[f.person] for f in known]),
            np.stack([f.embedding for f in fresh]),
            np.array([group_of[f.hash] for f in fresh]),
            settings,
        )
        rest = []
        for face, label in zip(fresh, labels, strict=True):
            person = ids[label] if label >= 0 else None
            if person is not None and (face.hash, person) not in taken:
                result.joined[face.id] = person
                taken.add((face.hash, person))
            else:
                rest.append(face)
        fresh = rest
    if not fresh:
        return result
    labels = cluster_faces(
        np.stack([f.embedding for f in fresh]),
        np.array([group_of[f.hash] for f in fresh]),
        settings,
    )
    groups: dict[int, list[StoredFace]] = defaultdict(list)
    for face, label in zip(fresh, labels, strict=True):
        if label < 0:
            result.unassigned.append(face.id)
        else:
            groups[int(label)].append(face)
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
