"""Face thumbnails for the review page: small upright JPEG crops under OUT/.photokosh/thumbs.

They show faces, so they live with the other biometric data: owner-only files in an
owner-only folder. With blurred output they are cut from the blurred copies instead, so the
page never shows a face the user asked to hide.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from . import blur, images
from .errors import UnreadablePhoto
from .organize import BLURRED
from .state import make_private_dir, state_dir

THUMBS = "thumbs"
# dlib's boxes run from the brows to the chin: this much of the box's side is added on every
# side, so hair and chin are in the picture and the face sits in the middle.
MARGIN = 0.45
QUALITY = 82
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


def thumb_name(request: ThumbRequest, *, blurred: bool, size: int) -> str:
    """A name that changes whenever the picture would: other content, box, size or mode."""
    key = f"{request.hash}:{tuple(request.box)}:{size}:{int(blurred)}".encode()
    digest = hashlib.blake2b(key, digest_size=5).hexdigest()
    return f"{request.face_id}-{request.hash[:8]}-{digest}{'-b' if blurred else ''}.jpg"


def make_thumbnails(out: Path, source: Path, requests: list[ThumbRequest], *, blurred: bool,
                    size: int = 96, workers: int = 1) -> dict[int, str]:
    """Make (or reuse) a `size` x `size` thumbnail for every request.

    Returns face id -> thumbnail path relative to `out` (".photokosh/thumbs/<name>.jpg").
    A thumbnail already on disk under the same name is reused; thumbnails of faces no longer
    requested are removed. A photo that cannot be read (or, with `blurred`, whose blurred copy
    is missing) gets no thumbnail and no error: the page simply shows none.
    """
    out, source = Path(out), Path(source)
    make_private_dir(state_dir(out))
    folder = state_dir(out) / THUMBS
    make_private_dir(folder)
    prefix = f"{state_dir(out).name}/{THUMBS}/"
    names = {r.face_id: thumb_name(r, blurred=blurred, size=size) for r in requests}
    existing = {p.name for p in folder.iterdir() if p.is_file()}
    missing: dict[str, list[ThumbRequest]] = defaultdict(list)
    for r in requests:
        if names[r.face_id] not in existing:
            # Group by the file they are cut from, so each photo is decoded once.
            missing[r.photo].append(r)
    made: set[int] = {r.face_id for r in requests if names[r.face_id] in existing}

    def work(item: tuple[str, list[ThumbRequest]]) -> list[int]:
        photo, group = item
        path = out / BLURRED / blur.output_name(photo) if blurred else source / photo
        return _cut(path, group, folder, names, size)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        for done in pool.map(work, missing.items()):
            made.update(done)
    wanted = {names[i] for i in made}
    for name in existing - wanted:
        if name.endswith(".jpg") or ".tmp" in name:
            (folder / name).unlink(missing_ok=True)
    return {i: prefix + names[i] for i in sorted(made)}


def _cut(path: Path, group: list[ThumbRequest], folder: Path, names: dict[int, str],
         size: int) -> list[int]:
    try:
        image = images.open_image(images.read_bytes(path))
        width, height = images.displayed_size(image)
        # Decode only as finely as the smallest face needs (SHARPNESS), at whatever scale is
        # cheapest from there: a JPEG is then reduced in the DCT instead of decoded in full,
        # and the whole photo is never resized, only the crops.
        smallest = min(_side(r.box, width, height) for r in group)
        decoded = images.decode(image, SHARPNESS * size / smallest, exact=False)
    except UnreadablePhoto:
        return []
    image, scale = Image.fromarray(decoded.pixels), decoded.scale
    done = []
    for r in group:
        area = _square(r.box, width, height)
        crop = image.crop(tuple(round(v * scale) for v in area))
        crop = crop.resize((size, size), Image.Resampling.LANCZOS)
        try:
            _save(crop, folder / names[r.face_id])
        except OSError:
            continue
        done.append(r.face_id)
    return done


def _side(box, width: int, height: int) -> int:
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * (1 + 2 * MARGIN)
    return max(1, min(int(side), width, height))


def _square(box, width: int, height: int) -> tuple[int, int, int, int]:
    """A square around the face with a margin, moved (not padded) to stay inside the photo."""
    left, top, right, bottom = box
    side = _side(box, width, height)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0 = int(min(max(cx - side / 2, 0), width - side))
    y0 = int(min(max(cy - side / 2, 0), height - side))
    return x0, y0, x0 + side, y0 + side


def _save(image: Image.Image, dest: Path) -> None:
    """Write atomically with owner-only permissions: a reader never sees half a JPEG."""
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}-{id(image)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format="JPEG", quality=QUALITY, optimize=True)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
