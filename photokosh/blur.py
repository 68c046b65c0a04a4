"""Blurred copies: every detected face made unrecognisable, every piece of metadata dropped."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFilter

from . import images

# dlib's boxes run from the brows to the chin: widen them so hair, ears and forehead go too.
MARGIN = 0.4
# The face is reduced to this many blocks across before smoothing: no identity survives that.
BLOCKS = 6

_SAVE_AS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP", ".gif": "GIF"}


def blur_faces(image: Image.Image, boxes: list[tuple[int, int, int, int]]) -> Image.Image:
    """A copy of `image` with each box (plus a margin) pixelated and smoothed."""
    out = image.copy()
    w, h = out.size
    for left, top, right, bottom in boxes:
        mx, my = (right - left) * MARGIN, (bottom - top) * MARGIN
        area = (max(0, int(left - mx)), max(0, int(top - my * 1.5)),
                min(w, int(right + mx)), min(h, int(bottom + my)))
        if area[2] <= area[0] or area[3] <= area[1]:
            continue
        region = out.crop(area)
        rw, rh = region.size
        blocks = (BLOCKS, max(1, round(BLOCKS * rh / rw)))
        small = region.resize(blocks, Image.Resampling.BOX)
        coarse = small.resize((rw, rh), Image.Resampling.NEAREST)
        out.paste(coarse.filter(ImageFilter.GaussianBlur(max(rw, rh) / (BLOCKS * 2))), area)
    return out


def output_name(rel: str) -> str:
    """Blurred copies keep the name when Pillow can write the format, else become JPEG."""
    return rel if Path(rel).suffix.lower() in _SAVE_AS else rel + ".jpg"


def write_blurred(data: bytes, boxes: list[tuple[int, int, int, int]], rel: str,
                  dest: Path) -> None:
    """Decode the photo upright, blur `boxes` and write it to `dest` without any metadata."""
    image = blur_faces(images.load_upright(data), boxes)
    fmt = _SAVE_AS.get(Path(rel).suffix.lower(), "JPEG")
    options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    # A fresh image from pixels carries no EXIF, GPS, XMP or ICC data to leak.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    clean.save(dest, format=fmt, **options)
