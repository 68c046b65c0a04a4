"""Library users get the checks the command line gives: SortOptions refuses values photokosh
cannot run with, and a missing face model is a clear failure, not a traceback."""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner
from fakes import draw

from photokosh import SortOptions, sort_photos
from photokosh.errors import ModelMissing, OptionError, PhotokoshError

BAD = [
    ("detector", "mtcnn"), ("detector", ""), ("detector", "YuNet"),
    ("link", "copyy"), ("link", "symlink"), ("link", ""),
    ("eps", 0.05), ("eps", 1.01), ("eps", "0.4"), ("eps", True),
    ("min_samples", 0), ("min_samples", 1.5), ("min_samples", True),
    ("min_photos", 0), ("min_photos", -1),
    ("workers", 0), ("workers", "2"),
    ("min_face", 19), ("min_face", 40.0), ("min_face", "Auto"),
    ("upsample", -1), ("upsample", 5), ("upsample", "none"),
]


@pytest.mark.parametrize(("field", "value"), BAD)
def test_out_of_range_options_are_refused(field, value):
    with pytest.raises(OptionError) as caught:
        SortOptions(**{field: value})
    assert field in str(caught.value) and repr(value) in str(caught.value)
    assert isinstance(caught.value, PhotokoshError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(("field", "value"), [
    ("detector", "cnn"), ("detector", "hog"), ("detector", "yunet"),
    ("link", "hard"), ("link", "sym"), ("eps", 0.1), ("eps", 1), ("eps", 1.0),
    ("min_samples", 1), ("min_photos", 3), ("workers", None), ("workers", 1),
    ("min_face", 20), ("upsample", 0), ("upsample", 4), ("upsample", None)])
def test_values_in_range_are_kept(field, value):
    other = {"detector": "hog"} if field == "upsample" else {}  # dlib's setting only
    assert getattr(SortOptions(**{field: value}, **other), field) == value


def test_upsample_is_refused_with_yunet_and_stored_options_keep_their_old_name():
    with pytest.raises(OptionError, match="upsample"):
        SortOptions(detector="yunet", upsample=1)
    assert SortOptions(detector="hog", upsample=1).upsample == 1
    # a state written before --detector stored the detector as `model`
    assert SortOptions.stored({"model": "cnn", "eps": 0.4}).detector == "cnn"
    assert SortOptions.stored({"detector": "yunet"}).detector == "yunet"


def test_a_bad_link_never_becomes_a_silent_copy(tmp_path, fake):
    draw(tmp_path / "src" / "a.jpg", [0])
    with pytest.raises(OptionError, match="copy, hard, sym"):
        sort_photos(tmp_path / "src", tmp_path / "out", SortOptions(link="ln"), embedder=fake)
    assert not (tmp_path / "out").exists()


def _without_models(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None
                        if name == "face_recognition_models" else real(name, *a, **k))


def test_missing_model_files_are_a_domain_error(monkeypatch):
    from photokosh.faces import model_dir

    assert (model_dir() / "shape_predictor_5_face_landmarks.dat").is_file()
    _without_models(monkeypatch)
    with pytest.raises(ModelMissing, match="face_recognition_models") as caught:
        model_dir()
    assert isinstance(caught.value, PhotokoshError)


def test_sort_without_model_files_exits_1_with_a_message(tmp_path, monkeypatch):
    from photokosh.cli import main

    draw(tmp_path / "src" / "a.jpg", [0])
    _without_models(monkeypatch)
    result = CliRunner().invoke(main, ["sort", str(tmp_path / "src"), "-o",
                                       str(tmp_path / "out"), "--workers", "1", "-q"],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert "face model is missing" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
