"""Stage 3: find faces and compute their 128-d descriptors with dlib.

This reproduces face_recognition's method directly on dlib (HOG or CNN detector, 5-point
landmarks, ResNet descriptor, euclidean distance) without importing face_recognition or
face_recognition_models' __init__ (which needs pkg_resources).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .images import Decoded

EMBEDDING_SIZE = 128


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


def model_dir() -> Path:
    """Folder of face_recognition_models' weight files, found without importing the package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed: run `uv sync`")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


class DlibEmbedder:
    """dlib's detector + 5-point shape predictor + ResNet face descriptor.

    Models load lazily, once per process, so the object pickles cheaply into worker processes.
    """

    def __init__(self, model: str = "hog", upsample: int = 1, jitter: int = 1):
        if model not in ("hog", "cnn"):
            raise ValueError(f"unknown detector model {model!r}")
        self.model = model
        self.upsample = upsample
        self.jitter = jitter
        self._loaded = None

    @property
    def key(self) -> str:
        import dlib

        return (
            f"dlib-{dlib.__version__}/{self.model}/up{self.upsample}/sp5/"
            f"resnet_v1/jitter{self.jitter}"
        )

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
            self._loaded = (
                detector,
                dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat")),
                dlib.face_recognition_model_v1(
                    str(folder / "dlib_face_recognition_resnet_model_v1.dat")),
            )
        return self._loaded

    def detection_scale(self, width: int, height: int) -> float:
        return 1.0

    def faces(self, photo: Decoded) -> list[Face]:
        detector, predictor, encoder = self._models()
        pixels = np.ascontiguousarray(photo.pixels)
        if self.model == "cnn":
            found = [(d.rect, d.confidence) for d in detector(pixels, self.upsample)]
        else:
            rects, scores, _ = detector.run(pixels, self.upsample, 0.0)
            found = list(zip(rects, scores, strict=True))
        h, w = pixels.shape[:2]
        back = 1.0 / photo.scale
        result = []
        for rect, score in found:
            shape = predictor(pixels, rect)
            descriptor = encoder.compute_face_descriptor(pixels, shape, self.jitter)
            box = (
                max(0, rect.left()), max(0, rect.top()),
                min(w, rect.right()), min(h, rect.bottom()),
            )
            box = tuple(int(round(v * back)) for v in box)
            result.append(Face(box, float(score), np.asarray(descriptor, dtype=np.float32)))
        return result
