"""Stage 4: group face embeddings into people.

The default method keeps DBSCAN at its core and makes it safe at library scale:

1. DBSCAN with a tight eps finds dense cores: faces that are surely one person.
2. Average-linkage merging joins cores and leftover faces while the root-mean-square distance
   between two groups' faces stays within 0.56, the distance dlib's metric loss pulls
   same-person pairs under (threshold 0.6 minus margin 0.04, dlib's loss_metric defaults).
   Average linkage looks at all pairs of two groups, so unlike DBSCAN's single links it does
   not chain people together, and its cut does not move with the size of the library.
3. Stray fragments (at most `attach_size` faces) then join the group they would pass dlib's
   own same-person test of 0.6 against on average.

Faces of one photo never share a person (cannot-link) at any step. How the thresholds were
chosen, and what the alternatives score, is measured by benchmarks/accuracy.py. Neighbours
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

from .groups import GroupStats, pair_rms, to_centre
from .neighbours import Neighbours, dbscan, graph, near_groups

log = logging.getLogger(__name__)

# scipy is imported where it is used (scikit-learn not at all: neighbours.dbscan): it takes
# ~0.2 s to import, which a re-run with no new faces (that only needs person_cohesion) skips.


@dataclass(frozen=True)
class ClusterSettings:
    eps: float = 0.4  # DBSCAN eps (euclidean on the 128-d embeddings)
    min_samples: int = 2  # DBSCAN min_samples
    method: str = "default"  # "default" (DBSCAN + merging) or "dbscan" (plain DBSCAN)
    merge_distance: float = 0.56  # average-linkage cut (RMS distance between two groups)
    attach_distance: float = 0.6  # looser cut for fragments of at most attach_size faces
    attach_size: int = 5
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
    edges = graph(index, x, settings.neighbours, reach)
    labels = _dbscan(x, groups, edges, settings.eps, settings.min_samples)
    if settings.method == "dbscan":
        return _relabel(labels)
    # Average linkage never builds a group whose faces are on average further apart than its
    # cut; a DBSCAN core that is has chained, and its faces go back to the merging one by one.
    labels[pair_rms(x, labels)[np.maximum(labels, 0)] > settings.merge_distance] = -1
    loose = labels < 0
    labels[loose] = labels.max(initial=-1) + 1 + np.arange(int(loose.sum()))
    units = np.unique(labels, return_inverse=True)[1].ravel()
    units = _merge(x, units, groups, edges, index, settings.merge_distance, settings.neighbours)
    if settings.attach_size > 0:
        units = _merge(x, units, groups, edges, index, settings.attach_distance,
                       settings.neighbours, small=settings.attach_size)
    return _relabel(units)


def assign_to_people(known: np.ndarray, known_labels: np.ndarray, new: np.ndarray,
                     new_groups: np.ndarray,
                     settings: ClusterSettings = DEFAULT_SETTINGS) -> np.ndarray:
    """For each new face, the label of the existing person it joins, or -1 for nobody.

    A face joins a person when the RMS distance between it and the person's faces is within
    `attach_distance` (`merge_distance` if attach_size is 0): the rule by which cluster_faces
    lets a lone face join a group, so a face that clustering would have put with a person
    joins them. Faces of one photo are matched to people together (linear_sum_assignment),
    so no two join the same person.
    """
    known_labels = np.asarray(known_labels)
    new = np.asarray(new, dtype=np.float64)
    new_groups = np.asarray(new_groups)
    out = np.full(len(new), -1, dtype=np.int64)
    keep = known_labels >= 0
    if not len(new) or not keep.any():
        return out
    people, idx = np.unique(known_labels[keep], return_inverse=True)
    stats = GroupStats(np.asarray(known, dtype=np.float64)[keep], idx.ravel())
    limit = settings.attach_distance if settings.attach_size > 0 else settings.merge_distance
    photo = np.unique(new_groups, return_inverse=True)[1].ravel()
    # Candidates: each face's k people nearest by RMS distance. RMS^2 from a face to a group
    # is |face - centre|^2 + the group's mean squared distance to its centre, so a search
    # among the centres, with that spread as one more coordinate (0 for the faces), finds
    # them without weighing every face against every person. With k at least the faces of
    # the photo, the best matching of a photo's faces to people uses only candidates.
    k = max(settings.neighbours, int(np.bincount(photo).max()))
    search = Neighbours(np.c_[stats.centres, np.sqrt(stats.spread())],
                        _approximate(settings.search, len(new), len(people)))
    found = search.of_points(np.c_[new, np.zeros(len(new))], k)
    face, person = np.repeat(np.arange(len(new)), found.shape[1]), found.ravel()
    dist = stats.rms_pairs(new, face[person >= 0], person[person >= 0])
    face, person = face[person >= 0][dist <= limit], person[person >= 0][dist <= limit]
    dist = dist[dist <= limit]
    # A face that is its photo's only one with candidates takes its nearest person; the
    # faces of the other photos are matched photo by photo.
    has = np.unique(face)
    alone = np.zeros(len(new), bool)
    alone[has] = np.bincount(photo[has])[photo[has]] == 1
    best = np.lexsort((person, dist, face))
    best = best[np.r_[True, face[best][1:] != face[best][:-1]]] if len(best) else best
    best = best[alone[face[best]]]
    out[face[best]] = people[person[best]]
    shared = ~alone[face]
    face, person, dist = face[shared], person[shared], dist[shared]
    photo = np.unique(photo[face], return_inverse=True)[1].ravel()
    for pick in _split_by(photo, np.arange(len(face)), int(photo.max(initial=-1)) + 1):
        if not len(pick):
            continue
        rows, r = np.unique(face[pick], return_inverse=True)
        cols, c = np.unique(person[pick], return_inverse=True)
        cost = np.full((len(rows), len(cols)), 1e6)
        cost[r.ravel(), c.ravel()] = dist[pick]
        from scipy.optimize import linear_sum_assignment

        chosen_r, chosen_c = linear_sum_assignment(cost)
        ok = cost[chosen_r, chosen_c] <= limit
        out[rows[chosen_r[ok]]] = people[cols[chosen_c[ok]]]
    return out


def person_cohesion(embeddings: np.ndarray, labels: np.ndarray,
                    settings: ClusterSettings = DEFAULT_SETTINGS) -> dict[int, dict]:
    """How alike each person's faces are, per label >= 0.

    `mean_distance` / `max_distance`: from the faces to the person's centre; `pair_rms`: RMS
    distance between two of the person's faces; `cohesion`: 1 - mean_distance (1 = identical).
    `doubtful` is set when, on average, two of the person's faces would fail dlib's 0.6
    same-person test (pair_rms > attach_distance: two people merged), or some face would fail
    it against the person's average face (max_distance > attach_distance: an intruder).
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
    limit = settings.attach_distance
    return {int(p): {"faces": int(stats.count[i]), "mean_distance": float(mean[i]),
                     "max_distance": float(largest[i]), "pair_rms": float(rms[i]),
                     "cohesion": float(1 - mean[i]),
                     "doubtful": bool(rms[i] > limit or largest[i] > limit)}
            for i, p in enumerate(people)}


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


def _merge(x, units, groups, edges, index: Neighbours, limit: float, k: int,
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
    changed = None  # first round: every group of several faces
    while True:
        stats = GroupStats(x, units)
        queries = np.flatnonzero(stats.count > 1) if changed is None else changed
        near = near_groups(index, x, units, stats.centres, stats.count, queries, k, limit)
        merged = _agglomerate(stats, units, groups, np.r_[pairs, near], limit, small)
        both = np.unique(merged * (units.max() + 1) + units) // (units.max() + 1)
        changed = np.flatnonzero(np.bincount(both) > 1)  # groups made of several old ones
        if not len(changed):
            return merged
        units = merged
        # Pairs between two unchanged groups were weighed already and still fail.
        touch = np.isin(units[r], changed) | np.isin(units[c], changed)
        pairs = np.c_[units[r[touch]], units[c[touch]]]


def _agglomerate(stats: GroupStats, units, groups, pairs, limit: float, small: int | None):
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
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if parent[a] != a or parent[b] != b or version[a] != va or version[b] != vb:
            continue  # stale: one side has merged since
        if (small is not None and min(stats.count[a], stats.count[b]) > small) \
                or not photos[a].isdisjoint(photos[b]):
            continue  # sizes only grow and photos stay, so this pair stays excluded
        if (stats.count[a], -a) < (stats.count[b], -b):
            a, b = b, a
        stats.merge(a, b)
        photos[a] |= photos[b]
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


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 by decreasing size, ties by first face; -1 stays -1."""
    out, keep = np.full(len(labels), -1, dtype=np.int64), labels >= 0
    values, first, inverse, counts = np.unique(labels[keep], return_index=True,
                                               return_inverse=True, return_counts=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.lexsort((first, -counts))] = np.arange(len(values))
    out[keep] = rank[inverse.ravel()]
    return out
