"""Fuzzing the image loader: mutated JPEG, PNG and HEIC files must each end as a decoded
photo or as UnreadablePhoto with a reason, never as another exception, and never decode
more pixels than the budget allows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from photokosh import images
from photokosh.errors import UnreadablePhoto

EXAMPLES = 10_000


def _seed(fmt: str) -> bytes:
    rng = np.random.default_rng(5)
    picture = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **({"exif": exif} if fmt in ("JPEG", "HEIF") else {}))
    return buffer.getvalue()


SEEDS = {fmt: _seed(fmt) for fmt in ("JPEG", "PNG", "HEIF")}


@st.composite
def mutated(draw):
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "duplicate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0xD8, 0xD9, 0xDA]))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "duplicate":
            data[at:at] = data[at:at + draw(st.integers(1, 64))]
    return bytes(data)


def load(data: bytes) -> images.Decoded | None:
    """What analyze_file does with a file's bytes, up to detection."""
    try:
        image = images.open_image(data)
        width, height = images.displayed_size(image)
        return images.decode(image, 0.5, exact=False)
    except UnreadablePhoto as exc:
        assert exc.reason
        return None


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_photos_never_escape_as_other_exceptions(data):
    decoded = load(data)
    if decoded is not None:
        assert decoded.pixels.dtype == np.uint8 and decoded.pixels.ndim == 3
        assert decoded.pixels.shape[0] * decoded.pixels.shape[1] <= images.MAX_DECODED_PIXELS


def test_the_seeds_themselves_load():
    for fmt, data in SEEDS.items():
        decoded = load(data)
        assert decoded is not None, fmt
        if fmt == "JPEG":  # carries EXIF orientation 6: displayed turned
            assert (decoded.width, decoded.height) == (48, 64)
        if fmt == "PNG":
            assert (decoded.width, decoded.height) == (64, 48)
