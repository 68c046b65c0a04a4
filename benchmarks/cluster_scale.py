"""Time, peak memory and accuracy of the clustering stage on synthetic faces, as Markdown.

    uv run python benchmarks/cluster_scale.py --sizes 10000,100000,1000000
    uv run python benchmarks/cluster_scale.py --sizes 10000,100000 --exact
    uv run python benchmarks/cluster_scale.py --lfw ../shared/photos/lfw-dev

Each size runs in its own process, so each peak memory (ru_maxrss) is that size's alone; it
includes the generated embeddings (n x 128 float32) and the Python interpreter. Times are
wall-clock for `cluster_faces` on all n faces, then for `assign_to_people` adding 1% more
faces to that clustering (what a re-run with new photos does).

The faces are shaped like dlib's on lfw-dev: unit-norm 128-d vectors whose
person centres spread over ~25 effective dimensions, so that two faces of one person are
~0.3-0.55 apart (median ~0.43) and faces of different people ~0.7-1.0 (median ~0.83), with
a thin tail of look-alikes below 0.6 as in the real data; people's sizes follow a power law,
40% of faces are of people seen once, and ~10% of photos hold two or three faces of
different people (cannot-link groups).

`--exact` also clusters each size with exact neighbour search (search="exact"; hours at a
million faces) and reports its BCubed F. `--lfw` compares the two searches on labelled real
faces (a per-person folder, analysed and cached as benchmarks/accuracy.py does, or its .npz),
forcing the approximate one whatever the size, and then searching only 4 and 2 of the
index's cells (a small library has so few that the default searches all of them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DIM = 128
SPECTRUM = 0.9  # variance of the i-th direction ~ i^-0.9: ~25 effective dimensions
BETWEEN = 0.63  # scale of person centres around the common direction
WITHIN = 0.38  # scale of one person's faces around their centre
SINGLETONS = 0.4  # share of faces whose person is seen once
LARGEST = 2000  # largest person, in faces
CHUNK = 65536


class Population:
    """People (centres, spreads) from which any number of faces can be drawn."""

    def __init__(self, people: int, seed: int):
        rng = np.random.default_rng(seed)
        self.basis = np.linalg.qr(rng.normal(size=(DIM, DIM)))[0].astype(np.float32)
        lam = np.arange(1, DIM + 1, dtype=np.float64) ** -SPECTRUM
        self.scale = np.sqrt(lam / lam.sum()).astype(np.float32)
        self.common = rng.normal(size=DIM).astype(np.float32)
        self.common /= np.linalg.norm(self.common)
        self.centres = self._shaped(rng, people, BETWEEN)
        self.spread = np.exp(rng.normal(scale=0.1, size=people)).astype(np.float32)

    def _shaped(self, rng, count: int, size: float) -> np.ndarray:
        return (rng.standard_normal((count, DIM), np.float32) * self.scale) @ self.basis.T * size

    def faces(self, who: np.ndarray, seed: int) -> np.ndarray:
        """One new face per entry of `who` (person ids), unit-norm float32; in chunks so the
        float temporaries stay small next to the result."""
        rng = np.random.default_rng(seed)
        out = np.empty((len(who), DIM), np.float32)
        for i in range(0, len(who), CHUNK):
            w = who[i:i + CHUNK]
            x = self.common + self.centres[w] + (
                self._shaped(rng, len(w), WITHIN) * self.spread[w, None])
            out[i:i + CHUNK] = x / np.linalg.norm(x, axis=1, keepdims=True)
        return out


def person_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Faces per person summing to n: a share seen once, the rest power-law (p(s) ~ s^-2)."""
    ones = int(SINGLETONS * n)
    s = np.arange(2, LARGEST + 1)
    p = s ** -2.0 / np.sum(s ** -2.0)
    draws = rng.choice(s, size=int((n - ones) / np.dot(s, p) * 1.2) + 2, p=p)
    sizes = draws[:np.searchsorted(np.cumsum(draws), n - ones) + 1]
    sizes[-1] -= sizes.sum() - (n - ones)
    sizes = sizes[sizes > 0]
    return np.r_[sizes, np.ones(ones, dtype=np.int64)]


def photos_for(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo id per face: ~10% of photos hold 2-3 faces, never two of one person."""
    n = len(truth)
    counts = rng.choice([1, 2, 3], size=n, p=[0.9, 0.08, 0.02])
    counts = counts[:np.searchsorted(np.cumsum(counts), n) + 1]
    photo = np.empty(n, dtype=np.int64)
    photo[rng.permutation(n)] = np.repeat(np.arange(len(counts)), counts)[:n]
    # A person twice in one photo: the later faces move to photos of their own.
    order = np.lexsort((np.arange(n), truth, photo))
    twice = np.r_[False, (photo[order][1:] == photo[order][:-1])
                  & (truth[order][1:] == truth[order][:-1])]
    photo[order[twice]] = photo.max() + 1 + np.arange(int(twice.sum()))
    return photo


def synthetic(n: int, seed: int = 0):
    """(embeddings, true person, photo) for n faces, plus the Population they come from."""
    rng = np.random.default_rng(seed)
    sizes = person_sizes(n, rng)
    pop = Population(len(sizes), seed)
    truth = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    return pop.faces(truth, seed + 1), truth, photos_for(truth, rng), pop


def distances_line(emb: np.ndarray, truth: np.ndarray, seed: int = 0) -> str:
    """Quantiles of same-person and different-person distances on a sample, to show the shape."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(emb), min(len(emb), 3000), replace=False)
    x, t = emb[pick].astype(np.float64), truth[pick]
    d = np.sqrt(np.maximum(np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", x, x)
                           - 2 * x @ x.T, 0))
    iu = np.triu_indices(len(x), 1)
    same = (t[:, None] == t[None, :])[iu]
    q = (5, 50, 95)
    within = np.percentile(d[iu][same], q) if same.any() else [np.nan] * 3
    between = np.percentile(d[iu][~same], q)
    return (f"same person (5/50/95%): {' / '.join(f'{v:.2f}' for v in within)}; "
            f"different people: {' / '.join(f'{v:.2f}' for v in between)}")


def run_one(n: int, seed: int, exact: bool, changes: dict | None = None) -> dict:
    from dataclasses import replace

    from photokosh.cluster import DEFAULT_SETTINGS, assign_to_people, cluster_faces
    from photokosh.metrics import bcubed_scores

    settings = replace(DEFAULT_SETTINGS, **(changes or {}))
    emb, truth, photo, pop = synthetic(n, seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    labels = cluster_faces(emb, photo, settings)
    seconds = time.perf_counter() - start
    bcubed = bcubed_scores(truth, labels)
    # 1% more faces, of people already seen (drawn in proportion to their faces).
    rng = np.random.default_rng(seed + 2)
    more = max(1, n // 100)
    who = truth[rng.integers(0, n, more)]
    new = pop.faces(who, seed + 3)
    start = time.perf_counter()
    joined = assign_to_people(emb, labels, new, photo.max() + 1 + np.arange(more), settings)
    assign_seconds = time.perf_counter() - start
    # A new face joined the right person if it got the label most of that person's faces have.
    cell, count = np.unique(truth * (n + 1) + labels, return_counts=True)
    order = np.lexsort((-count, cell // (n + 1)))[::-1]  # last write wins: the largest cell
    majority = np.full(len(pop.centres), -1)
    majority[cell[order] // (n + 1)] = cell[order] % (n + 1)
    return {"faces": n, "people": int(len(np.unique(truth))), "seconds": seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "before_mb": rss_before / 1024, "groups": int(labels.max() + 1),
            "bcubed_p": bcubed[0], "bcubed_r": bcubed[1], "bcubed_f": bcubed[2],
            "assign_seconds": assign_seconds, "assign_faces": more,
            "assign_joined": float(np.mean(joined >= 0)),
            "assign_right": float(np.mean(joined == majority[who])),
            "shape": distances_line(emb, truth, seed),
            "exact_f": bcubed_scores(truth, cluster_faces(
                emb, photo, replace(settings, search="exact")))[2] if exact else None}


def compare_on(path: Path) -> list[str]:
    """Exact against forced-approximate search on labelled embeddings, scored like
    benchmarks/accuracy.py: every face clustered, central faces scored."""
    from dataclasses import replace

    from accuracy import load

    from photokosh import neighbours
    from photokosh.cluster import DEFAULT_SETTINGS, cluster_faces
    from photokosh.metrics import bcubed_scores, pairwise_scores

    faces = load(path)
    emb, photo, label, scored = faces.emb, faces.groups, faces.labels, faces.scored
    out = [f"`uv run python benchmarks/cluster_scale.py --lfw {path}` ({len(emb)} faces)\n",
           "| neighbour search | BCubed P | BCubed R | BCubed F | pairwise F | people found |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    # A library this small has few cells, and the default PROBES search them all: the
    # smaller counts search a part of them, as at scale (48 of 4,000 at a million faces).
    cells = neighbours.cell_count(len(emb))
    default = neighbours.PROBES
    for search, probes in [("exact", default), ("approximate", default),
                           ("approximate", 4), ("approximate", 2)]:
        neighbours.PROBES = probes
        try:
            pred = cluster_faces(emb, photo, replace(DEFAULT_SETTINGS, search=search))
        finally:
            neighbours.PROBES = default
        p, r, f = bcubed_scores(label[scored], pred[scored])
        if search == "approximate":
            search += f", {min(probes, cells)} of {cells} cells searched"
        out.append(f"| {search} | {p:.3f} | {r:.3f} | {f:.4f} "
                   f"| {pairwise_scores(label[scored], pred[scored])[2]:.4f} "
                   f"| {len(np.unique(pred[scored]))} |")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated face counts, each run in its own process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact", action="store_true",
                        help="also cluster with exact neighbour search and report its BCubed F")
    parser.add_argument("--lfw", type=Path, metavar="FOLDER|NPZ",
                        help="compare exact and approximate search on labelled embeddings")
    parser.add_argument("--settings", default="", metavar="K=V,...",
                        help="cluster settings to change, e.g. support=0,crowding=0")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the per-size child
    args = parser.parse_args(argv)
    if args.one:
        changes = {k: json.loads(v) for k, v in (kv.split("=") for kv in args.settings.split(",")
                                             if kv)}
        print(json.dumps(run_one(args.one, args.seed, args.exact, changes)))
        return
    if args.lfw:
        print("\n".join(compare_on(args.lfw)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    command = ("uv run python benchmarks/cluster_scale.py --sizes " + ",".join(map(str, sizes))
               + " --exact" * args.exact + (f" --settings {args.settings}" if args.settings
                                            else ""))
    print(f"`{command}` ({os.cpu_count()} cores, load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())})\n")
    print("| faces | people | clustering (s) | peak memory (MB) | of which data + Python "
          "| BCubed P | BCubed R | BCubed F | people found | assign 1% more (s) "
          "| joined / right |" + " BCubed F, exact search |" * args.exact)
    print("| ---: " * (11 + args.exact) + "|")
    shapes = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--seed",
                              str(args.seed), "--settings", args.settings]
                             + ["--exact"] * args.exact, check=True,
                             capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        shapes.append(f"{n}: {r['shape']}")
        print(f"| {n:,} | {r['people']:,} | {r['seconds']:.1f} | {r['peak_mb']:,.0f} "
              f"| {r['before_mb']:,.0f} | {r['bcubed_p']:.3f} | {r['bcubed_r']:.3f} "
              f"| {r['bcubed_f']:.3f} | {r['groups']:,} | {r['assign_seconds']:.2f} "
              f"| {r['assign_joined']:.0%} / {r['assign_right']:.0%} |"
              + (f" {r['exact_f']:.3f} |" if args.exact else ""), flush=True)
    print(f"\nLoad average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}.")
    print("Distances in the generated faces, on a sample of 3,000:\n")
    print("\n".join(f"- {s}" for s in shapes))


if __name__ == "__main__":
    main()
