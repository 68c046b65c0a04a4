"""Every clustering method on every labelled set, in one Markdown table (issue 22).

    uv run python benchmarks/library.py
    uv run python benchmarks/library.py --sets lfw-dev,lfw-dev+lfw-crowd --synthetic 10000

Sets are folders of ../shared/photos (PHOTOKOSH_PHOTOS overrides it), analysed with
photokosh's default detector and cached as benchmarks/accuracy.py does; `a+b` clusters two
folders as one library; `demo` is scored with demo-labels.json. Synthetic sets come from
cluster_scale.py's generator. Each cell is pairwise F / BCubed P / BCubed F, then the people
found. Deterministic: no timings (cluster_scale.py has those).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from accuracy import Faces, chinese_whispers, load_all, photokosh_method  # noqa: E402

from photokosh.metrics import evaluate_labels  # noqa: E402

PHOTOS = Path(os.environ.get("PHOTOKOSH_PHOTOS",
                             Path(__file__).resolve().parents[2] / "shared" / "photos"))
PREVIOUS = {"eps": 0.4, "core_distance": 0.56, "support": 0.0, "crowding": 0.0,
            "mixing": 0.0}


def louvain(cut: float, resolution: float):
    """networkx's Louvain communities on the faces' 10-nearest-neighbour graph, edges within
    `cut` weighted by how far inside it they are; faces of one photo never linked."""
    def run(emb, groups):
        import faiss
        import networkx as nx

        x = np.ascontiguousarray(emb, dtype=np.float32)
        d2, found = faiss.knn(x, x, min(11, len(x)))
        graph = nx.Graph()
        graph.add_nodes_from(range(len(x)))
        for i, (row, near) in enumerate(zip(np.sqrt(np.maximum(d2, 0)), found, strict=True)):
            graph.add_weighted_edges_from((i, int(j), float((cut - d) / cut))
                                          for d, j in zip(row, near, strict=True)
                                          if j != i and d <= cut and groups[i] != groups[j])
        labels = np.empty(len(x), np.int64)
        communities = nx.community.louvain_communities(graph, resolution=resolution, seed=0)
        for k, members in enumerate(communities):
            labels[list(members)] = k
        return labels
    return run


def methods():
    return [
        ("**photokosh default** (eps 0.45; evidence beyond 0.45: support 0.6, crowding 0.02, "
         "mixing 0.35)", photokosh_method()),
        ("eps 0.45 without the mixing test", photokosh_method(mixing=0.0)),
        ("without the mixing test (eps 0.43, mixing 0: the default before it)",
         photokosh_method(eps=0.43, mixing=0.0)),
        ("mixing test, eps 0.43", photokosh_method(eps=0.43)),
        ("previous default (eps 0.4, merge 0.56, fragments at 0.6, no evidence)",
         photokosh_method(**PREVIOUS)),
        ("previous, without the fragment pass", photokosh_method(**PREVIOUS, attach_size=0)),
        ("previous, merge 0.5, without the fragment pass",
         photokosh_method(**PREVIOUS | {"core_distance": 0.5}, merge_distance=0.5,
                          attach_size=0)),
        ("support and mixing, no crowding", photokosh_method(crowding=0.0)),
        ("crowding and mixing, no support", photokosh_method(support=0.0)),
        ("mixing test only", photokosh_method(support=0.0, crowding=0.0)),
        ("ratio test 0.9 instead (nearest face of the group vs a third group's)",
         photokosh_method(support=0.0, crowding=0.0, mixing=0.0, ratio=0.9)),
        ("Louvain on the kNN graph, edges <= 0.5 (networkx)", louvain(0.5, 1.0)),
        ("Louvain on the kNN graph, edges <= 0.56, resolution 2", louvain(0.56, 2.0)),
        ("dlib chinese_whispers 0.45", chinese_whispers(0.45)),
    ]


def load_set(name: str, synthetic: dict[str, int]) -> Faces:
    if name in synthetic:
        import cluster_scale

        emb, truth, photo, _ = cluster_scale.synthetic(synthetic[name], 0)
        return Faces(emb, photo, truth, np.ones(len(emb), bool))
    if name == "demo":
        from accuracy import from_photos

        return from_photos(PHOTOS / "demo", labels_file=PHOTOS / "demo-labels.json")
    return load_all([PHOTOS / part for part in name.split("+")])


def cell(faces: Faces, method) -> str:
    if len(faces.emb) > 20_000 and not getattr(method, "scales", False):
        return "n/a"
    pred = np.asarray(method(faces.emb, faces.groups))
    r = evaluate_labels(faces.labels[faces.scored].tolist(), pred[faces.scored].tolist())
    return (f"{r['pairwise_f']:.3f} / {r['bcubed_precision']:.3f} / {r['bcubed_f']:.3f} "
            f"({r['clusters_found']:,})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="demo,lfw-small,lfw-dev,lfw-dev+lfw-crowd")
    parser.add_argument("--synthetic", default="10000,100000",
                        help="synthetic face counts (photokosh's own methods only above 20,000)")
    args = parser.parse_args(argv)
    synthetic = {f"synthetic {int(n):,}": int(n) for n in args.synthetic.split(",") if n}
    names = [n for n in args.sets.split(",") if n] + list(synthetic)
    data = {name: load_set(name, synthetic) for name in names}
    print(f"`uv run python benchmarks/library.py --sets {args.sets} --synthetic "
          f"{args.synthetic}`\n")
    print("| method | " + " | ".join(
        f"{n} ({len(np.unique(f.labels[f.scored])):,} people)" for n, f in data.items())
        + " |")
    print("| --- " * (len(data) + 1) + "|")
    for label, method in methods():
        print(f"| {label} | " + " | ".join(cell(f, method) for f in data.values()) + " |",
              flush=True)
    print("\nEach cell: pairwise F / BCubed P / BCubed F (people found). n/a: a method that "
          "compares all pairs or builds a Python graph, not run above 20,000 faces.")


if __name__ == "__main__":
    main()
