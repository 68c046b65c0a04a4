"""The evidence around a merge: is the nearest group also clearly the right one?

At library scale one distance cannot decide. dlib puts two photos of one person about 0.37
apart (median on lfw-dev); but with thousands of people, a face seen once has a stranger
within 0.53 half the time (lfw-dev + lfw-crowd, docs/accuracy.md). So a merge between
`sure_distance` and the cut is taken only when the faces around it agree:

- support: of the smaller group's faces' nearest neighbours outside it (as many as the other
  group has faces, within the graph's reach), at least `support` are the other group's.
  Fragments of a person that is photographed often pass; a face seen once that sits among
  strangers and happens to be nearest a look-alike does not;
- (off by default, measured against the two above) ratio: the other group's nearest face
  must be nearer than `ratio` times a third group's nearest face;
- crowding: the cut tightens with the strangers near the smaller group (its faces'
  neighbours in neither group), by `crowding` per doubling: a pair at 0.53 is one person in
  a small album and most often two people in a large library;
- mixing, between two groups of at least `mixing_size` faces each: where they meet (each
  group's EDGE faces nearest the other's centre), their faces must have each other among
  their nearest at least `mixing` times as often as if the two were one person's faces split
  at random. Support cannot tell two look-alikes apart (each one's nearest strangers are the
  other's faces); mixing can, since each one's faces are nearest their own. Only where they
  meet: the halves of a person whose look drifts (a child over years) mix there and nowhere
  else. benchmarks/mixing.py measures the cut (docs/accuracy.md).

In an incremental run the side tested is the new one: an existing person is never the
"smaller group" whose neighbourhood is weighed, and two existing people never merge.
"""

from __future__ import annotations

import math

import numpy as np

EDGE = 5  # faces of each group, nearest the other, that the mixing test weighs


class Evidence:
    """Each face's neighbours (by distance, within the graph's reach, faces of its own photo
    left out) and the tests of a proposed merge against them."""

    def __init__(self, edges, groups: np.ndarray, x: np.ndarray, support: float,
                 crowding: float, ratio: float = 0.0, mixing: float = 0.0,
                 mixing_size: int = 3, k: int = 10):
        """`edges`: each face's own nearest (i, j, distance); `x` the faces' embeddings;
        the mixing test reads the first `k` of each face's neighbours."""
        r, c, d = edges
        keep = groups[r] != groups[c]
        r, c, d = r[keep], c[keep], d[keep]
        order = np.lexsort((d, r))
        self.neighbours, self.distances = c[order], d[order]
        self.start = np.searchsorted(r[order], np.arange(len(groups) + 1))
        self.support = support
        self.crowding = crowding
        self.ratio = ratio
        self.x, self.k = x, k
        self.mixing, self.mixing_size = mixing, max(2, mixing_size)

    def _near(self, f: int) -> tuple[list[int], list[float]]:
        """Face f's neighbours and their distances, as lists: read one by one in Python."""
        span = slice(self.start[f], self.start[f + 1])
        return self.neighbours[span].tolist(), self.distances[span].tolist()

    def agrees(self, faces: list[int], unit_of, own: int, other: int, other_faces: list[int],
               distance: float, limit: float) -> bool:
        """Whether group `own` (its `faces`) may join `other` (its `other_faces`) at
        `distance` under the cut `limit`; unit_of maps a face to its current group."""
        other_size = len(other_faces)
        hits = weighed = strangers = 0
        to_other = to_third = math.inf  # the nearest face of the other group, of a third
        for f in faces:
            taken = 0
            for j, d in zip(*self._near(f), strict=True):
                u = unit_of(j)
                if u == own:
                    continue
                if taken < other_size:  # support: among the first `other_size` outside
                    taken += 1
                    hits += u == other
                if u != other:
                    strangers += 1
                if self.ratio:
                    if u == other:
                        to_other = min(to_other, d)
                    else:
                        to_third = min(to_third, d)
            weighed += taken
        if weighed and hits < self.support * weighed:
            return False
        if self.apart(faces, other_faces, unit_of, own, other):
            return False
        if self.ratio and to_other > self.ratio * to_third:
            return False  # a third group's face is about as near: the ratio test
        cut = limit - self.crowding * math.log2(1 + strangers / len(faces))
        return distance <= cut

    def apart(self, a_faces: list[int], b_faces: list[int], unit_of, a: int, b: int) -> bool:
        """The mixing test: whether groups a and b, both large enough to tell, keep to
        themselves."""
        if not self.mixing or min(len(a_faces), len(b_faces)) < self.mixing_size:
            return False
        return self.mixed(a_faces, b_faces, unit_of, a, b) < self.mixing

    def mixed(self, a_faces: list[int], b_faces: list[int], unit_of, a: int, b: int) -> float:
        """Where groups a and b meet, how often their faces have the other group's among their
        k nearest, against how often they would if a and b were one person's faces split at
        random (1: as often, 0: never). Faces without neighbour lists (an existing person's,
        in an incremental run) are left out; 1 when no face has any."""
        seen = expected = 0.0
        n = len(a_faces) + len(b_faces) - 1
        for faces, me, far, other, share in ((a_faces, a, b_faces, b, len(b_faces) / max(n, 1)),
                                             (b_faces, b, a_faces, a, len(a_faces) / max(n, 1))):
            rows = self.x[faces]
            nearest = np.argsort(((rows - self.x[far].mean(0)) ** 2).sum(1), kind="stable")
            for f in np.asarray(faces)[nearest[:EDGE]].tolist():
                inside = cross = 0
                for j in self.neighbours[self.start[f]:self.start[f + 1]][:self.k].tolist():
                    u = unit_of(j)
                    inside += u == me
                    cross += u == other
                seen += cross
                expected += (inside + cross) * share
        return seen / expected if expected else 1.0
