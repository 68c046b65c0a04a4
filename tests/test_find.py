"""find (who a selfie's faces are) and photos --with (fake model: exact embeddings)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import tree_state
from fakes import draw, photo


def test_find_names_each_face_with_its_distance_and_photos_and_changes_nothing(
        sorted_album, cli):
    s = sorted_album
    selfies = s["tmp"] / "selfies"
    two = draw(selfies / "two.jpg", [1, 5], size=(300, 200))  # person 5: nobody in OUT
    empty = draw(selfies / "empty.jpg", [])
    before = tree_state(s["out"])
    result = cli("find", s["out"], two, empty, "--json")
    assert result.exit_code == 0, result.stderr
    assert tree_state(s["out"]) == before  # state.db too, byte for byte
    doc = json.loads(result.stdout)
    assert doc["export"] is None
    first, second = doc["found"]
    assert first["photo"] == str(two) and first["error"] is None
    known, stranger = first["faces"]
    assert known["person"] == s["p1"] and known["distance"] == pytest.approx(0, abs=1e-4)
    assert known["photos"] == ["trip/c.jpg", "trip/d.jpg"]
    assert stranger["person"] is None and stranger["photos"] == []
    assert stranger["distance"] > 0.6 and stranger["nearest"] in (s["p0"], s["p1"])
    assert second == {"photo": str(empty), "error": None, "faces": []}


def test_find_prints_who_or_nobody_and_the_photos(sorted_album, cli):
    s = sorted_album
    selfie = draw(s["tmp"] / "me.jpg", [0])
    stranger = draw(s["tmp"] / "you.jpg", [6])
    result = cli("find", s["out"], selfie, stranger)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"{selfie}: {s['p0']} at distance 0.00, 3 photos"
    assert lines[1:4] == ["  a.jpg", "  b.jpg", "  trip/c.jpg"]
    assert lines[4].startswith(f"{stranger}: nobody (nearest person_")
    for pid, name in ((s["p0"], "Alice"), (s["p1"], "Bob")):
        assert cli("name", s["out"], pid, name).exit_code == 0
    named = cli("find", s["out"], stranger).stdout  # nobody, but who was nearest is said
    assert re.fullmatch(rf"{re.escape(str(stranger))}: nobody \(nearest person_\d+ "
                        r"\((Alice|Bob)\) at \d\.\d\d\)\n", named), named


def test_find_a_named_person_by_name_with_a_lower_threshold(sorted_album, cli):
    s = sorted_album
    assert cli("name", s["out"], s["p0"], "Alice").exit_code == 0
    selfie = draw(s["tmp"] / "me.jpg", [0])
    doc = json.loads(cli("find", s["out"], selfie, "--json", "--threshold", "0.1").stdout)
    assert doc["found"][0]["faces"][0]["name"] == "Alice"


def test_find_unreadable_selfie_is_reported_not_fatal(sorted_album, cli):
    s = sorted_album
    bad = s["tmp"] / "bad.jpg"
    bad.write_bytes(b"not a photo")
    result = cli("find", s["out"], bad, "--json")
    assert result.exit_code == 0
    found = json.loads(result.stdout)["found"][0]
    assert found["faces"] == [] and "not an image" in found["error"]


def test_find_export_hands_the_persons_photos_over(sorted_album, cli):
    s = sorted_album
    selfie = draw(s["tmp"] / "me.jpg", [1])
    dest = s["tmp"] / "for-them"
    result = cli("find", s["out"], selfie, "--export", dest, "--blur-others", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [f["file"] for f in doc["export"]["files"]] == ["c.jpg", "d.jpg"]
    assert sorted(p.name for p in dest.iterdir()) == ["c.jpg", "d.jpg"]


def test_find_export_with_nobody_found_exits_1_and_writes_nothing(sorted_album, cli):
    s = sorted_album
    stranger = draw(s["tmp"] / "you.jpg", [6])
    dest = s["tmp"] / "for-them"
    result = cli("find", s["out"], stranger, "--export", dest)
    assert result.exit_code == 1 and "nothing exported" in result.stderr
    assert not dest.exists()


def test_find_uses_outs_detector_settings(sorted_album, cli):
    s = sorted_album
    assert cli("sort", s["src"], "-o", s["out"], "--min-face", "30").exit_code == 0
    cli.settings.clear()
    cli("find", s["out"], draw(s["tmp"] / "me.jpg", [0]))
    assert cli.settings == [("yunet", None, 30)]


def test_photos_with_lists_the_photos_all_of_them_appear_in(sorted_album, cli):
    s = sorted_album
    photo(s["src"] / "more" / "e.jpg", [0, 1])
    assert cli("sort", s["src"], "-o", s["out"]).exit_code == 0
    assert cli("name", s["out"], s["p1"], "Bob").exit_code == 0
    result = cli("photos", s["out"], "--with", s["p0"], "--with", "Bob", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"with": [s["p0"], s["p1"]],
                                         "photos": ["more/e.jpg", "trip/c.jpg"]}
    number = s["p0"].removeprefix("person_").lstrip("0")
    text = cli("photos", s["out"], "--with", number)
    assert text.stdout.splitlines() == ["a.jpg", "b.jpg", "more/e.jpg", "trip/c.jpg"]


def test_photos_with_an_unknown_person_exits_1_and_without_with_2(sorted_album, cli):
    s = sorted_album
    unknown = cli("photos", s["out"], "--with", s["p0"], "--with", "Carol")
    assert unknown.exit_code == 1 and "no person 'Carol'" in unknown.stderr
    assert unknown.stdout == ""
    assert cli("photos", s["out"]).exit_code == 2


def test_find_and_photos_on_a_folder_without_state_exit_1(tmp_path, cli):
    selfie = draw(tmp_path / "me.jpg", [0])
    for args in (["find", tmp_path, selfie], ["photos", tmp_path, "--with", "1"]):
        result = cli(*args)
        assert result.exit_code == 1 and "no photokosh state" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.jpg"]


def test_nearest_people_ranks_people_by_their_nearest_face_and_flags_close_calls():
    import numpy as np

    from photokosh.find import Match, nearest_people

    known = np.array([[0.0, 0.0], [0.3, 0.0], [0.0, 0.5], [1.0, 1.0]])
    owners = np.array(["a", "a", "b", "c"])
    assert nearest_people(np.array([0.3, 0.1]), known, owners) == [("a", 0.1), ("b", 0.5)]
    assert nearest_people(np.array([0.0, 0.0]), known[:1], owners[:1]) == [("a", 0.0)]
    assert nearest_people(np.array([0.0, 0.0]), known[:0], owners[:0]) == []
    assert Match((0, 0, 1, 1), "a", 0.5, "b", 0.54, person="a").close_call
    assert not Match((0, 0, 1, 1), "a", 0.5, "b", 0.56, person="a").close_call
    assert not Match((0, 0, 1, 1), "a", 0.7, "b", 0.71).close_call  # nobody: no call to make


def test_find_export_hands_over_no_close_call(sorted_album, cli, monkeypatch):
    from photokosh import find

    s = sorted_album
    monkeypatch.setattr(find, "CLOSE_CALL", 2.0)  # every match is a close call now
    dest = s["tmp"] / "for-them"
    result = cli("find", s["out"], draw(s["tmp"] / "me.jpg", [0]), "--export", dest)
    assert result.exit_code == 1
    assert f"not exported: {s['p0']} is a close call" in result.stderr
    assert "close call" in result.stdout and not dest.exists()


def test_find_photos_and_export_work_while_a_run_holds_outs_lock(sorted_album, cli):
    from photokosh.lock import run_lock

    s = sorted_album
    selfie = draw(s["tmp"] / "me.jpg", [0])
    with run_lock(s["out"].resolve()):  # as a sort in progress holds it
        assert cli("name", s["out"], s["p0"], "Alice").exit_code == 4  # the lock is held
        assert cli("find", s["out"], selfie, "--json").exit_code == 0
        assert cli("photos", s["out"], "--with", s["p0"]).exit_code == 0
        assert cli("export", s["out"], s["p0"], s["tmp"] / "dest").exit_code == 0
