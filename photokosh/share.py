"""Sharing a person's photos (`export`): every photo of the person, as a flat folder or one zip
outside OUT, with readable names, no metadata unless asked and, if asked, other faces blurred.

DEST is the one place outside OUT photokosh writes, and only at the user's explicit request: it
may not lie in PHOTOS or OUT (links resolved), a non-empty DEST needs `force`, and `force`
replaces only files of the names this export writes, never removing another. Each file is
written in full under a temporary name beside it and then named in one step (DEST may be another
file system than OUT's tmp), so a kill leaves at most a `.photokosh-export-*.tmp`, which the
next export to that DEST removes.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from . import blur as blurring
from . import images
from .catalog import Catalog, PhotoEntry, looking
from .errors import PhotokoshError, UnreadablePhoto, io_failures
from .people import resolve_person
from .places import check_export
from .strip import strip_jpeg

BLUR = ("none", "others", "all")  # whose faces an export blurs: nobody's, all but PERSON's, all
TMP_PREFIX, TMP_SUFFIX = ".photokosh-export-", ".tmp"
QUALITY = 95  # an unblurred copy that has to be re-encoded (HEIC, WebP): no visible loss
_NO_LINKS = (errno.EPERM, errno.EXDEV, errno.EOPNOTSUPP, errno.EMLINK)  # FAT, exFAT sticks
DATE_TAGS = (0x9003, 0x9011)  # DateTimeOriginal, OffsetTimeOriginal (in the Exif IFD)
EXIF_IFD, ORIENTATION = 0x8769, 0x0112
JPEG = (".jpg", ".jpeg", ".jpe")


@dataclass
class Exported:
    """What an export wrote: `files` as {"photo": path in PHOTOS, "file": name in DEST}."""

    dest: Path
    people: list[str]
    zip: bool
    names: dict[str, str | None] = field(default_factory=dict)  # of `people`, if named
    files: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (photo, reason)


def export_person(out: Path, person: str, dest: Path, **options) -> Exported:
    """Every photo of `person` (an id or a name) in OUT, written to `dest` (see
    export_people for the options)."""
    with io_failures(out), looking(out) as (state, catalog):
        pid = resolve_person(state, person)
    return export_people(catalog, [pid], dest, **options)


def export_people(catalog: Catalog, people: list[str], dest: Path, *, as_zip: bool = False,
                  blur: str = "none", force: bool = False, keep_date: bool = False,
                  progress: Callable[[str, int, int], None] | None = None) -> Exported:
    """Every photo of any of `people` (ids) with no metadata but, with `keep_date`, the
    capture date (and the ICC colour profile, which only says how to show the pixels): a
    JPEG as it is (strip.py), else written anew upright from its pixels; `blur` as in BLUR.
    Photos changed in PHOTOS since the last sort, or gone, are skipped with a reason."""
    if blur not in BLUR:
        raise ValueError(f"blur must be one of {BLUR}, not {blur!r}")
    rels = sorted({rel for p in catalog.people if p.id in people for rel in p.photos})
    missing = sorted(set(people) - {p.id for p in catalog.people})
    if missing:
        raise PhotokoshError(f"{', '.join(missing)} has no photos in OUT (hidden, or fewer "
                             "than --min-photos): nothing exported")
    photos = {p.rel: p for p in catalog.photos}
    names = file_names(rels)
    with dest_failures(Path(dest)):
        dest = check_dest(Path(dest), catalog, as_zip, force)
        result = Exported(dest, sorted(people), as_zip,
                          {p.id: p.name for p in catalog.people if p.id in people})
        with ZipWriter(dest, force) if as_zip else FolderWriter(dest, force) as writer:
            for done, rel in enumerate(rels, 1):
                try:
                    data = shared_copy(catalog.source, photos[rel], set(people), blur,
                                       keep_date, names[rel])
                    writer.add(names[rel], data)
                    result.files.append({"photo": rel, "file": names[rel]})
                except UnreadablePhoto as exc:
                    result.skipped.append((rel, exc.reason))
                if progress:
                    progress("export", done, len(rels))
            if not result.files:  # no empty zip, no empty folder left behind
                rel, reason = result.skipped[0]
                raise PhotokoshError(f"none of the {len(rels)} photo(s) could be exported "
                                     f"({rel}: {reason}); nothing written")
    return result


@contextmanager
def dest_failures(dest: Path) -> Iterator[None]:
    """An OSError writing DEST as a message that names it, never a traceback."""
    try:
        yield
    except OSError as exc:
        where = f": {exc.filename}" if isinstance(exc.filename, str) else ""
        raise PhotokoshError(f"could not write {dest} ({exc.strerror or exc}{where}): fix "
                             "that or choose another DEST; the files written are whole"
                             ) from exc


def shared_copy(source: Path, photo: PhotoEntry, people: set[str], blur: str,
                keep_date: bool, name: str) -> bytes:
    """The bytes of the copy of `photo` handed over; UnreadablePhoto if it cannot be."""
    data = images.read_bytes(source / photo.rel)
    if images.content_hash(data) != photo.hash:  # its faces' boxes are of the old content
        raise UnreadablePhoto("changed in PHOTOS since OUT was last sorted: run `photokosh "
                              "sort` first, then export again")
    original = images.open_image(data)
    # MPO: a JPEG with more images after it (cameras' previews), which strip_jpeg cuts off
    lossless = original.format in ("JPEG", "MPO") and Path(name).suffix.lower() in JPEG
    if blur == "none" and lossless:
        # as it is, without a byte of metadata: no quality lost; upright by its tag
        stripped = strip_jpeg(data, kept_exif(original, keep_date, orientation=True))
        if stripped is not None:
            return stripped
    exif = kept_exif(original, keep_date)  # before decode() applies the orientation
    icc = original.info.get("icc_profile")
    image = Image.fromarray(images.decode(original).pixels)
    if blur != "none":
        kept = [blur == "others" and f.shown and f.person in people for f in photo.faces]
        image = blurring.blur_and_check(
            image, [f.box for f, k in zip(photo.faces, kept, strict=True) if not k],
            [f.box for f, k in zip(photo.faces, kept, strict=True) if k])
    buffer = io.BytesIO()
    blurring.save_clean(image, name, buffer, exif=exif, icc=icc,
                        quality=QUALITY if blur == "none" else blurring.QUALITY)
    return buffer.getvalue()


def kept_exif(image: Image.Image, date: bool, orientation: bool = False) -> bytes | None:
    """An EXIF block holding only what is kept of `image`'s: with `date` its capture date,
    with `orientation` its orientation (None when that leaves nothing)."""
    kept = Image.Exif()
    try:
        found = image.getexif()
        if orientation and found.get(ORIENTATION, 1) != 1:
            kept[ORIENTATION] = found[ORIENTATION]
        for tag in DATE_TAGS if date else ():
            if found.get_ifd(EXIF_IFD).get(tag):
                kept.get_ifd(EXIF_IFD)[tag] = found.get_ifd(EXIF_IFD)[tag]
    except Exception:  # a damaged EXIF block: nothing in it to keep
        return None
    return kept.tobytes() if dict(kept) or kept.get_ifd(EXIF_IFD) else None


def check_dest(dest: Path, catalog: Catalog, as_zip: bool, force: bool) -> Path:
    """DEST with its links resolved, once it is known to be a place an export may write."""
    check_export(dest, catalog.source, catalog.output)
    real = dest.resolve()
    if as_zip:
        if real.is_dir():
            raise PhotokoshError(f"{dest} is a folder: give the zip file's name (or leave "
                                 "out --zip)")
        if real.exists() and not force:
            raise PhotokoshError(f"{dest} exists: add --force to replace it")
        return real
    if real.exists() and not real.is_dir():
        raise PhotokoshError(f"{dest} is not a folder: give a folder (or add --zip)")
    if real.is_dir() and not force and any(not _ours(n) for n in os.listdir(real)):
        raise PhotokoshError(f"{dest} is not empty: add --force to write into it (it replaces "
                             "files of the names this export writes, and removes nothing)")
    return real


def file_names(rels: list[str]) -> dict[str, str]:
    """A readable name for each photo: its file name (name.heic.jpg for a format Pillow
    cannot write), name-2.jpg, name-3.jpg for later ones of the same name (in path order;
    case apart, for the file systems that ignore it)."""
    names, used = {}, set()
    for rel in rels:
        base = blurring.output_name(rel.rpartition("/")[2])
        base = base.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        stem, dot, ext = base.rpartition(".")
        stem, ext = (stem, dot + ext) if stem else (base, "")
        name, n = base, 2
        while name.casefold() in used:
            name, n = f"{stem}-{n}{ext}", n + 1
        used.add(name.casefold())
        names[rel] = name
    return names


def _ours(name: str) -> bool:
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


class _Writer:
    """Files made under a temporary name in `folder` and then given their own."""

    def __init__(self, folder: Path, force: bool):
        self.folder, self.force = folder, force

    def open_folder(self, leftovers: str) -> None:
        self.made = not self.folder.exists()  # removed again if nothing is exported
        os.makedirs(self.folder, exist_ok=True)
        # its links are resolved: one there now was put there since the check
        self.fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                          | os.O_CLOEXEC)
        for name in os.listdir(self.fd):  # what a killed export left
            if name.startswith(leftovers) and _ours(name):
                os.unlink(name, dir_fd=self.fd)

    def temporary(self, tag: str = "") -> tuple[str, int]:
        tmp = f"{TMP_PREFIX}{tag}{uuid.uuid4().hex}{TMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        return tmp, os.open(tmp, flags, 0o666, dir_fd=self.fd)  # the user's file: umask's mode

    def publish(self, tmp: str, name: str) -> None:
        """Give `tmp` the name `name`: over a file of that name only with force."""
        fd = self.fd
        if self.force:
            try:
                is_dir = stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
            except FileNotFoundError:
                is_dir = False
            if is_dir:
                raise PhotokoshError(f"{self.folder / name} is a folder: export replaces "
                                     "files only; move it away")
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            return
        try:
            os.link(tmp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
        except FileExistsError:
            raise PhotokoshError(f"{self.folder / name} appeared during the export: add "
                                 "--force to replace it") from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if os.path.lexists(self.folder / name):
                raise PhotokoshError(f"{self.folder / name} exists: add --force") from None
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
            return
        os.unlink(tmp, dir_fd=fd)

    def discard(self, tmp: str) -> None:
        try:
            os.unlink(tmp, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def __exit__(self, kind, exc, tb) -> None:
        os.close(self.fd)
        if kind is not None and self.made:
            try:
                os.rmdir(self.folder)  # only if empty: what was written stays
            except OSError:
                pass


class FolderWriter(_Writer):
    """A flat folder: each photo is complete before it has its name."""

    def __enter__(self) -> FolderWriter:
        self.open_folder(TMP_PREFIX)
        return self

    def add(self, name: str, data: bytes) -> None:
        tmp, fd = self.temporary()
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self.publish(tmp, name)
        except BaseException:
            self.discard(tmp)
            raise


class ZipWriter(_Writer):
    """One zip file, named when its last photo is in."""

    def __init__(self, dest: Path, force: bool):
        super().__init__(dest.parent, force)
        self.name = dest.name

    def __enter__(self) -> ZipWriter:
        self.open_folder(TMP_PREFIX + self.name + "-")
        self.tmp, fd = self.temporary(self.name + "-")
        self.file = os.fdopen(fd, "wb")
        # photos are compressed already: stored, not deflated
        self.zip = zipfile.ZipFile(self.file, "w", zipfile.ZIP_STORED)
        return self

    def add(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, time.localtime()[:6])
        info.external_attr = 0o644 << 16  # unzipped files readable as copied ones are
        self.zip.writestr(info, data)

    def __exit__(self, kind, exc, tb) -> None:
        try:
            self.zip.close()
            self.file.close()
            if kind is None:
                self.publish(self.tmp, self.name)
        except BaseException:
            self.discard(self.tmp)
            raise
        else:
            if kind is not None:
                self.discard(self.tmp)
        finally:
            super().__exit__(kind, exc, tb)
