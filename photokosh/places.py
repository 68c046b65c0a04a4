"""Where PHOTOS, OUT and an export's DEST may lie: the one home of the checks that keep them
apart, so that writing in OUT (or DEST) can never write among the photos.

Paths are compared with their links and `..` resolved, and by device and inode as well, so a
bind mount or a link that makes one folder two paths is seen through (a bind mount of a folder
inside OUT elsewhere is not: nothing on that folder says it is OUT's).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import PlacesError
from .layout import STATE_DIR

__all__ = ["check_cache", "check_export", "check_places", "is_output", "output_around", "within"]


def is_output(folder: Path) -> bool:
    """`folder` is a photokosh output folder: it holds the state folder (a folder, not a
    link to one). Its photos are copies of another folder's."""
    try:
        return stat.S_ISDIR(os.lstat(Path(folder) / STATE_DIR).st_mode)
    except OSError:
        return False


def within(inner: Path, outer: Path) -> bool:
    """`inner` is `outer` or lies below it, however either is spelled."""
    inner, outer = Path(inner).resolve(), Path(outer).resolve()
    if inner == outer or inner.is_relative_to(outer):
        return True
    key = _key(outer)
    return key is not None and any(_key(p) == key for p in (inner, *inner.parents))


def output_around(folder: Path) -> Path | None:
    """The photokosh output folder that is `folder` or holds it, if there is one."""
    folder = Path(folder).resolve()
    return next((p for p in (folder, *folder.parents) if is_output(p)), None)


def check_places(source: Path, out: Path) -> None:
    """Refuse (PlacesError) a sort of `source` into `out` that would write among the photos
    or read photokosh's own copies: OUT equal to PHOTOS or holding it, PHOTOS inside an output
    folder. OUT inside PHOTOS is fine: the scan passes over it."""
    if within(out, source) and within(source, out):
        raise PlacesError("the output folder", "-o/--out", "must not be the photo folder "
                          "itself: choose another -o OUT")
    if within(source, out):
        raise PlacesError("the output folder", "-o/--out",
                          f"must not hold the photo folder ({source} is inside {out}): "
                          "photokosh writes its folders there; choose an -o OUT outside PHOTOS")
    found = output_around(source)
    if found is not None:
        what = (f"is a photokosh output folder ({found} holds {STATE_DIR}/)"
                if found == Path(source).resolve()
                else f"lies inside the photokosh output folder {found}")
        raise PlacesError("PHOTOS", "PHOTOS",
                          f"{what}: its photos are copies; sort its source photos instead")


def check_export(dest: Path, source: Path, out: Path) -> None:
    """Refuse (PlacesError) an export's DEST that is PHOTOS or OUT or lies inside either."""
    for what, root in (("PHOTOS", source), ("OUT", out)):
        if within(dest, root):
            raise PlacesError(f"{dest}", "DEST", f"is inside {what} ({Path(root).resolve()}): "
                              "export writes only outside PHOTOS and OUT; choose another DEST")


def check_cache(labelled: Path, cache: Path) -> None:
    """Refuse (PlacesError) evaluate's cache folder at LABELLED itself or around it: its
    state would be written among the labelled photos, or make LABELLED lie inside an output
    folder that `sort` then refuses. Inside LABELLED it is passed over, as OUT is."""
    if within(labelled, cache):
        raise PlacesError("the cache", "--cache", "must not be LABELLED or a folder that holds "
                          "it: its state would be written among the photos; choose another "
                          "--cache")


def _key(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # not there (yet): no other path can be it
    return st.st_dev, st.st_ino
