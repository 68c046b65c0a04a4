"""Scheduling overhead of the face stage on Dask, by batch size (issue 8), as Markdown.

    uv run python benchmarks/dask_overhead.py /tmp/album/photos --limit 96 --batches 1,8,32

Starts a local dask.distributed cluster of separate worker processes (one thread each, as
`dask worker --nthreads 1` would run them), then runs photokosh's face stage
(`distributed.analyze_on_cluster`, the code `sort --scheduler` uses) over the same photos once
per batch size. Dask's own task stream says when each task computed on which worker; from it:

- compute: the seconds the tasks spent running (model loading in each worker's first task
  included: it happens once per worker process);
- idle: each worker's time between its first task's start and its last task's end that
  was not spent computing (waiting for the scheduler to hand it the next task), summed
  over the workers, as a share of compute;
- wall: the whole call, from connecting to the scheduler to receiving the last result,
  against the same photos on the local process pool that `sort` uses without --scheduler
  (which also loads the models once per process).

The photos should be ones that cost what real photos cost (e.g. an album of
benchmarks/make_album.py); the smaller the photos, the larger the share of overhead.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photokosh.analyze import analyze  # noqa: E402
from photokosh.distributed import BATCH, analyze_on_cluster  # noqa: E402
from photokosh.faces import DlibEmbedder  # noqa: E402
from photokosh.scan import Candidate, scan  # noqa: E402


def measure(address: str, client, jobs: list[Candidate], batch: int) -> dict:
    client.get_task_stream()  # registers the scheduler's task-stream plugin
    since = time.time()
    start = time.perf_counter()
    results = list(analyze_on_cluster(jobs, DlibEmbedder(), frozenset(), address, batch=batch))
    wall = time.perf_counter() - start
    assert len(results) == len(jobs) and not any(r.error for r in results)
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for record in client.get_task_stream(start=since):
        if str(record["key"]).startswith("_analyze_batch"):
            spans[record["worker"]] += [(step["start"], step["stop"])
                                        for step in record["startstops"]
                                        if step["action"] == "compute"]
    busy = idle = 0.0
    for intervals in spans.values():
        # A worker's tasks, as the union of their compute intervals (Dask's timestamps of
        # one task and the next may overlap by some milliseconds), and the gaps between them.
        intervals.sort()
        end = intervals[0][0]
        for a, b in intervals:
            idle += max(0.0, a - end)
            busy += max(0.0, b - max(a, end))
            end = max(end, b)
    tasks = -(-len(jobs) // batch)
    return {"batch": batch, "tasks": tasks, "wall": wall, "per_task": busy / tasks,
            "overhead": idle / busy, "faces": sum(len(r.faces or []) for r in results)}


def local_wall(jobs: list[Candidate], workers: int) -> float:
    """The same photos on this machine's process pool: what `sort` does without --scheduler."""
    start = time.perf_counter()
    list(analyze(jobs, DlibEmbedder(), workers=workers))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--limit", type=int, default=96, help="photos to analyse (the first N)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--batches", default=f"1,{BATCH},32", help="batch sizes to compare")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    jobs = scan(args.photos).photos
    jobs = jobs[:args.limit]
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        # a fresh cluster each time, so every batch size pays the models' loading alike
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            rows.append(measure(cluster.scheduler_address, client, jobs, batch))
        print(f"batch {batch}: done", file=sys.stderr)
    local = local_wall(jobs, args.workers)
    print(f"{len(jobs)} photos of {args.photos}, {args.workers} worker processes of 1 thread\n")
    print("| photos per task | tasks | compute s per task | workers idle between tasks "
          "(share of compute) | wall s | wall against the local pool |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['batch']} | {r['tasks']} | {r['per_task']:.2f} | {r['overhead']:.2%} "
              f"| {r['wall']:.1f} | {r['wall'] / local - 1:+.1%} |")
    print(f"\nThe local process pool (`sort` without --scheduler), its start-up included: "
          f"{local:.1f} s.")
    print(f"\nFaces found: {', '.join(str(r['faces']) for r in rows)} (one figure per run)")
    print("\nCommand: uv run python benchmarks/dask_overhead.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
