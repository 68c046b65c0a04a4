"""Crash safety (issue 3): SIGKILL a run at any moment, run again, and the result equals that
of a run that was never interrupted, with no temporary file left behind."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time

import crash_runner
import pytest
from conftest import placed_files, tree_state
from fakes import draw

PHOTOS = 30
SLOW = {"sleep": 0.06, "place_sleep": 0.01}  # ~1.8 s of analysis, ~1 s of placing
VOLATILE_SUMMARY = {"seconds", "new_photos", "reused_photos", "analysed_photos"}
# Children are forked from a server that imported photokosh once: no start-up cost per run, and
# no threads of this process are copied. SIGKILL ends them like any process.
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["photokosh.pipeline", "photokosh.review",
                                  "scipy.sparse.csgraph", "scipy.cluster.hierarchy",
                                  "scipy.ndimage"])


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """30 small photos of five people, in folders, some together, some with nobody."""
    src = tmp_path_factory.mktemp("crash") / "photos"
    for i in range(PHOTOS):
        people = [[0], [1], [0, 1], [2], [3, 4], [], [0, 2], [4], [1], [3]][i % 10]
        draw(src / f"year{i % 3}" / f"p{i:02d}.jpg", people, size=(240 + i, 160))
    return src


def _child(src, out, ready):
    crash_runner.run(src, out, ready=ready.set, **SLOW)


def start(src, out):
    """A slowed-down run in a child process, returned once it is about to start sorting."""
    ready = _context.Event()
    proc = _context.Process(target=_child, args=(src, out, ready))
    proc.start()
    assert ready.wait(60), "the run did not start"
    return proc


def finish(src, out):
    """Run to the end, here and at full speed."""
    return crash_runner.run(src, out)


def kill(proc):
    assert proc.is_alive(), "the run ended before it could be killed: slow it down more"
    proc.kill()  # SIGKILL
    proc.join(30)
    assert proc.exitcode == -9


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "out"
    finish(source, out)
    return out


def placed_count(out):
    return sum(1 for p in out.glob("*/**/*") if p.is_file() and ".photokosh" not in p.parts)


def comparable(out):
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    report["output"] = "OUT"
    for key in VOLATILE_SUMMARY:
        report["summary"].pop(key, None)
    for person in report["people"]:
        person.pop("new_photos", None)
    return report


def assert_same_as_reference(out, reference):
    assert placed_files(out) == placed_files(reference)
    ours, theirs = tree_state(out), tree_state(reference)
    for rel in placed_files(reference):
        assert ours[rel][0] == theirs[rel][0] == "file", rel
        assert ours[rel][3] == theirs[rel][3], f"{rel} differs from an uninterrupted run"
    assert comparable(out) == comparable(reference)
    assert (out / "index.html").is_file() == (reference / "index.html").is_file()


def assert_no_temporary_files(out):
    tmp = out / ".photokosh" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    assert [rel for rel in tree_state(out) if ".tmp" in rel] == []


@pytest.mark.parametrize("when", [0.3, 1.0, 2.0, "placing", "late placing"])
def test_killed_run_then_rerun_equals_an_uninterrupted_run(source, reference, tmp_path, when):
    out = tmp_path / "out"
    before = tree_state(source)
    proc = start(source, out)
    if isinstance(when, float):
        time.sleep(when)
    else:  # watch OUT until photos are being placed
        wanted = 1 if when == "placing" else 40
        deadline = time.monotonic() + 60
        while placed_count(out) < wanted and time.monotonic() < deadline:
            time.sleep(0.005)
        assert placed_count(out) >= wanted
    kill(proc)
    done = finish(source, out)
    assert done["summary"]["photos"] == PHOTOS and done["errors"] == []
    assert_same_as_reference(out, reference)
    assert_no_temporary_files(out)
    assert tree_state(source) == before


def test_killed_again_and_again_still_converges(source, reference, tmp_path):
    out = tmp_path / "out"
    for delay in (0.8, 0.5, 0.3):
        proc = start(source, out)
        time.sleep(delay)
        if not proc.is_alive():
            break
        kill(proc)
    finish(source, out)
    assert_same_as_reference(out, reference)
    assert_no_temporary_files(out)


def _die_at(src, out, call, match, nth):
    """A full-speed run that SIGKILLs itself at the nth `os.<call>` whose destination's name
    contains `match`: an exact point (a file complete under its temporary name, say)."""
    original = getattr(os, call)
    seen = [0]

    def deadly(source, dest, *args, **kwargs):
        where = os.fspath(dest)
        if kwargs.get("dst_dir_fd") is not None:  # a name in a folder opened by descriptor
            where = os.path.join(os.readlink(f"/proc/self/fd/{kwargs['dst_dir_fd']}"), where)
        if match in where:
            seen[0] += 1
            if seen[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return original(source, dest, *args, **kwargs)

    setattr(os, call, deadly)
    crash_runner.run(src, out)


@pytest.mark.parametrize("call, match, nth", [
    ("link", "/person_", 5),  # a copy complete in .photokosh/tmp, not yet published
    ("link", "/blurred/", 3),  # a blurred copy, likewise
    ("rename", "thumbs", 2),  # a face thumbnail
    ("rename", "report.json", 1),
    ("rename", "index.html", 1),
])
def test_killed_between_writing_and_renaming(source, reference, tmp_path, call, match, nth):
    out = tmp_path / "out"
    proc = _context.Process(target=_die_at, args=(source, out, call, match, nth))
    proc.start()
    proc.join(120)
    assert proc.exitcode == -signal.SIGKILL, "the run never reached that point"
    finish(source, out)
    assert_same_as_reference(out, reference)
    assert_no_temporary_files(out)


def test_a_rerun_after_the_finished_run_changes_nothing(source, reference):
    before = tree_state(reference)
    done = finish(source, reference)
    assert done["summary"]["analysed_photos"] == 0
    after = tree_state(reference)
    for rel in placed_files(reference):
        assert after[rel] == before[rel], rel
