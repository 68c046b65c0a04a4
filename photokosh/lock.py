"""One run per output folder. The kernel drops the lock when its holder dies, so a killed run
never leaves a stale lock behind."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import fsutil
from .errors import LockedError, PhotokoshError
from .layout import LOCK, LOCK_PATH, STATE_DIR


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
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
            raise LockedError(
                f"another photokosh run (pid {holder}) is working on {out}; this run did "
                "nothing. Wait for it to finish, or run again later."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
