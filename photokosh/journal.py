"""The corrections table of the state: what the user taught photokosh (moves, "not this
person", splits, hides...), each a constraint every later run honours (constraints.py). State
(state.py) inherits these queries; they live apart to keep each file to one job."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from .records import Correction


class Journal:
    db: sqlite3.Connection

    def add_correction(self, kind: str, face: int | None, person: str | None, how: str,
                       made: float, value=None) -> int:
        return self.db.execute("INSERT INTO corrections(kind, face, person, how, made, value) "
                               "VALUES (?,?,?,?,?,?)", (kind, face, person, how, made,
                                                        json.dumps(value))).lastrowid

    def corrections(self) -> list[Correction]:
        """The corrections in force, oldest first."""
        return [Correction(*r[:-1], json.loads(r[-1] or "null")) for r in self.db.execute(
            "SELECT id, kind, face, person, how, made, value FROM corrections WHERE undone=0 "
            "ORDER BY id")]

    def undo_corrections(self, ids: Iterable[int]) -> None:
        self.db.executemany("UPDATE corrections SET undone=1 WHERE id=?", [(i,) for i in ids])

    def retarget_corrections(self, source: str, target: str) -> None:
        """Corrections about person `source` now mean `target` (merged into it), the other
        person of a "not the same person" pair too."""
        self.db.execute("UPDATE corrections SET person=? WHERE person=?", (target, source))
        self.db.execute("UPDATE corrections SET value=json_set(value, '$.other', ?) "
                        "WHERE kind='apart' AND json_extract(value, '$.other')=?",
                        (target, source))
