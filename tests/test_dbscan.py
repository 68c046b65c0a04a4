"""neighbours.dbscan gives scikit-learn's DBSCAN labels exactly (it replaces sklearn's in the
clustering to save sklearn's import, ~0.5 s of a small run: docs/performance.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.cluster import DBSCAN

from photokosh.neighbours import dbscan


def random_graph(rng, n: int, density: float):
    """A symmetric graph of distances in (0, 1], no diagonal, as cluster._dbscan builds."""
    upper = sp.random(n, n, density=density, random_state=rng, format="coo")
    keep = upper.row < upper.col
    r, c = upper.row[keep], upper.col[keep]
    d = np.maximum(upper.data[keep], 1e-12)
    return sp.csr_matrix((np.r_[d, d], (np.r_[r, c], np.r_[c, r])), shape=(n, n))


@pytest.mark.parametrize("min_samples", [1, 2, 3, 5])
def test_dbscan_labels_are_sklearns(min_samples):
    rng = np.random.default_rng(min_samples)
    differing_borders = 0
    for trial in range(60):
        n = int(rng.integers(1, 120))
        graph = random_graph(rng, n, float(rng.choice([0.0, 0.01, 0.03, 0.08, 0.3])))
        want = DBSCAN(eps=1.0, min_samples=min_samples, metric="precomputed").fit_predict(graph)
        got = dbscan(graph, min_samples)
        assert got.tolist() == want.tolist(), (trial, n)
        # the graphs are varied enough to hold faces between two clusters
        core = np.diff(graph.indptr) + 1 >= min_samples
        for i in np.flatnonzero(~core):
            near = graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
            differing_borders += len(set(want[near[core[near]]])) > 1
    if min_samples == 5:  # a border face between two clusters has >= 2 + 1 neighbours
        assert differing_borders > 0


def test_dbscan_on_no_faces_and_on_noise_only():
    empty = sp.csr_matrix((0, 0))
    assert dbscan(empty, 2).tolist() == []
    lonely = sp.csr_matrix((3, 3))
    assert dbscan(lonely, 2).tolist() == [-1, -1, -1]
    assert dbscan(lonely, 1).tolist() == [0, 1, 2]


def test_a_face_between_two_clusters_takes_the_first_clusters_label():
    """Two cliques of 4 faces and one face next to both (a border face at min_samples 4),
    numbered in every order: sklearn's depth-first walk decides which cluster it joins."""
    pairs = [(a, b) for group in ([0, 1, 2, 3], [4, 5, 6, 7]) for a in group for b in group
             if a < b] + [(8, 3), (8, 4)]
    rng = np.random.default_rng(0)
    for _ in range(40):
        order = rng.permutation(9)
        r = np.array([order[a] for a, b in pairs] + [order[b] for a, b in pairs])
        c = np.array([order[b] for a, b in pairs] + [order[a] for a, b in pairs])
        graph = sp.csr_matrix((np.full(len(r), 0.5), (r, c)), shape=(9, 9))
        want = DBSCAN(eps=1.0, min_samples=4, metric="precomputed").fit_predict(graph)
        assert dbscan(graph, 4).tolist() == want.tolist()
        assert want[order[8]] in (want[order[3]], want[order[4]]) and len(set(want)) == 2


def test_a_sort_with_new_faces_imports_no_scikit_learn(tmp_path):
    """scikit-learn's import was half of a one-photo run's CPU: neither the clustering nor
    anything else a sort runs imports it."""
    import subprocess
    import sys

    from fakes import photo

    src = tmp_path / "photos"
    photo(src / "a.jpg", [0])
    photo(src / "b.jpg", [0, 1])
    code = ("import sys; from fakes import FakeEmbedder; "
            "from photokosh import SortOptions, sort_photos; "
            f"r = sort_photos({str(src)!r}, {str(tmp_path / 'out')!r}, SortOptions(workers=1), "
            "embedder=FakeEmbedder()); "
            "print(r.report['summary']['people'], 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent)
    assert out.stdout.split() == ["2", "False"]
