"""Is one person really two? The test behind the `doubtful` flag for a merged pair.

A merge of two look-alikes (Hu Jintao and Wen Jiabao in lfw-dev) can be as tight as one
person's faces, so the person's cohesion cannot tell (0.70; Lance Armstrong's is 0.64). What
does: cut the person's faces in two (Ward linkage) and compare how far apart the halves are
with how far apart faces are within each half. One person's halves are lopsided (an outlier,
a few odd photos) or hardly apart; two people give two big halves clearly apart. Measured on
lfw-dev and the demo album: docs/corrections.md.

The clustering cuts groups with the same `halves`, and keeps the halves apart when their
faces keep to themselves (evidence.py's mixing test), so it no longer merges Hu and Wen; the
flag is for what it still merges.
"""

from __future__ import annotations

import numpy as np

from .evidence import Evidence
from .groups import GroupStats

SPLIT_RATIO = 1.2  # cross-half RMS distance / within-half RMS distance
SPLIT_SHARE = 0.4  # each half holds at least this share of the faces...
SPLIT_FACES = 6  # ...and at least this many
_SAMPLE = 400  # faces the cut looks at: Ward linkage is quadratic in memory
KEEP_APART = 0.5  # halves_keep_apart's cut: between one person (0.70) and two (0.36, 0.17)


def halves(x: np.ndarray) -> np.ndarray:
    """The faces `x` (at least two) cut in two by Ward linkage: a label 0 or 1 per face.
    Past _SAMPLE faces the cut is made on an evenly spaced sample (deterministic) and every
    face takes the half whose centre is nearer."""
    from scipy.cluster.hierarchy import fcluster, linkage

    x = np.asarray(x, dtype=np.float64)
    pick = np.linspace(0, len(x) - 1, min(len(x), _SAMPLE)).astype(np.int64)
    labels = fcluster(linkage(x[pick], "ward"), 2, "maxclust") - 1
    if len(pick) == len(x):
        return labels
    centres = GroupStats(x[pick], labels, 2).centres
    return np.argmin(np.linalg.norm(x[:, None] - centres[None], axis=2), axis=1)


def split_ratio(x: np.ndarray) -> tuple[float, int, int]:
    """(cross-half / within-half RMS distance, faces in the smaller half, faces looked at)
    for the person whose faces are `x`; (0, 0, n) for fewer than four faces."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) > _SAMPLE:
        x = x[np.linspace(0, len(x) - 1, _SAMPLE).astype(np.int64)]
    if len(x) < 4:
        return 0.0, 0, len(x)
    labels = halves(x)
    stats = GroupStats(x, labels, 2)
    if stats.count.min() == 0:  # all faces alike: nothing to cut
        return 0.0, 0, len(x)
    within = np.sqrt((stats.pair_rms() ** 2 * stats.count).sum() / len(x))
    cross = float(stats.rms(np.array([0]), np.array([1]))[0])
    return cross / max(float(within), 1e-9), int(stats.count.min()), len(x)


def looks_like_two(ratio: float, smaller: int, faces: int) -> bool:
    return (ratio >= SPLIT_RATIO and smaller >= SPLIT_FACES
            and smaller >= SPLIT_SHARE * faces)


def halves_keep_apart(x: np.ndarray) -> bool:
    """Whether the two halves of the faces `x` keep to themselves: evidence.py's mixing test
    among these faces alone, each face's k nearest with k below the smaller half's size (so
    that a half can keep to itself). The ratio alone also flags one person photographed in
    two settings (the demo's Obama, 1.26 over 12 photos), whose halves mix (0.70); Hu and
    Wen's do not (0.36 over 22 photos, 0.17 over 28)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) > _SAMPLE:
        x = x[np.linspace(0, len(x) - 1, _SAMPLE).astype(np.int64)]
    side = halves(x)
    k = min(10, int(np.bincount(side, minlength=2).min()) - 1)
    if k < 2:
        return False
    d = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0))
    np.fill_diagonal(d, np.inf)
    near = np.argsort(d, axis=1, kind="stable")[:, :k].ravel()
    rows = np.repeat(np.arange(len(x)), k)
    evidence = Evidence((rows, near, d[rows, near]), np.arange(len(x)), x, 0.0, 0.0,
                        mixing=KEEP_APART, k=k)
    a, b = np.flatnonzero(side == 0).tolist(), np.flatnonzero(side == 1).tolist()
    return evidence.apart(a, b, side.__getitem__, 0, 1)
