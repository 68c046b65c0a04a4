"""One `sort_photos` with the slow fake face model in a process of its own, for the safety
tests (issue 19) to kill with SIGKILL from outside or at an exact point.

    python tests/safety_runner.py SRC OUT [--workers N] [--sleep S] [--link MODE]
                                          [--die-after MARK:N]

Prints "ready" once everything is imported, "progress STAGE DONE TOTAL" as the run goes, and
one JSON line with the summary and errors when it is done. `--die-after MARK:N` SIGKILLs the
process right after the Nth link, rename or replace whose destination contains MARK has
succeeded: a file at its new name, with nothing recorded about it yet.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crash_runner import SlowFake  # noqa: E402  (a module-level class: workers unpickle it)

from photokosh import SortOptions, sort_photos  # noqa: E402


def die_after(mark: str, nth: int) -> None:
    seen = [0]

    def deadly(original):
        def call(src, dst, *args, **kwargs):
            done = original(src, dst, *args, **kwargs)
            if mark in os.fsdecode(dst):
                seen[0] += 1
                if seen[0] == nth:
                    os.kill(os.getpid(), signal.SIGKILL)
            return done
        return call

    for name in ("link", "rename", "replace"):
        setattr(os, name, deadly(getattr(os, name)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.0, help="seconds per photo analysed")
    parser.add_argument("--link", default="copy")
    parser.add_argument("--die-after", metavar="MARK:N")
    args = parser.parse_args()
    if args.die_after:
        mark, nth = args.die_after.rsplit(":", 1)
        die_after(mark, int(nth))

    def progress(stage: str, done: int, total: int) -> None:
        print(f"progress {stage} {done} {total}", flush=True)

    print("ready", flush=True)
    result = sort_photos(args.source, args.out,
                         SortOptions(workers=args.workers, link=args.link),
                         embedder=SlowFake(args.sleep), progress=progress)
    print(json.dumps({"summary": result.report["summary"], "errors": result.report["errors"]}),
          flush=True)


if __name__ == "__main__":
    main()
