"""The HOG detector's second look on RGB at luma candidates under the threshold (faces.py),
with the real dlib model on one labelled face of the shared sample photos."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_PHOTOS
from PIL import Image

from photokosh import faces
from photokosh.faces import DlibEmbedder, box_iou
from photokosh.images import Decoded

pytestmark = pytest.mark.slow

FACE_PHOTO = SHARED_PHOTOS / "lfw-small" / "Abdullah_Gul" / "Abdullah_Gul_0001.jpg"


@pytest.fixture(scope="module")
def face_photo():
    if not FACE_PHOTO.is_file():
        pytest.skip(f"sample photos not found at {SHARED_PHOTOS} (set PHOTOKOSH_SAMPLES)")
    return Image.open(FACE_PHOTO).convert("RGB")


@pytest.fixture(scope="module")
def detector():
    import dlib

    return dlib.get_frontal_face_detector()


def _decoded(image: Image.Image, width: int, height: int) -> Decoded:
    return Decoded(np.asarray(image), width, height, image.width / width, image)


@pytest.mark.parametrize("to_pixels", [1.0, 2.0])
def test_rgb_score_finds_the_face_in_the_window_around_it(face_photo, detector, to_pixels):
    """The window is cut from pixels `to_pixels` times larger than the detection image, and its
    detections mapped back: the face gets about the score HOG gives it on the whole photo."""
    rects, scores, _ = detector.run(np.asarray(face_photo), 0, 0.0)
    assert len(rects) == 1
    size = (round(face_photo.width * to_pixels), round(face_photo.height * to_pixels))
    pixels = np.asarray(face_photo.resize(size, Image.Resampling.BILINEAR))
    score = faces._rgb_score(detector, pixels, rects[0], to_pixels, 0)
    assert score is not None
    assert abs(score - scores[0]) < 0.3


def test_rgb_score_is_none_where_there_is_no_face(face_photo, detector):
    import dlib

    corner = dlib.rectangle(0, 0, 60, 60)  # the face is in the middle of a 250 px LFW photo
    pixels = np.asarray(face_photo)
    assert faces._rgb_score(detector, pixels, corner, 1.0, 0) is None


def test_candidates_under_the_luma_threshold_are_kept_by_their_rgb_score(face_photo, detector,
                                                                         monkeypatch):
    """With the luma threshold out of reach and the recheck's floor far down, every one of
    several luma candidates goes through the RGB check: the face is kept, at the same place
    and with the same descriptor, and the weak candidates around it are not."""
    embedder = DlibEmbedder(upsample=0)
    photo = _decoded(face_photo, face_photo.width, face_photo.height)
    direct = embedder.faces(photo)
    assert len(direct) == 1
    monkeypatch.setattr(faces, "HOG_THRESHOLD", 10.0)
    monkeypatch.setattr(faces, "HOG_RECHECK", -2.0)
    candidates, _, _ = detector.run(np.asarray(face_photo.convert("L")), 0, -2.0)
    assert len(candidates) > 3
    checked = embedder.faces(photo)
    assert len(checked) == 1
    assert checked[0].score >= 0.0
    assert box_iou(checked[0].box, direct[0].box) == 1.0
    assert np.allclose(checked[0].embedding, direct[0].embedding)


@pytest.mark.parametrize("side", [1640, 6240])
def test_face_box_is_in_place_when_the_decoded_scale_is_close_to_the_detection_scale(
        face_photo, tmp_path, side):
    """A 1640 px photo (detected upsampled, at 80/41 of 1640/2) and a 6240 px JPEG (decoded at
    1/2 in draft mode, detected at 80/156) are scanned as decoded, under 5% from the planned
    scale: the face's box must be where the face is, even far from the top left corner."""
    from photokosh.images import decode, displayed_size, open_image

    zoom = side // 1640
    face = face_photo.resize((face_photo.width * zoom, face_photo.height * zoom))
    canvas = Image.new("RGB", (side, side * 3 // 4), (120, 130, 140))
    offset = (canvas.width - face.width - 10 * zoom, canvas.height - face.height - 10 * zoom)
    canvas.paste(face, offset)
    path = tmp_path / "photo.jpg"
    canvas.save(path, quality=95)
    embedder = DlibEmbedder()
    alone = embedder.faces(_decoded(face, face.width, face.height))
    assert len(alone) == 1
    expected = (alone[0].box[0] + offset[0], alone[0].box[1] + offset[1],
                alone[0].box[2] + offset[0], alone[0].box[3] + offset[1])
    image = open_image(path.read_bytes())
    photo = decode(image, embedder.detection_scale(*displayed_size(image)), exact=False)
    scale, _ = embedder.plan(photo.width, photo.height)
    assert photo.scale != scale and abs(photo.scale / scale - 1) < 0.05
    found = embedder.faces(photo)
    assert len(found) == 1
    assert box_iou(found[0].box, expected) > 0.6
