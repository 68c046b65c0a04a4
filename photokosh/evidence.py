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
  a small album and most often two people in a large library.

In an incremental run the side tested is the new one: an existing person is never the
"smaller group" whose neighbourhood is weighed, and two existing people never merge.
"""

from __future__ import annotations

import math

import numpy as np


class Evidence:
    """Each face's neighbours (by distance, within the graph's reach, faces of its own photo
    left out) and the tests of a proposed merge against them."""

    def __init__(self, edges, groups: np.ndarray, support: float, crowding: float,
                 ratio: float = 0.0):
        r, c, d = edges
        keep = groups[r] != groups[c]
        r, c, d = r[keep], c[keep], d[keep]
        order = np.lexsort((d, r))
        self.neighbours, self.distances = c[order], d[order]
        self.start = np.searchsorted(r[order], np.arange(len(groups) + 1))
        self.support = support
        self.crowding = crowding
        self.ratio = ratio

    def _near(self, f: int) -> tuple[list[int], list[float]]:
        """Face f's neighbours and their distances, as lists: read one by one in Python."""
        span = slice(self.start[f], self.start[f + 1])
        return self.neighbours[span].tolist(), self.distances[span].tolist()

    def agrees(self, faces: list[int], unit_of, own: int, other: int, other_size: int,
               distance: float, limit: float) -> bool:
        """Whether group `own` (its `faces`) may join `other` at `distance` under the cut
        `limit`; unit_of maps a face to its current group."""
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
        if self.ratio and to_other > self.ratio * to_third:
            return False  # a third group's face is about as near: the ratio test
        cut = limit - self.crowding * math.log2(1 + strangers / len(faces))
        return distance <= cut
