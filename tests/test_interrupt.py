"""Ctrl-C and SIGTERM of a real `python -m photokosh sort` in the middle of its analysis.

A terminal's Ctrl-C signals the whole process group, and `uv run` forwards its own copy ~50 ms
later: the run must stop within a second with one line and 128 + the signal's number, leave no
process behind, and a re-run must finish the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from fakes import FakeEmbedder, draw
from safety_helpers import MARKER, album, kill_all, started_by

from photokosh.cli.common import INTERRUPTED, interruptible

PHOTOS = 60  # drawings of 1000x750: ~2 s of analysis on two workers, interrupted after ~1


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    src = tmp_path_factory.mktemp("interrupt") / "photos"
    for i in range(PHOTOS):
        draw(src / f"p{i:03d}.jpg", [i % 3], size=(1000 + i, 750))
    return src


def sort(src, out, marker: str) -> subprocess.Popen:
    env = dict(os.environ, **{MARKER: marker})
    return subprocess.Popen([sys.executable, "-m", "photokosh", "sort", str(src), "-o",
                             str(out), "--workers", "2", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,  # its own process group: pgid == pid
                            # as from a terminal, also where the tests run in a shell's
                            # background (whose children inherit SIGINT ignored)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("signals, code", [((signal.SIGINT, signal.SIGINT), 130),
                                           ((signal.SIGTERM,), 143)],
                         ids=["ctrl-c-twice", "sigterm"])
def test_a_signal_mid_analysis_stops_the_run_at_once(source, tmp_path, signals, code):
    """Today two SIGINTs hang the run for good (the second breaks into the pool's clean-up)
    and then end it with tracebacks and exit 1; SIGTERM leaks semaphores."""
    out = tmp_path / "out"
    marker = uuid.uuid4().hex
    proc = sort(source, out, marker)
    group = proc.pid
    try:
        deadline = time.monotonic() + 60
        # main, resource tracker, forkserver and two workers: the analysis is under way
        while len(started_by(marker, group)) < 5 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.05)
        time.sleep(0.5)  # the workers have loaded the model and are analysing
        for signum in signals:
            os.killpg(group, signum)
            time.sleep(0.05)
        sent = time.monotonic()
        stdout, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
        stderr = stderr.decode()
        assert proc.returncode == code, stderr[-2000:]
        assert stderr.splitlines() == [INTERRUPTED]  # no traceback, no leaked-semaphore warning
        assert stdout == b""
        assert took < 2, f"the run took {took:.1f} s to stop"
        assert not (out / "report.json").exists(), "the run finished before the signal"
        deadline = time.monotonic() + 3  # the forkserver and resource tracker see EOF, exit
        while (left := started_by(marker, group)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert left == {}, f"processes left behind: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        kill_all(started_by(marker, group))  # the suite never leaks processes

    if signals[0] == signal.SIGTERM:
        return  # what follows is the same after either: one re-run suffices (seconds each)
    again = sort(source, out, uuid.uuid4().hex)
    stdout, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr.decode()[-2000:]
    report = json.loads(stdout)
    assert report["summary"]["photos"] == PHOTOS, report["summary"]
    assert report["errors"] == []


@pytest.fixture
def handlers():
    """An interrupted command leaves SIGINT and SIGTERM ignored (the process is ending):
    give the test process its own back."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


class SignalledFake(FakeEmbedder):
    """Sends `signals` to its own process while analysing the second photo."""

    def __init__(self, *signals: int):
        super().__init__()
        self.signals = signals

    def faces(self, photo):
        if self.calls == 1:
            for signum in self.signals:
                os.kill(os.getpid(), signum)
        return super().faces(photo)


def test_the_cli_exits_128_plus_the_signal_with_one_line(tmp_path, handlers):
    """In this process: SIGTERM, then a SIGINT on its heels (ignored, as uv's copy of a
    Ctrl-C is), and the run ends with 143 and the one line, and a re-run finishes it."""
    from click.testing import CliRunner

    from photokosh.cli import Context, main

    src, out = album(tmp_path), tmp_path / "out"
    args = ["sort", str(src), "-o", str(out), "--workers", "1", "--json"]
    fake = SignalledFake(signal.SIGTERM, signal.SIGINT)
    result = CliRunner().invoke(main, args, obj=Context(make_embedder=lambda *a: fake))
    assert result.exit_code == 143, result.output
    assert result.stderr.splitlines() == [INTERRUPTED]
    assert result.stdout == ""
    assert fake.calls == 1, "the run went on after the signal"  # raised inside photo 2
    assert not (out / "report.json").exists()
    again = CliRunner().invoke(main, args, obj=Context(make_embedder=lambda *a: FakeEmbedder()))
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["summary"]["photos"] == 5


def test_a_signal_ignored_when_photokosh_starts_stays_ignored(handlers):
    """A script's background job, or nohup, starts the command with SIGINT ignored: a
    Ctrl-C meant for the script in the foreground must not stop it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with interruptible():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN  # still handled
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # a handler would have raised by now
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


STUCK_CLEAN_UP = """
import time
from photokosh.cli.common import interruptible
with interruptible():
    try:
        print("ready", flush=True)
        time.sleep(30)
    finally:
        print("cleaning up", flush=True)
        time.sleep(30)  # a clean-up that hangs
"""


def test_a_signal_after_the_repeat_window_ends_a_stuck_clean_up_at_once():
    """The user insists (a second Ctrl-C more than a second after the first): the process
    ends now, with the one line and 130, whatever the clean-up is waiting for."""
    proc = subprocess.Popen([sys.executable, "-c", STUCK_CLEAN_UP], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == b"cleaning up\n"
        proc.send_signal(signal.SIGINT)  # within the window: uv's copy, ignored
        time.sleep(1.2)
        assert proc.poll() is None, "the copy of the signal ended the clean-up"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(5) == 130
        assert proc.stderr.read().decode().splitlines() == [INTERRUPTED]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
