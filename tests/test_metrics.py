"""Clustering scores against values worked out by hand on tiny label sets."""

import pytest

from photokosh.metrics import (
    adjusted_rand_score,
    bcubed_scores,
    evaluate_labels,
    pairwise_scores,
    worst_merges,
    worst_splits,
)

# Five faces: person a is split (2 + 1), and a's third face shares a cluster with both b's.
TRUE = ["a", "a", "a", "b", "b"]
PRED = [1, 1, 2, 2, 2]


def test_pairwise_by_hand():
    # True pairs: a gives C(3,2)=3, b gives 1 -> 4. Predicted pairs: {0,1} gives 1, {2,3,4}
    # gives 3 -> 4. Both: (0,1) and (3,4) -> 2. Precision 2/4, recall 2/4, F 0.5.
    assert pairwise_scores(TRUE, PRED) == pytest.approx((0.5, 0.5, 0.5))


def test_bcubed_by_hand():
    # Per face (precision, recall): 0 and 1: (2/2, 2/3); 2: (1/3, 1/3); 3 and 4: (2/3, 2/2).
    # Precision (1 + 1 + 1/3 + 2/3 + 2/3) / 5 = 11/15; recall (2/3 + 2/3 + 1/3 + 1 + 1) / 5
    # = 11/15; F = 11/15.
    assert bcubed_scores(TRUE, PRED) == pytest.approx((11 / 15, 11 / 15, 11 / 15))


def test_adjusted_rand_by_hand():
    # Contingency [[2, 1], [0, 2]]: sum of C(cell,2) = 1 + 1 = 2; rows C(3,2)+C(2,2) = 4;
    # columns C(2,2)+C(3,2) = 4; expected 4*4/C(5,2) = 1.6; max (4+4)/2 = 4.
    # ARI = (2 - 1.6) / (4 - 1.6) = 1/6.
    assert adjusted_rand_score(TRUE, PRED) == pytest.approx(1 / 6)


def test_unassigned_faces_are_singletons():
    # -1 is not one cluster: predicted clusters are {0}, {1}, {2,3}.
    true, pred = ["a", "a", "b", "b"], [-1, -1, 0, 0]
    # Pairwise: true pairs (0,1), (2,3); predicted (2,3) only -> precision 1, recall 1/2.
    assert pairwise_scores(true, pred) == pytest.approx((1.0, 0.5, 2 / 3))
    # BCubed recall: faces 0 and 1 find 1/2 of a, faces 2 and 3 all of b -> 3/4;
    # precision 1; F = 2 * 3/4 / (7/4) = 6/7.
    assert bcubed_scores(true, pred) == pytest.approx((1.0, 0.75, 6 / 7))
    # Scored as one cluster, -1 would have been perfect; as singletons it is not.
    assert adjusted_rand_score(true, pred) < 1.0
    assert adjusted_rand_score(true, [5, 5, 0, 0]) == pytest.approx(1.0)


def test_nothing_predicted_together():
    # No predicted pairs: precision is 1 by convention, recall 0, F 0.
    assert pairwise_scores(["a", "a", "b"], [-1, -1, -1]) == (1.0, 0.0, 0.0)


def test_perfect_and_string_predictions():
    true = ["x", "x", "y"]
    assert pairwise_scores(true, ["p", "p", "q"]) == (1.0, 1.0, 1.0)
    assert bcubed_scores(true, ["p", "p", "q"]) == (1.0, 1.0, 1.0)


def test_too_few_faces_to_pair():
    assert pairwise_scores([], []) == (1.0, 1.0, 1.0)
    assert bcubed_scores(["a"], [-1]) == (1.0, 1.0, 1.0)


def test_lengths_must_match():
    with pytest.raises(ValueError):
        pairwise_scores(["a", "b"], [0])


def test_worst_merges_by_hand():
    true = ["a", "a", "a", "b", "c", "c", "d", "e"]
    pred = [0, 0, 0, 0, 1, 1, 2, 2]
    merges = worst_merges(true, pred, n=5)
    # Cluster 0 holds a x3 + b x1 (1 intruder); cluster 2 holds d + e (1 intruder, smaller).
    assert [(m.cluster, m.size, m.people, m.intruders) for m in merges] == [
        (0, 4, [("a", 3), ("b", 1)], 1),
        (2, 2, [("d", 1), ("e", 1)], 1),
    ]
    assert len(worst_merges(true, pred, n=1)) == 1


def test_worst_splits_by_hand():
    true = ["a", "a", "a", "a", "b", "c", "c"]
    pred = [0, 0, 1, -1, 2, 3, 3]
    (split,) = worst_splits(true, pred)
    # a: 2 faces in cluster 0, 1 in cluster 1, 1 unassigned -> 2 strays outside cluster 0.
    assert (split.person, split.size, split.clusters, split.unassigned, split.strays) == (
        "a", 4, [(0, 2), (1, 1)], 1, 2)


def test_evaluate_labels_bundles_everything():
    result = evaluate_labels(TRUE + ["c"], PRED + [-1])
    assert result["faces"] == 6
    assert result["people_true"] == 3
    assert result["clusters_found"] == 2
    assert result["unassigned"] == 1
    assert result["pairwise_f"] == pytest.approx(pairwise_scores(TRUE + ["c"], PRED + [-1])[2])
    assert result["bcubed_f"] == pytest.approx(bcubed_scores(TRUE + ["c"], PRED + [-1])[2])
    assert result["worst_merges"][0]["people"] == [("b", 2), ("a", 1)]
    assert result["worst_merges"][0]["intruders"] == 1
    assert result["worst_splits"][0]["person"] == "a"
