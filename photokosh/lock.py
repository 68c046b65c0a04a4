"""One run per output folder. The kernel drops the lock when its holder dies, so a killed run
never leaves a stale lock behind.

`hold(out)` keeps the lock for a long-lived process (`photokosh review`) whose every action
opens the state again: inside it, `run_lock(out)` of the same process re-enters instead of
refusing (a second flock on another fd of the same file would). Re-entry is opt-in: a plain
`run_lock` stays exclusive even within one process."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import fsutil
from .errors import LockedError, PhotokoshError
from .layout import LOCK, LOCK_PATH, STATE_DIR

REVIEW = "review"  # written after the pid in the lock file by `hold`
_held: dict[str, int] = {}  # realpath of OUT -> how many `hold` blocks of this process
_guard = threading.Lock()


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    if _holding(out):
        yield  # this process holds it for good (hold): the caller re-enters
        return
    with _flock(out):
        yield


@contextmanager
def hold(out: Path) -> Iterator[None]:
    """The run lock of OUT for the block, re-entered by every `run_lock(out)` (any thread)
    of this process meanwhile; another process still waits or refuses as for a run."""
    key = os.path.realpath(out)
    with run_lock(out):
        _mark_review(out)
        with _guard:
            _held[key] = _held.get(key, 0) + 1
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
                if not _held[key]:
                    del _held[key]


def _holding(out: Path) -> bool:
    with _guard:
        return os.path.realpath(out) in _held


@contextmanager
def _flock(out: Path) -> Iterator[None]:
    fsutil.private_folder(out, STATE_DIR)
    try:
        with fsutil.folder(out, STATE_DIR) as folder:
            fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=folder)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise PhotokoshError(fsutil.not_ours(out, LOCK_PATH)) from None
    try:
        if os.fstat(fd).st_nlink != 1:  # a hard link to someone's file: never truncate it
            raise PhotokoshError(fsutil.not_ours(out, LOCK_PATH))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            pid, _, what = holder.partition(" ")
            if what == REVIEW:  # it never ends by itself: say how to end it
                raise LockedError(
                    f"another photokosh run is working on {out}: `photokosh review` (pid "
                    f"{pid}) has it open; this run did nothing. Stop the review (Ctrl-C in "
                    "its terminal), then run again.") from None
            raise LockedError(
                f"another photokosh run (pid {pid}) is working on {out}; this run did "
                "nothing. Wait for it to finish, or run again later."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def _mark_review(out: Path) -> None:
    """The lock file says `PID review` while a review holds it (for the refusal's message)."""
    with fsutil.folder(out, STATE_DIR) as folder:
        fd = os.open(LOCK, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {REVIEW}".encode())
    finally:
        os.close(fd)
