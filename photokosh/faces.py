"""Stage 3: find faces and compute their 128-d descriptors with dlib.

This reproduces face_recognition's method directly on dlib (HOG or CNN detector, 5-point
landmarks, ResNet descriptor, euclidean distance) without importing face_recognition or
face_recognition_models' __init__ (which needs pkg_resources).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from .errors import ModelMissing
from .images import Decoded

# dlib's boxes run from the brows to the chin: hair, ears and chin lie within this share of
# the box's side beyond each edge. Thumbnails show that much around a face, blurring hides it.
FACE_MARGIN = 0.45
# HOG finds faces from ~70 px (its window is 80 x 80): faces are brought to 80 px
# (docs/performance.md, "What makes it fast").
DETECTABLE_FACE = 80
# Without --min-face, the smallest face looked for is 1/40 of the photo's long side (100 px
# on a 12 MP photo, what face_recognition's CLI finds there), and never below 40 px (what
# upsampling once finds at full size, face_recognition's default for small photos).
AUTO_FACE_FRACTION = 1 / 40
AUTO_FACE_FLOOR = 40
# HOG runs on luminance (29% faster than RGB), whose gradients are weaker than RGB's strongest
# channel: its threshold is lowered to find what RGB at 0 finds (docs/performance.md).
HOG_THRESHOLD = -0.1
# Luma candidates from HOG_RECHECK up to HOG_THRESHOLD are scored again on RGB in a window
# RECHECK_MARGIN box widths wider on each side, and kept at RGB >= 0 (face_recognition's
# threshold) with IoU >= 0.5: faces only RGB finds, for ~2% of detector time (docs/performance.md).
HOG_RECHECK = -0.5
RECHECK_MARGIN = 0.5


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in displayed full-size pixels
    score: float  # detector confidence
    embedding: np.ndarray  # (128,) float32


class Embedder(Protocol):
    """What the pipeline needs from a face model. Tests pass a fake."""

    @property
    def key(self) -> str:
        """Identifies model and settings: cached faces made under another key are recomputed."""
        ...

    def detection_scale(self, width: int, height: int) -> float:
        """Scale (<= 1) at which to decode a photo of this displayed size."""
        ...

    def faces(self, photo: Decoded) -> list[Face]:
        ...


def descriptor_models():
    """dlib's 5-point shape predictor and ResNet face descriptor, loaded once per process:
    every detector's faces are aligned and described by them."""
    return _descriptor_models(model_dir())  # looked up each time: missing files still raise


@functools.cache
def _descriptor_models(folder: Path):
    import dlib

    return (dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat")),
            dlib.face_recognition_model_v1(
                str(folder / "dlib_face_recognition_resnet_model_v1.dat")))


def model_dir() -> Path:
    """Folder of face_recognition_models' weight files, found without importing the package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing("the face model is missing (the face_recognition_models package "
                           "is not installed): install photokosh again, or run `uv sync`")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


class DlibEmbedder:
    """dlib's detector + 5-point shape predictor + ResNet face descriptor.

    Models load lazily, once per process, so the object pickles cheaply into worker processes.
    """

    def __init__(self, model: str = "hog", upsample: int | None = None,
                 min_face: int | None = None, jitter: int = 1):
        """`upsample` set: face_recognition's way, the full photo upsampled that many times.
        Otherwise the photo is scaled so that faces of `min_face` px (default: automatic,
        see AUTO_FACE_FRACTION) reach the detector's smallest size, and no further."""
        if model not in ("hog", "cnn"):
            raise ValueError(f"unknown detector model {model!r}")
        self.model = model
        self.upsample = upsample
        self.min_face = min_face
        self.jitter = jitter
        self._loaded = None

    @property
    def key(self) -> str:
        import dlib

        if self.upsample is not None:
            detection = f"up{self.upsample}"
        else:
            detection = f"minface{self.min_face or 'auto'}"
        luma = (f"-luma{HOG_THRESHOLD:+g}-rgb-from{HOG_RECHECK:+g}" if self.model == "hog"
                else "")
        return (f"dlib-{dlib.__version__}/{self.model}{luma}/{detection}/sp5/resnet_v1/"
                f"j{self.jitter}")

    def plan(self, width: int, height: int) -> tuple[float, int]:
        """(scale to decode at, times to upsample) for a photo of this displayed size."""
        if self.upsample is not None:
            return 1.0, self.upsample
        smallest = self.min_face or max(AUTO_FACE_FLOOR, max(width, height) * AUTO_FACE_FRACTION)
        scale, upsample = DETECTABLE_FACE / smallest, 0
        while scale > 1.0 and upsample < 3:  # dlib upsamples by doubling
            scale /= 2
            upsample += 1
        return min(scale, 1.0), upsample

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_loaded"] = None
        return state

    def _models(self):
        if self._loaded is None:
            import dlib

            folder = model_dir()
            if self.model == "cnn":
                detector = dlib.cnn_face_detection_model_v1(
                    str(folder / "mmod_human_face_detector.dat"))
            else:
                detector = dlib.get_frontal_face_detector()
            self._loaded = (detector, *descriptor_models())
        return self._loaded

    def detection_scale(self, width: int, height: int) -> float:
        """Decode at half the detection scale (JPEG draft mode reaches 1/2, 1/4, 1/8 almost
        for free): the descriptor's 150 px face chips are cut from that image, where the
        smallest wanted face still has 40 px, as many as face_recognition's CLI gives it, and
        only the detector gets a resized copy."""
        scale, upsample = self.plan(width, height)
        return min(1.0, scale * 2**upsample / 2)

    def faces(self, photo: Decoded) -> list[Face]:
        _, predictor, encoder = self._models()
        pixels = np.ascontiguousarray(photo.pixels)
        result = []
        for here, score, box in self.detect(photo):
            shape = predictor(pixels, here)
            descriptor = encoder.compute_face_descriptor(pixels, shape, self.jitter)
            result.append(Face(box, score, np.asarray(descriptor, dtype=np.float32)))
        return result

    def boxes(self, photo: Decoded) -> list[tuple[tuple[int, int, int, int], float]]:
        """(box, score) of every face found, without descriptors."""
        return [(box, score) for _, score, box in self.detect(photo)]

    def detect(self, photo: Decoded) -> list[tuple[object, float, tuple[int, int, int, int]]]:
        """(dlib rectangle in `photo.pixels`, score, box in displayed full-size pixels) of
        every face the detector finds."""
        import dlib

        detector = self._models()[0]
        pixels = np.ascontiguousarray(photo.pixels)
        scale, upsample = self.plan(photo.width, photo.height)
        seen = photo.image if photo.image is not None else Image.fromarray(pixels)
        if self.model == "hog":
            # HOG on luminance: measured 29% faster than on RGB (dlib then takes the strongest
            # of three channel gradients); see HOG_THRESHOLD.
            seen = seen.convert("L")
        size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        resize = abs(photo.scale / scale - 1.0) > 0.05
        if not resize:  # detection runs on the pixels as decoded, and its boxes are theirs
            scale = photo.scale
        if resize and seen.mode != "L":
            seen = seen.resize(size, Image.Resampling.BILINEAR)
        seen = np.asarray(seen)
        if resize and seen.ndim == 2:
            # dlib's bilinear resize: 18 ms against Pillow's 25 for a 12 MP photo's detection
            # copy, with the same faces found on 40 benchmark photos.
            seen = dlib.resize_image(seen, size[1], size[0])
        if self.model == "cnn":
            found = [(d.rect, d.confidence) for d in detector(seen, upsample)]
        else:
            rects, scores, _ = detector.run(seen, upsample, HOG_RECHECK)
            found = list(zip(rects, scores, strict=True))
        to_pixels = photo.scale / scale
        if self.model == "hog":
            found = [(rect, score if score >= HOG_THRESHOLD else
                      _rgb_score(detector, pixels, rect, to_pixels, upsample))
                     for rect, score in found]
            found = [(rect, score) for rect, score in found if score is not None]
        result = []
        for rect, score in found:
            corners = (rect.left(), rect.top(), rect.right(), rect.bottom())
            here = dlib.rectangle(*(int(round(v * to_pixels)) for v in corners))
            box = (max(0, corners[0]), max(0, corners[1]),
                   min(seen.shape[1], corners[2]), min(seen.shape[0], corners[3]))
            box = tuple(int(round(v / scale)) for v in box)
            result.append((here, float(score), box))
        return result


def _rgb_score(detector, pixels: np.ndarray, rect, to_pixels: float,
               upsample: int) -> float | None:
    """HOG's score on RGB for a luma candidate `rect` (detection pixels), from a window around
    it cut out of `pixels` (to_pixels times as large); None if it finds no face there >= 0."""
    import dlib

    box = (rect.left(), rect.top(), rect.right(), rect.bottom())
    margin = RECHECK_MARGIN * (box[2] - box[0])
    height, width = pixels.shape[:2]
    left, top = (max(0, int((v - margin) * to_pixels)) for v in box[:2])
    right = min(width, int((box[2] + margin) * to_pixels) + 1)
    bottom = min(height, int((box[3] + margin) * to_pixels) + 1)
    if right <= left or bottom <= top:
        return None
    window = np.ascontiguousarray(pixels[top:bottom, left:right])
    size = (max(1, round((right - left) / to_pixels)), max(1, round((bottom - top) / to_pixels)))
    if size != (right - left, bottom - top):
        window = dlib.resize_image(window, size[1], size[0])
    shift = (left / to_pixels, top / to_pixels)
    rects, scores, _ = detector.run(window, upsample, 0.0)
    matches = [score for hit, score in zip(rects, scores, strict=True)
               if box_iou(box, (hit.left() + shift[0], hit.top() + shift[1],
                                hit.right() + shift[0], hit.bottom() + shift[1])) >= 0.5]
    return max(matches, default=None)


def box_iou(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
