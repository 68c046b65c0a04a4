"""The corrections table of the state: what the user taught photokosh (moves, "not this
person", splits, merges, hides...), each a constraint every later run honours
(constraints.py); and the merge of two people and its undo, which rewrite the corrections
about them. State (state.py) inherits these queries; they live apart to keep each file to one
job."""

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

    def merge(self, source: str, target: str) -> dict:
        """Make person `source` part of `target`: their faces, and the corrections about them
        (the other person of a "not the same person" pair too). Returns what `unmerge` needs
        (JSON-able): the faces each had, and the corrections rewritten."""
        faces = {source: [], target: []}
        for fid, person in self.db.execute("SELECT id, person FROM faces WHERE person IN (?,?) "
                                           "AND forgotten=0 ORDER BY id", (source, target)):
            faces[person].append(fid)
        retargeted = {"person": self._ids("person=?", source),
                      "other": self._ids("kind='apart' AND json_extract(value, '$.other')=?",
                                         source)}
        self.db.execute("UPDATE corrections SET person=? WHERE person=?", (target, source))
        self.db.execute("UPDATE corrections SET value=json_set(value, '$.other', ?) "
                        "WHERE kind='apart' AND json_extract(value, '$.other')=?",
                        (target, source))
        self.db.execute("UPDATE faces SET person=? WHERE person=?", (target, source))
        self.db.execute("UPDATE people SET merged_into=? WHERE id=?", (target, source))
        self.db.execute("UPDATE people SET merged_into=? WHERE merged_into=?", (target, source))
        return {"faces": faces[target], "other_faces": faces[source], "retargeted": retargeted}

    def unmerge(self, source: str, target: str, merged: dict, correction: int) -> None:
        """Take back merge() (`merged` is what it returned, recorded as `correction`): `source`
        is a person again, with its faces still with `target` and its corrections; faces that
        came to `target` after the merge go back to the clustering, which gives each to the
        side it is nearest."""
        self.db.execute("UPDATE people SET merged_into=NULL WHERE id=?", (source,))
        # A later merge pinned the faces this one brought as its target's (or source's) own:
        # they leave it too, or it would hold them.
        leaving = set(merged["other_faces"])
        for cid, value in self.db.execute("SELECT id, value FROM corrections WHERE kind='merge' "
                                          "AND id>? AND undone=0", (correction,)).fetchall():
            later = json.loads(value)
            for key in ("faces", "other_faces"):
                later[key] = [f for f in later[key] if f not in leaving]
            self.db.execute("UPDATE corrections SET value=? WHERE id=?", (json.dumps(later), cid))
        self.db.executemany("UPDATE corrections SET person=? WHERE id=?",
                            [(source, i) for i in merged["retargeted"]["person"]])
        self.db.executemany("UPDATE corrections SET value=json_set(value, '$.other', ?) "
                            "WHERE id=?", [(source, i) for i in merged["retargeted"]["other"]])
        known = set(merged["faces"]) | set(merged["other_faces"])
        later = [fid for (fid,) in self.db.execute("SELECT id FROM faces WHERE person=?",
                                                   (target,)) if fid not in known]
        self.db.executemany("UPDATE faces SET person=NULL WHERE id=?", [(f,) for f in later])
        self.db.executemany("UPDATE faces SET person=? WHERE id=? AND person=?",
                            [(source, f, target) for f in merged["other_faces"]])

    def _ids(self, where: str, *args) -> list[int]:
        return [i for (i,) in self.db.execute(f"SELECT id FROM corrections WHERE {where}", args)]
