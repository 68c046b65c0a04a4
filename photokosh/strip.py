"""A JPEG's metadata dropped without re-encoding it: the compressed image is copied as it is,
segment by segment, keeping only what a decoder needs (and the colour profile), so an exported
photo loses no quality and no byte of EXIF, GPS, XMP, IPTC or maker data."""

from __future__ import annotations

import io
import warnings

from PIL import Image

SOI, EOI, SOS, COM = b"\xff\xd8", b"\xff\xd9", 0xDA, 0xFE
APP1 = 0xE1
# Application segments kept, by marker and how their payload starts: JFIF (density; its
# thumbnail is cut), the ICC profile (how to show the pixels) and Adobe's (which colour
# transform decodes the pixels). Every other APPn (EXIF and XMP in APP1, MPF's appended
# images in APP2, IPTC in APP13, makers' own) goes, as do comments.
KEPT_APP = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
JFIF_HEADER = 12  # "JFIF\0", version, units, densities: then the thumbnail's size and pixels


def strip_jpeg(data: bytes, exif: bytes | None = None) -> bytes | None:
    """`data` (a JPEG) with only the segments decoding needs, its ICC profile and, if given,
    `exif` (an APP1 payload, as Image.Exif.tobytes() makes it), cut after its first image
    (phones append more: previews, depth maps). None when it is not a JPEG this can walk
    safely, or the result does not decode to the same size: re-encode it instead."""
    if not data.startswith(SOI):
        return None
    parts = [SOI] + ([_segment(APP1, exif)] if exif else [])
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if length < 2 or i + 2 + length > len(data):
            return None
        payload = data[i + 4:i + 2 + length]
        if marker == SOS:  # the image itself, up to the first end-of-image
            end = data.find(EOI, i + 2 + length)
            if end < 0:
                return None
            return _checked(data, b"".join(parts) + data[i:end + 2])
        if marker == 0xE0 and payload.startswith(KEPT_APP[0xE0]):
            parts.append(_segment(marker, payload[:JFIF_HEADER] + b"\x00\x00"))
        elif marker in KEPT_APP and payload.startswith(KEPT_APP[marker]):
            parts.append(data[i:i + 2 + length])
        elif not (0xE0 <= marker <= 0xEF or marker == COM):
            parts.append(data[i:i + 2 + length])  # tables, frame header, restart interval
        i += 2 + length
    return None


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _checked(original: bytes, stripped: bytes) -> bytes | None:
    try:
        with warnings.catch_warnings():  # a malformed file's warnings: images.py's way
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(stripped)) as b:
                b.load()
                return stripped if a.size == b.size and a.mode == b.mode else None
    except Exception:  # what cannot be walked safely is re-encoded
        return None
