"""The map of an output folder (OUT): every name photokosh gives a file or folder there.

    OUT/
      <person folder>/...     one per person: their name, or their id (person_003)
        <photo>.xmp           beside a photo of a named person: its faces' names (xmp.py)
      unknown/...             photos whose faces belong to nobody
      no_faces/...            photos in which no face was found
      blurred/...             --blur: every photo with its faces blurred
      report.json             the run's report
      index.html              the review page
      .photokosh/             photokosh's own, owner-only (0700)
        state.db              the state (state.py); its -wal and -shm side files
        lock                  held by the run working on OUT (lock.py)
        tmp/                  files being written; emptied by the next run
        thumbs/               face thumbnails for the review page

Every other module asks this one for these names; none spells them itself.
"""

from __future__ import annotations

import re
from pathlib import Path

STATE_DIR = ".photokosh"
STATE_DB = "state.db"
LOCK = "lock"
TMP = "tmp"
THUMBS = "thumbs"
THUMBS_PATH = f"{STATE_DIR}/{THUMBS}"  # as the review page links to them, relative to OUT
TMP_PATH = f"{STATE_DIR}/{TMP}"
LOCK_PATH = f"{STATE_DIR}/{LOCK}"
STATE_DB_PATH = f"{STATE_DIR}/{STATE_DB}"

REPORT = "report.json"
PAGE = "index.html"
UNKNOWN = "unknown"
NO_FACES = "no_faces"
BLURRED = "blurred"
SIDECAR_SUFFIX = ".xmp"

# Names at the top of OUT that a person's folder may never take.
RESERVED = frozenset({UNKNOWN, NO_FACES, BLURRED, REPORT, PAGE, STATE_DIR})

PERSON_ID = re.compile(r"person_\d+", re.IGNORECASE)
DEFAULT_SUFFIX = "-sorted"  # OUT's default: PHOTOS-sorted beside PHOTOS


def sidecar(rel: str) -> str:
    """The XMP sidecar of the photo at OUT/rel: `photo.jpg.xmp`, the name digiKam reads
    first, which no other photo's sidecar can take (photo.jpg and photo.png: docs/xmp.md)."""
    return f"{rel}{SIDECAR_SUFFIX}"


def person_id(number: int) -> str:
    return f"person_{number:03d}"


def default_output(photos: Path) -> Path:
    """A sibling of the photo folder, never inside it."""
    photos = Path(photos).resolve()
    return photos.with_name(f"{photos.name}{DEFAULT_SUFFIX}")


def state_dir(out: Path) -> Path:
    return Path(out) / STATE_DIR


def state_db(out: Path) -> Path:
    return state_dir(out) / STATE_DB


def report_file(out: Path) -> Path:
    return Path(out) / REPORT


def page_file(out: Path) -> Path:
    return Path(out) / PAGE
