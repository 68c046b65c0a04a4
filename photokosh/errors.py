"""Domain errors. The CLI turns them into exit codes; the core never exits."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .layout import STATE_DB_PATH


class PhotokoshError(Exception):
    """A failure that stops a run. The message says what went wrong and what to do."""


class UnreadablePhoto(Exception):
    """One photo cannot be used. The run goes on; the reason lands in report.errors."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LockedError(PhotokoshError):
    """Another photokosh run holds the lock on the output folder."""


class RefusedError(PhotokoshError):
    """The run would lose what OUT knows (PHOTOS missing, empty or mostly gone): refused
    before anything changed."""


class StateError(PhotokoshError):
    """The output folder's state database is missing, foreign or from a newer photokosh."""


class NoState(StateError):
    """OUT was never sorted (or is not an output folder at all)."""

    def __init__(self, out: Path):
        super().__init__(f"{out} holds no photokosh state (no {STATE_DB_PATH}): run "
                         "`photokosh sort PHOTOS -o OUT` first")


class MergeRefused(PhotokoshError):
    """Two people look like two (side by side in a photo, or said to be): `force` merges."""


class UnknownPerson(PhotokoshError):
    """A person id or name given on the command line does not exist in the state."""


class OptionError(PhotokoshError, ValueError):
    """A setting photokosh cannot run with (SortOptions): the message names it and what it
    may be."""


class InvalidName(PhotokoshError, ValueError):
    """A person's name with nothing in it usable as a folder name: a bad argument, which the
    CLI reports as a usage error."""


class PlacesError(PhotokoshError, ValueError):
    """PHOTOS, OUT or DEST where photokosh would write among the photos or read its own
    copies (places.py): refused before anything is written. `param` names the argument at
    fault and `problem` says what is wrong with it, for the CLI's usage error."""

    def __init__(self, subject: str, param: str, problem: str):
        super().__init__(f"{subject} {problem}")
        self.param, self.problem = param, problem


class ModelMissing(PhotokoshError):
    """The face model's files (the face_recognition_models package) are not installed."""


# Reasons shared by more than one stage: each says what is wrong and what to do.
NOT_REGULAR = "not a regular file (a device, socket or pipe); move it out of the photo folder"
VANISHED = "the file disappeared before it could be read; nothing to do unless it should be there"
NO_PERMISSION = "permission denied: photokosh may not read it; fix its permissions (chmod)"
EMPTY = "empty file (0 bytes): probably an interrupted copy; copy it again or delete it"
BROKEN_LINK = "broken symbolic link: its target does not exist; fix or remove the link"


# What an I/O failure means for the user, by errno or SQLite result code (its primary code;
# Python 3.10 has no code, so its message too): the disk is full, read-only, forbidden or
# failing, or the state is damaged.
_KINDS = [
    ("full", {errno.ENOSPC, errno.EDQUOT}, sqlite3.SQLITE_FULL, "database or disk is full"),
    ("readonly", {errno.EROFS}, sqlite3.SQLITE_READONLY, "readonly database"),
    ("denied", {errno.EACCES, errno.EPERM}, sqlite3.SQLITE_CANTOPEN,
     "unable to open database"),
    ("io", {errno.EIO}, sqlite3.SQLITE_IOERR, "disk I/O error"),
    ("damaged", set(), sqlite3.SQLITE_CORRUPT, "malformed"),
    ("damaged", set(), sqlite3.SQLITE_NOTADB, "not a database"),
]
_KEPT = "then run again; what is done is kept"
_ADVICE = {
    "full": "{out} is full: free space on the disk that holds it, " + _KEPT,
    "readonly": "{out} is read-only (its file system, or its state .photokosh/state.db): "
                "make it writable or choose another -o OUT, " + _KEPT,
    "denied": "photokosh may not write in {out}: fix the permissions there (chmod, chown), "
              + _KEPT,
    "io": "the disk that holds {out} failed to read or write: check it (dmesg, fsck), "
          + _KEPT,
    "damaged": "the state of {out} (.photokosh/state.db) is damaged: restore it from a "
               "backup, or sort into a new -o OUT",
    None: "photokosh could not go on in {out}: fix the cause, " + _KEPT,
}


@contextmanager
def io_failures(out: Path) -> Iterator[None]:
    """Around a command that works on OUT: an OSError or SQLite error escaping it becomes a
    PhotokoshError that names OUT and says what to do, never a traceback."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        kind, cause = _kind_of(exc)
        if kind is None and not isinstance(exc, OSError | sqlite3.OperationalError):
            raise  # an IntegrityError or a misused connection: photokosh's bug, not the disk
        raise PhotokoshError(f"{_ADVICE[kind].format(out=out)} ({_detail(cause)})") from exc


def _kind_of(exc: BaseException) -> tuple[str | None, BaseException]:
    # The cause may sit below another error: SQLite rolls back a transaction on a full disk
    # itself, so the ROLLBACK that follows fails with "no transaction is active".
    chain, seen = [], exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        seen = seen.__context__
    for error in chain:
        for kind, errnos, code, text in _KINDS:
            if isinstance(error, OSError) and error.errno in errnos:
                return kind, error
            if isinstance(error, sqlite3.Error) and (_primary(error) == code
                                                     or text in str(error)):
                return kind, error
    return None, exc


def _primary(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)  # extended: the primary code, and more
    return code & 0xFF if isinstance(code, int) else None


def _detail(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        named = exc.filename if isinstance(exc.filename, str) and os.path.isabs(exc.filename) \
            else None  # a name relative to a folder descriptor says nothing on its own
        return f"{exc.strerror}: {named}" if named else exc.strerror
    return str(exc) or type(exc).__name__
