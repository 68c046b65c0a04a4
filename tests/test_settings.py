"""Issue 21: OUT remembers its settings. A run without an option uses OUT's; an option given
changes it for this and later runs, and the run says on stderr what that costs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fakes import FakeEmbedder, draw

from photokosh.cli import Context, main
from photokosh.settings import DEFAULTS, SortOptions

_sizes = iter(range(10_000))


def album(root):
    src = root / "photos"
    for rel, people in [("a.jpg", [0]), ("b.jpg", [0]), ("c.jpg", [0, 1]), ("d.jpg", [1]),
                        ("e.jpg", [])]:
        draw(src / rel, people, size=(240 + next(_sizes) % 500, 160))
    return src


class Keyed(FakeEmbedder):
    """A fake whose analyses are kept apart by its settings, as dlib's are."""

    def __init__(self, settings):
        super().__init__()
        self.settings = settings
        self.key = "fake-{}-{}-{}".format(*settings)


@pytest.fixture
def run(tmp_path):
    made: list[Keyed] = []

    def invoke(*args, code=0):
        argv = ["sort", str(tmp_path / "photos"), "-o", str(tmp_path / "out"), "--json",
                "--workers", "1", *args]
        result = CliRunner().invoke(
            main, argv, obj=Context(make_embedder=lambda *s: made.append(Keyed(s)) or made[-1]),
            catch_exceptions=False)
        assert result.exit_code == code, result.stderr
        return json.loads(result.stdout), result.stderr, made[-1]

    return invoke


def test_detection_settings_are_kept_and_a_change_says_what_it_costs(tmp_path, run):
    album(tmp_path)
    _, err, model = run("--min-face", "60", "--model", "cnn")
    assert model.settings == ("cnn", None, 60) and model.calls == 5
    assert err == ""  # a new OUT: nothing to compare with
    report, err, model = run()
    assert model.settings == ("cnn", None, 60) and model.calls == 0
    assert report["settings"]["min_face"] == 60 and report["settings"]["detector"] == "cnn"
    assert err == ""
    report, err, model = run("--min-face", "auto")
    assert model.settings == ("cnn", None, None) and model.calls == 5
    assert "--min-face auto re-analyses 5 photos" in err and "--min-face 60" in err
    assert report["settings"]["min_face"] is None
    _, _, model = run()
    assert model.settings == ("cnn", None, None) and model.calls == 0


def test_blur_is_kept_until_no_blur_which_says_what_it_removes(tmp_path, run):
    album(tmp_path)
    out = tmp_path / "out"
    run("--blur")
    report, err, _ = run("-v")
    assert report["settings"]["blur"] is True and len(list((out / "blurred").iterdir())) == 5
    assert "OUT's settings: --blur" in err  # -v says what a run without options keeps doing
    report, err, _ = run("--no-blur")
    assert "--no-blur removes blurred/ (5 files)" in err
    assert not (out / "blurred").exists() and report["settings"]["blur"] is False
    run()
    assert not (out / "blurred").exists()


def test_no_page_is_kept(tmp_path, run):
    album(tmp_path)
    out = tmp_path / "out"
    run("--no-page")
    run()
    assert not (out / "index.html").exists()
    _, err, _ = run("--page")
    assert (out / "index.html").is_file() and "index.html" in err


def test_min_photos_applies_to_an_existing_out_but_not_to_a_named_person(tmp_path, run):
    album(tmp_path)
    out = tmp_path / "out"
    report, _, _ = run()
    assert {p["id"]: p["photo_count"] for p in report["people"]} == {
        "person_001": 3, "person_002": 2}
    report, err, _ = run("--min-photos", "3")
    assert [p["id"] for p in report["people"]] == ["person_001"]
    assert "--min-photos 3" in err
    assert (out / "unknown" / "d.jpg").is_file() and not (out / "person_002").exists()
    report, _, _ = run()  # remembered
    assert [p["id"] for p in report["people"]] == ["person_001"]
    assert [f["person"] for p in report["photos"] if p["path"] == "d.jpg"
            for f in p["faces"]] == [None]  # ruled out: nobody's in the report too
    assert CliRunner().invoke(main, ["name", str(out), "person_002", "Wen"]).exit_code == 0
    report, _, _ = run()
    assert {p["id"] for p in report["people"]} == {"person_001", "person_002"}


def test_eps_given_is_kept_and_said(tmp_path, run):
    album(tmp_path)
    run()
    report, err, _ = run("--eps", "0.5")
    assert report["settings"]["eps"] == 0.5 and "--eps 0.5 applies to faces" in err
    report, err, _ = run()
    assert report["settings"]["eps"] == 0.5 and err == ""


def test_resolving_takes_each_setting_not_given_from_out_else_the_default():
    saved = {**DEFAULTS, "min_face": 60, "blur": True}
    options = SortOptions(blur=False).resolved(saved)
    detector = DEFAULTS["detector"]
    assert (options.min_face, options.blur, options.detector) == (60, False, detector)
    assert SortOptions().resolved(None).remembered() == DEFAULTS
    assert SortOptions(min_face="auto").resolved(saved).model_settings() == (detector, None, None)


def test_an_out_sorted_before_settings_were_kept_takes_its_last_runs(tmp_path, run):
    """An OUT from before issue 21: no settings in the state, no missing_since column."""
    import sqlite3

    album(tmp_path)
    run("--min-face", "60", "--blur")
    db = sqlite3.connect(tmp_path / "out" / ".photokosh" / "state.db")
    with db:
        db.execute("DELETE FROM meta WHERE key='settings'")
        db.execute("ALTER TABLE photos DROP COLUMN missing_since")
    db.close()
    report, err, model = run()
    assert model.settings == (DEFAULTS["detector"], None, 60) and model.calls == 0 and err == ""
    assert report["settings"]["blur"] is True
    (tmp_path / "photos" / "a.jpg").unlink()  # the column is back: a grace period again
    report, _, model = run()
    assert report["summary"]["missing_photos"] == 1


def test_an_out_sorted_with_hog_before_the_detector_choice_keeps_hog():
    """Before YuNet the detector was stored as `model`: such an OUT keeps its detector (and
    its cached faces) until a run asks for another with --detector."""
    from photokosh.settings import saved_settings

    old = {**{k: v for k, v in DEFAULTS.items() if k != "detector"}, "model": "hog"}
    assert SortOptions().resolved(saved_settings(None, old)).detector == "hog"
    last = {"options": {"model": "hog", "upsample": 1, "min_face": None}}
    assert SortOptions().resolved(saved_settings(last, None)).model_settings() == ("hog", 1, None)
    assert SortOptions(detector="yunet").resolved(saved_settings(last, None)).upsample == "auto"
