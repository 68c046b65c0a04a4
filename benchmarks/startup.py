"""The fixed cost of a small run (issue 20): where a fresh process's time goes before and around
its first faces, and from how many photos worker processes pay for their start.

    uv run python benchmarks/startup.py parts /tmp/album12s/photos
    uv run python benchmarks/startup.py pool /tmp/album12s/photos --photos 2,4,6,8,12 --repeats 5

`parts` times, in one fresh process, each import and model load the sort needs and the first
photos' analysis (CPU and wall seconds). `pool` analyses the first N photos in a fresh process,
in that process (`--workers 1`) and with 2 worker processes, interleaved, and prints the
fastest and the median wall time of each (the machine may be shared: the fastest is the least
disturbed). Results: docs/performance.md, "A small run".
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

IMPORTS = ["photokosh.cli", "cv2", "dlib", "scipy.sparse", "scipy.sparse.csgraph",
           "scipy.cluster.hierarchy", "scipy.optimize", "faiss", "pillow_heif", "rich.console",
           "sklearn.cluster"]


def parts(photos: Path, count: int) -> None:
    marks = []
    cpu, wall = time.process_time(), time.perf_counter()

    def mark(name: str) -> None:
        nonlocal cpu, wall
        marks.append((name, time.process_time() - cpu, time.perf_counter() - wall))
        cpu, wall = time.process_time(), time.perf_counter()

    for module in IMPORTS[:3]:
        __import__(module)
        mark(f"import {module}")
    from photokosh.analyze import analyze_file
    from photokosh.detectors import make_embedder
    from photokosh.scan import scan

    embedder = make_embedder("yunet")
    embedder._models()  # noqa: SLF001 - what a worker's first photo pays
    mark("load YuNet + dlib's 5-point predictor and ResNet")
    for i, job in enumerate(scan(photos).photos[:count]):
        found = analyze_file(job, embedder, thumb_size=96).faces
        mark(f"photo {i} ({len(found or [])} faces)")
    for module in IMPORTS[3:]:
        try:
            __import__(module)
        except ImportError:
            continue
        mark(f"import {module} (after the above)")
    for name, c, w in marks:
        print(f"| {name} | {c:.3f} | {w:.3f} |")


def _analyse(photos: str, n: int, workers: int) -> None:
    from photokosh.analyze import analyze
    from photokosh.detectors import make_embedder
    from photokosh.scan import scan

    jobs = scan(Path(photos)).photos[:n]
    started = time.perf_counter()
    # analyze() runs fewer than POOL_FROM photos in this process: ask for the pool outright
    list(analyze(jobs, make_embedder("yunet"), workers=workers, thumb_size=96,
                 isolate=workers > 1))
    print(time.perf_counter() - started)


def pool(photos: Path, counts: list[int], repeats: int) -> None:
    times: dict[tuple[int, int], list[float]] = {}
    for _ in range(repeats):
        for n in counts:
            for workers in (1, 2):
                out = subprocess.run([sys.executable, __file__, "_analyse", str(photos), str(n),
                                      str(workers)], capture_output=True, text=True, check=True)
                times.setdefault((n, workers), []).append(float(out.stdout.split()[-1]))
    print("| photos | this process: fastest / median s | 2 workers: fastest / median s |")
    print("| --- | --- | --- |")
    for n in counts:
        cells = [f"{min(t):.2f} / {statistics.median(t):.2f}" for t in
                 (times[n, 1], times[n, 2])]
        print(f"| {n} | {cells[0]} | {cells[1]} |")


def main() -> None:
    if sys.argv[1:2] == ["_analyse"]:
        return _analyse(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["parts", "pool"])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--photos", dest="counts", default="2,4,6,8,12",
                        help="pool: photo counts, comma-separated; parts: the first of them")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    if args.what == "parts":
        parts(args.photos, counts[0])
    else:
        pool(args.photos, counts, args.repeats)


if __name__ == "__main__":
    main()
