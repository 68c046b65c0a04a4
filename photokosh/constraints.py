"""What the user's corrections (corrections.py) mean for the clustering: must-links of faces
to people, cannot-links (of a face and a person, or of two people), faces that are not faces,
hidden people.

Plain data made from the state's corrections, so identify.py and the read model honour them
without knowing how they were given (by command or learned from OUT's folders).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Correction, StoredFace


@dataclass
class Constraints:
    pinned: dict[int, str] = field(default_factory=dict)  # face id -> the person it is
    barred: set[tuple[int, str]] = field(default_factory=set)  # (face id, person it is not)
    not_faces: set[int] = field(default_factory=set)  # face ids: detector mistakes
    hidden: set[str] = field(default_factory=set)  # person ids: no folder, no chart
    apart: set[frozenset[str]] = field(default_factory=set)  # pairs of people never merged


def from_corrections(corrections: list[Correction]) -> Constraints:
    """The constraints in force, oldest correction first: a later one about the same face
    wins (a move after "not this person" to the same person re-admits the face)."""
    c = Constraints()
    for k in corrections:
        if k.kind == "move":
            c.pinned[k.face] = k.person
            c.barred.discard((k.face, k.person))
            c.not_faces.discard(k.face)
        elif k.kind == "notme":
            c.barred.add((k.face, k.person))
            if c.pinned.get(k.face) == k.person:
                del c.pinned[k.face]
        elif k.kind == "notface":
            c.not_faces.add(k.face)
            c.pinned.pop(k.face, None)
        elif k.kind == "hide":
            c.hidden.add(k.person)
        elif k.kind == "apart" and k.person != k.value["other"]:  # merged anyway: moot
            c.apart.add(frozenset((k.person, k.value["other"])))
        elif k.kind == "merge":
            # Must-links of faces, not of the two people: the merged person no longer exists
            # and a recluster re-deals ids, but face ids last (re-detection included), and a
            # later move or split overrides face by face. Faces that come later join by
            # identify's per-side modes. A face said not to be the person stays out.
            for face in k.value["faces"] + k.value["other_faces"]:
                if (face, k.person) not in c.barred:
                    c.pinned[face] = k.person
    return c


def enforce(faces: list[StoredFace], c: Constraints) -> list[tuple[int, str | None]]:
    """(face id, person) for every face whose person breaks a constraint: pinned faces go to
    their person, barred and not-faces to nobody (identify then decides who they are)."""
    changes = []
    claimed = {(f.hash, c.pinned[f.id]) for f in faces if f.id in c.pinned}
    for f in faces:
        want = f.person
        if f.id in c.not_faces:
            want = None
        elif f.id in c.pinned:
            want = c.pinned[f.id]
        elif (f.id, f.person) in c.barred or (f.hash, f.person) in claimed:
            want = None  # barred, or the photo's face pinned to that person is another
        if want != f.person and not f.forgotten:
            f.person = want
            changes.append((f.id, want))
    return changes
