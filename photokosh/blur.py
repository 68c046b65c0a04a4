"""Blurred copies: every detected face made unrecognisable, every piece of metadata dropped."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import images
from .faces import FACE_MARGIN, box_iou
from .layout import BLURRED
from .yunet import find_faces

# The face is reduced to this many blocks across before smoothing: no identity survives that.
BLOCKS = 6
# A blurred copy is searched for faces again (yunet.find_faces, at a lower score than sort's)
# and what is found is blurred too, this many times at most: a face the detector scored under
# its threshold, and blurred faces that still read as faces (docs/detector.md, "Blurring").
RECHECKS = 2
QUALITY = 90  # JPEG and WebP copies

_SAVE_AS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP", ".gif": "GIF"}


def blur_faces(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> Image.Image:
    """A copy of `image` with each box (plus FACE_MARGIN, half as much again above it for the
    forehead and hair) pixelated and smoothed."""
    out = image.copy()
    w, h = out.size
    for left, top, right, bottom in boxes:
        mx, my = (right - left) * FACE_MARGIN, (bottom - top) * FACE_MARGIN
        whole = (int(left - mx), int(top - my * 1.5), int(right + mx), int(bottom + my))
        area = (max(0, whole[0]), max(0, whole[1]), min(w, whole[2]), min(h, whole[3]))
        if area[2] <= area[0] or area[3] <= area[1]:
            continue
        region = out.crop(area)
        rw, rh = region.size
        blocks = (BLOCKS, max(1, round(BLOCKS * rh / rw)))
        small = region.resize(blocks, Image.Resampling.BOX)
        coarse = small.resize((rw, rh), Image.Resampling.NEAREST)
        smooth = coarse.filter(ImageFilter.GaussianBlur(max(rw, rh) / (BLOCKS * 2)))
        # the fade belongs to the whole margin: where the photo's border cuts it, no fade
        mask = _feathered(whole[2] - whole[0], whole[3] - whole[1]).crop(
            (area[0] - whole[0], area[1] - whole[1], area[2] - whole[0], area[3] - whole[1]))
        out.paste(smooth, area, mask)
    return out


def _feathered(width: int, height: int) -> Image.Image:
    """A mask that is opaque over the face and fades out in the outer part of the margin, so
    that overlapping faces of a group photo leave no seams."""
    fade = max(1, min(width, height) // 12)
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle((fade, fade, width - 1 - fade, height - 1 - fade), fill=255)
    return mask.filter(ImageFilter.GaussianBlur(fade / 2))


NAME_MAX = 255  # bytes in one file name, on nearly every file system


def output_name(rel: str) -> str:
    """Blurred copies keep the name when Pillow can write the format, else become JPEG
    (name.heic.jpg); a name too long for that is cut and told apart by a hash of it."""
    if Path(rel).suffix.lower() in _SAVE_AS:
        return rel
    head, slash, name = rel.rpartition("/")
    if len(_bytes(name + ".jpg")) > NAME_MAX:
        tag = "-" + hashlib.blake2b(_bytes(name), digest_size=4).hexdigest()
        while len(_bytes(name + tag + ".jpg")) > NAME_MAX:
            name = name[:-1]
        name += tag
    return f"{head}{slash}{name}.jpg"


def _bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def blurred_rel(rel: str) -> str:
    """Where the blurred copy of the photo `rel` lives, relative to OUT."""
    return f"{BLURRED}/{output_name(rel)}"


def write_blurred(data: bytes, boxes: list[tuple[int, int, int, int]], rel: str,
                  dest: BinaryIO) -> None:
    """Decode the photo upright, blur `boxes` and write it to `dest` without any metadata."""
    save_clean(blur_and_check(images.load_upright(data), boxes), rel, dest)


Box = tuple[int, int, int, int]


def blur_and_check(image: Image.Image, boxes: list[Box], keep: list[Box] = ()) -> Image.Image:
    """`image` with `boxes` blurred, then looked at again (RECHECKS) and what still reads
    as a face blurred too, except a face on one of the `keep` boxes (export --blur-others:
    the person shared keeps their face, even where a neighbour's blurred margin reaches it)."""
    original, blurred = image, list(boxes)
    image = _restore(blur_faces(image, boxes), original, keep, blurred)
    for _ in range(RECHECKS):
        left = [b for b in find_faces(np.asarray(image.convert("RGB")))
                if not any(_same_face(b, k) for k in keep)]
        if not left:
            break
        blurred += left
        image = _restore(blur_faces(image, left), original, keep, blurred)
    return image


def _restore(image: Image.Image, original: Image.Image, keep: list[Box],
             blurred: list[Box]) -> Image.Image:
    """`image` with the `keep` boxes as in `original`, but for any part of them that is a
    blurred face's own box (faces that overlap stay hidden)."""
    if not keep:
        return image
    mask = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(mask)
    for box in keep:
        draw.rectangle(box, fill=255)
    for box in blurred:
        draw.rectangle(tuple(int(v) for v in box), fill=0)
    image.paste(original, (0, 0), mask)
    return image


def _same_face(found, kept: Box) -> bool:
    # the second look's box (YuNet's) and the stored one differ a little for the same face
    cx, cy = (found[0] + found[2]) / 2, (found[1] + found[3]) / 2
    return kept[0] <= cx <= kept[2] and kept[1] <= cy <= kept[3] or box_iou(found, kept) >= 0.3


def save_clean(image: Image.Image, rel: str, dest: BinaryIO, exif: bytes | None = None,
               icc: bytes | None = None, quality: int = QUALITY) -> None:
    """Write `image` in the format `rel` names (JPEG when Pillow cannot write it) to `dest`
    with no metadata but the `exif` and `icc` profile given."""
    fmt = _SAVE_AS.get(Path(rel).suffix.lower(), "JPEG")
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    options.update({k: v for k, v in (("exif", exif), ("icc_profile", icc)) if v})
    # A fresh image from pixels carries no EXIF, GPS, XMP or ICC data to leak.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    clean.save(dest, format=fmt, **options)
