"""Issue 19, items 5 and 6: real `kill -9`s of a run. No process a killed run started may
outlive it, and a kill while photos are being moved leaves nothing disowned in OUT."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import placed_files
from fakes import draw
from safety_helpers import MARKER, kill_all, run, started_by

RUNNER = Path(__file__).with_name("safety_runner.py")


def start(*args, marker: str = "") -> subprocess.Popen:
    env = dict(os.environ, **{MARKER: marker or uuid.uuid4().hex})
    return subprocess.Popen([sys.executable, str(RUNNER), *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # its own process group: pgid == pid


def wait_for_line(proc: subprocess.Popen, wanted, timeout: float = 60) -> str:
    """Read the run's stdout until a line satisfies `wanted`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline().decode()
            if not line:
                break
            if wanted(line.strip()):
                return line.strip()
    code = proc.poll()
    said = proc.stderr.read().decode()[-2000:] if code is not None else ""
    raise AssertionError(f"the run never printed the line wanted (exit {code}): {said}")


def test_kill_9_of_the_main_process_leaves_no_worker_behind(tmp_path):
    """Today the two workers, the forkserver and the resource tracker live on for good after
    the main process is killed (a cron job killed by a timeout piles them up). They must
    exit by themselves within seconds: a parent-death signal, or a pipe they watch."""
    src = tmp_path / "photos"
    for i in range(40):
        draw(src / f"p{i:02d}.jpg", [i % 3], size=(240 + i, 160))
    marker = uuid.uuid4().hex
    proc = start(src, tmp_path / "out", "--workers", 2, "--sleep", 0.3, marker=marker)
    group = proc.pid
    try:
        # two photos analysed: the pool and its workers are running
        wait_for_line(proc, lambda line: line.startswith("progress faces ")
                      and int(line.split()[2]) >= 2)
        before = started_by(marker, group)
        assert len(before) >= 4, f"expected main, forkserver and 2 workers: {before}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL, "the run ended before it was killed"
        deadline = time.monotonic() + 5
        while (survivors := started_by(marker, group)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert survivors == {}, (
            f"{len(survivors)} process(es) of the killed run still alive 5 s later: "
            + "; ".join(f"{pid}: {cmd[:120]}" for pid, cmd in sorted(survivors.items())))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        kill_all(started_by(marker, group))  # the suite never leaks processes
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("nth", [1, 4, 11])
def test_a_kill_while_photos_are_moved_leaves_nothing_disowned(tmp_path, nth):
    """Photos moved in PHOTOS are moved in OUT too. A kill right after a copy reached its new
    name, before the state learnt of it: today the move was recorded under the old source,
    so the next run calls the file "a file photokosh did not create is in the way" on every
    run for good. The next run must adopt it: no error, and OUT as a run that was never
    killed leaves it, with nothing left at the old names."""
    src = tmp_path / "photos"
    for i in range(12):
        draw(src / "old" / f"a{i:02d}.jpg", [[0], [1], [0, 1]][i % 3], size=(240 + i, 160))
    out = tmp_path / "out"
    run(src, out)
    (src / "trip").mkdir()
    for photo in sorted((src / "old").iterdir()):  # renamed and moved: "moved_" marks them
        photo.rename(src / "trip" / f"moved_{photo.name}")
    (src / "old").rmdir()
    proc = start(src, out, "--die-after", f"moved_:{nth}")
    try:
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"never reached move {nth}: {stderr[-2000:]!r}"
    report = run(src, out).report
    assert report["errors"] == [], json.dumps(report["errors"], indent=1)
    reference = tmp_path / "reference"
    run(src, reference)
    assert placed_files(out) == placed_files(reference)
    assert not [rel for rel in placed_files(out) if "/old/" in rel]
    again = run(src, out).report  # and it stays so
    assert again["errors"] == [] and placed_files(out) == placed_files(reference)


WATCH_WITHOUT_PIDFD = """
import os, sys, time
del os.pidfd_open  # as on a kernel or platform without it
from photokosh.analyze import exit_when_gone
exit_when_gone(int(sys.argv[1]))
print("watching", flush=True)
time.sleep(30)
"""


def test_without_pidfd_a_worker_still_exits_when_the_main_process_dies(tmp_path):
    """The fallback of item 5: the worker looks every second whether the main process is
    there. A stand-in main process is killed; the watcher must be gone within seconds."""
    main_proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watcher = subprocess.Popen([sys.executable, "-c", WATCH_WITHOUT_PIDFD, str(main_proc.pid)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert watcher.stdout.readline().strip() == b"watching", watcher.stderr.read()
        time.sleep(1.5)
        assert watcher.poll() is None, "the worker exited while the main process was alive"
        main_proc.kill()
        main_proc.wait(10)
        assert watcher.wait(5) == 1
    finally:
        for proc in (main_proc, watcher):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        watcher.stdout.close()
        watcher.stderr.close()
