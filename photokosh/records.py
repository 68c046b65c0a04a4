"""The rows the state hands out (state.py): plain, named data, never tuples read by position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass
class StoredFace:
    """A face found in one content: box in displayed pixels, embedding (None once forgotten)
    and person (None: nobody's, yet or for good)."""

    id: int
    hash: str
    idx: int
    box: tuple[int, int, int, int]
    score: float
    embedding: np.ndarray | None
    person: str | None
    forgotten: bool


class PhotoRow(NamedTuple):
    """A source photo as last seen: its content (None if unreadable) and when it came."""

    size: int
    mtime_ns: int
    hash: str | None
    error: str | None
    added_run: int
    missing_since: float | None = None  # gone from PHOTOS since then: kept for a grace period


class Region(NamedTuple):
    """A face region another tool named in a photo's XMP (xmp.py), in displayed pixels."""

    name: str
    box: tuple[int, int, int, int]


class Analysed(NamedTuple):
    """What the analysis of one content found out besides its faces."""

    width: int
    height: int
    error: str | None


@dataclass(frozen=True)
class Person:
    id: str  # person_003: never reused
    num: int
    name: str | None


@dataclass
class Output:
    """A file photokosh created in OUT (done), or was about to create (pending: planned
    before writing, so a killed run leaves no file unaccounted for)."""

    source: str
    kind: str  # "photo" (copy or link of the source) or "blur" (blurred copy)
    hash: str | None
    size: int | None
    mtime_ns: int | None  # for a pending row: when it was planned
    ino: int | None
    done: bool


class Correction(NamedTuple):
    """What the user taught photokosh about one face or person; later runs honour it."""

    id: int
    kind: str  # "move" (face -> person), "notme" (face never person), "notface", "hide",
    # "name" (learned from a renamed folder: value {"name", "was"}), "apart" (person is
    # not value {"other"}: never suggested or merged together), "merge" (value {"other"}
    # merged into person: journal.Journal.merge's faces and rewritten corrections)
    face: int | None
    person: str | None
    how: str  # "command", or "folder" (learned from what the user did to OUT's folders)
    made: float
    value: object = None
