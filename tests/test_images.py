"""The loader on every format and orientation a library holds (fake model: a face is a
coloured square), and on files it must refuse with a reason."""

import io
import struct
import zlib

import numpy as np
import pytest
from fakes import PALETTE, FakeEmbedder
from PIL import Image

from photokosh.analyze import analyze_file
from photokosh.images import decode, open_image, read_bytes
from photokosh.scan import Candidate

BOX = (60, 30, 120, 90)  # where the face is, as displayed


def displayed(size=(200, 140), mode="RGB") -> Image.Image:
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste(PALETTE[0], BOX)
    return image if mode == "RGB" else image.convert(mode)


def run(path):
    stat = path.stat()
    return analyze_file(Candidate(path.name, path, stat.st_size, stat.st_mtime_ns), FakeEmbedder())


def assert_one_face_at_box(result, tolerance=3):
    assert result.error is None, result.error
    assert len(result.faces) == 1
    assert np.allclose(result.faces[0].box, BOX, atol=tolerance), result.faces[0].box


def _sixteen_bit(image):
    grey = np.asarray(image.convert("L")).astype(np.uint16) * 257
    return Image.fromarray(grey)


FORMATS = {
    "baseline.jpg": lambda p: displayed().save(p, quality=95),
    "progressive.jpg": lambda p: displayed().save(p, quality=95, progressive=True),
    "cmyk.jpg": lambda p: displayed().convert("CMYK").save(p, quality=95),
    "grey.jpg": lambda p: displayed().convert("L").convert("RGB").save(p, quality=95),
    "rgb.png": lambda p: displayed().save(p),
    "rgba.png": lambda p: displayed().convert("RGBA").save(p),
    "palette.png": lambda p: displayed().convert("P", palette=Image.Palette.ADAPTIVE).save(p),
    "grey16.png": lambda p: _sixteen_bit(displayed()).save(p),
    "grey.png": lambda p: displayed().convert("L").save(p),
    "photo.webp": lambda p: displayed().save(p, lossless=True),
    "photo.tif": lambda p: displayed().save(p),
    "grey16.tif": lambda p: _sixteen_bit(displayed()).save(p),
    "photo.bmp": lambda p: displayed().save(p),
    "photo.gif": lambda p: displayed().save(p),
    "photo.heic": lambda p: displayed().save(p, quality=95),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_finds_the_face(tmp_path, name):
    path = tmp_path / name
    FORMATS[name](path)
    result = run(path)
    if name.startswith("grey"):
        # a grey face has no palette colour: the fake model sees nothing, but decoding worked
        assert result.error is None and (result.width, result.height) == (200, 140)
        return
    assert_one_face_at_box(result, tolerance=4)


def test_alpha_is_laid_on_white_not_black(tmp_path):
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    image.save(tmp_path / "clear.png")
    pixels = decode(open_image(read_bytes(tmp_path / "clear.png"))).pixels
    assert pixels.min() == 255


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    ramp = (np.arange(256, dtype=np.uint16).repeat(4).reshape(1, -1) * 257).repeat(4, 0)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    pixels = decode(open_image(read_bytes(tmp_path / "ramp.png"))).pixels
    assert pixels[0, 0, 0] == 0 and pixels[0, -1, 0] == 255 and 100 < pixels[0, 512, 0] < 156


# Pillow's exif_transpose turns the stored image by these; we store the inverse.
INVERSE = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
           4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
           6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_boxes_as_displayed(tmp_path, orientation):
    stored = displayed()
    if INVERSE[orientation] is not None:
        stored = stored.transpose(INVERSE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, quality=95, exif=exif)
    result = run(path)
    assert (result.width, result.height) == (200, 140)
    assert_one_face_at_box(result, tolerance=4)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


def _png_header(width, height):
    """A PNG that declares width x height pixels but carries almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _chunk(b"IEND", b""))


def _truncated_jpeg(path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (300, 400, 3), np.uint8)).save(
        buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


BAD = {
    "empty.jpg": (lambda p: p.write_bytes(b""), "empty file"),
    "half.jpg": (_truncated_jpeg, "truncated"),
    "noise.jpg": (lambda p: p.write_bytes(np.random.default_rng(2).bytes(5000)),
                  "not an image"),
    "text.png": (lambda p: p.write_text("hello, I am not a picture\n"), "not an image"),
    "bomb.png": (lambda p: p.write_bytes(_png_header(100_000, 100_000)), "decompression bomb"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_with_a_reason(tmp_path, name):
    make, reason = BAD[name]
    make(tmp_path / name)
    result = run(tmp_path / name)
    assert result.faces is None
    assert reason in result.error


def test_vanished_file_has_a_reason(tmp_path):
    path = tmp_path / "gone.jpg"
    result = analyze_file(Candidate("gone.jpg", path, 1, 1), FakeEmbedder())
    assert "disappeared" in result.error
