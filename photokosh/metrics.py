"""Scores that compare a clustering of faces with the true identities.

Every function takes two equal-length sequences of labels: ``true`` (who each face really is)
and ``pred`` (the cluster the clustering put it in). Labels may be any hashable values that
numpy can sort (ints, strings).

Convention for unassigned faces: a predicted label of ``-1`` means "belongs to nobody", so each
such face counts as a cluster of its own (a singleton). Treating all ``-1`` faces as one cluster
would reward a clustering for dumping faces into the noise bucket together; treating them as
singletons scores them the way a user sees them: ungrouped.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score as _sk_adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix, pair_confusion_matrix

NOISE = -1

Labels = Sequence[Hashable] | np.ndarray


@dataclass(frozen=True)
class Merge:
    """A predicted cluster that holds faces of several true people."""

    cluster: Hashable
    size: int
    people: list[tuple[Hashable, int]]  # (person, faces of them in the cluster), most first

    @property
    def intruders(self) -> int:
        """Faces in the cluster that are not its majority person."""
        return self.size - self.people[0][1]


@dataclass(frozen=True)
class Split:
    """A true person whose faces landed in several predicted clusters (or unassigned)."""

    person: Hashable
    size: int
    clusters: list[tuple[Hashable, int]]  # (predicted cluster, faces of the person), most first
    unassigned: int  # faces of the person predicted as -1

    @property
    def strays(self) -> int:
        """Faces of the person outside their largest cluster."""
        largest = self.clusters[0][1] if self.clusters else min(self.size, 1)
        return self.size - largest


def _check(true: Labels, pred: Labels) -> tuple[np.ndarray, np.ndarray]:
    true_a, pred_a = np.asarray(true), np.asarray(pred)
    if true_a.ndim != 1 or pred_a.shape != true_a.shape:
        raise ValueError(
            f"true and pred must be 1-d and equally long, got {true_a.shape} and {pred_a.shape}"
        )
    return true_a, pred_a


def _noise_mask(pred: np.ndarray) -> np.ndarray:
    if pred.dtype.kind in "iuf":
        return pred == NOISE
    return np.zeros(pred.shape, dtype=bool)


def _codes(true: Labels, pred: Labels) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for both label arrays, with each -1 prediction made a singleton."""
    true_a, pred_a = _check(true, pred)
    true_codes = np.unique(true_a, return_inverse=True)[1].ravel()
    pred_codes = np.unique(pred_a, return_inverse=True)[1].ravel()
    noise = _noise_mask(pred_a)
    pred_codes[noise] = pred_codes.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    # Re-compact so that codes index bincounts exactly as contingency_matrix's columns.
    return true_codes, np.unique(pred_codes, return_inverse=True)[1].ravel()


def _f(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def pairwise_scores(true: Labels, pred: Labels) -> tuple[float, float, float]:
    """Precision, recall and F1 over pairs of faces.

    A pair is a true positive when both faces share a true person and a predicted cluster.
    With no predicted pairs, precision is 1.0 (nothing was wrongly joined); with no true
    pairs, recall is 1.0 (nothing could be missed).
    """
    true_codes, pred_codes = _codes(true, pred)
    if len(true_codes) < 2:
        return 1.0, 1.0, 1.0
    (_, fp), (fn, tp) = pair_confusion_matrix(true_codes, pred_codes)
    precision = float(tp / (tp + fp)) if tp + fp else 1.0
    recall = float(tp / (tp + fn)) if tp + fn else 1.0
    return precision, recall, _f(precision, recall)


def bcubed_scores(true: Labels, pred: Labels) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 (Bagga & Baldwin 1998; Amigo et al. 2009).

    Per face, precision is the share of its predicted cluster that is its true person and
    recall the share of its true person inside its predicted cluster; both are averaged over
    faces. Unlike pairwise scores, a large person does not dominate the result quadratically.
    """
    true_codes, pred_codes = _codes(true, pred)
    n = len(true_codes)
    if n == 0:
        return 1.0, 1.0, 1.0
    cont = contingency_matrix(true_codes, pred_codes, sparse=True).tocoo()
    person_sizes = np.bincount(true_codes)
    cluster_sizes = np.bincount(pred_codes)
    # The n_ij faces in cell (i, j) each have precision n_ij/|cluster j| and recall n_ij/|person i|.
    squared = cont.data.astype(np.float64) ** 2
    precision = float(np.sum(squared / cluster_sizes[cont.col]) / n)
    recall = float(np.sum(squared / person_sizes[cont.row]) / n)
    return precision, recall, _f(precision, recall)


def adjusted_rand_score(true: Labels, pred: Labels) -> float:
    """scikit-learn's adjusted Rand index, with -1 predictions as singletons."""
    true_codes, pred_codes = _codes(true, pred)
    return float(_sk_adjusted_rand_score(true_codes, pred_codes))


def _table(true: Labels, pred: Labels) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (person, cluster) cells with their counts; -1 kept as one value here."""
    true_a, pred_a = _check(true, pred)
    people, true_codes = np.unique(true_a, return_inverse=True)
    clusters, pred_codes = np.unique(pred_a, return_inverse=True)
    cont = contingency_matrix(true_codes.ravel(), pred_codes.ravel(), sparse=True).tocoo()
    return people[cont.row], clusters[cont.col], cont.data, _noise_mask(clusters[cont.col])


def _item(value: Hashable) -> Hashable:
    return value.item() if isinstance(value, np.generic) else value


def _most_first(entry: tuple[Hashable, int]) -> tuple[int, str]:
    return -entry[1], str(entry[0])


def worst_merges(true: Labels, pred: Labels, n: int = 5) -> list[Merge]:
    """Up to ``n`` predicted clusters that mix several true people, most intruders first."""
    people, clusters, counts, noise = _table(true, pred)
    by_cluster: dict[Hashable, list[tuple[Hashable, int]]] = {}
    for person, cluster, count in zip(people[~noise], clusters[~noise], counts[~noise],
                                      strict=True):
        by_cluster.setdefault(_item(cluster), []).append((_item(person), int(count)))
    merges = [Merge(cluster, sum(c for _, c in members), sorted(members, key=_most_first))
              for cluster, members in by_cluster.items() if len(members) > 1]
    merges.sort(key=lambda m: (-m.intruders, -m.size, str(m.cluster)))
    return merges[:n]


def worst_splits(true: Labels, pred: Labels, n: int = 5) -> list[Split]:
    """Up to ``n`` true people spread over several clusters (or unassigned), most strays first."""
    people, clusters, counts, noise = _table(true, pred)
    parts: dict[Hashable, list[tuple[Hashable, int]]] = {}
    unassigned: dict[Hashable, int] = {}
    for person, cluster, count, is_noise in zip(people, clusters, counts, noise, strict=True):
        key = _item(person)
        parts.setdefault(key, [])
        if is_noise:
            unassigned[key] = int(count)
        else:
            parts[key].append((_item(cluster), int(count)))
    splits = []
    for person, found in parts.items():
        lost = unassigned.get(person, 0)
        if len(found) + lost > 1:
            found.sort(key=_most_first)
            splits.append(Split(person, sum(c for _, c in found) + lost, found, lost))
    splits.sort(key=lambda s: (-s.strays, -s.size, str(s.person)))
    return splits[:n]


def evaluate_labels(true: Labels, pred: Labels, n_worst: int = 5) -> dict:
    """All scores for one clustering, as a JSON-ready dict.

    ``clusters_found`` counts predicted clusters other than -1; ``unassigned`` counts faces
    predicted as -1 (each scored as its own singleton).
    """
    true_a, pred_a = _check(true, pred)
    pp, pr, pf = pairwise_scores(true_a, pred_a)
    bp, br, bf = bcubed_scores(true_a, pred_a)
    noise = _noise_mask(pred_a)
    return {
        "faces": len(true_a),
        "pairwise_precision": pp,
        "pairwise_recall": pr,
        "pairwise_f": pf,
        "bcubed_precision": bp,
        "bcubed_recall": br,
        "bcubed_f": bf,
        "ari": adjusted_rand_score(true_a, pred_a),
        "people_true": len(np.unique(true_a)),
        "clusters_found": len(np.unique(pred_a[~noise])),
        "unassigned": int(noise.sum()),
        "worst_merges": [
            asdict(m) | {"intruders": m.intruders} for m in worst_merges(true_a, pred_a, n_worst)
        ],
        "worst_splits": [
            asdict(s) | {"strays": s.strays} for s in worst_splits(true_a, pred_a, n_worst)
        ],
    }
