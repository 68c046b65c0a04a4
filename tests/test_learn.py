"""The folders are a UI (issue 21): what the user does to OUT's person folders in a file
manager is learned at the start of the next run, reported, shown by --dry-run, undoable."""

from __future__ import annotations

import json
import os

from conftest import placed_files, tree_state
from fakes import draw

_sizes = iter(range(10_000))


def photo(path, people):
    return draw(path, people, size=(240 + next(_sizes) % 500, 160))


def album(root):
    """person_001: palette 0 in a, b, c; person_002: palette 1 in d, e."""
    src = root / "photos"
    for name, people in [("a.jpg", [0]), ("b.jpg", [0]), ("c.jpg", [0]), ("d.jpg", [1]),
                         ("e.jpg", [1])]:
        photo(src / name, people)
    return src


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def sort(cli, src, out, *more):
    return json.loads(ok(cli("sort", src, "-o", out, "--json", "-q", *more)).stdout)


def folders(out) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rel in placed_files(out):
        top, _, rest = rel.partition("/")
        found.setdefault(top, set()).add(rest)
    return found


def test_a_renamed_person_folder_names_the_person(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    os.rename(out / "person_002", out / "Alice Smith")
    report = sort(cli, src, out)
    assert report["summary"]["learned"] == 1
    [item] = report["learned"]
    assert (item["kind"], item["person"], item["to"]) == ("name", "person_002", "Alice Smith")
    assert "learned from OUT's folders" not in report  # the report is JSON, parsed
    alice = next(p for p in report["people"] if p["id"] == "person_002")
    assert (alice["name"], alice["folder"]) == ("Alice Smith", "Alice Smith")
    assert folders(out) == {"person_001": {"a.jpg", "b.jpg", "c.jpg"},
                            "Alice Smith": {"d.jpg", "e.jpg"}}
    again = sort(cli, src, out)
    assert again["learned"] == [] and folders(out)["Alice Smith"] == {"d.jpg", "e.jpg"}
    ok(cli("undo", out, str(item["correction"])))
    assert set(folders(out)) == {"person_001", "person_002"}


def test_a_photo_moved_to_another_persons_folder_moves_that_face(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    os.rename(out / "person_001" / "c.jpg", out / "person_002" / "c.jpg")
    report = sort(cli, src, out)
    [item] = report["learned"]
    assert (item["kind"], item["person"], item["to"], item["photo"]) == (
        "move", "person_001", "person_002", "c.jpg")
    expected = {"person_001": {"a.jpg", "b.jpg"}, "person_002": {"c.jpg", "d.jpg", "e.jpg"}}
    assert folders(out) == expected
    photo(src / "f.jpg", [0])  # new photos still go by the faces
    sort(cli, src, out)
    assert folders(out) == {**expected, "person_001": {"a.jpg", "b.jpg", "f.jpg"}}
    rows = json.loads(ok(cli("corrections", out, "--json")).stdout)
    assert [(r["kind"], r["how"]) for r in rows] == [("move", "folder")]


def test_a_photo_moved_to_unknown_is_not_that_person(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    (out / "unknown").mkdir()
    os.rename(out / "person_001" / "c.jpg", out / "unknown" / "c.jpg")
    [item] = sort(cli, src, out)["learned"]
    assert (item["kind"], item["person"]) == ("notme", "person_001")
    assert "c.jpg" not in folders(out)["person_001"]


def test_a_deleted_photo_teaches_nothing_and_comes_back(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    (out / "person_001" / "c.jpg").unlink()
    report = sort(cli, src, out)
    assert report["learned"] == [] and report["summary"]["learned"] == 0
    assert folders(out)["person_001"] == {"a.jpg", "b.jpg", "c.jpg"}


def test_dry_run_shows_what_it_would_learn_and_changes_nothing(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    os.rename(out / "person_001" / "c.jpg", out / "person_002" / "c.jpg")
    before = tree_state(out)
    result = ok(cli("sort", src, "-o", out, "--json", "--dry-run"))
    [item] = json.loads(result.stdout)["learned"]
    assert item["kind"] == "move" and "learned from OUT's folders" in result.stderr
    assert tree_state(out) == before
    assert [i["kind"] for i in sort(cli, src, out)["learned"]] == ["move"]


def test_the_summary_says_what_was_learned(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    os.rename(out / "person_002", out / "Alice")
    result = ok(cli("sort", src, "-o", out))
    assert "Learned 1 correction(s)" in result.stdout
    assert "person_002 is named 'Alice'" in result.stderr


def test_a_learned_move_is_undone_like_a_command(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    os.rename(out / "person_001" / "c.jpg", out / "person_002" / "c.jpg")
    [item] = sort(cli, src, out)["learned"]
    ok(cli("undo", out, str(item["correction"])))
    assert folders(out) == {"person_001": {"a.jpg", "b.jpg", "c.jpg"},
                            "person_002": {"d.jpg", "e.jpg"}}
    assert sort(cli, src, out)["learned"] == []  # nothing is learned twice
    assert folders(out)["person_001"] == {"a.jpg", "b.jpg", "c.jpg"}
