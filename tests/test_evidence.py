"""The evidence around a merge (evidence.py), through cluster_faces and assign_to_people on
constructed embeddings: the same pair of faces is one person in a sparse album and kept apart
among strangers."""

from dataclasses import replace

import numpy as np

from photokosh.cluster import DEFAULT_SETTINGS, assign_to_people, cluster_faces

NO_EVIDENCE = replace(DEFAULT_SETTINGS, support=0.0, crowding=0.0)


def unit(rng, dim=128):
    v = rng.normal(size=dim)
    return v / np.linalg.norm(v)


def at(point: np.ndarray, distance: float, rng) -> np.ndarray:
    """A unit vector `distance` from the unit vector `point`, in a random direction."""
    away = unit(rng)
    away -= (away @ point) * point
    away /= np.linalg.norm(away)
    cos = 1 - distance**2 / 2
    return cos * point + np.sqrt(1 - cos**2) * away


def person(centre: np.ndarray, count: int, spread: float, rng) -> np.ndarray:
    return np.stack([at(centre, spread, rng) for _ in range(count)])


def album(strangers: int, seed: int = 0):
    """A person of 8 faces, one more face of theirs (or a look-alike's) 0.53 from their
    centre (0.55 RMS from their faces), and `strangers` faces seen once, each 0.54 from that
    face and more than 0.6 from the rest."""
    rng = np.random.default_rng(seed)
    centre = unit(rng)
    faces = person(centre, 8, 0.15, rng)
    lone = at(centre, 0.53, rng)
    around = [at(lone, 0.54, rng) for _ in range(strangers)]
    emb = np.vstack([faces, lone[None], *([np.stack(around)] if around else [])])
    return emb.astype(np.float32), np.arange(len(emb))


def test_a_face_joins_the_person_it_is_near_in_a_sparse_album():
    emb, photos = album(strangers=0)
    labels = cluster_faces(emb, photos)
    assert labels[8] == labels[0]  # nothing else around: the 0.55 RMS is one person's


def test_the_same_face_among_strangers_stays_apart():
    emb, photos = album(strangers=12)
    rms = np.sqrt(((emb[:8] - emb[8]) ** 2).sum(1).mean())
    assert 0.45 < rms < 0.56  # within the merge cut: distance alone joins it to someone
    alone = cluster_faces(emb, photos, NO_EVIDENCE)
    assert (alone == alone[8]).sum() > 1
    labels = cluster_faces(emb, photos)
    assert (labels == labels[8]).sum() == 1  # neither the person nor any stranger
    assert len(set(labels.tolist())) == 14


def test_each_test_alone_is_enough_here():
    emb, photos = album(strangers=12)
    for settings in (replace(DEFAULT_SETTINGS, support=0.0),
                     replace(DEFAULT_SETTINGS, crowding=0.0)):
        labels = cluster_faces(emb, photos, settings)
        assert (labels == labels[8]).sum() == 1


def test_a_close_pair_needs_no_evidence():
    rng = np.random.default_rng(3)
    a = unit(rng)
    strangers = [at(a, 0.5, rng) for _ in range(12)]
    emb = np.vstack([a, at(a, 0.3, rng), *strangers]).astype(np.float32)  # 0.3: sure
    labels = cluster_faces(emb, np.arange(len(emb)))
    assert labels[0] == labels[1]


def test_a_chained_core_is_broken_up():
    # A chain of faces 0.4 apart: one DBSCAN core at eps 0.43, whose ends are far apart.
    rng = np.random.default_rng(5)
    chain = [unit(rng)]
    for _ in range(7):
        chain.append(at(chain[-1], 0.4, rng))
    emb = np.stack(chain).astype(np.float32)
    plain = cluster_faces(emb, np.arange(8), replace(DEFAULT_SETTINGS, method="dbscan"))
    assert len(set(plain.tolist())) == 1
    assert len(set(cluster_faces(emb, np.arange(8)).tolist())) > 1


def test_new_faces_join_by_the_same_evidence():
    emb, photos = album(strangers=12)
    known = np.r_[np.zeros(8, int), np.arange(1, 13)]  # the person, and each stranger
    keep = np.r_[0:8, 9:21]
    got = assign_to_people(emb[keep], known, emb[8:9], np.array([99]))
    assert got.tolist() == [-1]
    sparse, _ = album(strangers=0)
    got = assign_to_people(sparse[:8], np.zeros(8, int), sparse[8:9], np.array([99]))
    assert got.tolist() == [0]


NO_MIXING = replace(DEFAULT_SETTINGS, mixing=0.0)


def look_alikes(bridge: bool, seed: int = 0):
    """Two people of 12 faces each (0.28 apart within a person, 0.49 across: each face's 10
    nearest are its own person's), and with `bridge` one more face between them, 0.3 from
    both, that links them into one DBSCAN core."""
    rng = np.random.default_rng(seed)
    a = unit(rng)
    b = at(a, 0.4, rng)
    faces = [person(a, 12, 0.2, rng), person(b, 12, 0.2, rng)]
    if bridge:
        middle = (a + b) / np.linalg.norm(a + b)
        faces.append(at(middle, 0.1, rng)[None])
    emb = np.vstack(faces).astype(np.float32)
    return emb, np.arange(len(emb))


def test_two_look_alikes_stay_apart_though_each_is_the_others_nearest():
    emb, photos = look_alikes(bridge=False)
    rms = np.sqrt(((emb[:12, None] - emb[None, 12:]) ** 2).sum(-1).mean())
    assert 0.45 < rms < 0.56  # beyond the sure distance, within the merge cut
    assert len(set(cluster_faces(emb, photos, NO_MIXING).tolist())) == 1
    labels = cluster_faces(emb, photos)
    assert labels[:12].tolist() == [labels[0]] * 12
    assert labels[12:].tolist() == [labels[12]] * 12
    assert labels[0] != labels[12]


def test_a_core_of_two_look_alikes_is_split():
    emb, photos = look_alikes(bridge=True)
    plain = cluster_faces(emb, photos, replace(DEFAULT_SETTINGS, method="dbscan"))
    assert len(set(plain.tolist())) == 1  # one DBSCAN core, tight enough to be kept
    labels = cluster_faces(emb, photos)
    assert len(set(labels[:12].tolist())) == 1 and len(set(labels[12:24].tolist())) == 1
    assert labels[0] != labels[12]


def test_one_person_is_not_split_in_two():
    rng = np.random.default_rng(7)
    emb = person(unit(rng), 30, 0.3, rng).astype(np.float32)
    assert len(set(cluster_faces(emb, np.arange(30)).tolist())) == 1


def drifting(count: int, length: float, seed: int = 0) -> np.ndarray:
    """One person whose look drifts (a child over years): faces along a line of `length`,
    each moved by noise of norm about 0.2."""
    rng = np.random.default_rng(seed)
    start = unit(rng)
    way = at(start, 1.0, rng) - start
    way /= np.linalg.norm(way)
    x = start + np.linspace(-length / 2, length / 2, count)[:, None] * way
    x += rng.normal(size=x.shape) * 0.2 / np.sqrt(x.shape[1])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_a_person_whose_look_drifts_is_not_split():
    # 80 faces along 1.0: the two halves are 0.5 apart, and only where they meet do their
    # faces mix, as they do in one person; far from there each half keeps to itself.
    emb = drifting(80, 1.0)
    assert len(set(cluster_faces(emb, np.arange(80)).tolist())) == 1


def test_more_photos_of_a_loose_person_join_them():
    rng = np.random.default_rng(11)
    emb = person(unit(rng), 20, 0.33, rng).astype(np.float32)
    rms = np.sqrt(((emb[:12, None] - emb[None, 12:]) ** 2).sum(-1).mean())
    assert rms > 0.45  # beyond the sure distance: the evidence is weighed
    assert len(set(cluster_faces(emb, np.arange(20)).tolist())) == 1
    got = assign_to_people(emb[:12], np.zeros(12, int), emb[12:], np.arange(8))
    assert got.tolist() == [0] * 8


def test_a_look_alikes_new_photos_do_not_join_the_person():
    emb, _ = look_alikes(bridge=False, seed=1)
    got = assign_to_people(emb[:12], np.zeros(12, int), emb[12:], np.arange(12))
    assert got.tolist() == [-1] * 12
    got = assign_to_people(emb[:12], np.zeros(12, int), emb[12:], np.arange(12), NO_MIXING)
    assert got.tolist() == [0] * 12


def test_a_group_photo_in_the_same_run_changes_nothing():
    # Its 20 faces widen each new face's neighbour list (room for a photo's own faces);
    # the mixing test still reads only the nearest 10, as when clustering all at once.
    emb, _ = look_alikes(bridge=False, seed=1)
    crowd = np.stack([unit(np.random.default_rng(100 + i)) for i in range(20)])
    new = np.vstack([emb[12:], crowd]).astype(np.float32)
    photos = np.r_[np.arange(12), np.full(20, 99)]
    got = assign_to_people(emb[:12], np.zeros(12, int), new, photos)
    assert got[:12].tolist() == [-1] * 12


def test_faces_left_to_nobody_stay_so_on_a_run_with_nothing_new():
    # Two faces seen once, 0.55 apart, beside ten people of two faces 0.58 from the first:
    # among them the pair is refused (crowding), and with --min-photos 2 both stay nobody's.
    # A later run weighs them again: among the library, as the first did, not alone.
    from photokosh.identify import identify
    from photokosh.records import StoredFace

    rng = np.random.default_rng(4)
    a = unit(rng)
    embs = [a, at(a, 0.55, rng)]
    for _ in range(10):
        centre = at(a, 0.58, rng)
        embs += [at(centre, 0.07, rng), at(centre, 0.07, rng)]
    faces = [StoredFace(i, f"h{i}", 0, (0, 0, 80, 80), 1.0, e, None, False)
             for i, e in enumerate(embs)]
    per_hash = {f.hash: 1 for f in faces}
    first = identify(faces, per_hash, min_photos=2)
    assert len(first.new_people) == 10 and sorted(first.unassigned) == [0, 1]
    for number, members in enumerate(first.new_people):
        for fid in members:
            faces[fid] = replace(faces[fid], person=f"person_{number}")
    again = identify(faces, per_hash, min_photos=2)
    assert again.new_people == [] and again.joined == {}
    assert sorted(again.unassigned) == [0, 1]
