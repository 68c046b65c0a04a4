"""The fixed cost of a small run (issue 20): a batch under analyze.POOL_FROM photos is analysed
in the sort's own process, without starting worker processes; a run that died there (a photo
that crashes a native decoder) leaves a mark, and the next run analyses in worker processes,
which name that photo and skip it."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from fakes import PALETTE, FakeEmbedder, photo

from photokosh import SortOptions, sort_photos
from photokosh.analyze import ANALYSING, POOL_FROM
from photokosh.state import open_state

CRASH = 7  # the palette person whose photos crash the fake's "decoder"


class CrashingFake(FakeEmbedder):
    """The fake model, dying as a segfaulting decoder would on a photo showing person CRASH."""

    def faces(self, photo):
        found = super().faces(photo)
        colour = PALETTE[CRASH]
        if (abs(photo.pixels[30, 30].astype(int) - colour) < 40).all():
            os.kill(os.getpid(), signal.SIGSEGV)
        return found


def how_analysed(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "photokosh.analyze"]


def test_a_small_batch_starts_no_worker_processes(tmp_path, caplog):
    src, out = tmp_path / "photos", tmp_path / "out"
    for i in range(POOL_FROM - 1):
        photo(src / f"{i}.jpg", [i % 3])
    caplog.set_level(logging.INFO, logger="photokosh.analyze")
    sort_photos(src, out, SortOptions(workers=2), embedder=FakeEmbedder())
    assert how_analysed(caplog) == [f"analysing {POOL_FROM - 1} photos with this process"]
    with open_state(out, lock=False) as state:
        assert state.get_meta(f"{ANALYSING}/photos") is None  # gone once the batch is done

    caplog.clear()
    for i in range(POOL_FROM):
        photo(src / "more" / f"{i}.jpg", [i % 3])
    result = sort_photos(src, out, SortOptions(workers=2), embedder=FakeEmbedder())
    assert how_analysed(caplog) == [f"analysing {POOL_FROM} photos with 2 worker processes"]
    assert result.report["summary"]["photos"] == 2 * POOL_FROM - 1


RUN = """
import sys
sys.path[:0] = [{tests!r}]
from test_small_run import CrashingFake
from photokosh import SortOptions, sort_photos
sort_photos({src!r}, {out!r}, SortOptions(workers=2, known={known!r}),
            embedder=CrashingFake())
"""


def test_a_photo_that_kills_the_run_is_named_by_the_next(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", [0])
    photo(src / "b.jpg", [1])
    photo(src / "crash.jpg", [CRASH])
    code = RUN.format(tests=str(Path(__file__).parent), src=str(src), out=str(out), known=None)
    died = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert died.returncode == -signal.SIGSEGV, died.stderr.decode()
    with open_state(out, lock=False) as state:
        assert state.get_meta(f"{ANALYSING}/photos")  # the mark of the run that died

    # again in a process of its own: were this run to analyse in its own process too, it
    # would die as well, and so would the tests
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    report = json.loads((out / "report.json").read_text())
    assert [e["path"] for e in report["errors"]] == ["crash.jpg"]
    assert "crashed the image decoder" in report["errors"][0]["reason"]
    assert sorted(p["path"] for p in report["photos"]) == ["a.jpg", "b.jpg"]
    assert report["summary"]["people"] == 2
    with open_state(out, lock=False) as state:
        assert state.get_meta(f"{ANALYSING}/photos") is None


def test_a_reference_photo_that_kills_the_run_is_named_by_the_next(tmp_path):
    src, out, known = tmp_path / "photos", tmp_path / "out", tmp_path / "known"
    photo(src / "a.jpg", [0])
    photo(known / "Ann" / "one.jpg", [0])
    photo(known / "Ann" / "crash.jpg", [CRASH])
    code = RUN.format(tests=str(Path(__file__).parent), src=str(src), out=str(out),
                      known=str(known))
    died = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert died.returncode == -signal.SIGSEGV, died.stderr.decode()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    report = json.loads((out / "report.json").read_text())
    assert [e["path"] for e in report["errors"]] == ["known/Ann/crash.jpg"]
    assert [p["name"] for p in report["people"]] == ["Ann"]
    with open_state(out, lock=False) as state:
        assert state.get_meta(f"{ANALYSING}/references") is None
