"""Stage 1: walk the source folder and list candidate photos.

The walk never follows a directory twice (symlink loops), lists each real file once (the same
photo reachable through two symlinks), skips hidden entries (counted), the output folder
(known by device and inode, so a link to it is skipped too), any other photokosh output
folder and what PHOTOS/.photokoshignore acknowledges (gitignore patterns: known-bad files,
passed over silently and counted), and reports what it cannot use instead of failing.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from PIL import Image

from .errors import BROKEN_LINK, NOT_REGULAR
from .layout import STATE_DIR
from .places import is_output

log = logging.getLogger(__name__)

# Extensions Pillow registers, plus the HEIF family that pillow-heif adds. Files with other
# extensions (videos, sidecars, Thumbs.db) are not photos and are passed over silently.
_EXTRA = {".heic", ".heif", ".hif", ".avif"}
# Camera RAW files are not read: decoding them well needs a RAW developer, and most cameras
# and apps keep a JPEG or HEIC beside them. They are listed in the report, not as errors.
RAW_EXTENSIONS = {".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng",
                  ".raf", ".orf", ".rw2", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".rwl"}
RAW_REASON = ("camera RAW file: not read; photokosh sorts the JPEG/HEIC the camera or your "
              "photo app keeps beside it (export one if there is none)")
# In PHOTOS, not OUT: its patterns are paths below PHOTOS, as a .gitignore's are below its
# folder, and it holds for every OUT sorted from PHOTOS.
IGNORE_FILE = ".photokoshignore"
OTHER_OUT = (f"a photokosh output folder (it holds {STATE_DIR}/): its photos are copies, so it "
             "is not sorted again; move it out of the photo folder")


def image_extensions() -> frozenset[str]:
    Image.init()
    return frozenset(ext.lower() for ext in Image.registered_extensions()) | _EXTRA


@dataclass(frozen=True)
class Candidate:
    rel: str  # path relative to the source root, "/"-separated
    path: Path
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    photos: list[Candidate] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (rel, reason)
    ignored: int = 0  # files that are not photos by their extension
    raw: list[str] = field(default_factory=list)  # camera RAW files, not read
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (rel, rel of the same file)
    hidden: list[str] = field(default_factory=list)  # names starting with ".", not entered
    acknowledged: list[str] = field(default_factory=list)  # matched by IGNORE_FILE, not entered


def scan(source: Path, exclude: Iterable[Path] = ()) -> ScanResult:
    """List the photos under `source`, sorted by relative path.

    `exclude` folders (the output folder) are not entered, whatever path leads to them.
    """
    source = Path(source)
    excluded = {_dir_key(p) for p in exclude if p.is_dir()}
    exts = image_extensions()
    result = ScanResult()
    ignore = _ignore_spec(source, result)
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: dict[tuple[int, int], str] = {}
    pending = [(source, "")]
    while pending:
        folder, prefix = pending.pop()
        key = _dir_key(folder)
        if key in seen_dirs or key in excluded:
            continue
        seen_dirs.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            result.errors.append((prefix.rstrip("/") or ".",
                                  f"folder cannot be read ({_why(exc)}); fix its permissions"))
            continue
        if prefix and is_output(folder):
            result.errors.append((prefix.rstrip("/"), OTHER_OUT))
            continue
        for entry in entries:
            rel = prefix + entry.name
            if ignore.match_file(rel):
                result.acknowledged.append(rel)
                continue
            if entry.name.startswith("."):
                if rel != IGNORE_FILE:
                    result.hidden.append(rel)
                continue
            suffix = Path(entry.name).suffix.lower()
            try:
                st = os.stat(entry.path)  # follows symlinks
            except FileNotFoundError:
                if not entry.is_symlink():
                    continue  # vanished since listing
                if suffix in exts:
                    result.errors.append((rel, BROKEN_LINK))
                else:
                    result.ignored += 1  # a link to no photo: passed over as its name says
                continue
            except OSError as exc:
                result.errors.append((rel, f"cannot be read ({_why(exc)}); fix its permissions"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if ignore.match_file(rel + "/"):
                    result.acknowledged.append(rel + "/")
                else:
                    pending.append((Path(entry.path), rel + "/"))
                continue
            if suffix not in exts:
                result.ignored += 1
                if suffix in RAW_EXTENSIONS:
                    result.raw.append(rel)
                continue
            if not stat.S_ISREG(st.st_mode):
                result.errors.append((rel, NOT_REGULAR))
                continue
            file_key = (st.st_dev, st.st_ino)
            if file_key in seen_files:
                result.aliases.append((rel, seen_files[file_key]))
                continue
            seen_files[file_key] = rel
            result.photos.append(Candidate(rel, Path(entry.path), st.st_size, st.st_mtime_ns))
    result.photos.sort(key=lambda c: c.rel)
    for rel, reason in result.errors:
        log.debug("skipped %s: %s", rel, reason)
    for rel in result.hidden:
        log.debug("passed over %s: hidden (its name starts with a dot)", rel)
    for rel in result.acknowledged:
        log.debug("passed over %s: acknowledged in %s", rel, IGNORE_FILE)
    log.info("scanned %s: %d folders, %d photos, %d skipped, %d not photos (%d camera RAW), "
             "%d seen twice through links, %d hidden", source, len(seen_dirs),
             len(result.photos), len(result.errors), result.ignored, len(result.raw),
             len(result.aliases), len(result.hidden))
    return result


def _ignore_spec(source: Path, result: ScanResult) -> pathspec.PathSpec:
    """The patterns of PHOTOS/.photokoshignore (none if there is no such file)."""
    try:
        with open(source / IGNORE_FILE, encoding="utf-8", errors="surrogateescape") as f:
            return pathspec.GitIgnoreSpec.from_lines(f.read().splitlines())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:  # ValueError: a pattern pathspec cannot read
        result.errors.append((IGNORE_FILE, f"cannot be used ({exc}); fix it"))
    return pathspec.GitIgnoreSpec.from_lines([])


def _dir_key(path: Path) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_dev, st.st_ino)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
