"""The clustering stage on synthetic embeddings: tight groups around far-apart centres."""

from dataclasses import replace

import numpy as np
import pytest

from photokosh import cluster
from photokosh.cluster import DEFAULT_SETTINGS, assign_to_people, cluster_faces
from photokosh.groups import person_cohesion

PLAIN = replace(DEFAULT_SETTINGS, method="dbscan")


def directions(count: int, seed: int = 0) -> np.ndarray:
    """Random unit vectors in 128-d: about sqrt(2) = 1.41 apart, far beyond 0.6."""
    v = np.random.default_rng(seed).normal(size=(count, 128))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def people(count: int, per: int, spread: float = 0.25, seed: int = 0):
    """`per` faces around each of `count` centres, faces ~`spread` apart; one photo each."""
    rng = np.random.default_rng(seed + 1)
    centres = directions(count, seed)
    truth = np.repeat(np.arange(count), per)
    noise = rng.normal(scale=spread / np.sqrt(2 * 128), size=(len(truth), 128))
    return (centres[truth] + noise).astype(np.float32), truth, np.arange(len(truth))


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = {(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)}
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("settings", [DEFAULT_SETTINGS, PLAIN])
def test_separated_people_are_recovered_exactly(settings):
    emb, truth, groups = people(6, 5)
    labels = cluster_faces(emb, groups, settings)
    assert same_partition(labels, truth)
    assert sorted(set(labels.tolist())) == list(range(6))


def test_labels_are_ordered_by_size_and_deterministic():
    emb, truth, groups = people(4, 3)
    emb, truth = np.r_[emb, emb[:2] + 0.001], np.r_[truth, truth[:2]]  # person 0: 5 faces
    groups = np.arange(len(truth))
    labels = cluster_faces(emb, groups)
    assert (labels[truth == 0] == 0).all()
    assert np.array_equal(labels, cluster_faces(emb.copy(), groups.copy()))


@pytest.mark.parametrize("settings", [DEFAULT_SETTINGS, PLAIN])
def test_faces_of_one_photo_never_share_a_label(settings):
    emb, truth, groups = people(2, 6)
    emb = np.r_[emb, emb[:1]]  # an identical twin of face 0 ...
    groups = np.r_[groups, groups[0]]  # ... in the same photo
    groups[1] = groups[2]  # and two ordinary faces of person 0 in one photo
    labels = cluster_faces(emb, groups, settings)
    assert labels[0] != labels[-1] or labels[0] == -1
    assert labels[1] != labels[2] or labels[1] == -1
    assert len(set(labels[6:12].tolist())) == 1 and labels[6] != -1  # person 1 untouched


def test_chain_between_two_people_is_not_merged():
    # Two tight people 1.56 apart, bridged by 3 faces each 0.39 from the next: within the
    # default eps of 0.4, so DBSCAN walks from one person to the other.
    a, b = directions(2) * 0.78
    b = -a
    rng = np.random.default_rng(3)
    tight = rng.normal(scale=0.02 / np.sqrt(2 * 128), size=(16, 128))
    chain = [a + (b - a) * t for t in (0.25, 0.5, 0.75)]
    emb = np.r_[a + tight[:8], b + tight[8:], chain].astype(np.float32)
    groups = np.arange(len(emb))
    assert np.linalg.norm(chain[0] - a) == pytest.approx(0.39)

    plain = cluster_faces(emb, groups, PLAIN)
    assert plain[0] == plain[8] != -1  # plain DBSCAN chains the two people together

    labels = cluster_faces(emb, groups)
    assert len(set(labels[:8].tolist())) == 1 and len(set(labels[8:16].tolist())) == 1
    assert labels[0] != labels[8]


def test_far_faces_stay_apart_and_noise_is_plain_dbscan_only():
    emb, _, groups = people(3, 1)  # three lone faces, 1.4 apart
    assert sorted(cluster_faces(emb, groups).tolist()) == [0, 1, 2]
    assert cluster_faces(emb, groups, PLAIN).tolist() == [-1, -1, -1]


def test_empty_and_single_input():
    assert cluster_faces(np.zeros((0, 128), np.float32), np.zeros(0, int)).shape == (0,)
    assert cluster_faces(np.ones((1, 128), np.float32), np.zeros(1, int)).tolist() == [0]


def test_unknown_method_is_rejected():
    emb, _, groups = people(2, 2)
    with pytest.raises(ValueError):
        cluster_faces(emb, groups, replace(DEFAULT_SETTINGS, method="kmeans"))


def test_approximate_search_path_recovers_people(monkeypatch):
    monkeypatch.setattr(cluster, "_EXACT_LIMIT", 10)
    emb, truth, groups = people(20, 8, seed=5)
    assert same_partition(cluster_faces(emb, groups), truth)


def test_assign_joins_near_faces_and_rejects_far_ones():
    emb, truth, _ = people(2, 6)
    known_labels = np.where(truth == 0, 3, 7)  # ids need not be 0..k-1
    rng = np.random.default_rng(9)
    near_b = emb[6] + rng.normal(scale=0.01, size=128)
    stranger = directions(3, seed=42)[2]
    new = np.stack([near_b, stranger]).astype(np.float32)
    assert assign_to_people(emb, known_labels, new, np.array([0, 1])).tolist() == [7, -1]


def test_assign_respects_cannot_link():
    emb, truth, _ = people(2, 6)
    closer, farther = emb[0] + 0.001, emb[1] + 0.02  # both look like person 0
    new = np.stack([farther, closer, emb[7]]).astype(np.float32)
    # One photo: only one of the two person-0 faces may join person 0, the closer one.
    labels = assign_to_people(emb, truth, new, np.array([5, 5, 5]))
    assert labels.tolist() == [-1, 0, 1]
    # In separate photos both join.
    assert assign_to_people(emb, truth, new, np.array([1, 2, 3])).tolist() == [0, 0, 1]


def test_assign_agrees_with_clustering():
    # Leave each face out in turn: it joins exactly the person clustering put it with.
    emb, truth, groups = people(4, 5, spread=0.45, seed=7)
    full = cluster_faces(emb, groups)
    for i in range(len(emb)):
        rest = np.arange(len(emb)) != i
        got = assign_to_people(emb[rest], full[rest], emb[i:i + 1], groups[i:i + 1])
        assert got[0] == full[i]


def test_assign_with_nobody_known():
    new = directions(2).astype(np.float32)
    empty = np.zeros((0, 128), np.float32)
    assert assign_to_people(empty, np.zeros(0, int), new, np.arange(2)).tolist() == [-1, -1]


def test_cohesion_flags_two_people_in_one_label():
    emb, truth, _ = people(3, 6)
    labels = np.where(truth == 2, 1, truth)  # people 1 and 2 under one label
    stats = person_cohesion(emb, np.r_[labels[:-1], -1])
    assert set(stats) == {0, 1}
    assert not stats[0]["doubtful"] and stats[1]["doubtful"]
    assert stats[0]["faces"] == 6 and stats[1]["faces"] == 11
    assert 0 < stats[0]["mean_distance"] <= stats[0]["max_distance"] < 0.3
    assert stats[0]["cohesion"] == pytest.approx(1 - stats[0]["mean_distance"])
    single = person_cohesion(emb[:1], np.array([4]))[4]
    assert single["pair_rms"] == 0 and not single["doubtful"]


# The approximate neighbour search (faiss's IVF): forced with search="approximate".

APPROX = replace(DEFAULT_SETTINGS, search="approximate")
EXACT = replace(DEFAULT_SETTINGS, search="exact")


@pytest.fixture
def few_probes(monkeypatch):
    """Each query searches 4 of the index's cells, a small part of them as at scale (48 of
    1,264 at 100,000 faces), so that these tests see what the approximation loses."""
    import photokosh.neighbours as neighbours

    monkeypatch.setattr(neighbours, "PROBES", 4)
    cells, real = [], neighbours._ivf

    def counted(x):
        project, index = real(x)
        cells.append(index.nlist)
        return project, index

    monkeypatch.setattr(neighbours, "_ivf", counted)
    yield
    assert cells and min(cells) >= 4 * neighbours.PROBES  # a quarter of the cells at most


def crowd(count: int = 400, per: int = 6, lone: int = 400, seed: int = 11):
    """`count` people of `per` faces plus `lone` people seen once; ~10% of the photos hold
    two faces of different people."""
    emb, truth, _ = people(count + lone, 1, seed=seed)
    many, many_truth, _ = people(count, per, seed=seed)
    emb, truth = np.r_[many, emb[count:]], np.r_[many_truth, truth[count:]]
    groups = np.arange(len(truth))
    pairs = np.random.default_rng(seed).permutation(len(truth))[:len(truth) // 5]
    groups[pairs[1::2]] = groups[pairs[::2]]  # same photo ...
    clash = truth[pairs[1::2]] == truth[pairs[::2]]
    groups[pairs[1::2][clash]] = pairs[1::2][clash]  # ... never of one person
    return emb, truth, groups


@pytest.mark.usefixtures("few_probes")
def test_approximate_search_clusters_like_the_exact_one():
    emb, truth, groups = crowd()
    assert len(emb) == 2800
    approx = cluster_faces(emb, groups, APPROX)
    assert np.array_equal(approx, cluster_faces(emb, groups, EXACT))
    assert same_partition(approx, truth)
    assert np.array_equal(approx, cluster_faces(emb, groups, APPROX))  # deterministic


@pytest.mark.usefixtures("few_probes")
def test_approximate_neighbours_match_exact_ones_on_separated_people():
    from photokosh.neighbours import Neighbours

    emb, truth, _ = people(300, 6, seed=4)
    exact, approx = Neighbours(emb, False), Neighbours(emb, True)
    assert approx.index is not None and exact.index is None
    # Each face's 6 nearest are its own person's faces (itself included), in any order.
    for found in (exact.of_rows(6), approx.of_rows(6)):
        assert (truth[found] == truth[:, None]).all()
    points = emb[::6] + 0.01
    assert np.array_equal(np.sort(exact.of_points(points, 6), axis=1),
                          np.sort(approx.of_points(points, 6), axis=1))


def test_approximate_search_returns_minus_one_where_the_index_found_too_few():
    from photokosh.neighbours import Neighbours

    emb, truth, _ = people(20, 3, seed=9)
    search = Neighbours(emb, True)
    exact = Neighbours(emb, False).of_rows(6)  # re-ranking asks for 2 x k candidates

    def found_few(points, wide):  # as faiss answers when a search runs dry: -1 to the end
        found = exact[:, :wide].copy()
        found[:, 4:] = -1
        found[0, 1:] = -1  # row 0: only itself
        return found

    search._found = found_few
    got = search.of_rows(3)
    assert sorted(got[0].tolist()) == [-1, -1, 0]
    assert (got[1:] >= 0).all() and (truth[got[1:]] == truth[1:, None]).all()


@pytest.mark.usefixtures("few_probes")
@pytest.mark.parametrize("settings", [APPROX, replace(APPROX, method="dbscan")])
def test_cannot_link_holds_with_the_approximate_search(settings):
    emb, truth, groups = crowd(count=150, lone=100, seed=3)
    twins = emb[:40:2] + 0.001  # near-copies of faces of the first people ...
    emb, groups = np.r_[emb, twins], np.r_[groups, groups[:40:2]]  # ... in the same photo
    labels = cluster_faces(emb, groups, settings)
    found = labels >= 0
    pairs = np.unique(np.c_[groups[found], labels[found]], axis=0)
    assert len(pairs) == found.sum()  # no label twice in a photo
    assert (labels[-20:] != labels[:40:2]).all()


def test_lowering_the_exact_limit_turns_the_search_approximate(monkeypatch):
    import photokosh.neighbours as neighbours

    built = []
    real = neighbours._ivf
    monkeypatch.setattr(neighbours, "_ivf", lambda x: built.append(len(x)) or real(x))
    emb, truth, groups = crowd(count=60, lone=60, seed=8)
    assert same_partition(cluster_faces(emb, groups), truth) and not built
    monkeypatch.setattr(cluster, "_EXACT_LIMIT", 10)
    assert same_partition(cluster_faces(emb, groups), truth) and built == [len(emb)]


def test_assign_with_the_approximate_search_matches_the_exact_one():
    emb, truth, groups = crowd(count=200, lone=100, seed=5)
    rng = np.random.default_rng(6)
    again = np.r_[0:1200:6, 1200:1300]  # a face of each person
    new = np.r_[emb[again] + rng.normal(scale=0.01, size=(300, 128)),
                directions(20, seed=99)].astype(np.float32)
    photos = np.r_[np.arange(300) // 3, 1000 + np.arange(20)]  # 3 people a photo, then 1
    got = assign_to_people(emb, truth, new, photos, APPROX)
    assert np.array_equal(got, assign_to_people(emb, truth, new, photos, EXACT))
    assert got.tolist() == truth[again].tolist() + [-1] * 20


@pytest.mark.usefixtures("few_probes")
def test_assign_among_many_people_with_the_approximate_search():
    # 800 people: the search over their centres (129 columns: the centre and its spread) is
    # projected on 64 axes and split into 16 cells, of which each new face searches 4.
    emb, truth, _ = people(800, 2, seed=12)
    again = np.arange(0, 1600, 2)
    new = emb[again] + np.random.default_rng(13).normal(scale=0.01, size=(800, 128))
    got = assign_to_people(emb, truth, new, np.arange(800), APPROX)
    assert got.tolist() == truth[again].tolist()


def test_the_approximate_search_prints_nothing(capfd):
    from photokosh.neighbours import Neighbours

    for count in (1, 10, 60, 3000):  # one cell without enough faces for faiss's k-means, ...
        emb = directions(count, seed=count).astype(np.float32)
        Neighbours(emb, True).of_rows(3)
    assert capfd.readouterr() == ("", "")  # faiss writes its warnings to the C stderr


def test_assign_considers_every_face_of_a_large_photo():
    # A group photo of 14 near-identical faces, and 14 known people at growing distances
    # from them, all within reach. Every face has the same 10 nearest people, yet all 14
    # can join someone: the search must look past the 10 (settings.neighbours).
    centre = directions(1, seed=1)[0]
    rng = np.random.default_rng(2)
    offsets = directions(14, seed=3) * 0.02 * np.arange(1, 15)[:, None]
    new = centre + rng.normal(scale=0.001 / np.sqrt(128), size=(14, 128))
    for settings in (EXACT, APPROX):
        got = assign_to_people(centre + offsets, np.arange(14), new, np.zeros(14, int),
                               settings)
        assert sorted(got.tolist()) == list(range(14))


def test_unknown_search_is_rejected():
    emb, _, groups = people(2, 2)
    with pytest.raises(ValueError):
        cluster_faces(emb, groups, replace(DEFAULT_SETTINGS, search="fast"))


def test_importing_the_clustering_pulls_in_no_heavy_library():
    import subprocess
    import sys

    code = ("import sys, numpy as np; import photokosh.cluster; "
            "from photokosh.groups import person_cohesion; "
            "person_cohesion(np.eye(3, 128), np.array([0, 0, 1])); "
            "print(sorted(m for m in ('faiss', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
