"""Steps 2 and 3 of the clustering (cluster.py): average-linkage merging of groups of faces,
each merge beyond `sure_distance` borne out by the faces around it (evidence.py), faces of one
photo never in one group, existing people never merged with each other."""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .evidence import Evidence
from .groups import GroupStats
from .neighbours import Neighbours, near_groups


def merge_groups(x, units, groups, edges, evidence: Evidence, index, settings, old=None):
    """Steps 2 and 3 on `units` (settings: a cluster.ClusterSettings), over the symmetric
    graph `edges`, weighing each merge against the `evidence`. Groups holding `old` faces
    (existing people, a mask over the faces) never merge with each other."""
    rule = _Rule(settings.sure_distance, evidence,
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
        queries = np.flatnonzero(stats.count > 1) if changed is None else changed
        queries = queries[~old[queries]]  # existing people: their neighbours are not searched
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
    parts = _Parts(units, groups, m)  # each group's faces and photos, as they merge
    pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
    key = np.unique(pairs[:, 0] * m + pairs[:, 1])  # as np.unique(axis=0), several times faster
    pairs = np.c_[key // m, key % m]
    dist = stats.rms(pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros(0)
    pairs, dist = pairs[dist <= limit], dist[dist <= limit]
    near: defaultdict[int, set[int]] = defaultdict(set)  # most groups never get one
    for a, b in pairs.tolist():
        near[a].add(b)
        near[b].add(a)
    # The loop below runs once per candidate pair: plain lists, not numpy scalars, for what
    # it reads and writes one item at a time (twice as fast at 100,000 faces).
    version = [0] * m
    heap = [(dd, a, b, 0, 0) for dd, (a, b) in zip(dist.tolist(), pairs.tolist(), strict=True)]
    heapq.heapify(heap)
    parent = list(range(m))
    count = [int(c) for c in stats.count.tolist()]
    old = old.tolist()
    face_unit = units.tolist()

    def unit_of(face: int) -> int:
        return _root(parent, face_unit[face])

    while heap:
        dab, a, b, va, vb = heapq.heappop(heap)
        if parent[a] != a or parent[b] != b or version[a] != va or version[b] != vb:
            continue  # stale: one side has merged since
        if (small is not None and min(count[a], count[b]) > small) \
                or not parts.photos(a).isdisjoint(parts.photos(b)) or (old[a] and old[b]):
            continue  # sizes only grow and photos stay, so this pair stays excluded
        if dab > rule.sure:
            # Weighed from the smaller group's side, or the new one's; a pair turned down
            # here is weighed again when either side grows (its pairs are pushed anew).
            own, other = (a, b) if (old[a], count[a]) <= (old[b], count[b]) else (b, a)
            if not rule.evidence.agrees(parts.faces(own), unit_of, own, other,
                                        parts.faces(other), dab, limit):
                continue
            # Between equals (two faces seen once, say) neither side is the smaller: both
            # must agree.
            if count[a] == count[b] and not old[other] \
                    and not rule.evidence.agrees(parts.faces(other), unit_of, other, own,
                                                 parts.faces(own), dab, limit):
                continue
        if (count[a], -a) < (count[b], -b):
            a, b = b, a
        stats.merge(a, b)
        parts.merge(a, b)
        count[a] += count[b]
        old[a] = old[a] or old[b]
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
    parent = np.array(parent)
    while not np.array_equal(parent, parent[parent]):
        parent = parent[parent]
    return np.unique(parent[units], return_inverse=True)[1].ravel()


class _Parts:
    """Each group's faces and photos, built only for the groups a merge looks at (a million
    faces start as nearly a million groups, most of which never take part in one)."""

    def __init__(self, units: np.ndarray, groups: np.ndarray, m: int):
        self.order = np.argsort(units, kind="stable")
        self.start = np.searchsorted(units[self.order], np.arange(m + 1))
        self.groups = groups
        self._faces: dict[int, list[int]] = {}
        self._photos: dict[int, set] = {}

    def faces(self, u: int) -> list[int]:
        if u not in self._faces:
            self._faces[u] = self.order[self.start[u]:self.start[u + 1]].tolist()
        return self._faces[u]

    def photos(self, u: int) -> set:
        if u not in self._photos:
            self._photos[u] = set(self.groups[self.faces(u)].tolist())
        return self._photos[u]

    def merge(self, a: int, b: int) -> None:
        self._faces[a] = self.faces(a) + self.faces(b)
        self._photos[a] = self.photos(a) | self.photos(b)
        self._faces[b], self._photos[b] = [], set()


def _root(parent: list[int], u: int) -> int:
    while parent[u] != u:
        parent[u] = parent[parent[u]]  # halve the path as it is walked
        u = parent[u]
    return u
