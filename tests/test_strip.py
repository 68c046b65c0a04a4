"""strip_jpeg: a JPEG's metadata dropped, its compressed image copied as it is."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from photokosh.strip import strip_jpeg

# the MPF segment below announces images it does not describe: Pillow says so on opening
pytestmark = pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO")

GPS = 0x8825
XMP = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>Alice at home</x:xmpmeta>"


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def phone_jpeg(progressive: bool = False) -> bytes:
    """A JPEG as phones write them: EXIF with GPS, XMP, an ICC profile, a comment, an MPF
    segment and a second image (a preview) after the first one's end."""
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS).update({1: "N", 2: (48.0, 51.0, 29.0)})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"Alice's phone",
               progressive=progressive, quality=90)
    data = buffer.getvalue()
    extra = segment(0xE1, XMP) + segment(0xE2, b"MPF\x00" + b"\x00" * 16)
    preview = io.BytesIO()
    image.resize((16, 12)).save(preview, "JPEG", exif=exif.tobytes())
    return data[:2] + extra + data[2:] + preview.getvalue()


@pytest.mark.parametrize("progressive", [False, True])
def test_metadata_goes_the_image_stays_byte_for_byte(progressive):
    data = phone_jpeg(progressive)
    stripped = strip_jpeg(data)
    assert stripped is not None
    sos = data.index(b"\xff\xda")
    assert stripped.endswith(data[sos:data.index(b"\xff\xd9", sos) + 2])
    for secret in (b"PhoneMaker", b"Alice", b"MPF", b"Exif"):
        assert secret not in stripped
    assert stripped.count(b"\xff\xd8") == 1  # the preview appended after the image is gone
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(stripped)) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))
        assert not b.getexif() and "xmp" not in b.info and "comment" not in b.info
        assert b.info["icc_profile"] == a.info["icc_profile"]  # how to show the colours


def test_exif_given_is_the_only_exif():
    kept = Image.Exif()
    kept[0x0112] = 6
    with Image.open(io.BytesIO(strip_jpeg(phone_jpeg(), kept.tobytes()))) as image:
        assert dict(image.getexif()) == {0x0112: 6}


def test_a_jfif_thumbnail_is_cut():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, "JPEG")
    data = buffer.getvalue()
    assert data[2:4] == b"\xff\xe0"
    length = int.from_bytes(data[4:6], "big")
    jfif = data[6:6 + length - 2]
    thumbnail = jfif[:12] + b"\x02\x01" + b"\x01\x02\x03\x04\x05\x06"  # 2 x 1 RGB pixels
    data = data[:2] + segment(0xE0, thumbnail) + data[6 + length - 2:]
    stripped = strip_jpeg(data)
    assert stripped[2:4] == b"\xff\xe0" and int.from_bytes(stripped[4:6], "big") == 16
    assert b"\x01\x02\x03\x04\x05\x06" not in stripped[:40]


@pytest.mark.parametrize("broken", ["png", "truncated", "bad length", "no scan"])
def test_what_cannot_be_walked_safely_is_left_to_re_encoding(broken):
    data = phone_jpeg()
    if broken == "png":
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, "PNG")
        data = buffer.getvalue()
    elif broken == "truncated":
        data = data[:data.index(b"\xff\xda") + 40]
    elif broken == "bad length":
        data = data[:2] + b"\xff\xe1\xff\xff" + data[2:]
    else:
        data = data[:data.index(b"\xff\xda")]
    assert strip_jpeg(data) is None
