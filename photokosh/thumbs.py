"""Face thumbnails for the review page: small upright JPEG crops under OUT/.photokosh/thumbs.

They show faces, so they live with the other biometric data: owner-only files in an
owner-only folder. With blurred output they are cut from the blurred copies instead, so the
page never shows a face the user asked to hide.
"""

from __future__ import annotations

import hashlib
import io
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import blur, fsutil, images
from .errors import UnreadablePhoto
from .faces import FACE_MARGIN
from .fsutil import write_atomically
from .layout import THUMBS_PATH

SIZE = 96  # px, square
QUALITY = 82  # JPEG
# A thumbnail is cut from at least this share of its own size in decoded pixels: at 0.9 the
# smallest face of a 12 MP photo comes from the DCT's half-size decode, 4x cheaper than the
# full one, and is enlarged by at most 11%, which a 96 px thumbnail does not show.
SHARPNESS = 0.9


@dataclass(frozen=True)
class ThumbRequest:
    face_id: int
    photo: str  # relative path under the source
    box: tuple[int, int, int, int]  # left, top, right, bottom in displayed-orientation pixels
    hash: str  # content hash of the photo


def thumb_name(hash_: str, box, *, blurred: bool, size: int = SIZE) -> str:
    """A name that changes whenever the picture would: other content, box, size or mode.
    Face ids are not part of it, so a thumbnail cut while the photo was analysed (see
    save_cached) is found again by the page."""
    key = f"{hash_}:{tuple(box)}:{size}:{int(blurred)}".encode()
    digest = hashlib.blake2b(key, digest_size=6).hexdigest()
    return f"{hash_[:16]}-{digest}{'-b' if blurred else ''}.jpg"


def save_cached(out: Path, hash_: str, box, data: bytes) -> None:
    """Keep a thumbnail (of the original photo, not blurred) that the analysis cut from the
    image it had decoded anyway: the page then need not decode that photo again."""
    fsutil.private_folder(out, THUMBS_PATH)  # refuses a link there
    rel = f"{THUMBS_PATH}/{thumb_name(hash_, box, blurred=False)}"
    if fsutil.entry(out, rel) is None:
        write_atomically(out, rel, data, private=True)


def forget(out: Path, faces) -> None:
    """Remove the thumbnails of erased faces, given as (hash, box), in every mode."""
    fsutil.unlink_in(out, THUMBS_PATH, [thumb_name(hash_, box, blurred=blurred)
                                        for hash_, box in faces for blurred in (False, True)])


def make_thumbnails(out: Path, source: Path, requests: list[ThumbRequest], *, blurred: bool,
                    size: int = SIZE, workers: int = 1, keep=()) -> dict[int, str]:
    """Make (or reuse) a `size` x `size` thumbnail for every request.

    Returns face id -> thumbnail path relative to `out` (".photokosh/thumbs/<name>.jpg").
    A thumbnail already on disk under the same name is reused. Thumbnails neither requested
    nor in `keep` ((hash, box) of faces whose cached thumbnail stays for later pages) are
    removed. A photo that cannot be read (or, with `blurred`, whose blurred copy is missing)
    gets no thumbnail and no error: the page simply shows none.
    """
    out, source = Path(out), Path(source)
    fsutil.private_folder(out, THUMBS_PATH)
    prefix = f"{THUMBS_PATH}/"
    names = {r.face_id: thumb_name(r.hash, r.box, blurred=blurred, size=size)
             for r in requests}
    existing = set(fsutil.listdir(out, THUMBS_PATH))
    missing: dict[str, list[ThumbRequest]] = defaultdict(list)
    for r in requests:
        if names[r.face_id] not in existing:
            # Group by the file they are cut from, so each photo is decoded once.
            missing[r.photo].append(r)
    made: set[int] = {r.face_id for r in requests if names[r.face_id] in existing}

    def work(item: tuple[str, list[ThumbRequest]]) -> list[int]:
        photo, group = item
        return _cut(read_in_out(out, blur.blurred_rel(photo)) if blurred else source / photo,
                    group, out, names, size)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for done in pool.map(work, missing.items()):
            made.update(done)
    wanted = {names[i] for i in made} | {thumb_name(h, b, blurred=False) for h, b in keep}
    fsutil.unlink_in(out, THUMBS_PATH, [  # .tmp: an earlier version wrote them here
        name for name in existing - wanted if name.endswith(".jpg") or ".tmp" in name])
    return {i: prefix + names[i] for i in sorted(made)}


def thumb_side(box, width: int, height: int) -> int:
    """Side, in displayed full-size pixels, of the square a face's thumbnail shows: the box
    and FACE_MARGIN of it on every side, so the face sits in the middle with hair and chin."""
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * (1 + 2 * FACE_MARGIN)
    return max(1, min(int(side), width, height))


def face_thumbnail(image: Image.Image, scale: float, box, width: int, height: int,
                   size: int = SIZE) -> bytes:
    """A `size` x `size` JPEG of the face at `box` (displayed full-size pixels of a photo of
    `width` x `height`), cut from `image`, that photo decoded upright at `scale`. The square
    around the face is moved, not padded, to stay inside the photo."""
    left, top, right, bottom = box
    side = thumb_side(box, width, height)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0 = int(min(max(cx - side / 2, 0), width - side))
    y0 = int(min(max(cy - side / 2, 0), height - side))
    area = (x0, y0, x0 + side, y0 + side)
    crop = image.crop(tuple(round(v * scale) for v in area))
    crop = crop.resize((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    crop.save(out, format="JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def face_crop(out: Path, source: Path, photo: str, box, *, blurred: bool,
              size: int = SIZE) -> bytes | None:
    """One face's thumbnail made in memory and never written (`photokosh review` shows faces
    the page has no thumbnail for): cut from PHOTOS/photo, or with `blurred` from its blurred
    copy in OUT. None when that file cannot be read."""
    data = read_in_out(out, blur.blurred_rel(photo)) if blurred else None
    try:
        data = data if blurred else images.read_bytes(Path(source) / photo)
        if data is None:
            return None
        image = images.open_image(data)
        width, height = images.displayed_size(image)
        decoded = images.decode(image, SHARPNESS * size / thumb_side(box, width, height),
                                exact=False)
    except UnreadablePhoto:
        return None
    return face_thumbnail(Image.fromarray(decoded.pixels), decoded.scale, box, width, height,
                          size)


def read_in_out(out: Path, rel: str) -> bytes | None:
    """A file's bytes in OUT (a thumbnail, a blurred copy), read without following a link
    (None: not there)."""
    head, name = fsutil.split(rel)
    try:
        with fsutil.folder(out, head) as fd:
            return images.read_bytes(name, dir_fd=fd)
    except (OSError, fsutil.Occupied, UnreadablePhoto):
        return None


def _cut(photo: Path | bytes | None, group: list[ThumbRequest], out: Path,
         names: dict[int, str], size: int) -> list[int]:
    """Cut the group's thumbnails from `photo`: a path in PHOTOS, or the bytes of a blurred
    copy (None when there is none)."""
    if photo is None:
        return []
    try:
        data = photo if isinstance(photo, bytes) else images.read_bytes(photo)
        image = images.open_image(data)
        width, height = images.displayed_size(image)
        # Decode only as finely as the smallest face needs (SHARPNESS), at whatever scale is
        # cheapest from there: a JPEG is then reduced in the DCT instead of decoded in full,
        # and the whole photo is never resized, only the crops.
        smallest = min(thumb_side(r.box, width, height) for r in group)
        decoded = images.decode(image, SHARPNESS * size / smallest, exact=False)
    except UnreadablePhoto:
        return []
    image = Image.fromarray(decoded.pixels)
    done = []
    for r in group:
        data = face_thumbnail(image, decoded.scale, r.box, width, height, size)
        try:
            write_atomically(out, f"{THUMBS_PATH}/{names[r.face_id]}", data, private=True)
        except OSError:
            continue
        done.append(r.face_id)
    return done
