"""Run one `sort_photos` with the fake face model in a process of its own, so that a test can
SIGKILL it (test_crash) or measure its peak memory (test_bad_input).

    python tests/crash_runner.py SRC OUT [--blur] [--sleep S] [--place-sleep S] [--thrifty]

Prints "ready" once everything is imported, then one JSON line when the run is done:
{"summary": ..., "photos": [...], "errors": [...], "rss_before_mb": ..., "rss_peak_mb": ...}.
`run` does the same from Python (test_crash starts it in a forked process: no import cost).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fakes import FakeEmbedder  # noqa: E402

from photokosh import SortOptions, blur, fsutil, sort_photos  # noqa: E402
from photokosh.images import Decoded  # noqa: E402


class SlowFake(FakeEmbedder):
    """The fake model, taking `delay` seconds a photo like a real one would."""

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay = delay

    def faces(self, photo: Decoded):
        time.sleep(self.delay)
        return super().faces(photo)


class ThriftyFake(FakeEmbedder):
    """Looks for squares on a subsample of huge photos, so that the peak memory measured is
    photokosh's (decoding, blurring), not the fake model's."""

    def faces(self, photo: Decoded):
        step = max(1, photo.pixels.shape[1] // 2000)
        small = photo.pixels[::step, ::step]
        return super().faces(Decoded(small, photo.width, photo.height,
                                     small.shape[1] / photo.width))


def _slowed(function, delay: float):
    def wrapper(*args, **kwargs):
        time.sleep(delay)
        return function(*args, **kwargs)
    return wrapper


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(source: Path, out: Path, *, blur_copies: bool = True, sleep: float = 0.0,
        place_sleep: float = 0.0, thrifty: bool = False, ready=None) -> dict:
    """One run. The slowdowns patch photokosh for good: use them in a child process only."""
    if place_sleep:
        fsutil.place = _slowed(fsutil.place, place_sleep)
        blur.write_blurred = _slowed(blur.write_blurred, place_sleep)
    embedder = ThriftyFake() if thrifty else SlowFake(sleep)
    before = _peak_mb()
    if ready is not None:
        ready()
    result = sort_photos(source, out, SortOptions(workers=1, blur=blur_copies),
                         embedder=embedder)
    report = result.report
    return {"summary": report["summary"], "photos": report["photos"],
            "errors": report["errors"], "rss_before_mb": before, "rss_peak_mb": _peak_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--blur", action="store_true")
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per photo analysed")
    parser.add_argument("--place-sleep", type=float, default=0.0,
                        help="seconds per file written into OUT (a slow disk)")
    parser.add_argument("--thrifty", action="store_true")
    args = parser.parse_args()
    done = run(args.source, args.out, blur_copies=args.blur, sleep=args.sleep,
               place_sleep=args.place_sleep, thrifty=args.thrifty,
               ready=lambda: print("ready", flush=True))
    print(json.dumps(done), flush=True)


if __name__ == "__main__":
    main()
