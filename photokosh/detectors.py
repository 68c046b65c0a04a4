"""Which face model each `--detector` names: the one place that turns the detector settings
into an Embedder (faces.py's dlib detectors, yunet.py's YuNet)."""

from __future__ import annotations

from .faces import DlibEmbedder, Embedder
from .yunet import YunetEmbedder

DETECTORS = ("yunet", "hog", "cnn")
# YuNet finds 97% of the faces in real web photos where HOG finds 63% (docs/detector.md).
DEFAULT = "yunet"


def make_embedder(detector: str = DEFAULT, upsample: int | None = None,
                  min_face: int | None = None) -> Embedder:
    """The embedder for `detector` (one of DETECTORS); `upsample` is dlib's only."""
    if detector == "yunet":
        if upsample is not None:
            raise ValueError("upsample is a setting of dlib's detectors (hog, cnn), not yunet's")
        return YunetEmbedder(min_face)
    return DlibEmbedder(detector, upsample, min_face)
