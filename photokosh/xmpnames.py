"""Names other tools put on faces in PHOTOS (XMP regions, xmp.py) name photokosh's people.

A region names the detected face it overlaps most (box IoU at least MATCH_IOU). A name on
faces that all belong to one person names that person, if nobody named them yet: a name the
user gave (`photokosh name`, a renamed folder) always wins. Two names on one person's faces,
or one name on two people's, is a conflict: reported, never settled here; so is a name that
another person already has.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from .faces import box_iou
from .names import clean_name, folder_name
from .state import State

log = logging.getLogger(__name__)

# Other tools' face rectangles are drawn by hand or by other detectors: tighter or looser
# than photokosh's boxes, but still mostly over the same face.
MATCH_IOU = 0.3


def name_from_regions(state: State, key: str) -> tuple[dict[str, str], list[dict]]:
    """Name the people whose faces PHOTOS' regions name. Returns (id -> name given, the
    conflicts: {"names", "people", "photos", "reason"}), each conflict also logged as a
    warning."""
    regions = state.regions()
    if not regions:
        return {}, []
    faces = defaultdict(list)
    for face in state.current_faces(key):
        faces[face.hash].append(face)
    rels = defaultdict(list)
    for rel, row in sorted(state.photo_rows().items()):
        rels[row.hash].append(rel)
    names_of: dict[str, set[str]] = defaultdict(set)  # person -> names on their faces
    people_of: dict[str, set[str]] = defaultdict(set)  # name -> people it is on
    where: dict[tuple[str, str], set[str]] = defaultdict(set)  # (person, name) -> photos
    for hash_, found in regions.items():
        taken: set[int] = set()
        for region in found:
            name = clean_name(region.name)
            best = max((f for f in faces.get(hash_, []) if f.id not in taken),
                       key=lambda f: box_iou(f.box, region.box), default=None)
            if not name or folder_name(name) is None or best is None or best.person is None \
                    or box_iou(best.box, region.box) < MATCH_IOU:
                continue
            taken.add(best.id)
            names_of[best.person].add(name)
            people_of[name].add(best.person)
            where[best.person, name].update(rels.get(hash_, []))
    people = {p.id: p.name for p in state.people()}
    holder = {name: pid for pid, name in people.items() if name}
    given, conflicts = {}, []

    def conflict(names, pids, reason):
        photos = sorted({r for p in pids for n in names for r in where.get((p, n), ())})
        conflicts.append({"names": sorted(names), "people": sorted(pids), "photos": photos,
                          "reason": reason})
        log.warning("names in PHOTOS' XMP regions not used: %s (%s; in %s)", reason,
                    ", ".join(sorted(names)) + " / " + ", ".join(sorted(pids)),
                    ", ".join(photos[:3]) + (" ..." if len(photos) > 3 else ""))

    for pid, names in sorted(names_of.items()):
        if pid not in people or people[pid]:
            continue  # ruled out, or named already: the user's name wins
        if len(names) > 1:
            conflict(names, [pid], "one person's faces carry several names")
            continue
        (name,) = names
        if len(people_of[name]) > 1:
            continue  # reported below, once for the name
        if name in holder:
            conflict([name], [pid, holder[name]], "another person has this name already")
            continue
        given[pid] = holder[name] = name
    for name, pids in sorted(people_of.items()):
        if len(pids) > 1:
            conflict([name], pids, "one name is on the faces of several people")
    with state.transaction():
        for pid, name in given.items():
            state.set_name(pid, name)
    return given, conflicts
