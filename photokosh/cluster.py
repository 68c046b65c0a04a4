"""Stage 4: group face embeddings into people.

The default method keeps DBSCAN at its core and makes it safe at library scale:

1. DBSCAN with a tight eps finds dense cores: faces that are surely one person. A core whose
   faces are on average further apart than `core_distance` has chained, and goes back to
   the merging face by face.
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

import heapq
import logging
import time
from dataclasses import dataclass

import numpy as np

from .evidence import Evidence
from .groups import GroupStats, pair_rms, to_centre
from .neighbours import Neighbours, graph, near_groups, neighbours_of

log = logging.getLogger(__name__)

# scipy and scikit-learn are imported where they are used: together they take about two
# seconds to import, which a re-run with no new faces (groups.person_cohesion only) skips.


@dataclass(frozen=True)
class ClusterSettings:
    eps: float = 0.43  # DBSCAN eps (euclidean on the 128-d embeddings)
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
    neighbours: int = 10  # nearest neighbours per face that the graph keeps
    # "auto": exact neighbour search while it is cheap, faiss's approximate IVF above;
    # "exact" or "approximate" force one (for measuring what the approximation costs).
    search: str = "auto"


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
    reach = max(settings.eps, settings.merge_distance, settings.attach_distance)
    index = Neighbours(x, approximate)
    edges, own = graph(index, x, settings.neighbours, reach)
    labels = _dbscan(x, groups, edges, settings.eps, settings.min_samples)
    if settings.method == "dbscan":
        return _relabel(labels)
    units = np.unique(_undo_chains(x, labels, settings), return_inverse=True)[1].ravel()
    return _relabel(_merges(x, units, groups, edges, own, index, settings))


def _undo_chains(x, labels, settings: ClusterSettings) -> np.ndarray:
    """DBSCAN's labels, with the faces of chained cores and of no core on their own."""
    labels = labels.copy()
    labels[pair_rms(x, labels)[np.maximum(labels, 0)] > settings.core_distance] = -1
    loose = labels < 0
    labels[loose] = labels.max(initial=-1) + 1 + np.arange(int(loose.sum()))
    return labels


def _merges(x, units, groups, edges, own, index, settings: ClusterSettings, old=None):
    """Steps 2 and 3 on `units`, over the symmetric graph `edges`, weighing each face's `own`
    nearest. Groups holding `old` faces (existing people, a mask over the faces) never merge
    with each other."""
    rule = _Rule(settings.sure_distance,
                 Evidence(own, groups, settings.support, settings.crowding, settings.ratio),
                 np.zeros(len(x), bool) if old is None else old)
    units = _merge(x, units, groups, edges, index, settings.merge_distance,
                   settings.neighbours, rule)
    if settings.attach_size > 0:
        units = _merge(x, units, groups, edges, index, settings.attach_distance,
                       settings.neighbours, rule, small=settings.attach_size)
    return units


@dataclass
class _Rule:
    sure: float  # merges up to here need no evidence
    evidence: Evidence
    old: np.ndarray  # per face: an existing person's


def assign_to_people(known: np.ndarray, known_labels: np.ndarray, new: np.ndarray,
                     new_groups: np.ndarray,
                     settings: ClusterSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """For each new face, the label of the existing person it joins, or -1 for nobody.

    The rules of cluster_faces with the existing people held fixed: the new faces form
    cores among themselves, then they and their groups join existing people (or not) by
    the same merging and evidence, two existing people never merging. Faces of one photo
    never join one person. Only the new faces' neighbours are searched, not the library's.
    """
    known_labels = np.asarray(known_labels)
    new = np.asarray(new, dtype=np.float64)
    out = np.full(len(new), -1, dtype=np.int64)
    keep = known_labels >= 0
    if not len(new) or not keep.any():
        return out
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
    reach = max(settings.eps, settings.merge_distance, settings.attach_distance)
    edges, own = neighbours_of(index, x, fresh, widest - 1 + max(settings.neighbours, widest),
                               reach)
    among = np.isin(edges[0], fresh) & np.isin(edges[1], fresh)
    cores = _dbscan(new, groups[fresh], tuple(e[among] - (n_old if i < 2 else 0)
                                              for i, e in enumerate(edges)),
                    settings.eps, settings.min_samples)
    units = np.r_[idx.ravel(), len(people) + _undo_chains(new, cores, settings)]
    old = np.r_[np.ones(n_old, bool), np.zeros(len(new), bool)]
    merged = _merges(x, units, groups, edges, own, index, settings, old)
    person_of = np.full(int(merged.max()) + 1, -1, dtype=np.int64)
    person_of[merged[:n_old]] = people[idx.ravel()]
    return person_of[merged[fresh]]


def _approximate(search: str, queries: int, rows: int) -> bool:
    if search != "auto":
        return search == "approximate"
    return queries * rows > _EXACT_LIMIT**2 and queries > 4 * _EXACT_LIMIT


def _split_by(keys: np.ndarray, values: np.ndarray, size: int) -> list[np.ndarray]:
    """values grouped by their key 0..size-1, in order."""
    order = np.argsort(keys, kind="stable")
    return np.split(values[order], np.searchsorted(keys[order], np.arange(1, size)))


def _dbscan(x: np.ndarray, groups: np.ndarray, edges, eps: float, min_samples: int):
    """DBSCAN on the neighbour graph; faces of one photo are never each other's neighbours,
    and a group that still holds two faces of a photo keeps the one nearest its centre."""
    r, c, d = edges
    keep = (d <= eps) & (groups[r] != groups[c])
    n = len(x)  # distances of 0 are clipped: the sparse graph would drop them
    import scipy.sparse as sp
    from sklearn.cluster import DBSCAN

    graph = sp.csr_matrix((np.maximum(d[keep], 1e-12), (r[keep], c[keep])), shape=(n, n))
    labels = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(graph)
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


def _merge(x, units, groups, edges, index: Neighbours, limit: float, k: int, rule: _Rule,
           small: int | None = None):
    """Average-linkage (RMS) agglomeration of `units` up to `limit`, never joining two units
    that share a photo; with `small`, one side of every merge has at most `small` faces.
    Candidates: the face graph's pairs, plus the groups of the faces nearest the centre of
    each group of several faces (then of each group that is new), so that two groups whose
    faces only see their own group's faces still meet. (For a single face the face graph
    already holds that.) Repeats until a round merges nothing."""
    r, c, d = edges
    r, c = r[d <= limit], c[d <= limit]
    pairs = np.c_[units[r], units[c]]
    changed = None  # first round: every new group of several faces
    while True:
        stats = GroupStats(x, units)
        old = np.bincount(units, weights=rule.old, minlength=len(stats.count)) > 0
        queries = np.flatnonzero((stats.count > 1) & ~old) if changed is None else changed
        near = near_groups(index, x, units, stats.centres, stats.count, queries, k, limit)
        merged = _agglomerate(stats, units, groups, np.r_[pairs, near], limit, small, rule,
                              old)
        both = np.unique(merged * (units.max() + 1) + units) // (units.max() + 1)
        changed = np.flatnonzero(np.bincount(both) > 1)  # groups made of several old ones
        if not len(changed):
            return merged
        units = merged
        # Pairs between two unchanged groups were weighed already and still fail.
        touch = np.isin(units[r], changed) | np.isin(units[c], changed)
        pairs = np.c_[units[r[touch]], units[c[touch]]]


def _agglomerate(stats: GroupStats, units, groups, pairs, limit: float, small: int | None,
                 rule: _Rule, old: np.ndarray):
    # Cost grows with the candidate pairs (~ n * neighbours) and, per merge, with how many
    # groups neighbour the merged one: each distance is O(d) from the groups' sums.
    # Only candidate pairs within `limit` are kept: the mean squared distance from a merged
    # group to z is the size-weighted mean of its parts', so it can come within `limit` only
    # through a part that is. (A pair that is not a candidate stays unseen here; _merge's
    # next round looks around the merged groups again.) That keeps `near` and the heap
    # small with a million faces.
    m = len(stats.count)  # stats: of `units`, updated in place as they merge
    photos = [set(part.tolist()) for part in _split_by(units, groups, m)]
    pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
    key = np.unique(pairs[:, 0] * m + pairs[:, 1])  # as np.unique(axis=0), several times faster
    pairs = np.c_[key // m, key % m]
    dist = stats.rms(pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros(0)
    pairs, dist = pairs[dist <= limit], dist[dist <= limit]
    near: list[set[int]] = [set() for _ in range(m)]
    for a, b in pairs.tolist():
        near[a].add(b)
        near[b].add(a)
    version = np.zeros(m, dtype=np.int64)
    heap = [(dd, a, b, 0, 0) for dd, (a, b) in zip(dist.tolist(), pairs.tolist(), strict=True)]
    heapq.heapify(heap)
    parent = np.arange(m)
    members = _split_by(units, np.arange(len(units)), m)
    members = [part.tolist() for part in members]

    def unit_of(face: int) -> int:
        return _root(parent, units[face])

    while heap:
        dab, a, b, va, vb = heapq.heappop(heap)
        if parent[a] != a or parent[b] != b or version[a] != va or version[b] != vb:
            continue  # stale: one side has merged since
        if (small is not None and min(stats.count[a], stats.count[b]) > small) \
                or not photos[a].isdisjoint(photos[b]) or (old[a] and old[b]):
            continue  # sizes only grow and photos stay, so this pair stays excluded
        if dab > rule.sure:
            # Weighed from the smaller group's side, or the new one's; a pair turned down
            # here is weighed again when either side grows (its pairs are pushed anew).
            own, other = (a, b) if (old[a], stats.count[a]) <= (old[b], stats.count[b]) \
                else (b, a)
            if not rule.evidence.agrees(members[own], unit_of, own, other,
                                        int(stats.count[other]), dab, limit):
                continue
            # Between equals (two faces seen once, say) neither side is the smaller: both
            # must agree.
            if stats.count[a] == stats.count[b] and not old[other] \
                    and not rule.evidence.agrees(members[other], unit_of, other, own,
                                                 int(stats.count[own]), dab, limit):
                continue
        if (stats.count[a], -a) < (stats.count[b], -b):
            a, b = b, a
        stats.merge(a, b)
        photos[a] |= photos[b]
        members[a].extend(members[b])
        members[b] = []
        old[a] |= old[b]
        parent[b], version[a] = a, version[a] + 1
        for z in near[b]:
            near[z].discard(b)
            if z != a:
                near[z].add(a)
        near[a] |= near[b] - {a}
        near[b] = set()
        if near[a]:
            zs = np.fromiter(near[a], dtype=np.int64, count=len(near[a]))
            dists = stats.rms(a, zs).tolist()
            for dd, z in zip(dists, zs.tolist(), strict=True):
                if dd <= limit:
                    heapq.heappush(heap, (dd, a, z, version[a], version[z]))
                else:  # and stays out of reach, as above
                    near[a].discard(z)
                    near[z].discard(a)
    while not np.array_equal(parent, parent[parent]):
        parent = parent[parent]
    return np.unique(parent[units], return_inverse=True)[1].ravel()


def _root(parent: np.ndarray, u: int) -> int:
    while parent[u] != u:
        parent[u] = parent[parent[u]]  # halve the path as it is walked
        u = parent[u]
    return int(u)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 by decreasing size, ties by first face; -1 stays -1."""
    out, keep = np.full(len(labels), -1, dtype=np.int64), labels >= 0
    values, first, inverse, counts = np.unique(labels[keep], return_index=True,
                                               return_inverse=True, return_counts=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.lexsort((first, -counts))] = np.arange(len(values))
    out[keep] = rank[inverse.ravel()]
    return out
