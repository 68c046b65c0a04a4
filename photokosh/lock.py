"""One run per output folder. The kernel drops the lock when its holder dies, so a killed run
never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LockedError
from .fsutil import make_private_dir
from .layout import lock_file, state_dir


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    make_private_dir(state_dir(out))
    fd = os.open(lock_file(out), os.O_RDWR | os.O_CREAT, 0o600)
    try:
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
