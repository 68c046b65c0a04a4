"""Nearest-neighbour search for the clustering stage: exact, or approximate with faiss's HNSW.

Exact search compares every query with every row: fine up to some hundreds of millions of
pairs, hopeless for a million faces (10^12 pairs). The approximate search builds faiss's HNSW
graph (hierarchical navigable small world; Malkov & Yashunin 2018) over the faces once, in
O(n log n), and then answers each query in O(log n). cluster.py asks it for two things: each
face's nearest faces (`graph`, for DBSCAN and the merging) and, while merging, the groups
found near each group's centre (`near_groups`), both from the one index.

faiss is imported where it is used, like scipy and scikit-learn in cluster.py: a small
library never needs it, and a re-run with no new faces pays nothing for it.
"""

from __future__ import annotations

import numpy as np

NUMPY_PAIRS = 5_000**2  # up to this many query x row pairs, exact search in plain numpy
BLOCK = 2048  # query rows per block of the numpy search
# HNSW: LINKS links per row (twice that on the bottom layer), EF_BUILD candidates weighed
# while inserting a row and EF_SEARCH while searching. The graph is built on the rows
# projected on their PCA_DIMS principal axes (faiss's PCAMatrix): that halves the build at a
# million faces, dlib's 128 dimensions having far fewer that matter (64 hold 98% of the
# variance on lfw-dev); CANDIDATES times k found rows are then re-ranked by their exact
# distance. Measured on benchmarks/cluster_scale.py's faces: fewer links or candidates cost
# accuracy, more cost time.
LINKS = 12
EF_BUILD = 24
EF_SEARCH = 64
KEEP_FULL = True  # fill each bottom-layer link list: see _hnsw
PCA_DIMS = 64
CANDIDATES = 2
RERANK = 1 << 18  # (query, candidate) pairs per block of the re-ranking: 128 MB


class Neighbours:
    """The k nearest rows of x to rows of x or to other points. Exact, or approximate;
    both deterministic (the graph is built by one thread, below). Indices are int64, -1
    where fewer than k were found."""

    def __init__(self, x: np.ndarray, approximate: bool):
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        self.index, self.graph = _hnsw(self.x) if approximate and len(x) else (None, None)

    def of_rows(self, k: int) -> np.ndarray:
        """(n, k): each row's k nearest rows, itself included (unless k rows tie at 0)."""
        return self.of_points(self.x, k)

    def of_points(self, points: np.ndarray, k: int) -> np.ndarray:
        """(len(points), k): each point's k nearest rows."""
        y = np.ascontiguousarray(points, dtype=np.float32)
        k = min(k, len(self.x))
        if self.index is None or k < 1 or not len(y):
            return _exact(self.x, y, k)
        wide = min(int(CANDIDATES * k), len(self.x))
        self.graph.hnsw.efSearch = max(EF_SEARCH, wide)
        found = self.index.search(y, wide)[1]
        out = np.empty((len(y), k), np.int64)
        step = max(1, RERANK // wide)
        for i in range(0, len(y), step):
            f = found[i:i + step]
            d2 = np.square(self.x[np.maximum(f, 0)] - y[i:i + step, None, :]).sum(axis=2)
            d2[f < 0] = np.inf
            top = np.argpartition(d2, k - 1, axis=1)[:, :k]
            out[i:i + step] = np.take_along_axis(f, top, axis=1)
        return out


def graph(index: Neighbours, x: np.ndarray, k: int, radius: float):
    """Each face's k nearest faces within `radius`, symmetrised, as (i, j, distance) edges
    with i != j."""
    n = len(x)
    found = index.of_rows(k + 1)  # + the face itself
    r, c = np.repeat(np.arange(n), found.shape[1]), found.ravel()
    return _edges(x, x, r[c >= 0], c[c >= 0], radius, symmetric=True)  # -1: fewer found


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


def _hnsw(x: np.ndarray):
    import faiss

    n, d = x.shape
    project = d > PCA_DIMS and n > 4 * d  # enough rows to estimate the axes
    graph = faiss.IndexHNSWFlat(PCA_DIMS if project else d, LINKS)
    graph.hnsw.efConstruction = EF_BUILD
    # faiss's default prunes a row's bottom-layer links to a spread-out few: within a tight
    # group of one person's faces that drops most of them, and a search then misses faces
    # of the same person. Keeping the list full keeps them.
    if not hasattr(type(graph), "keep_max_size_level0"):  # an older faiss would ignore it
        raise RuntimeError("photokosh needs faiss-cpu >= 1.9: run `uv sync`")
    graph.keep_max_size_level0 = KEEP_FULL
    index = graph
    if project:
        index = faiss.IndexPreTransform(faiss.PCAMatrix(d, PCA_DIMS), graph)
        sample = np.random.default_rng(0).choice(n, min(n, 100_000), replace=False)
        index.train(x[np.sort(sample)])
    # Threads insert rows in whatever order they get to them, so a parallel build gives a
    # slightly different graph each run; one thread gives the same graph, hence the same
    # people, every time. (Searching stays parallel: it does not change the graph.)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        index.add(x)
    finally:
        faiss.omp_set_num_threads(threads)
    return index, graph
