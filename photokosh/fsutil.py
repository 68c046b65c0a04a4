"""File operations that never leave a half-written file and never replace a stranger's file."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .layout import tmp_dir


class Occupied(Exception):
    """The destination exists and photokosh did not create it."""


def make_private_dir(path: Path) -> None:
    """Folders holding biometric data are the owner's only (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def clean_tmp(out: Path) -> int:
    """Remove what a killed run left in OUT/.photokosh/tmp (only photokosh writes there)."""
    folder = tmp_dir(out)
    if not folder.is_dir():
        return 0
    count = 0
    for entry in os.scandir(folder):
        try:
            os.unlink(entry.path)
            count += 1
        except OSError:
            pass
    return count


def publish(tmp: Path, dest: Path) -> None:
    """Move a complete temporary file to `dest` atomically, refusing to replace anything."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(tmp, dest)  # fails if dest exists: no check-then-act race
    except FileExistsError as exc:
        os.unlink(tmp)
        raise Occupied(str(dest)) from exc
    except OSError:
        # file systems without hard links: check, then rename
        if os.path.lexists(dest):
            os.unlink(tmp)
            raise Occupied(str(dest)) from None
        os.replace(tmp, dest)
        return
    os.unlink(tmp)


def new_tmp(out: Path, suffix: str = "") -> Path:
    folder = tmp_dir(out)
    if not folder.is_dir():
        make_private_dir(folder)
    return folder / f"{uuid.uuid4().hex}{suffix}"


def private_parents(dest: Path, root: Path) -> None:
    """Create the folders between `root` and `dest` owner-only (0700), `root` included."""
    missing = []
    folder = dest.parent
    while folder != root.parent and not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        make_private_dir(folder)


def place(source: Path, dest: Path, out: Path, how: str, copy_of: Path | None = None) -> None:
    """Put `source` at `dest` as a copy (bytes and timestamps kept), hard link or symlink.

    `copy_of`: a copy of `source` that this run has just put in OUT. A copy is then made a
    second name of it (a hard link) instead of writing the same bytes again, so a photo of
    three people is copied once, not three times. Where OUT has no hard links, it is copied."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if how == "sym":
        try:
            os.symlink(os.path.abspath(source), dest)
        except FileExistsError as exc:
            raise Occupied(str(dest)) from exc
        return
    for original in ([source] if how == "hard" else []) + ([copy_of] if copy_of else []):
        try:
            os.link(original, dest)
            return
        except FileExistsError as exc:
            raise Occupied(str(dest)) from exc
        except OSError:
            pass  # another device or no hard links: fall back to a copy
    with staged(out, dest) as tmp:
        shutil.copyfile(source, tmp)  # sendfile where the kernel has it
        shutil.copystat(source, tmp)


@contextmanager
def staged(out: Path, dest: Path, *, replace: bool = False,
           mode: int | None = None) -> Iterator[Path]:
    """A temporary file under OUT/.photokosh/tmp for the caller to fill; when the block ends,
    the complete file appears at `dest` in one step, so no reader ever sees half a file.
    `replace`: over whatever `dest` is (photokosh's own report, page, thumbnails); otherwise
    never over anything (publish: Occupied). `mode`: its permissions. If the block fails,
    the temporary file goes; one a killed run leaves is removed by the next run."""
    tmp = new_tmp(out, dest.suffix)
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        if replace:
            os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not replace:
        publish(tmp, dest)


def write_atomically(out: Path, dest: Path, data: bytes | str, *, replace: bool = True,
                     mode: int | None = None) -> None:
    """Write `data` (text as UTF-8) to `dest` in full or not at all (see staged)."""
    with staged(out, dest, replace=replace, mode=mode) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def fingerprint(path: Path, follow: bool = False) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the entry itself (or of a link's target with `follow`),
    None if absent."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def remove(path: Path, stop: Path) -> None:
    """Unlink a file photokosh made, then the folders it leaves empty, up to `stop`."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    parent = path.parent
    while parent != stop and stop in parent.parents:
        try:
            os.rmdir(parent)  # only succeeds on an empty folder
        except OSError:
            break
        parent = parent.parent
