"""Stage 2: read a photo's bytes and decode it, upright, at the resolution detection needs.

Every way a file can be unusable becomes an `UnreadablePhoto` with a reason a person
understands; nothing here lets a bad file stop the run or exhaust memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import EMPTY, NO_PERMISSION, NOT_REGULAR, VANISHED, UnreadablePhoto

try:  # HEIC/HEIF from phones
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency, but stay usable without
    pillow_heif = None

MAX_FILE_BYTES = 512 * 1024 * 1024
# Declared size above which a file is treated as a decompression bomb, whatever its format.
MAX_DECLARED_PIXELS = 1_000_000_000
# Most pixels ever decoded at once (about 150 MB as RGB). JPEGs above it are decoded at a
# reduced scale in the DCT (draft mode); other formats above it are skipped.
MAX_DECODED_PIXELS = 50_000_000
_DRAFT_FORMATS = {"JPEG"}


@dataclass
class Decoded:
    """A photo ready for detection: RGB pixels in displayed orientation."""

    pixels: np.ndarray  # H x W x 3 uint8, possibly reduced
    width: int  # displayed width of the full-size photo
    height: int
    scale: float  # pixels' width / width
    image: Image.Image | None = None  # the same pixels as a Pillow image, when at hand


def read_bytes(path: str | os.PathLike, dir_fd: int | None = None) -> bytes:
    """Read a whole file, refusing anything that is not a regular file of sane size.

    O_NONBLOCK keeps a FIFO that replaced the file after the scan from hanging the run.
    With `dir_fd` (a folder of OUT), `path` is a name in it and a link there is not followed.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | (os.O_NOFOLLOW if dir_fd is not None else 0)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except FileNotFoundError as exc:
        raise UnreadablePhoto(VANISHED) from exc
    except PermissionError as exc:
        raise UnreadablePhoto(NO_PERMISSION) from exc
    except OSError as exc:
        raise UnreadablePhoto(f"cannot be opened: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadablePhoto(NOT_REGULAR)
        if st.st_size == 0:
            raise UnreadablePhoto(EMPTY)
        if st.st_size > MAX_FILE_BYTES:
            raise UnreadablePhoto(
                f"file is {st.st_size / 2**20:.0f} MB, more than photokosh reads "
                f"({MAX_FILE_BYTES // 2**20} MB); shrink it to process it"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as exc:
        raise UnreadablePhoto(f"read error: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def open_image(data: bytes) -> Image.Image:
    """Parse the header and check the declared size before any pixel is decoded."""
    limit = Image.MAX_IMAGE_PIXELS
    try:
        # Our own limits below replace Pillow's so that huge JPEGs can still be drafted down.
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        raise UnreadablePhoto(
            "not an image photokosh can read (a wrong extension, or damaged beyond repair); "
            "rename or move it"
        ) from exc
    except Exception as exc:  # Pillow raises many types for malformed headers
        raise UnreadablePhoto(f"damaged image header ({exc}); copy it again from a good "
                              "source") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    w, h = image.size
    if w <= 0 or h <= 0:
        raise UnreadablePhoto("image declares no pixels")
    if w * h > MAX_DECLARED_PIXELS or (
        w * h > MAX_DECODED_PIXELS * 64 or (
            w * h > MAX_DECODED_PIXELS and image.format not in _DRAFT_FORMATS)
    ):
        raise UnreadablePhoto(
            f"image declares {w}x{h} pixels ({w * h / 1e6:.0f} MP), more than photokosh "
            f"decodes ({MAX_DECODED_PIXELS / 1e6:.0f} MP for {image.format or 'this format'}); "
            "a decompression bomb, or a huge image: shrink it to process it"
        )
    return image


def displayed_size(image: Image.Image) -> tuple[int, int]:
    """Size after the EXIF orientation is applied."""
    w, h = image.size
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:
        orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def decode(image: Image.Image, scale: float = 1.0, exact: bool = True) -> Decoded:
    """Decode `image` upright at about `scale` of its displayed size (never above 1), or, if
    not `exact`, at whatever scale >= `scale` is cheapest.

    JPEGs are reduced in the DCT (draft mode: 1/2, 1/4, 1/8), which is several times cheaper
    than a full decode followed by a resize.
    """
    width, height = displayed_size(image)
    budget = (MAX_DECODED_PIXELS / (width * height)) ** 0.5
    scale = min(scale, 1.0, budget)
    try:
        if image.format in _DRAFT_FORMATS and scale < 1.0:
            draft = _draft_scale(scale, budget)
            image.draft("RGB", (max(1, round(image.size[0] * draft)),
                                max(1, round(image.size[1] * draft))))
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # no copy of a big image
        rgb = to_rgb(image)
        want = (max(1, round(width * scale)), max(1, round(height * scale)))
        if rgb.size[0] > want[0] * (1.05 if exact else 2.0):
            rgb = rgb.resize(want, Image.Resampling.BILINEAR, reducing_gap=2.0)
    except MemoryError as exc:
        raise UnreadablePhoto("not enough memory to decode this image") from exc
    except Exception as exc:  # Pillow's decoders raise many types on damaged data
        raise UnreadablePhoto(_decode_reason(exc)) from exc
    pixels = np.asarray(rgb)
    return Decoded(pixels, width, height, pixels.shape[1] / width, rgb)


def _draft_scale(wanted: float, budget: float) -> float:
    """The DCT scale (1, 1/2, 1/4, 1/8) draft mode should decode at: the smallest one that
    still gives `wanted`, unless that one holds more pixels than the budget allows."""
    scales = [1.0, 0.5, 0.25, 0.125]
    fits = [s for s in scales if s >= wanted * 0.999] or [1.0]
    choice = fits[-1]
    if choice > budget:
        choice = max([s for s in scales if s <= budget] or [0.125])
    return choice


def load_upright(data: bytes, max_side: int | None = None) -> Image.Image:
    """The photo as displayed, RGB, optionally shrunk to fit `max_side` (for copies and thumbs)."""
    image = open_image(data)
    w, h = displayed_size(image)
    scale = 1.0 if not max_side else min(1.0, max_side / max(w, h))
    return Image.fromarray(decode(image, scale).pixels)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any mode to 8-bit RGB: 16-bit samples are scaled (not clipped), alpha laid on white."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image, dtype=np.uint32 if mode == "I" else np.uint16)
        shift = 8 if arr.max(initial=0) > 255 else 0
        return Image.fromarray((arr >> shift).astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(image, dtype=np.float32)
        top = float(arr.max(initial=0)) or 1.0
        return Image.fromarray((arr / top * 255).clip(0, 255).astype(np.uint8)).convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image if mode == "RGB" else image.convert("RGB")


def _decode_reason(exc: Exception) -> str:
    text = str(exc)
    if "truncated" in text:
        return "truncated file (the end is missing): probably an interrupted copy; copy it again"
    return f"damaged image data ({text}); copy it again from a good source"
