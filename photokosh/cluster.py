"""Stage 4: group face embeddings into people.

The default method keeps DBSCAN at its core and makes it safe at library scale:

1. DBSCAN with a tight eps finds dense cores: faces that are surely one person. A core whose
   faces are on average further apart than `core_distance` has chained, and goes back to
   the merging face by face; a core that falls in two halves that keep to themselves (the
   mixing test of evidence.py) is two look-alikes, and is split (halves within
   `sure_distance` of each other merge again in step 2, where no evidence is asked).
2. Average-linkage merging joins cores and leftover faces while the root-mean-square distance
   between two groups' faces stays within 0.56, the distance dlib's metric loss pulls
   same-person pairs under (threshold 0.6 minus margin 0.04, dlib's loss_metric defaults).
   Average linkage looks at all pairs of two groups, so unlike DBSCAN's single links it does
   not chain people together.
3. Stray fragments (at most `attach_size` faces) then join the group they would pass dlib's
   own same-person test of 0.6 against on average.

In steps 2 and 3 a merge further apart than `sure_distance` must also be borne out by the
faces around it (evidence.py): the nearest group is not enough once a library holds
thousands of people. Faces of one photo never share a person (cannot-link) at any step.
New faces join existing people by the same rules (assign_to_people). How the thresholds
were chosen, and what the alternatives score, is measured by benchmarks/accuracy.py
(docs/accuracy.md). Neighbours
come from neighbours.py: exact search for small libraries, faiss's approximate IVF index
for large ones (benchmarks/cluster_scale.py measures time, memory and accuracy up to a
million faces).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from .doubt import halves
from .evidence import Evidence
from .groups import pair_rms, to_centre
from .merging import merge_groups
from .neighbours import Neighbours, dbscan, graph, neighbours_of

log = logging.getLogger(__name__)

# scipy is imported where it is used (scikit-learn not at all: neighbours.dbscan): it takes
# ~0.2 s to import, which a re-run with no new faces (groups.person_cohesion only) skips.


@dataclass(frozen=True)
class ClusterSettings:
    eps: float = 0.45  # DBSCAN eps (euclidean on the 128-d embeddings)
    min_samples: int = 2  # DBSCAN min_samples
    method: str = "default"  # "default" (DBSCAN + merging) or "dbscan" (plain DBSCAN)
    core_distance: float = 0.5  # a DBSCAN core further apart (pair RMS) has chained
    merge_distance: float = 0.56  # average-linkage cut (RMS distance between two groups)
    attach_distance: float = 0.6  # looser cut for fragments of at most attach_size faces
    attach_size: int = 5
    # Merges beyond sure_distance need the evidence of evidence.py: `support` (share of the
    # smaller group's nearest neighbours that are the other group's) and `crowding` (how
    # much the cut tightens per doubling of the strangers around). 0 turns a test off.
    sure_distance: float = 0.45
    support: float = 0.6
    crowding: float = 0.02
    ratio: float = 0.0  # the ratio test of evidence.py, off: measured, not better
    # Two groups of mixing_size faces or more are two people when, where they meet, their
    # faces have each other among their nearest less than `mixing` times as often as one
    # person's would (evidence.py).
    mixing: float = 0.35
    mixing_size: int = 3
    neighbours: int = 10  # nearest neighbours per face that the graph keeps
    # "auto": exact neighbour search while it is cheap, faiss's approximate IVF above;
    # "exact" or "approximate" force one (for measuring what the approximation costs).
    search: str = "auto"

    @property
    def reach(self) -> float:
        """How far the neighbour graph looks: the widest distance any step joins at."""
        return max(self.eps, self.merge_distance, self.attach_distance)


DEFAULT_SETTINGS = ClusterSettings()

# "auto" search turns approximate when queries x rows passes _EXACT_LIMIT^2 and there are
# more than 4 _EXACT_LIMIT queries, i.e. above 20,000 faces when clustering. Exact search
# costs ~6 ns per pair here (faiss, 2 cores): below 20,000 faces it takes seconds at most,
# and gives exact neighbours.
_EXACT_LIMIT = 5_000


def cluster_faces(embeddings: np.ndarray, groups: np.ndarray,
                  settings: ClusterSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """Label each face with its person.

    `embeddings` is (n, 128); faces with equal `groups` values come from one photo and never
    get the same label. Returns (n,) int labels 0..k-1, most faces first; -1 means "belongs to
    nobody" (DBSCAN noise, only with method "dbscan": the default gives every face a person,
    possibly one of its own). Deterministic.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    groups = np.asarray(groups)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    if settings.method not in ("default", "dbscan"):
        raise ValueError(f"unknown clustering method {settings.method!r}")
    if settings.search not in ("auto", "exact", "approximate"):
        raise ValueError(f"unknown neighbour search {settings.search!r}")
    started = time.perf_counter()
    approximate = _approximate(settings.search, len(x), len(x))
    labels = _cluster(x, groups, settings, approximate)
    log.info("clustered %d faces into %d groups (%s, %s search) in %.2f s", len(x),
             labels.max(initial=-1) + 1, settings.method,
             "approximate" if approximate else "exact", time.perf_counter() - started)
    return labels


def _cluster(x: np.ndarray, groups: np.ndarray, settings: ClusterSettings,
             approximate: bool) -> np.ndarray:
    index = Neighbours(x, approximate)
    edges, own = graph(index, x, settings.neighbours, settings.reach)
    labels = _dbscan(x, groups, edges, settings.eps, settings.min_samples)
    if settings.method == "dbscan":
        return _relabel(labels)
    evidence = _evidence(own, groups, x, settings)
    units = _split(x, _undo_chains(x, labels, settings), evidence)
    return _relabel(merge_groups(x, units, groups, edges, evidence, index, settings))


def _undo_chains(x, labels, settings: ClusterSettings) -> np.ndarray:
    """DBSCAN's labels, with the faces of chained cores and of no core on their own."""
    labels = labels.copy()
    labels[pair_rms(x, labels)[np.maximum(labels, 0)] > settings.core_distance] = -1
    loose = labels < 0
    labels[loose] = labels.max(initial=-1) + 1 + np.arange(int(loose.sum()))
    return labels


def _evidence(own, groups, x, settings: ClusterSettings) -> Evidence:
    return Evidence(own, groups, x, settings.support, settings.crowding, settings.ratio,
                    settings.mixing, settings.mixing_size, settings.neighbours)


def _split(x, units, evidence: Evidence, fixed: int = 0) -> np.ndarray:
    """`units` with each group whose two halves (doubt.halves, the cut `photokosh split`
    makes) keep to themselves (the mixing test) split, again and again; groups below
    `fixed` (existing people) stay. Returns labels 0..k-1."""
    if not evidence.mixing:
        return np.unique(units, return_inverse=True)[1].ravel()
    units = units.copy()
    order = np.argsort(units, kind="stable")
    start = np.searchsorted(units[order], np.arange(int(units.max(initial=-1)) + 2))
    todo = [order[start[u]:start[u + 1]] for u in range(fixed, len(start) - 1)
            if start[u + 1] - start[u] >= 2 * evidence.mixing_size]
    label = len(start) - 1  # the next new group's
    while todo:
        faces = todo.pop()
        half = halves(x[faces]) == 1
        a, b = faces[~half], faces[half]
        if min(len(a), len(b)) < evidence.mixing_size:
            continue
        side = dict.fromkeys(a.tolist(), 0) | dict.fromkeys(b.tolist(), 1)
        if evidence.apart(a.tolist(), b.tolist(), lambda f, side=side: side.get(f, -1), 0, 1):
            units[b], label = label, label + 1
            todo += [a, b]
    return np.unique(units, return_inverse=True)[1].ravel()


def assign_to_people(known: np.ndarray, known_labels: np.ndarray, new: np.ndarray,
                     new_groups: np.ndarray,
                     settings: ClusterSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """For each new face, the label of the existing person it joins, or -1 for nobody
    (place_new_faces, without the groups the others form)."""
    return place_new_faces(known, known_labels, new, new_groups, settings)[0]


def place_new_faces(known: np.ndarray, known_labels: np.ndarray, new: np.ndarray,
                    new_groups: np.ndarray, settings: ClusterSettings = DEFAULT_SETTINGS
                    ) -> tuple[np.ndarray, np.ndarray]:
    """For each new face, (the label of the existing person it joins or -1, and for those
    that join nobody the group 0..k-1 they form among themselves, else -1).

    The rules of cluster_faces with the existing people held fixed: the new faces form
    cores among themselves, then they and their groups join existing people (or not) by
    the same merging and evidence, two existing people never merging. The groups left are
    weighed among the library's faces, as they would be when clustering all at once (not
    among the new faces alone, where a pair of look-alikes has no strangers around). Faces
    of one photo never join one person. Only the new faces' neighbours are searched.
    """
    known_labels = np.asarray(known_labels)
    new = np.asarray(new, dtype=np.float64)
    out = np.full(len(new), -1, dtype=np.int64)
    keep = known_labels >= 0
    if not len(new):
        return out, out.copy()
    if not keep.any():
        return out, cluster_faces(new, new_groups, settings)
    people, idx = np.unique(known_labels[keep], return_inverse=True)
    x = np.r_[np.asarray(known, dtype=np.float64)[keep], new]
    n_old = int(keep.sum())
    fresh = n_old + np.arange(len(new))
    # Each known face a photo of its own: known faces never merge anyway.
    groups = np.r_[np.arange(n_old), n_old + np.unique(new_groups, return_inverse=True)[1]]
    index = Neighbours(x, _approximate(settings.search, len(new), len(x)))
    # A group photo's own faces take places among each face's nearest, and each of its faces
    # may need a person of its own: room for both.
    widest = int(np.bincount(groups[fresh]).max())
    edges, own = neighbours_of(index, x, fresh, widest - 1 + max(settings.neighbours, widest),
                               settings.reach)
    r, c, d = edges
    among = (r >= n_old) & (c >= n_old)  # the new faces' graph, numbered as in `new`
    cores = _dbscan(new, groups[fresh], (r[among] - n_old, c[among] - n_old, d[among]),
                    settings.eps, settings.min_samples)
    evidence = _evidence(own, groups, x, settings)
    units = _split(x, np.r_[idx.ravel(), len(people) + _undo_chains(new, cores, settings)],
                   evidence, fixed=len(people))
    old = np.r_[np.ones(n_old, bool), np.zeros(len(new), bool)]
    merged = merge_groups(x, units, groups, edges, evidence, index, settings, old)
    person_of = np.full(int(merged.max()) + 1, -1, dtype=np.int64)
    person_of[merged[:n_old]] = people[idx.ravel()]
    joined = person_of[merged[fresh]]
    alone = np.full(len(new), -1, dtype=np.int64)
    alone[joined < 0] = _relabel(merged[fresh][joined < 0])
    return joined, alone


def _approximate(search: str, queries: int, rows: int) -> bool:
    if search != "auto":
        return search == "approximate"
    return queries * rows > _EXACT_LIMIT**2 and queries > 4 * _EXACT_LIMIT


def _dbscan(x: np.ndarray, groups: np.ndarray, edges, eps: float, min_samples: int):
    """DBSCAN on the neighbour graph; faces of one photo are never each other's neighbours,
    and a group that still holds two faces of a photo keeps the one nearest its centre."""
    r, c, d = edges
    keep = (d <= eps) & (groups[r] != groups[c])
    n = len(x)  # distances of 0 are clipped: the sparse graph would drop them
    import scipy.sparse as sp

    graph = sp.csr_matrix((np.maximum(d[keep], 1e-12), (r[keep], c[keep])), shape=(n, n))
    labels = dbscan(graph, min_samples)  # sklearn's DBSCAN, without its import
    member = labels >= 0
    if not member.any():
        return labels
    off = np.full(n, np.inf)
    off[member] = to_centre(x[member], labels[member])
    order = np.lexsort((np.arange(n), off, groups, labels))
    lab, grp = labels[order], groups[order]
    repeat = np.r_[False, (lab[1:] == lab[:-1]) & (grp[1:] == grp[:-1])] & (lab >= 0)
    labels[order[repeat]] = -1
    return labels


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 by decreasing size, ties by first face; -1 stays -1."""
    out, keep = np.full(len(labels), -1, dtype=np.int64), labels >= 0
    values, first, inverse, counts = np.unique(labels[keep], return_index=True,
                                               return_inverse=True, return_counts=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.lexsort((first, -counts))] = np.arange(len(values))
    out[keep] = rank[inverse.ravel()]
    return out
