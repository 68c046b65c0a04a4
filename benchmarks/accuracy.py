"""Accuracy of the clustering methods on labelled face embeddings, as a Markdown table.

    uv run python benchmarks/accuracy.py ../shared/photos/lfw-dev
    uv run python benchmarks/accuracy.py faces.npz

A folder with one sub-folder per person is run through photokosh's own analysis (detector,
landmarks, descriptor, with its cache, exactly as `photokosh evaluate` does). An .npz holds,
per face: `emb` (128-d), `photo` (index of its photo), `label` (the person)
and `central` (True for the one labelled face of its photo; the others are bystanders that
are clustered but not scored). Every face is clustered; only central faces are scored.
Output is deterministic: no timings, fixed seeds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.cluster import DBSCAN, AgglomerativeClustering

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photokosh.cluster import DEFAULT_SETTINGS, cluster_faces, place_new_faces  # noqa: E402
from photokosh.metrics import bcubed_scores, evaluate_labels  # noqa: E402

Method = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Faces:
    emb: np.ndarray
    groups: np.ndarray
    labels: np.ndarray
    scored: np.ndarray

    def subset(self, keep: np.ndarray) -> Faces:
        return Faces(self.emb[keep], self.groups[keep], self.labels[keep], self.scored[keep])


def load(path: Path, cache: Path | None = None, detector: str | None = None) -> Faces:
    if path.is_dir():
        return from_photos(path, cache, detector)
    data = np.load(path)
    return Faces(data["emb"].astype(np.float32), data["photo"], data["label"], data["central"])


def load_all(paths: list[Path], cache: Path | None = None,
             detector: str | None = None) -> Faces:
    """Several sources as one library (photo numbers kept apart; one cache per folder)."""
    parts = [load(p, cache if len(paths) == 1 else None, detector) for p in paths]
    offsets = np.cumsum([0] + [int(f.groups.max(initial=-1)) + 1 for f in parts])
    return Faces(np.concatenate([f.emb for f in parts]),
                 np.concatenate([f.groups + o for f, o in zip(parts, offsets, strict=False)]),
                 np.concatenate([f.labels.astype(str) for f in parts]),
                 np.concatenate([f.scored for f in parts]))


def save(faces: Faces, path: Path) -> None:
    np.savez_compressed(path, emb=faces.emb, photo=faces.groups, label=faces.labels,
                        central=faces.scored)


def from_photos(root: Path, cache: Path | None = None, detector: str | None = None,
                labels_file: Path | None = None) -> Faces:
    """The faces photokosh finds in a per-person folder tree (with `detector`, photokosh's
    default when None); the labelled face of each photo is the one nearest its centre (LFW's
    convention)."""
    from photokosh.detectors import DEFAULT, make_embedder
    from photokosh.evaluate import labelled_faces, load_labels

    faces, truth, _ = labelled_faces(root, load_labels(root.resolve(), labels_file),
                                     make_embedder(detector or DEFAULT), cache)
    photo = {h: i for i, h in enumerate(sorted({f.hash for f in faces}))}
    return Faces(np.stack([f.embedding for f in faces]).astype(np.float32),
                 np.array([photo[f.hash] for f in faces]),
                 np.array([truth.get(f.id, "") for f in faces]),
                 np.array([f.id in truth for f in faces]))


def photokosh_method(**changes) -> Method:
    settings = replace(DEFAULT_SETTINGS, **changes)

    def run(emb, groups):
        return cluster_faces(emb, groups, settings)
    run.scales = True  # neighbours from an index: runs on any size
    return run


def exact_dbscan(eps: float, min_samples: int) -> Method:
    # Reference only: scikit-learn's DBSCAN on all pairs, blind to cannot-link.
    return lambda emb, groups: DBSCAN(eps=eps, min_samples=min_samples).fit_predict(emb)


def average_linkage(threshold: float) -> Method:
    # Reference only: scikit-learn builds the full n x n distance matrix.
    def run(emb, groups):
        if len(emb) < 2:
            return np.zeros(len(emb), dtype=int)
        model = AgglomerativeClustering(n_clusters=None, distance_threshold=threshold,
                                        linkage="average")
        return model.fit_predict(emb)
    return run


def chinese_whispers(threshold: float) -> Method:
    def run(emb, groups):
        import dlib

        return np.array(dlib.chinese_whispers_clustering(
            [dlib.vector(e.astype(float).tolist()) for e in emb], threshold))
    return run


def methods() -> list[tuple[str, str, Method]]:
    rows: list[tuple[str, str, Method]] = [
        ("photokosh default", _describe(DEFAULT_SETTINGS), photokosh_method()),
        ("default without the fragment pass", "attach_size 0", photokosh_method(attach_size=0)),
        ("default merging up to 0.6", "merge_distance 0.6", photokosh_method(merge_distance=0.6)),
    ]
    for eps, min_samples in [(0.4, 1), (0.4, 2), (0.45, 1), (0.45, 3), (0.5, 1), (0.5, 2)]:
        rows.append(("plain DBSCAN (method dbscan)", f"eps {eps}, min_samples {min_samples}",
                     photokosh_method(method="dbscan", eps=eps, min_samples=min_samples)))
    for eps in (0.45, 0.5):
        rows.append(("DBSCAN (sklearn, all pairs)", f"eps {eps}, min_samples 1",
                     exact_dbscan(eps, 1)))
    for threshold in (0.56, 0.6):
        rows.append(("average linkage (sklearn)", f"distance {threshold}",
                     average_linkage(threshold)))
    rows += [("dlib chinese_whispers", f"threshold {t}", chinese_whispers(t)) for t in (0.5,)]
    return rows


def _describe(s) -> str:
    return (f"eps {s.eps}, min_samples {s.min_samples}, merge {s.merge_distance}, "
            f"attach {s.attach_distance} (<= {s.attach_size} faces)")


def score(faces: Faces, pred: np.ndarray) -> dict:
    return evaluate_labels(faces.labels[faces.scored], np.asarray(pred)[faces.scored])


def accuracy_table(faces: Faces) -> list[str]:
    out = ["| method | settings | pairwise P | pairwise R | pairwise F | BCubed P | BCubed R "
           "| BCubed F | ARI | clusters found / true |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, settings, method in methods():
        try:
            r = score(faces, method(faces.emb, faces.groups))
        except ImportError as exc:
            out.append(f"| {name} | {settings} | skipped: {exc} | | | | | | | |")
            continue
        cells = [r[k] for k in ("pairwise_precision", "pairwise_recall", "pairwise_f",
                                "bcubed_precision", "bcubed_recall", "bcubed_f", "ari")]
        out.append(f"| {name} | {settings} | " + " | ".join(f"{v:.3f}" for v in cells)
                   + f" | {r['clusters_found']} / {r['people_true']} |")
    return out


def person_of_photo(faces: Faces) -> np.ndarray:
    """The person each face's photo is labelled with (bystanders go with their photo)."""
    owner = dict(zip(faces.groups[faces.scored].tolist(),
                     faces.labels[faces.scored].tolist(), strict=True))
    return np.array([owner.get(g, "") for g in faces.groups.tolist()])


def stability_table(faces: Faces, fractions=(0.1, 0.25, 0.5, 1.0), seeds=5) -> list[str]:
    """BCubed F of the default on random subsets of the people (with all their photos)."""
    owner = person_of_photo(faces)
    people = np.unique(faces.labels[faces.scored])
    out = ["| share of people | people | runs | BCubed F mean | min | max | pairwise F mean |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    lows, highs, means = [], [], []
    for fraction in fractions:
        count = max(2, round(fraction * len(people)))
        b, p = [], []
        for seed in range(seeds if count < len(people) else 1):
            chosen = np.random.default_rng(seed).choice(people, count, replace=False)
            part = faces.subset(np.isin(owner, chosen))
            r = score(part, cluster_faces(part.emb, part.groups))
            b.append(r["bcubed_f"])
            p.append(r["pairwise_f"])
        lows.append(min(b))
        highs.append(max(b))
        means.append(float(np.mean(b)))
        out.append(f"| {fraction:.0%} | {count} | {len(b)} | {np.mean(b):.3f} | {min(b):.3f} "
                   f"| {max(b):.3f} | {np.mean(p):.3f} |")
    out.append("")
    out.append(f"Spread of the mean BCubed F across sizes: {max(means) - min(means):.3f}; "
               f"of every run: {max(highs) - min(lows):.3f}.")
    return out


def incremental_lines(faces: Faces, share: float = 0.1, seed: int = 0) -> list[str]:
    """Cluster most photos, then add the rest with place_new_faces, as a re-run does: new
    faces join people, or form new ones among the library's faces."""
    photos = np.unique(faces.groups)
    late = np.isin(faces.groups, np.random.default_rng(seed).choice(
        photos, round(share * len(photos)), replace=False))
    pred = np.full(len(faces.groups), -1)
    pred[~late] = cluster_faces(faces.emb[~late], faces.groups[~late])
    joined_to, alone = place_new_faces(faces.emb[~late], pred[~late], faces.emb[late],
                                       faces.groups[late])
    first = pred.max() + 1
    pred[late] = np.where(joined_to >= 0, joined_to, first + alone)
    rest = late.copy()
    rest[late] = joined_to < 0
    joined = int((late & ~rest).sum())
    full = score(faces, cluster_faces(faces.emb, faces.groups))["bcubed_f"]
    scored = faces.scored
    inc = bcubed_scores(faces.labels[scored], pred[scored])[2]
    return [f"Incremental: {late.sum()} faces of {share:.0%} of the photos added to a "
            f"clustering of the rest: {joined} joined an existing person, "
            f"{int(rest.sum())} clustered anew; BCubed F {inc:.3f} (all at once: {full:.3f})."]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="+",
                        help="per-person photo folders or .npz files, clustered as one library")
    parser.add_argument("--detector", help="detector for photo folders [default: photokosh's]")
    parser.add_argument("--save", type=Path, help="also write the faces to this .npz")
    parser.add_argument("--cache", type=Path, help="state folder for the faces, as in "
                        "`photokosh evaluate --cache` [default: as photokosh evaluate]")
    parser.add_argument("--seeds", type=int, default=5, help="runs per subset size")
    args = parser.parse_args(argv)
    faces = load_all(args.source, args.cache, args.detector)
    if args.save:
        save(faces, args.save)
    people = len(np.unique(faces.labels[faces.scored]))
    print(f"## Clustering accuracy on {' + '.join(p.name for p in args.source)}\n")
    print(f"{len(faces.emb)} faces in {len(np.unique(faces.groups))} photos, "
          f"{int(faces.scored.sum())} scored, {people} people.\n")
    print("\n".join(accuracy_table(faces)))
    print("\n### Stability over library size (default settings)\n")
    print("\n".join(stability_table(faces, seeds=args.seeds)))
    print("\n" + "\n".join(incremental_lines(faces)))


if __name__ == "__main__":
    main()
