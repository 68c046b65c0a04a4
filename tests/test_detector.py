"""Where the HOG detector finds faces (faces.py): its second look on RGB at luma candidates
under the threshold, and boxes mapped back to the photo, with the real dlib model on one
labelled face of the shared sample photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photokosh import faces
from photokosh.faces import DlibEmbedder, box_iou
from photokosh.images import Decoded

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def detector():
    import dlib

    return dlib.get_frontal_face_detector()


def _decoded(image: Image.Image) -> Decoded:
    """`image` as a photo decoded at full size."""
    return Decoded(np.asarray(image), image.width, image.height, 1.0, image)


@pytest.fixture(scope="module")
def group_photo(face_photo):
    """The face far from the top left corner of a larger photo, so that a window or a shift
    placed wrongly misses it."""
    canvas = Image.new("RGB", (900, 700), (120, 130, 140))
    canvas.paste(face_photo, (520, 380))
    return canvas


def _resized(image: Image.Image, factor: float) -> Image.Image:
    size = (round(image.width * factor), round(image.height * factor))
    return image.resize(size, Image.Resampling.BILINEAR)


def _luma_rect(detector, image: Image.Image, upsample: int):
    rects, scores, _ = detector.run(np.asarray(image.convert("L")), upsample, 0.0)
    assert len(rects) == 1
    return rects[0], scores[0]


@pytest.mark.parametrize("upsample", [0, 1])
@pytest.mark.parametrize("to_pixels", [0.5, 1.0, 2.0])
def test_rgb_score_finds_the_face_in_the_window_around_it(group_photo, detector, to_pixels,
                                                          upsample):
    """The window is cut from pixels `to_pixels` times as large as the detection image (which
    the detector may upsample) and its detections mapped back: the face is found where luma
    found it, and a box half a face away, whose window still holds the face, gets nothing."""
    import dlib

    seen = _resized(group_photo, 0.5**upsample)
    rect, luma_score = _luma_rect(detector, seen, upsample)
    pixels = np.asarray(_resized(seen, to_pixels))
    score = faces._rgb_score(detector, pixels, rect, to_pixels, upsample)
    assert score is not None and score >= 0.0
    assert abs(score - luma_score) < 1.0
    half = rect.width() // 2
    beside = dlib.rectangle(rect.left() + half, rect.top(), rect.right() + half, rect.bottom())
    assert faces._rgb_score(detector, pixels, beside, to_pixels, upsample) is None


def test_rgb_score_sees_colour_that_luma_does_not(group_photo, detector):
    """A face drawn in red against green at one luminance everywhere: HOG on luma finds nothing
    there, the RGB recheck finds the face."""
    rect, _ = _luma_rect(detector, group_photo, 0)
    grey = np.asarray(group_photo.convert("L"), dtype=np.float64)
    red, blue = grey, np.full_like(grey, 128.0)
    green = (150.0 - 0.299 * red - 0.114 * blue) / 0.587  # 0.299 R + 0.587 G + 0.114 B = 150
    flat = np.clip(np.stack([red, green, blue], axis=-1), 0, 255).round().astype(np.uint8)
    luma = np.asarray(Image.fromarray(flat).convert("L"))
    assert luma.max() - luma.min() <= 2
    assert len(detector.run(luma, 0, -0.5)[0]) == 0
    assert faces._rgb_score(detector, flat, rect, 1.0, 0) is not None


def test_candidates_under_the_luma_threshold_are_kept_by_their_rgb_score(face_photo, detector,
                                                                         monkeypatch):
    """With the luma threshold out of reach and the recheck's floor far down, every one of
    several luma candidates goes through the RGB check: the face is kept, at the same place
    and with the same descriptor, and the weak candidates around it are not."""
    embedder = DlibEmbedder(upsample=0)
    photo = _decoded(face_photo)
    direct = embedder.faces(photo)
    assert len(direct) == 1
    monkeypatch.setattr(faces, "HOG_THRESHOLD", 10.0)
    monkeypatch.setattr(faces, "HOG_RECHECK", -2.0)
    candidates, _, _ = detector.run(np.asarray(face_photo.convert("L")), 0, -2.0)
    assert len(candidates) > 3
    checked = embedder.faces(photo)
    assert len(checked) == 1
    rgb = faces._rgb_score(detector, np.asarray(face_photo), candidates[0], 1.0, 0)
    assert checked[0].score == pytest.approx(rgb)
    assert checked[0].score != pytest.approx(direct[0].score)
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
    alone = embedder.faces(_decoded(face))
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
