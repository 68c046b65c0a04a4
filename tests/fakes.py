"""A fake face model for fast, exact tests: a "face" is a solid square of one of the palette's
colours, and its embedding is fixed by the colour. So a test draws who is in a photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from photokosh.faces import Face
from photokosh.images import Decoded

PALETTE = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (220, 220, 30), (220, 30, 220),
           (30, 220, 220), (250, 140, 0), (120, 0, 200)]
_BASES = np.random.default_rng(7).normal(size=(len(PALETTE), 128)).astype(np.float32)
_BASES /= np.linalg.norm(_BASES, axis=1, keepdims=True)


def embedding_of(person: int) -> np.ndarray:
    return _BASES[person].copy()


class FakeEmbedder:
    """Counts its calls; `faces` finds palette-coloured squares of at least `min_px` pixels."""

    key = "fake-v1"

    def __init__(self, min_px: int = 12):
        self.min_px = min_px
        self.calls = 0

    def detection_scale(self, width: int, height: int) -> float:
        return 1.0

    def faces(self, photo: Decoded) -> list[Face]:
        self.calls += 1
        pixels = photo.pixels.astype(np.int16)
        found = []
        for person, colour in enumerate(PALETTE):
            mask = (np.abs(pixels - np.array(colour)) < 40).all(axis=2)
            labels, count = ndimage.label(mask)
            for sl in ndimage.find_objects(labels):
                h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
                if min(h, w) < self.min_px:
                    continue
                box = tuple(int(round(v / photo.scale)) for v in
                            (sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
                found.append((box, person))
        found.sort()
        return [Face(box, 1.0, embedding_of(person)) for box, person in found]


def draw(path: Path, people: list[int], size: tuple[int, int] = (240, 160),
         fmt: str | None = None, square: int = 40, **save) -> Path:
    """Write a photo at `path` showing the given palette people side by side."""
    image = Image.new("RGB", size, (128, 128, 128))
    for i, person in enumerate(people):
        x = 10 + i * (square + 10)
        image.paste(PALETTE[person], (x, 20, x + square, 20 + square))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt, **save)
    return path


_sizes = iter(range(10_000))


def photo(path, people):
    """A photo of `people` whose bytes no other photo of the test has (no accidental
    duplicates: photokosh rightly treats equal contents as one)."""
    return draw(path, people, size=(240 + next(_sizes) % 500, 160))


def album(root):
    """Person 0 in three photos, person 1 in two (one shared), one photo without faces."""
    src = root / "photos"
    photo(src / "a.jpg", [0])
    photo(src / "b.jpg", [0])
    photo(src / "trip" / "c.jpg", [0, 1])
    photo(src / "trip" / "d.jpg", [1])
    photo(src / "empty.jpg", [])
    return src
