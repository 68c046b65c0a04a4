"""Nearest-neighbour search for the clustering stage: exact, or approximate with faiss's IVF.

Exact search compares every query with every row: fine up to some hundreds of millions of
pairs, hopeless for a million faces (10^12 pairs). The approximate search sorts the faces
into cells once, around k-means centres (faiss's IndexIVFScalarQuantizer, an inverted file
over the faces projected on their principal axes and stored as 16-bit floats), and then
compares each query only with the faces of the PROBES cells whose centres are nearest it.
cluster.py asks it for two things: each face's nearest faces (`graph`, for DBSCAN and the
merging) and, while merging, the groups found near each group's centre (`near_groups`),
both from the one index, and runs DBSCAN on that graph (`dbscan`).

faiss is imported where it is used, like scipy in cluster.py: a small library never needs
it, and a re-run with no new faces pays nothing for it.
"""

from __future__ import annotations

import numpy as np

NUMPY_PAIRS = 5_000**2  # up to this many query x row pairs, exact search in plain numpy
BLOCK = 2048  # query rows per block of the numpy search
# IVF: CELLS * sqrt(n) cells (at most one per TRAIN_PER_CELL faces, what faiss's k-means
# asks for), each query searching its PROBES nearest. Cells and search work on the faces
# projected on their PCA_DIMS principal axes (faiss's PCAMatrix), which halves the search:
# dlib's 128 dimensions have far fewer that matter (64 hold 98% of the variance on lfw-dev).
# CANDIDATES times k found rows are then re-ranked by their exact distance. The settings and
# the indexes they beat are measured in docs/scale.md ("Which index").
CELLS = 4.0
PROBES = 48
TRAIN_PER_CELL = 50
PCA_DIMS = 64
CANDIDATES = 2
RERANK = 1 << 18  # (query, candidate) pairs per block of the re-ranking: 128 MB


class Neighbours:
    """The k nearest rows of x to rows of x or to other points. Exact, or approximate;
    both deterministic on a given machine (seeded k-means; each query is answered on its
    own). Indices are int64, -1 where fewer than k were found."""

    def __init__(self, x: np.ndarray, approximate: bool):
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.norms = np.einsum("ij,ij->i", self.x, self.x)
        self.project, self.index = _ivf(self.x) if approximate and len(x) else (None, None)

    def of_rows(self, k: int) -> np.ndarray:
        """(n, k): each row's k nearest rows, normally itself included (not when k rows
        lie within float32's rounding of it)."""
        return self.of_points(self.x, k)

    def of_points(self, points: np.ndarray, k: int) -> np.ndarray:
        """(len(points), k): each point's k nearest rows."""
        y = np.ascontiguousarray(points, dtype=np.float32)
        k = min(k, len(self.x))
        if self.index is None or k < 1 or not len(y):
            return _exact(self.x, y, k)
        wide = min(int(CANDIDATES * k), len(self.x))
        found = self._found(y, wide)
        out = np.empty((len(y), k), np.int64)
        step = max(1, RERANK // wide)
        for i in range(0, len(y), step):
            f = found[i:i + step]
            # |x - y|^2 less |y|^2, which is the same along a row: one pass over the rows
            d2 = self.norms[np.maximum(f, 0)] - 2 * np.einsum(
                "ijk,ik->ij", self.x[np.maximum(f, 0)], y[i:i + step])
            d2[f < 0] = np.inf
            top = np.argpartition(d2, k - 1, axis=1)[:, :k]
            out[i:i + step] = np.take_along_axis(f, top, axis=1)
        return out

    def _found(self, y: np.ndarray, wide: int) -> np.ndarray:
        """The index's `wide` nearest rows to each of y, searched in the order of their
        nearest cell: queries in a row then read the same cells, which stay in the CPU's
        cache (a quarter faster at a million faces). (Looking up all queries' PROBES cells
        in one batch and passing them to search_preassigned gave the same neighbours but
        was slower: 6.4 s against 4.1 s for 100,000 queries, 509 s against 441 s for a
        million faces' clustering, its top-48 selection running on one thread.)"""
        if self.project is not None:
            y = self.project.apply(y)
        order = np.argsort(self.index.quantizer.search(y, 1)[1].ravel(), kind="stable")
        found = np.empty((len(y), wide), np.int64)
        found[order] = self.index.search(y[order], wide)[1]
        return found


def graph(index: Neighbours, x: np.ndarray, k: int, radius: float):
    """Each face's k nearest faces within `radius`: (symmetrised edges, each face's own
    nearest), both as (i, j, distance) with i != j. The symmetric graph links DBSCAN and the
    merging; each face's own list is what evidence.py weighs, the same whether a face is
    clustered with the library or added to it later."""
    return neighbours_of(index, x, np.arange(len(x)), k, radius)


def neighbours_of(index: Neighbours, x: np.ndarray, rows: np.ndarray, k: int, radius: float):
    """As `graph`, for the faces `rows` only: their k nearest faces among all of x (new
    faces against a library, without a graph of the whole library)."""
    found = index.of_points(x[rows], k + 1)  # + the face itself
    r, c = np.repeat(rows, found.shape[1]), found.ravel()
    r, c = r[c >= 0], c[c >= 0]  # -1: fewer found
    own = _edges(x, x, r[r != c], c[r != c], radius)
    return _edges(x, x, r, c, radius, symmetric=True), own


def _edges(a: np.ndarray, b: np.ndarray, r: np.ndarray, c: np.ndarray, radius: float,
           symmetric: bool = False):
    """Distinct pairs (a[r], b[c]) within `radius`, with exact float64 distances, in chunks
    (all at once is 2 GB at 100k faces); `symmetric`: a is b, and both directions are kept."""
    size = max(len(a), len(b))
    key = np.minimum(r, c) * size + np.maximum(r, c) if symmetric else r * size + c
    key = np.unique(key)
    r, c = key // size, key % size
    if symmetric:
        r, c = r[r != c], c[r != c]
    d = np.concatenate([np.linalg.norm(a[r[i:i + 65536]] - b[c[i:i + 65536]], axis=1)
                        for i in range(0, len(r), 65536)] or [np.zeros(0)])
    r, c, d = r[d <= radius], c[d <= radius], d[d <= radius]
    return (np.r_[r, c], np.r_[c, r], np.r_[d, d]) if symmetric else (r, c, d)


def dbscan(graph, min_samples: int) -> np.ndarray:
    """scikit-learn's DBSCAN(metric="precomputed").fit_predict(graph) labels, for a symmetric
    sparse graph whose stored entries are each face's neighbours: cores (a face's neighbours
    and itself at least `min_samples`) joined through cores, numbered by their first face;
    a border face takes the first cluster among its cores, as sklearn's depth-first walk in
    index order does; -1 for noise. scikit-learn's import costs ~0.5 s of every run with new
    faces (half of a one-photo run); scipy's connected components cost nothing more."""
    from scipy.sparse.csgraph import connected_components

    n = graph.shape[0]
    labels = np.full(n, -1, dtype=np.int64)
    core = np.diff(graph.indptr) + 1 >= min_samples
    cores = np.flatnonzero(core)
    if not len(cores):
        return labels
    count, part = connected_components(graph[cores][:, cores], directed=False)
    first = np.full(count, n)
    np.minimum.at(first, part, cores)
    rank = np.empty(count, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(count)
    labels[cores] = rank[part]
    edges = graph.tocoo()
    border = ~core[edges.row] & core[edges.col]
    if border.any():
        best = np.full(n, count)
        np.minimum.at(best, edges.row[border], labels[edges.col[border]])
        labels[best < count] = best[best < count]
    return labels


def near_groups(index: Neighbours, x: np.ndarray, units: np.ndarray, centres: np.ndarray,
                count: np.ndarray, queries: np.ndarray, k: int, limit: float):
    """(group, other group) pairs: for each group in `queries`, the groups of its centre's
    k nearest faces beyond its own. RMS^2 between two groups is |centre - centre|^2 plus
    each group's mean squared distance to its centre, so a group within `limit` has a face
    within `limit` of the other's centre: only those faces count."""
    size = 2 ** np.ceil(np.log2(count[queries])).astype(np.int64)  # few distinct searches
    rows, cols = [], []
    for s in np.unique(size):
        q = queries[size == s]
        found = index.of_points(centres[q], k + int(s))  # room for its own faces
        r, c = np.repeat(q, found.shape[1]), found.ravel()
        r, c, _ = _edges(centres, x, r[c >= 0], c[c >= 0], limit)
        rows.append(r)
        cols.append(units[c])
    r, c = (np.concatenate(a or [np.zeros(0, np.int64)]) for a in (rows, cols))
    return np.c_[r[r != c], c[r != c]]


def _exact(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    if k < 1 or not len(y):
        return np.zeros((len(y), max(k, 0)), np.int64)
    if len(x) * len(y) > NUMPY_PAIRS:
        import faiss  # BLAS and a heap per query in C++: several times numpy's argpartition

        return faiss.knn(y, x, k)[1]
    norms = np.einsum("ij,ij->i", x, x)
    out = []
    for i in range(0, len(y), BLOCK):
        d2 = norms[None, :] - 2 * (y[i:i + BLOCK] @ x.T)  # + |y|^2: same order per row
        out.append(np.argpartition(d2, k - 1, axis=1)[:, :k])
    return np.concatenate(out).astype(np.int64)


def cell_count(n: int) -> int:
    """How many cells the approximate index of n rows has."""
    return max(1, min(int(CELLS * np.sqrt(n)), n // TRAIN_PER_CELL))


def _ivf(x: np.ndarray):
    """(the PCA projection or None, the IVF index over the projected rows)."""
    import faiss

    n, d = x.shape
    sample = x  # rows to learn the projection and the cells from, in order
    cells = cell_count(n)
    if n > TRAIN_PER_CELL * cells:
        pick = np.random.default_rng(0).choice(n, TRAIN_PER_CELL * cells, replace=False)
        sample = x[np.sort(pick)]
    project = None
    if d > PCA_DIMS and n > 4 * d:  # enough rows to estimate the axes
        project = faiss.PCAMatrix(d, PCA_DIMS)
        project.train(sample)
        sample, d = project.apply(sample), PCA_DIMS
    # Rows are stored as 16-bit floats: half the memory to read per query, the same
    # neighbours once re-ranked by exact distance (measured at a million faces).
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatL2(d), d, cells,
                                          faiss.ScalarQuantizer.QT_fp16)
    index.cp.seed = 0  # the same cells, hence the same people, on every run
    index.cp.min_points_per_centroid = 1  # fewer than TRAIN_PER_CELL faces: one cell, no warning
    index.nprobe = min(PROBES, cells)
    index.train(sample)
    for i in range(0, n, 1 << 18):  # projected in blocks: never a second copy of all rows
        index.add(x[i:i + (1 << 18)] if project is None else project.apply(x[i:i + (1 << 18)]))
    return project, index
