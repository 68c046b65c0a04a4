"""`photokosh evaluate`: run the sort pipeline's analysis and clustering on photos whose people
are known, and score the clustering (metrics.py) — the way to check accuracy on your own
photos and to tune the clustering settings (`tune`)."""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from .analyze import default_workers
from .errors import PhotokoshError
from .faces import Embedder
from .layout import default_output, state_db
from .places import check_cache
from .records import StoredFace
from .scan import scan
from .state import open_state
from .sync import update_analyses

# A multi-person photo's names go to its faces by nearest prototype; beyond this distance a
# face is left unlabelled rather than guessed (dlib's same-person threshold).
LABEL_DISTANCE = 0.6


def load_labels(root: Path, labels_file: Path | None = None) -> dict[str, list[str]]:
    """photo (relative path) -> names. Without a file, each photo's folder is its person."""
    if labels_file is not None:
        raw = json.loads(Path(labels_file).read_text(encoding="utf-8"))
        return {rel: list(names) for rel, names in raw.items() if not rel.startswith("_")}
    labels = {}
    for photo in scan(root).photos:
        parts = photo.rel.split("/")
        if len(parts) >= 2:
            labels[photo.rel] = [parts[-2]]
    if not labels:
        raise PhotokoshError(f"{root} has no photos in per-person sub-folders; "
                             "give --labels FILE.json for any other layout")
    return labels


def default_cache(root: Path) -> Path:
    """Use the state of a `photokosh sort` of the same folder when there is one."""
    sorted_state = default_output(root)
    if state_db(sorted_state).exists():
        return sorted_state
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.blake2b(str(root).encode("utf-8", "surrogateescape"),
                             digest_size=8).hexdigest()
    return base / "photokosh" / "evaluate" / digest


def labelled_faces(root: Path, labels: dict[str, list[str]], embedder: Embedder,
                   cache: Path | None = None, workers: int | None = None,
                   progress=None) -> tuple[list[StoredFace], dict[int, str], dict[str, str]]:
    """Analyse `root` (reusing the cache) and return (every face, face id -> true name,
    hash -> photo) for the photos in `labels`."""
    root = Path(root).resolve()
    cache = Path(cache) if cache else default_cache(root)
    check_cache(root, cache)
    cache.mkdir(parents=True, exist_ok=True)
    notify = progress or (lambda *a: None)
    with open_state(cache, create=True) as state:
        run = state.begin_run(0.0)
        update_analyses(scan(root, exclude=[cache]), state, embedder,
                        workers or default_workers(), run, notify)
        faces = state.current_faces(embedder.key)
        rows = state.photo_rows()
        sizes = state.analysed(embedder.key)
    photo_of = {row.hash: rel for rel, row in sorted(rows.items())
                if row.hash and rel in labels}
    faces = [f for f in faces if f.hash in photo_of and f.embedding is not None]
    by_photo: dict[str, list[StoredFace]] = defaultdict(list)
    for face in faces:
        by_photo[face.hash].append(face)
    truth: dict[int, str] = {}
    for hash_, members in by_photo.items():  # one name: the face nearest the centre
        names = labels[photo_of[hash_]]
        if len(names) == 1:
            size = sizes[hash_]
            truth[_central(members, size.width, size.height).id] = names[0]
    prototypes = _prototypes(faces, truth)
    for hash_, members in by_photo.items():  # several names: matched to faces by prototype
        names = labels[photo_of[hash_]]
        if len(names) > 1:
            truth.update(_match(members, names, prototypes))
    return faces, truth, photo_of


def score(faces: list[StoredFace], truth: dict[int, str], settings) -> dict:
    """Cluster every face (labelled or not) from scratch and score the labelled ones."""
    from .cluster import cluster_faces
    from .metrics import evaluate_labels

    if not faces:
        raise PhotokoshError("no faces were found in the labelled photos")
    groups = {h: i for i, h in enumerate(sorted({f.hash for f in faces}))}
    pred = cluster_faces(np.stack([f.embedding for f in faces]),
                         np.array([groups[f.hash] for f in faces]), settings)
    scored = [(truth[f.id], int(p)) for f, p in zip(faces, pred, strict=True) if f.id in truth]
    result = evaluate_labels([t for t, _ in scored], [p for _, p in scored])
    result["faces_clustered"] = len(faces)
    return result


def tune(faces: list[StoredFace], truth: dict[int, str], base) -> list[dict]:
    """The grid of tune.py on these faces: every face clustered, the labelled ones scored."""
    from . import tune as grid

    if not faces:
        raise PhotokoshError("no faces were found in the labelled photos")
    groups = {h: i for i, h in enumerate(sorted({f.hash for f in faces}))}
    scored = np.array([f.id in truth for f in faces])
    return grid.tune(np.stack([f.embedding for f in faces]),
                     np.array([groups[f.hash] for f in faces]),
                     np.array([truth[f.id] for f in faces if f.id in truth]), scored, base)


def _central(faces: list[StoredFace], width: int, height: int) -> StoredFace:
    cx, cy = width / 2, height / 2
    return min(faces, key=lambda f: ((f.box[0] + f.box[2]) / 2 - cx) ** 2
               + ((f.box[1] + f.box[3]) / 2 - cy) ** 2)


def _prototypes(faces: list[StoredFace], truth: dict[int, str]) -> dict[str, np.ndarray]:
    by_name: dict[str, list[np.ndarray]] = defaultdict(list)
    for face in faces:
        if face.id in truth:
            by_name[truth[face.id]].append(face.embedding)
    return {name: np.mean(embs, axis=0) for name, embs in by_name.items()}


def _match(faces: list[StoredFace], names: list[str],
           prototypes: dict[str, np.ndarray]) -> dict[int, str]:
    from scipy.optimize import linear_sum_assignment

    known = [n for n in names if n in prototypes]
    if not known:
        return {}
    cost = np.array([[np.linalg.norm(f.embedding - prototypes[n]) for n in known]
                     for f in faces])
    rows, cols = linear_sum_assignment(cost)
    return {faces[r].id: known[c] for r, c in zip(rows, cols, strict=True)
            if cost[r, c] <= LABEL_DISTANCE}
