"""Files in OUT: never half-written, never over a stranger's file, never through a link.

Every path is given relative to OUT and reached one folder at a time with O_NOFOLLOW, each
folder opened relative to the one above it (openat). A symbolic link where photokosh expects
a folder of its own (OUT/person_001 -> /elsewhere, OUT/.photokosh/tmp -> ~) is never followed,
whether it was there before the run or appeared during it: the operation raises `Occupied`
instead. OUT itself is the folder the user named, and may be a link.

Files are written in full under OUT/.photokosh/tmp and then given their name in one step (a
hard link, which never replaces anything, or a rename for photokosh's own report and page), so
no reader sees half a file and what a killed run leaves behind is only ever in tmp.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import PhotokoshError
from .layout import TMP_PATH

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# linkat() fails with these where a file system has no hard links: rename instead.
_NO_LINKS = (errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.EMLINK)


class Occupied(Exception):
    """Something photokosh did not create is where it wanted to write: a file, or a link
    or file where it wanted a folder. `rel` names it, relative to OUT."""

    def __init__(self, rel: str):
        super().__init__(rel)
        self.rel = rel


def _parts(rel: str) -> list[str]:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{rel!r} leaves OUT")
    return parts


def split(rel: str) -> tuple[str, str]:
    """(folder, name) of a path relative to OUT."""
    head, _, name = rel.rpartition("/")
    return head, name


@contextmanager
def folder(out: Path, rel: str = "", *, create: bool = False,
           mode: int | None = None) -> Iterator[int]:
    """A descriptor of the folder OUT/rel, reached without following a link. With `create`
    the missing folders are made; `mode` (0o700 for private folders) is given to every
    folder on the way below OUT, made or found."""
    if create:
        os.makedirs(out, exist_ok=True)  # OUT itself: the folder the user named
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        done: list[str] = []
        for name in _parts(rel):
            done.append(name)
            try:
                child = _open_dir(name, fd, done)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(name, 0o777 if mode is None else mode, dir_fd=fd)  # umask applies
                except FileExistsError:
                    pass  # made meanwhile by another thread: opened and checked below
                child = _open_dir(name, fd, done)
            os.close(fd)
            fd = child
            if mode is not None:
                os.fchmod(fd, mode)
        yield fd
    finally:
        os.close(fd)


def _open_dir(name: str, parent: int, done: list[str]) -> int:
    try:
        return os.open(name, _DIR, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Occupied("/".join(done)) from None
        raise


def private_folder(out: Path, rel: str) -> None:
    """Make OUT/rel (photokosh's own: the state, tmp, thumbs) an owner-only folder, refusing
    when a link or a file stands where it or a folder above it should be."""
    try:
        with folder(out, rel, create=True, mode=0o700):
            pass
    except Occupied as exc:
        raise PhotokoshError(not_ours(out, exc.rel)) from None


def not_ours(out: Path, rel: str) -> str:
    """The refusal for a link (or a stranger's file) where photokosh keeps its own files."""
    return (f"{Path(out) / rel} is a symbolic link or a file that photokosh did not make, where "
            "it keeps its own files; photokosh never writes through links. Remove it, or "
            "choose another -o OUT; this run changed nothing there")


def entry(out: Path, rel: str) -> os.stat_result | None:
    """The entry at OUT/rel itself (a link is not followed), or None when there is none or
    a folder on the way is no real folder (so nothing of photokosh's can be there)."""
    head, name = split(rel)
    try:
        with folder(out, head) as fd:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (OSError, Occupied):
        return None


def fingerprint(out: Path, rel: str) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the entry at OUT/rel, None if there is none."""
    st = entry(out, rel)
    return None if st is None else (st.st_size, st.st_mtime_ns, st.st_ino)


def read_link(out: Path, rel: str) -> str | None:
    head, name = split(rel)
    try:
        with folder(out, head) as fd:
            return os.readlink(name, dir_fd=fd)
    except (OSError, Occupied):
        return None


def clean_tmp(out: Path) -> int:
    """Remove what a killed run left in OUT/.photokosh/tmp (only photokosh writes there)."""
    private_folder(out, TMP_PATH)
    return unlink_in(out, TMP_PATH, listdir(out, TMP_PATH))


@contextmanager
def staged(out: Path, rel: str, *, replace: bool = False, mode: int = 0o600,
           private: bool = False) -> Iterator[BinaryIO]:
    """A new file under OUT/.photokosh/tmp for the caller to fill; when the block ends the
    complete file appears at OUT/rel in one step. `replace`: over a regular file there
    (photokosh's own report, page, thumbnails), never over a link or a folder; otherwise over
    nothing at all (Occupied). `private`: the folders on the way are made owner-only. If the
    block fails the temporary file goes; one a killed run leaves is removed by clean_tmp."""
    private_folder(out, TMP_PATH)
    head, name = split(rel)
    with folder(out, TMP_PATH) as tfd:
        tmp = uuid.uuid4().hex
        try:
            with os.fdopen(os.open(tmp, _NEW, mode, dir_fd=tfd), "wb") as f:
                yield f
            with folder(out, head, create=True, mode=0o700 if private else None) as fd:
                _name(tfd, tmp, fd, name, rel, replace)
        except BaseException:
            _unlink_quietly(tmp, tfd)
            raise


def write_atomically(out: Path, rel: str, data: bytes | str, *, replace: bool = True,
                     mode: int = 0o600, private: bool = False) -> None:
    """Write `data` (text as UTF-8) to OUT/rel in full or not at all (see staged)."""
    with staged(out, rel, replace=replace, mode=mode, private=private) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def _name(sfd: int, src: str, fd: int, name: str, rel: str, replace: bool) -> None:
    """Give the file `src` (in folder sfd) the name `name` in folder fd, and drop `src`."""
    if replace:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise Occupied(rel)
        os.rename(src, name, src_dir_fd=sfd, dst_dir_fd=fd)
        return
    try:
        os.link(src, name, src_dir_fd=sfd, dst_dir_fd=fd, follow_symlinks=False)
    except FileExistsError:
        raise Occupied(rel) from None
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if _exists(name, fd):  # no hard links here: check, then rename
            raise Occupied(rel) from None
        os.rename(src, name, src_dir_fd=sfd, dst_dir_fd=fd)
        return
    os.unlink(src, dir_fd=sfd)


def place(source: Path, out: Path, rel: str, how: str, copy_of: str | None = None) -> None:
    """Put the photo `source` at OUT/rel as a copy (bytes and timestamps kept), a hard link or
    a symlink to it, never over anything.

    `copy_of`: the rel of a copy of `source` that this run has just put in OUT. A copy is then
    made a second name of it (a hard link) instead of writing the same bytes again, so a photo
    of three people is copied once, not three times. Where OUT has no hard links, it is
    copied."""
    head, name = split(rel)
    with folder(out, head, create=True) as fd:
        if how == "sym":
            try:
                os.symlink(os.path.abspath(source), name, dir_fd=fd)
            except FileExistsError:
                raise Occupied(rel) from None
            return
        if how == "hard" and _link(os.fspath(source), None, name, fd, rel, follow=True):
            return
        if copy_of is not None:
            chead, cname = split(copy_of)
            with folder(out, chead) as cfd:
                if _link(cname, cfd, name, fd, rel):
                    return
    with staged(out, rel, mode=0o644) as f, open(source, "rb") as src:
        shutil.copyfileobj(src, f, 1 << 20)
        f.flush()
        st = os.fstat(src.fileno())
        os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
        os.utime(f.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))


def _link(src: str, sfd: int | None, name: str, fd: int, rel: str,
          follow: bool = False) -> bool:
    try:
        os.link(src, name, src_dir_fd=sfd, dst_dir_fd=fd, follow_symlinks=follow)
        return True
    except FileExistsError:
        raise Occupied(rel) from None
    except OSError:
        return False  # another device, or no hard links here: copy instead


def move(out: Path, old: str, new: str) -> None:
    """Give OUT/old the name OUT/new without ever replacing anything there."""
    ohead, oname = split(old)
    nhead, nname = split(new)
    with folder(out, ohead) as ofd, folder(out, nhead, create=True) as nfd:
        _name(ofd, oname, nfd, nname, new, replace=False)
    prune(out, ohead)


def _exists(name: str, fd: int) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def remove(out: Path, rel: str) -> None:
    """Unlink OUT/rel (a file or link photokosh made), then the folders it leaves empty."""
    head, name = split(rel)
    try:
        with folder(out, head) as fd:
            _unlink_quietly(name, fd)
    except (FileNotFoundError, Occupied):
        return  # its folder is gone or no real folder: nothing of photokosh's is there
    prune(out, head)


def prune(out: Path, rel: str) -> None:
    """Remove the folder OUT/rel, then each folder above it, while they are empty."""
    parts = _parts(rel)
    while parts:
        try:
            with folder(out, "/".join(parts[:-1])) as fd:
                os.rmdir(parts[-1], dir_fd=fd)  # only an empty folder; never follows a link
        except (OSError, Occupied):
            return
        parts.pop()


def listdir(out: Path, rel: str) -> list[str]:
    """Names in the folder OUT/rel ([] if there is none)."""
    try:
        with folder(out, rel) as fd:
            return os.listdir(fd)
    except (FileNotFoundError, Occupied):
        return []  # none, or no real folder: nothing of photokosh's is there


def unlink_in(out: Path, rel: str, names) -> int:
    """Unlink these names (files or links, never followed) from the folder OUT/rel."""
    count = 0
    try:
        with folder(out, rel) as fd:
            for name in names:
                count += _unlink_quietly(name, fd)
    except (FileNotFoundError, Occupied):
        pass
    return count


def _unlink_quietly(name: str, fd: int) -> bool:
    try:
        os.unlink(name, dir_fd=fd)
        return True
    except OSError:
        return False
