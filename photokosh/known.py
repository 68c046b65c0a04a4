"""`--known DIR`: reference photos that name people from the first run on.

DIR holds one folder per person (`DIR/Alice Smith/*.jpg`), each with one or more photos of
them. Reference photos are analysed like any photo and cached in the state by content.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import closing
from pathlib import Path

import numpy as np

from .analyze import analyze, crash_mark
from .faces import Embedder
from .identify import match_known, unrecognisable
from .names import clean_name, folder_name
from .scan import scan
from .state import State


def load_references(known_dir: Path, state: State, embedder: Embedder,
                    workers: int) -> tuple[dict[str, np.ndarray], list[tuple[str, str]]]:
    """name -> (n,128) reference embeddings (the largest face of each photo), and
    (path, reason) for reference photos that could not be used."""
    key = embedder.key
    scanned = scan(Path(known_dir))
    errors = [(f"known/{rel}", reason) for rel, reason in scanned.errors]
    jobs = []
    for c in scanned.photos:
        if "/" not in c.rel:
            errors.append((f"known/{c.rel}", "reference photos go in a folder named after "
                                             "the person: DIR/<name>/photo.jpg"))
            continue
        jobs.append(c)
    analysed = frozenset(state.analysed(key))
    hashes: dict[str, list[str]] = defaultdict(list)
    # the mark first, on disk; closing: an interrupt stops the worker processes at once
    with crash_mark(state, "references") as died, state.transaction(), \
            closing(analyze(jobs, embedder, known=analysed, workers=workers,
                            isolate=died)) as results:
        state.clear_references()
        for result in results:
            name = clean_name(result.job.rel.split("/")[0])
            if result.error or not result.hash:
                errors.append((f"known/{result.job.rel}", result.error or "unreadable"))
                continue
            if not result.cached:
                state.put_analysis(result.hash, key, result.width, result.height,
                                   result.faces or [], None)
            state.add_reference(name, result.hash)
            hashes[name].append(result.hash)
    references: dict[str, list[np.ndarray]] = defaultdict(list)
    for name, name_hashes in hashes.items():
        if folder_name(name) is None:
            errors.append((f"known/{name}", "the folder name has no usable characters"))
            continue
        for hash_ in name_hashes:
            faces = [f for f in state.faces_of(hash_) if f.embedding is not None]
            if not faces:
                errors.append((f"known/{name}", f"no face found in a reference photo "
                                                f"({hash_[:8]})"))
                continue
            largest = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            why = unrecognisable(largest.box)
            if why:  # a reference to match people against must be recognisable itself
                errors.append((f"known/{name}", f"the face in a reference photo ({hash_[:8]}) "
                                                f"is {why}"))
                continue
            references[name].append(largest.embedding)
    return {n: np.stack(e) for n, e in references.items()}, errors


def name_people(state: State, key: str, references: dict[str, np.ndarray]) -> dict[str, str]:
    """Name the people nobody named yet whose faces match a reference. Returns id -> name."""
    if not references:
        return {}
    people = state.people()
    taken = {p.name for p in people if p.name}
    unnamed = {p.id for p in people if not p.name}
    embeddings: dict[str, list[np.ndarray]] = defaultdict(list)
    for face in state.current_faces(key):
        if face.person in unnamed and face.embedding is not None:
            embeddings[face.person].append(face.embedding)
    free = {n: e for n, e in references.items() if n not in taken}
    found = match_known({p: np.stack(e) for p, e in embeddings.items()}, free)
    with state.transaction():
        for pid, name in found.items():
            state.set_name(pid, name)
    return found
