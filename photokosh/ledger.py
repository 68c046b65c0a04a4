"""The outputs table of the state: every file photokosh created in OUT (or was about to), so
that only those are ever replaced or removed. State (state.py) inherits these queries; they
live apart to keep each file to one job."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from .records import Output


def to_blob(rel: str) -> bytes:
    """Relative paths may hold undecodable bytes (surrogate escapes): store the raw bytes."""
    return rel.encode("utf-8", "surrogateescape")


def from_blob(blob: bytes) -> str:
    return bytes(blob).decode("utf-8", "surrogateescape")


class Ledger:
    db: sqlite3.Connection

    def outputs(self) -> dict[str, Output]:
        """Every file photokosh created (or was about to create) in OUT, by relative path."""
        rows = self.db.execute(
            "SELECT path, source, kind, hash, size, mtime_ns, ino, done FROM outputs")
        return {from_blob(p): Output(from_blob(s), k, h, sz, m, i, bool(d))
                for p, s, k, h, sz, m, i, d in rows}

    def plan_outputs(self, items: Iterable[tuple[str, str, str, str]], when_ns: int) -> None:
        """Record (out rel, source rel, kind, hash) before the files are written: a crash in
        between leaves a pending row, never an unaccounted file."""
        self.db.executemany(
            "INSERT OR REPLACE INTO outputs(path, source, kind, hash, mtime_ns, done) "
            "VALUES (?,?,?,?,?,0)",
            [(to_blob(p), to_blob(s), k, h, when_ns) for p, s, k, h in items])

    def done_outputs(self, items: Iterable[tuple[str, int, int, int]]) -> None:
        self.db.executemany(
            "UPDATE outputs SET size=?, mtime_ns=?, ino=?, done=1 WHERE path=?",
            [(s, m, i, to_blob(p)) for p, s, m, i in items])

    def drop_outputs(self, rels: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM outputs WHERE path=?", [(to_blob(r),) for r in rels])
