"""The regions table of the state: the named face regions found in each content's XMP
(xmp.py), read with its analysis and so cached by content. State (state.py) inherits these
queries; they live apart to keep each file to one job."""

from __future__ import annotations

import sqlite3
from collections import defaultdict

from .records import Region

REGIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS regions (
    hash TEXT, name TEXT, left INTEGER, top INTEGER, right INTEGER, bottom INTEGER);
CREATE INDEX IF NOT EXISTS regions_hash ON regions(hash);
"""


class RegionTable:
    db: sqlite3.Connection

    def put_regions(self, hash_: str, regions: list[Region]) -> None:
        """What the content `hash_` says about its faces now (none: it says nothing)."""
        self.db.execute("DELETE FROM regions WHERE hash=?", (hash_,))
        self.db.executemany("INSERT INTO regions VALUES (?,?,?,?,?,?)",
                            [(hash_, r.name, *r.box) for r in regions])

    def regions(self) -> dict[str, list[Region]]:
        """Every content's named face regions, by hash, in the order they were found."""
        found: dict[str, list[Region]] = defaultdict(list)
        for hash_, name, *box in self.db.execute(
                "SELECT hash, name, left, top, right, bottom FROM regions ORDER BY rowid"):
            found[hash_].append(Region(name, tuple(box)))
        return dict(found)
