"""Groups of face embeddings summed up: count, sum and sum of squared norms per group.

That is enough for every centre, spread and RMS distance the clustering (cluster.py,
identify.py) and the read model (catalog.py) use, in closed form and O(d) per group or pair
however large the groups are:

- a group's spread, its faces' mean squared distance to its centre, is mean |x|^2 - |centre|^2;
- over a group's ordered pairs of faces (a face with itself included) the mean squared
  distance is twice its spread, over its distinct pairs 2n/(n-1) times;
- between groups a and b, mean |x - y|^2 = sq_a/n_a + sq_b/n_b - 2 s_a.s_b/(n_a n_b).
"""

from __future__ import annotations

import numpy as np

_CHUNK = 65536  # pairs per block: all at once is 2 GB at 100k faces
SAME_PERSON = 0.6  # dlib's same-person threshold


class GroupStats:
    """Count, sum and sum of squared norms of the faces x[i] per group idx[i] (0..size-1)."""

    def __init__(self, x: np.ndarray, idx: np.ndarray, size: int | None = None):
        size = int(idx.max(initial=-1)) + 1 if size is None else size
        self.count = np.bincount(idx, minlength=size).astype(np.float64)
        import scipy.sparse as sp  # where it is used: a re-run with nothing new skips it

        onehot = sp.csr_matrix((np.ones(len(idx)), (idx, np.arange(len(idx)))),
                               shape=(size, len(idx)))
        self.sums = np.asarray(onehot @ x)
        self.sq = np.bincount(idx, weights=np.einsum("ij,ij->i", x, x), minlength=size)

    @property
    def centres(self) -> np.ndarray:
        return self.sums / np.maximum(self.count, 1)[:, None]

    def spread(self) -> np.ndarray:
        """Per group, the mean squared distance from its faces to its centre."""
        centres = self.centres
        n = np.maximum(self.count, 1)
        return np.maximum(self.sq / n - np.einsum("ij,ij->i", centres, centres), 0)

    def pair_rms(self) -> np.ndarray:
        """Per group, the RMS distance between two distinct faces (0 for a single face)."""
        n = np.maximum(self.count, 1)
        return np.sqrt(2 * self.spread() * n / np.maximum(n - 1, 1))

    def rms(self, a, b: np.ndarray) -> np.ndarray:
        """RMS distance between faces of groups a and b, pair by pair. `a` is an array like
        b, or one group (the merging's inner loop: against each of b)."""
        if np.ndim(a) == 0:
            cross = self.sums[b] @ self.sums[a]
        elif len(a) <= _CHUNK:
            cross = np.einsum("ij,ij->i", self.sums[a], self.sums[b])
        else:
            cross = np.concatenate([
                np.einsum("ij,ij->i", self.sums[a[i:i + _CHUNK]], self.sums[b[i:i + _CHUNK]])
                for i in range(0, len(a), _CHUNK)])
        na, nb = self.count[a], self.count[b]
        return np.sqrt(np.maximum(self.sq[a] / na + self.sq[b] / nb - 2 * cross / (na * nb), 0))

    def rms_pairs(self, y: np.ndarray, rows: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """RMS distances from faces y[rows] to groups `groups`, pair by pair, in chunks."""
        out = np.empty(len(rows))
        for i in range(0, len(rows), _CHUNK):
            yr, g = y[rows[i:i + _CHUNK]], groups[i:i + _CHUNK]
            d2 = (np.einsum("ij,ij->i", yr, yr) + self.sq[g] / self.count[g]
                  - 2 * np.einsum("ij,ij->i", yr, self.sums[g]) / self.count[g])
            out[i:i + _CHUNK] = np.sqrt(np.maximum(d2, 0))
        return out

    def merge(self, x: int, y: int) -> None:
        for a in (self.count, self.sums, self.sq):
            a[x] += a[y]


def pair_rms(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per label 0..max, the RMS distance between two distinct faces; faces labelled -1 are
    left out."""
    idx = np.where(labels >= 0, labels, 0)
    member = labels >= 0
    return GroupStats(x[member], idx[member], int(idx.max(initial=0)) + 1).pair_rms()


def to_centre(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each face's distance to the centre of its group (`labels` >= 0, one per face)."""
    return np.linalg.norm(x - GroupStats(x, labels).centres[labels], axis=1)


def person_cohesion(embeddings: np.ndarray, labels: np.ndarray,
                    limit: float = SAME_PERSON) -> dict[int, dict]:
    """How alike each person's faces are, per label >= 0.

    `mean_distance` / `max_distance`: from the faces to the person's centre; `pair_rms`: RMS
    distance between two of the person's faces; `cohesion`: 1 - mean_distance (1 = identical).
    `doubtful` is set when, on average, two of the person's faces would fail dlib's 0.6
    same-person test (pair_rms > `limit`: two people merged), or some face would fail
    it against the person's average face (max_distance > `limit`: an intruder).
    """
    x = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    keep = labels >= 0
    people, idx = np.unique(labels[keep], return_inverse=True)
    if not len(people):
        return {}
    idx = idx.ravel()
    stats = GroupStats(x[keep], idx)
    distance = np.linalg.norm(x[keep] - stats.centres[idx], axis=1)
    mean = np.bincount(idx, weights=distance) / stats.count
    largest = np.zeros(len(people))
    np.maximum.at(largest, idx, distance)
    rms = stats.pair_rms()
    return {int(p): {"faces": int(stats.count[i]), "mean_distance": float(mean[i]),
                     "max_distance": float(largest[i]), "pair_rms": float(rms[i]),
                     "cohesion": float(1 - mean[i]),
                     "doubtful": bool(rms[i] > limit or largest[i] > limit)}
            for i, p in enumerate(people)}
