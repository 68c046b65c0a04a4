"""Time a re-run of `photokosh sort` over an unchanged library (issue: incremental runs).

Generates N small photos without faces (what is measured is the bookkeeping of a re-run, not
detection), sorts them once, then times a second run of the real command line, start to exit.

    uv run python benchmarks/rerun_unchanged.py --photos 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_library(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        folder = root / f"{2000 + i // 1000}" / f"{(i // 100) % 10:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        Image.new("RGB", (64, 48), colour).save(folder / f"img_{i:06d}.jpg", quality=80)


def timed(cmd: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="timed re-runs (best is reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        photos, out = Path(tmp) / "photos", Path(tmp) / "out"
        make_library(photos, args.photos)
        cmd = [sys.executable, "-m", "photokosh", "sort", str(photos), "-o", str(out),
               "--json", "-q"]
        first, report = timed(cmd)
        print(f"first run: {first:.1f} s for {report['summary']['photos']} photos")
        times = []
        for _ in range(args.runs):
            seconds, report = timed(cmd)
            summary = report["summary"]
            assert summary["analysed_photos"] == 0, summary
            times.append(seconds)
        print(f"re-run of {summary['photos']} unchanged photos: best {min(times):.2f} s, "
              f"runs {', '.join(f'{t:.2f}' for t in times)} (whole command, start to exit; "
              f"analysed {summary['analysed_photos']}, reused {summary['reused_photos']})")


if __name__ == "__main__":
    main()
