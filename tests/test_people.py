"""What users do to people after a run (issue 3 and 6): name, list, merge, --known, forget."""

from __future__ import annotations

import json
import sqlite3

import pytest
from conftest import placed_files
from fakes import draw

from photokosh.errors import PhotokoshError
from photokosh.people import name_person

_sizes = iter(range(10_000))


def photo(path, people):
    """A photo of `people` with bytes of its own (equal contents are one photo to photokosh)."""
    return draw(path, people, size=(240 + next(_sizes) % 500, 160))


def album(root):
    """person_001 = palette 0 (3 photos), person_002 = palette 1 (2), person_003 = palette 2 (1)
    and one photo of palette 1 and 2 together."""
    src = root / "photos"
    for name in ("a.jpg", "b.jpg", "sub/c.jpg"):
        photo(src / name, [0])
    photo(src / "d.jpg", [1])
    photo(src / "sub/e.jpg", [1])
    photo(src / "f.jpg", [2])
    return src


@pytest.fixture
def sorted_album(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    result = cli("sort", src, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert {p["id"]: p["photo_count"] for p in report(out)["people"]} == {
        "person_001": 3, "person_002": 2, "person_003": 1}
    return src, out


def report(out):
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def folder_files(out, folder):
    return {rel.split("/", 1)[1] for rel in placed_files(out) if rel.split("/")[0] == folder}


def test_name_renames_the_folder_for_good(sorted_album, cli):
    src, out = sorted_album
    result = cli("name", out, "person_002", "Alice Smith")
    assert result.exit_code == 0, result.stderr
    assert "Alice Smith/" in result.stdout
    assert folder_files(out, "Alice Smith") == {"d.jpg", "sub/e.jpg"}
    assert not (out / "person_002").exists()
    photo(src / "new" / "g.jpg", [1])
    result = cli("sort", src, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert folder_files(out, "Alice Smith") == {"d.jpg", "sub/e.jpg", "new/g.jpg"}
    alice = next(p for p in report(out)["people"] if p["id"] == "person_002")
    assert (alice["name"], alice["folder"], alice["new_photos"]) == ("Alice Smith",
                                                                     "Alice Smith", 1)
    assert not (out / "person_002").exists()


def test_people_lists_ids_names_and_counts(sorted_album, cli):
    _, out = sorted_album
    assert cli("name", out, "person_001", "Bob").exit_code == 0
    result = cli("people", out, "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["id"], r["name"], r["photo_count"], r["face_count"]) for r in rows] == [
        ("person_001", "Bob", 3, 3), ("person_002", None, 2, 2), ("person_003", None, 1, 1)]
    table = cli("people", out)
    assert table.exit_code == 0 and "Bob" in table.stdout and "person_003" in table.stdout


def test_merge_joins_two_people_for_good(sorted_album, cli):
    src, out = sorted_album
    result = cli("merge", out, "person_003", "person_002")
    assert result.exit_code == 0, result.stderr
    assert folder_files(out, "person_002") == {"d.jpg", "sub/e.jpg", "f.jpg"}
    assert not (out / "person_003").exists()
    # the merged person's faces are two different fakes: doubtful, so listed first
    assert [p["id"] for p in json.loads(cli("people", out, "--json").stdout)] == [
        "person_002", "person_001"]
    rerun = cli("sort", src, "-o", out, "-q")  # nothing new: the merge holds
    assert rerun.exit_code == 0
    assert folder_files(out, "person_002") == {"d.jpg", "sub/e.jpg", "f.jpg"}


def test_new_photos_of_either_merged_person_join_the_merged_person(sorted_album, cli):
    src, out = sorted_album
    assert cli("merge", out, "person_003", "person_002").exit_code == 0
    photo(src / "new" / "g.jpg", [2])
    photo(src / "new" / "h.jpg", [1])
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert folder_files(out, "person_002") == {"d.jpg", "sub/e.jpg", "f.jpg", "new/g.jpg",
                                               "new/h.jpg"}
    assert {p["id"] for p in report(out)["people"]} == {"person_001", "person_002"}


def test_merging_people_seen_side_by_side_needs_force(sorted_album, cli):
    src, out = sorted_album
    photo(src / "together.jpg", [1, 2])
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    before = placed_files(out)
    refused = cli("merge", out, "person_003", "person_002")
    assert refused.exit_code == 1
    assert "--force" in refused.stderr and refused.stdout == ""
    assert placed_files(out) == before
    forced = cli("merge", out, "person_003", "person_002", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert not (out / "person_003").exists()


def test_unknown_person_is_a_clear_failure(sorted_album, cli):
    _, out = sorted_album
    for command in (["name", out, "person_099", "X"], ["forget", out, "nobody", "--yes"],
                    ["merge", out, "person_001", "person_042"]):
        result = cli(*command)
        assert result.exit_code == 1
        assert "photokosh people" in result.stderr


def test_a_name_two_people_share_is_refused_with_their_ids(sorted_album, cli):
    _, out = sorted_album
    assert cli("name", out, "person_001", "Joe").exit_code == 0
    assert cli("name", out, "person_002", "Joe").exit_code == 0  # two Joes: Joe, Joe (2)
    result = cli("photos", out, "--with", "Joe")
    assert result.exit_code == 1 and result.stdout == ""
    assert "names 2 people (person_001, person_002)" in result.stderr


def test_renaming_by_name_says_where_the_person_is_now(sorted_album, cli):
    _, out = sorted_album
    assert cli("name", out, "person_002", "Alice").exit_code == 0
    result = cli("name", out, "Alice", "Alice Smith")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "person_002: Alice Smith/ (2 photos)\n"


@pytest.mark.parametrize("command", [["name", "person_001", "X"], ["merge", "1", "2"],
                                     ["forget", "1", "--yes"], ["people"]])
def test_a_folder_never_sorted_is_refused_and_left_as_it_was(tmp_path, cli, command):
    folder = tmp_path / "photos"
    photo(folder / "a.jpg", [0])
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    result = cli(command[0], folder, *command[1:])
    assert result.exit_code == 1 and "photokosh sort" in result.stderr
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before  # no .photokosh


HOSTILE = ["../x", "a/b", "/etc", ".", "..", "", "   ", "x" * 300, "CON", "con.txt",
           "..\\..\\x", "unknown", "blurred", ".photokosh", "person_001", "new\nline",
           "\u202eevil"]


@pytest.mark.parametrize("name", HOSTILE)
def test_names_cannot_escape_out(sorted_album, cli, name):
    src, out = sorted_album
    before_parent = set(out.parent.iterdir())
    result = cli("name", out, "person_003", name)
    if result.exit_code != 0:
        assert result.exit_code == 2  # a usage error: the name is a bad argument
        assert "choose another name" in result.stderr
        assert folder_files(out, "person_003") == {"f.jpg"}
        return
    entry = next(p for p in report(out)["people"] if p["id"] == "person_003")
    folder = out / entry["folder"]
    assert folder.resolve().parent == out.resolve()
    assert (folder / "f.jpg").is_file() and not (folder / "f.jpg").is_symlink()
    assert entry["folder"] not in ("unknown", "no_faces", "blurred", "person_001")
    assert not entry["folder"].startswith(".")
    assert len(entry["folder"].encode()) <= 255
    assert set(out.parent.iterdir()) == before_parent  # nothing written beside OUT
    assert folder_files(out, "person_001") == {"a.jpg", "b.jpg", "sub/c.jpg"}  # not hijacked


def test_nul_in_a_name_cannot_reach_the_file_system(sorted_album):
    _, out = sorted_album
    try:
        result = name_person(out, "person_003", "a\x00b")
    except PhotokoshError as exc:
        assert "name" in str(exc)
        return
    folder = next(p["folder"] for p in result.report["people"] if p["id"] == "person_003")
    assert "\x00" not in folder
    assert (out / folder).resolve().parent == out.resolve()
    assert (out / folder / "f.jpg").is_file()


def test_known_people_are_named_from_the_first_run(tmp_path, cli):
    src = album(tmp_path)
    known = tmp_path / "known"
    photo(known / "Carol" / "one.jpg", [1])
    photo(known / "Carol" / "two.png", [1])
    photo(known / "Dan" / "only.jpg", [4])  # matches nobody in the album
    out = tmp_path / "out"
    result = cli("sort", src, "-o", out, "--known", known, "-q")
    assert result.exit_code == 0, result.stderr
    people = {p["id"]: p for p in report(out)["people"]}
    assert people["person_002"]["name"] == "Carol"
    assert folder_files(out, "Carol") == {"d.jpg", "sub/e.jpg"}
    assert not any(p["name"] == "Dan" for p in people.values())
    assert not any(rel.endswith(("one.jpg", "two.png", "only.jpg")) for rel in placed_files(out))
    assert report(out)["errors"] == []


def test_known_needs_several_reference_photos_to_agree(tmp_path, cli):
    """Both of Carol's reference photos are used: one of them alone would be enough, and the
    second must not confuse the match."""
    src = album(tmp_path)
    known = tmp_path / "known"
    photo(known / "Carol" / "one.jpg", [1])
    photo(known / "Carol" / "group.jpg", [1, 5])  # the largest face is Carol's too
    result = cli("sort", src, "-o", tmp_path / "out", "--known", known, "-q")
    assert result.exit_code == 0, result.stderr
    assert folder_files(tmp_path / "out", "Carol") == {"d.jpg", "sub/e.jpg"}


def forgotten_photos_are_unknown(out):
    """person_002's photos show a face still (a box of nobody's): they are unknown/'s photos,
    not photos without faces, in OUT and in the report alike."""
    assert folder_files(out, "unknown") == {"d.jpg", "sub/e.jpg"}
    assert not (out / "no_faces").exists()
    doc = report(out)
    assert (doc["summary"]["unknown_photos"], doc["summary"]["no_face_photos"]) == (2, 0)
    faces = {p["path"]: p["faces"] for p in doc["photos"]}
    for rel in ("d.jpg", "sub/e.jpg"):
        assert [f["person"] for f in faces[rel]] == [None] and len(faces[rel][0]["box"]) == 4


def test_forget_erases_a_person_for_good(sorted_album, cli):
    src, out = sorted_album
    result = cli("forget", out, "person_002", "--yes")
    assert result.exit_code == 0, result.stderr
    assert not (out / "person_002").exists()
    assert "person_002" not in {p["id"] for p in report(out)["people"]}
    forgotten_photos_are_unknown(out)
    db = sqlite3.connect(out / ".photokosh" / "state.db")
    try:
        rows = db.execute("SELECT embedding, person FROM faces WHERE forgotten=1").fetchall()
        assert len(rows) == 2 and all(emb is None and p is None for emb, p in rows)
        assert db.execute("SELECT COUNT(*) FROM faces WHERE person='person_002'").fetchone() \
            == (0,)
    finally:
        db.close()
    for _ in range(2):  # a later run, and another, from the same photos
        rerun = cli("sort", src, "-o", out, "-q")
        assert rerun.exit_code == 0, rerun.stderr
        ids = {p["id"] for p in report(out)["people"]}
        assert ids == {"person_001", "person_003"}
        placed = placed_files(out)
        assert not any(rel.startswith("person_002/") or rel.startswith("person_004/")
                       for rel in placed)
        forgotten_photos_are_unknown(out)
    assert all(f["person"] != "person_002" for p in report(out)["photos"] for f in p["faces"])


def test_report_stays_consistent_after_forget(sorted_album, cli):
    from test_sort import check_summary

    _, out = sorted_album
    assert cli("forget", out, "person_002", "--yes").exit_code == 0
    check_summary(report(out))


def test_forget_asks_first_and_refuses_without_a_terminal(sorted_album, cli, monkeypatch):
    _, out = sorted_album
    result = cli("forget", out, "person_002")  # CliRunner's stdin is no terminal
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert {p["id"] for p in report(out)["people"]} >= {"person_002"}
    from click.testing import CliRunner

    import photokosh.cli.people as commands
    from photokosh.cli import main

    monkeypatch.setattr(commands, "stdin_is_terminal", lambda: True)
    said_no = CliRunner().invoke(main, ["forget", str(out), "person_002"], input="n\n")
    assert said_no.exit_code == 1 and "Erase person_002 (2 photos) for good?" in said_no.stderr
    assert "person_002" in {p["id"] for p in report(out)["people"]}
    said_yes = CliRunner().invoke(main, ["forget", str(out), "person_002"], input="y\n")
    assert said_yes.exit_code == 0, said_yes.stderr
    assert "person_002" not in {p["id"] for p in report(out)["people"]}
    assert folder_files(out, "unknown") == {"d.jpg", "sub/e.jpg"}
