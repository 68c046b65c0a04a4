"""How `photokosh find` should match a face with OUT's people: the distance to a person's nearest
face or to their centre, and at which threshold. Leave one photo out, on an OUT sorted from a
folder with one sub-folder per person (lfw-dev):

    uv run photokosh sort ../shared/photos/lfw-dev -o /tmp/lfw-out --no-page
    uv run python benchmarks/find_match.py /tmp/lfw-out 0.6 0.5 0.45

Each labelled face (its person's photos are mostly of its folder) is matched with the people
of OUT without its own photo: `right` when the match is within the threshold and of its folder,
`wrong` for another person within it, `nobody` beyond it. As a stranger, the same face is matched
with every person of its folder left out: `false accept` when someone is within the threshold.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photokosh.catalog import looking  # noqa: E402


def main(out: Path, thresholds: list[float]) -> None:
    with looking(out) as (state, catalog):
        emb = {f.id: f.embedding for f in state.current_faces(catalog.settings["embedder"])}
    faces = [(f.id, f.person, p.rel) for p in catalog.photos for f in p.faces
             if f.shown and f.person]
    known = np.stack([emb[i] for i, _, _ in faces]).astype(np.float64)
    owners = np.array([o for _, o, _ in faces])
    rels = np.array([r for _, _, r in faces])
    folder = {pid: Counter(r.split("/")[0] for r in rels[owners == pid]).most_common(1)[0][0]
              for pid in set(owners)}
    members = {pid: np.where(owners == pid)[0] for pid in sorted(folder)}
    counts = {(way, t): Counter() for way in ("nearest", "centre") for t in thresholds}
    for k, rel in enumerate(rels):
        truth = rel.split("/")[0]
        if folder[owners[k]] != truth:
            continue  # a bystander
        d = np.linalg.norm(known - known[k], axis=1)
        elsewhere = rels != rel
        by_way: dict[str, dict[str, float]] = {"nearest": {}, "centre": {}}
        for pid, idx in members.items():
            idx = idx[elsewhere[idx]]
            if len(idx):
                by_way["nearest"][pid] = d[idx].min()
                by_way["centre"][pid] = np.linalg.norm(known[idx].mean(0) - known[k])
        for way, dist in by_way.items():
            best = min(dist, key=dist.get)
            stranger = min(v for pid, v in dist.items() if folder[pid] != truth)
            for t in thresholds:
                c = counts[way, t]
                if any(folder[pid] == truth for pid in dist):
                    c["faces"] += 1
                    c["right" if dist[best] <= t and folder[best] == truth else
                      "wrong" if dist[best] <= t else "nobody"] += 1
                c["strangers"] += 1
                c["false accept"] += bool(stranger <= t)
    print("| match | threshold | right | wrong | nobody | false accept (strangers) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (way, t), c in counts.items():
        print(f"| {way} | {t} | {c['right'] / c['faces']:.1%} | {c['wrong'] / c['faces']:.1%} | "
              f"{c['nobody'] / c['faces']:.1%} | {c['false accept'] / c['strangers']:.1%} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [float(t) for t in sys.argv[2:]] or [0.6])
