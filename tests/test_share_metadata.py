"""export: what of a photo's metadata and pixels a copy keeps (fake model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import PALETTE
from PIL import Image

GPS = 0x8825
ORIENTATION = 0x0112


def _gps_photo(path, orientation=6):
    """Person 0 in a photo stored sideways (EXIF orientation 6) with GPS and a capture date."""
    image = Image.new("RGB", (160, 240), (128, 128, 128))
    image.paste(PALETTE[0], (60, 100, 100, 140))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # camera make
    exif.get_ifd(GPS).update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    exif.get_ifd(0x8769)[0x9003] = "2021:06:05 14:03:00"
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, exif=exif.tobytes())
    with Image.open(path) as check:
        assert check.getexif().get_ifd(GPS)  # the test photo does carry GPS
    return path


def _image_data(jpeg: bytes) -> bytes:
    """A JPEG's compressed image: from its start-of-scan to its end-of-image."""
    return jpeg[jpeg.index(b"\xff\xda"):jpeg.index(b"\xff\xd9") + 2]


def _exported(tmp_path, cli, *flags) -> tuple[Path, Path]:
    """(PHOTOS, DEST): a photo with GPS sorted, and its person exported with `flags`."""
    src, out, dest = tmp_path / "photos", tmp_path / "out", tmp_path / "dest"
    _gps_photo(src / "gps.jpg")
    assert cli("sort", src, "-o", out).exit_code == 0
    assert cli("export", out, "1", dest, *flags).exit_code == 0
    return src, dest


@pytest.mark.parametrize("keep_date", [False, True])
def test_export_strips_gps_and_metadata_without_re_encoding(tmp_path, cli, keep_date):
    src, dest = _exported(tmp_path, cli, *(["--keep-date"] if keep_date else []))
    copy_bytes = (dest / "gps.jpg").read_bytes()
    assert _image_data(copy_bytes) == _image_data((src / "gps.jpg").read_bytes())  # lossless
    with Image.open(dest / "gps.jpg") as copy:
        exif = copy.getexif()
        assert not exif.get_ifd(GPS) and GPS not in exif and 0x010F not in exif
        assert "xmp" not in copy.info
        assert dict(exif) == ({ORIENTATION: 6, 0x8769: exif[0x8769]} if keep_date
                              else {ORIENTATION: 6})  # shown upright by its tag
        date = exif.get_ifd(0x8769).get(0x9003)
        assert date == ("2021:06:05 14:03:00" if keep_date else None)
    assert b"PhoneMaker" not in copy_bytes


@pytest.mark.parametrize("keep_date", [False, True])
def test_a_blurred_copy_is_turned_upright_and_keeps_no_metadata(tmp_path, cli, keep_date):
    _, dest = _exported(tmp_path, cli, "--blur-all", *(["--keep-date"] if keep_date else []))
    with Image.open(dest / "gps.jpg") as copy:
        exif = copy.getexif()
        assert copy.size == (240, 160)  # turned upright: no orientation tag needed
        assert not exif.get_ifd(GPS) and ORIENTATION not in exif and 0x010F not in exif
        date = exif.get_ifd(0x8769).get(0x9003)
        assert date == ("2021:06:05 14:03:00" if keep_date else None)
        if not keep_date:
            assert not exif and "exif" not in copy.info


def test_other_formats_are_written_anew_without_their_metadata(tmp_path, cli):
    from PIL import PngImagePlugin

    src = tmp_path / "photos"
    image = Image.new("RGB", (240, 160), (128, 128, 128))
    image.paste(PALETTE[0], (10, 20, 50, 60))
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "48.8584 N, 2.2945 E")
    exif = Image.Exif()
    exif.get_ifd(GPS)[1] = "N"
    src.mkdir()
    image.save(src / "p.png", pnginfo=info, exif=exif.tobytes())
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out).exit_code == 0
    assert cli("export", out, "1", tmp_path / "dest").exit_code == 0
    with Image.open(tmp_path / "dest" / "p.png") as copy:
        assert copy.format == "PNG" and not copy.getexif() and "Location" not in copy.info
        assert np.array_equal(np.asarray(copy.convert("RGB")), np.asarray(image))  # lossless


def test_a_multi_picture_jpeg_is_handed_over_as_its_first_image_alone(tmp_path, cli):
    src = tmp_path / "photos"
    src.mkdir()
    first = Image.new("RGB", (240, 160), (128, 128, 128))
    first.paste(PALETTE[0], (10, 20, 50, 60))
    preview = Image.new("RGB", (60, 40), (10, 10, 10))
    first.save(src / "camera.jpg", "MPO", save_all=True, append_images=[preview])
    with Image.open(src / "camera.jpg") as check:
        assert check.format == "MPO" and check.n_frames == 2
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out).exit_code == 0
    assert cli("export", out, "1", tmp_path / "dest").exit_code == 0
    data = (tmp_path / "dest" / "camera.jpg").read_bytes()
    assert data.count(b"\xff\xd8\xff") == 1  # one image: the preview is not handed over
    with Image.open(tmp_path / "dest" / "camera.jpg") as copy:
        assert copy.format == "JPEG" and copy.size == (240, 160)
        assert np.array_equal(np.asarray(copy), np.asarray(Image.open(src / "camera.jpg")))
