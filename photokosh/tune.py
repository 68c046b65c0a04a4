"""`photokosh evaluate --tune`: which clustering settings would do better on these people?

Each row changes one setting of the default (the ones that decide the clustering: eps, the
merge cut, the evidence tests), plus plain DBSCAN for reference. A change is recommended
only when it beats the default by more than the noise: the row's BCubed F is compared with
the default's on random halves of the people, and the gain must exceed twice the spread of
those paired differences. Settings that give exactly the default's people are marked, so the
table shows what differs.
"""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from .cluster import ClusterSettings

# One setting changed at a time, around the default.
SWEEPS = {
    "eps": (0.4, 0.43, 0.48, 0.5),
    "merge_distance": (0.5, 0.53, 0.58),
    "support": (0.0, 0.4, 0.8),
    "crowding": (0.0, 0.01, 0.04),
    "sure_distance": (0.4, 0.5),
    "mixing": (0.0, 0.2, 0.5),
}
PLAIN_DBSCAN = [(eps, samples) for eps in (0.4, 0.45, 0.5) for samples in (1, 2)]
HALVES = 20  # random halves of the people for the noise
TUNED = ("method", "eps", "min_samples", "merge_distance", "support", "crowding",
         "sure_distance", "mixing")


def candidates(base: ClusterSettings) -> list[tuple[str, ClusterSettings]]:
    """(what changed, settings) for the default and each row of the grid."""
    rows = [("default", base)]
    for name, values in SWEEPS.items():
        rows += [(f"{name} {v:g}", replace(base, **{name: v})) for v in values
                 if v != getattr(base, name)]
    rows += [(f"plain DBSCAN, eps {eps:g}, min_samples {samples}",
              replace(base, method="dbscan", eps=eps, min_samples=samples))
             for eps, samples in PLAIN_DBSCAN]
    return rows


def tune(emb: np.ndarray, groups: np.ndarray, truth: np.ndarray, scored: np.ndarray,
         base: ClusterSettings) -> list[dict]:
    """Score every candidate on the faces `scored` (truth: their people); rows best first,
    each with its gain over the default, the noise of that gain and whether it beats it."""
    from .cluster import cluster_faces
    from .metrics import bcubed_scores, evaluate_labels

    people = np.unique(truth)
    rng = np.random.default_rng(0)
    halves = [np.isin(truth, rng.choice(people, max(1, len(people) // 2), replace=False))
              for _ in range(HALVES)]
    rows, partitions, on_halves = [], [], []
    for change, settings in candidates(base):
        pred = cluster_faces(emb, groups, settings)[scored]
        result = evaluate_labels(truth.tolist(), pred.tolist())
        rows.append({"change": change, **{k: asdict(settings)[k] for k in TUNED},
                     **{k: v for k, v in result.items() if not k.startswith("worst")}})
        partitions.append(_canonical(pred))
        on_halves.append(np.array([bcubed_scores(truth[h], pred[h])[2] for h in halves]))
    for row, partition, halves_f in zip(rows, partitions, on_halves, strict=True):
        diff = halves_f - on_halves[0]  # paired with the default's (the first row): 0 for it
        row["same_as_default"] = bool(np.array_equal(partition, partitions[0]))
        row["gain"] = float(row["bcubed_f"] - rows[0]["bcubed_f"])
        row["noise"] = float(2 * diff.std())
        row["better"] = bool(row["gain"] > 0 and diff.mean() > 0 and row["gain"] > row["noise"])
    rows.sort(key=lambda r: (-r["bcubed_f"], -r["pairwise_f"], r["change"] != "default"))
    return rows


def recommendation(rows: list[dict]) -> dict | None:
    """The best row that beats the default by more than the noise, if any."""
    better = [r for r in rows if r["better"]]
    return better[0] if better else None


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first appearance: equal arrays mean the same partition."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]
