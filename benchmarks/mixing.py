"""How well the mixing test (evidence.py) tells two look-alikes from one person's two halves.

    uv run python benchmarks/mixing.py
    uv run python benchmarks/mixing.py --sets lfw-dev --size 3

For each labelled set (folders of ../shared/photos, analysed and cached as accuracy.py does):
the mixing of every pair of different people within `--within` (pair RMS) of each other, and
of each person's faces cut in two as the clustering cuts a group (doubt.halves; each half at
least `--size` faces), both as Evidence.mixed computes it on the set's own neighbour graph.
Then the same for people whose look drifts (a child over years, which LFW lacks): synthetic
faces spread along a line, in 128 dimensions, with noise, split in two at the middle. A merge
is refused below the default's `mixing`, so a good threshold lies between the columns.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import load_all  # noqa: E402
from library import PHOTOS  # noqa: E402

from photokosh import doubt  # noqa: E402
from photokosh.cluster import DEFAULT_SETTINGS as S  # noqa: E402
from photokosh.evidence import Evidence  # noqa: E402
from photokosh.neighbours import Neighbours, graph  # noqa: E402


def measure(name: str, size: int, within: float):
    faces = load_all([PHOTOS / part for part in name.split("+")])
    x = np.asarray(faces.emb, dtype=np.float64)
    _, own = graph(Neighbours(x, False), x, S.neighbours, S.reach)
    evidence = Evidence(own, faces.groups, x, S.support, S.crowding)
    labelled = faces.scored
    people, counts = np.unique(faces.labels[labelled], return_counts=True)
    members = {p: np.flatnonzero(labelled & (faces.labels == p)) for p in people[counts >= size]}

    def mixed(a: np.ndarray, b: np.ndarray) -> float:
        side = dict.fromkeys(a.tolist(), 0) | dict.fromkeys(b.tolist(), 1)
        return evidence.mixed(a.tolist(), b.tolist(), lambda f: side.get(f, -1), 0, 1)

    names = sorted(members)
    centres = {p: x[members[p]].mean(0) for p in names}
    spread = {p: ((x[members[p]] - centres[p]) ** 2).sum(1).mean() for p in names}
    different = []
    for i, p in enumerate(names):
        for q in names[i + 1:]:
            # mean squared distance between two groups' faces, from centres and spreads
            rms = np.sqrt(((centres[p] - centres[q]) ** 2).sum() + spread[p] + spread[q])
            if rms <= within:
                different.append((mixed(members[p], members[q]), rms, p, q))
    halves = []
    for p in names:
        if len(members[p]) < 2 * size:
            continue
        cut = doubt.halves(x[members[p]])
        a, b = members[p][cut == 0], members[p][cut == 1]
        if min(len(a), len(b)) >= size:
            halves.append((mixed(a, b), p))
    return different, halves


def drifting(count: int, length: float, noise: float, seed: int) -> np.ndarray:
    """`count` unit vectors along a line of `length` through a random face, each moved by
    Gaussian noise of norm about `noise`."""
    rng = np.random.default_rng(seed)
    start, way = rng.normal(size=(2, 128))
    start /= np.linalg.norm(start)
    way -= (way @ start) * start
    way /= np.linalg.norm(way)
    x = start + np.linspace(-length / 2, length / 2, count)[:, None] * way
    x += rng.normal(size=x.shape) * noise / np.sqrt(128)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def drift_mixing(count: int, length: float, noise: float, seed: int) -> float:
    x = drifting(count, length, noise, seed)
    _, own = graph(Neighbours(x, False), x, S.neighbours, S.reach)
    evidence = Evidence(own, np.arange(count), x, S.support, S.crowding)
    half = count // 2
    return evidence.mixed(list(range(half)), list(range(half, count)),
                          lambda f: int(f >= half), 0, 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="lfw-small,lfw-dev,lfw-dev+lfw-crowd")
    parser.add_argument("--size", type=int, default=S.mixing_size)
    parser.add_argument("--within", type=float, default=S.merge_distance)
    args = parser.parse_args(argv)
    print(f"`uv run python benchmarks/mixing.py --sets {args.sets} --size {args.size} "
          f"--within {args.within}`; refused below {S.mixing}\n")
    print("| set | pairs of different people | their mixing: highest 3 | below the cut "
          "| people cut in two | their halves' mixing: lowest 3 | below the cut |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.sets.split(","):
        different, halves = measure(name, args.size, args.within)
        high = sorted((m for m, *_ in different), reverse=True)[:3]
        low = sorted(m for m, _ in halves)[:3]
        print(f"| {name} | {len(different)} | {' '.join(f'{m:.2f}' for m in high)} "
              f"| {sum(m < S.mixing for m, *_ in different)} | {len(halves)} "
              f"| {' '.join(f'{m:.2f}' for m in low)} "
              f"| {sum(m < S.mixing for m, _ in halves)} |", flush=True)
    print("\n| drifting person: faces, length of the line | noise 0.1 | noise 0.2 | noise 0.3 |")
    print("| --- | --- | --- | --- |")
    for count in (40, 80, 160):
        for length in (0.8, 1.0, 1.2):
            cells = [min(drift_mixing(count, length, noise, seed) for seed in range(3))
                     for noise in (0.1, 0.2, 0.3)]
            print(f"| {count}, {length} | " + " | ".join(f"{m:.2f}" for m in cells) + " |")
    print("\nEach drifting cell: the lowest of 3 seeds.")


if __name__ == "__main__":
    main()
