"""Corrections that stick (issue 21): stable face ids, and what the user teaches photokosh
about faces and people honoured by every later run."""

from __future__ import annotations

import json

from fakes import FakeEmbedder, draw

from photokosh import SortOptions, sort_photos

_sizes = iter(range(10_000))


def photo(path, people):
    """A photo of `people` with bytes of its own (equal contents are one photo)."""
    return draw(path, people, size=(240 + next(_sizes) % 500, 160))


class Redetect(FakeEmbedder):
    """Other detection settings (as --min-face changes them): every photo is analysed again."""

    key = "fake-minface"


def run(src, out, embedder=None):
    return sort_photos(src, out, SortOptions(workers=1), embedder=embedder or FakeEmbedder())


def face_ids(report) -> dict[tuple[str, int], int]:
    """(photo, index) -> face id, for every face in the report."""
    return {(p["path"], i): f["id"] for p in report["photos"] for i, f in enumerate(p["faces"])}


def test_face_ids_survive_reruns_renames_and_redetection(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", [0, 1])
    photo(src / "b.jpg", [1])
    first = run(src, out).report
    ids = face_ids(first)
    assert sorted(ids.values()) == [1, 2, 3]
    assert json.loads((out / "report.json").read_text())["photos"][0]["faces"][0]["id"] == 1
    assert face_ids(run(src, out).report) == ids
    (src / "a.jpg").rename(src / "renamed.jpg")
    renamed = face_ids(run(src, out).report)
    assert renamed == {(("renamed.jpg" if p == "a.jpg" else p), i): f for (p, i), f in ids.items()}
    assert face_ids(run(src, out, Redetect()).report) == renamed
    photo(src / "c.jpg", [2])
    (src / "b.jpg").unlink()
    later = face_ids(run(src, out, Redetect()).report)
    assert later[("c.jpg", 0)] == 4  # a new face takes an id never given before


# --- each correction survives a re-run, new photos, a re-detection and a re-clustering -------

def album(root):
    """Palette 0 in a, b, c (person_001); palette 1 in d, e (person_002); palette 2 in f
    (person_003); g shows palettes 0 and 1."""
    src = root / "photos"
    for name, people in [("a.jpg", [0]), ("b.jpg", [0]), ("c.jpg", [0]), ("d.jpg", [1]),
                         ("e.jpg", [1]), ("f.jpg", [2]), ("g.jpg", [0, 1])]:
        photo(src / name, people)
    return src


def report(out):
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def people_of(out) -> dict[str, set[str]]:
    """Folder -> photos in it, from the report (and checked against OUT's files)."""
    found = {p["folder"]: set(p["photos"]) for p in report(out)["people"]}
    for folder, photos in found.items():
        # XMP sidecars of named people's photos are test_xmp's
        assert {q.name for q in (out / folder).iterdir() if q.suffix != ".xmp"} == photos
    return found


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


def survives(src, out, cli, check):
    """`check(out, stage)` holds after each thing that could undo a correction."""
    check(out, "now")
    ok(cli("sort", src, "-o", out, "-q"))
    check(out, "re-run")
    photo(src / "new0.jpg", [0])
    photo(src / "new1.jpg", [1])
    ok(cli("sort", src, "-o", out, "-q"))
    check(out, "new photos")
    sort_photos(src, out, SortOptions(workers=1), embedder=Redetect())
    check(out, "re-detection")
    ok(cli("recluster", out))
    check(out, "re-clustering")


def test_move_a_face_to_another_person_sticks(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    result = ok(cli("move", out, "f.jpg", "person_001"))
    assert "person_001/" in result.stdout

    def check(out, stage):
        got = people_of(out)
        assert "f.jpg" in got["person_001"], stage
        assert "person_003" not in got, stage
        new = {"new0.jpg"} if stage not in ("now", "re-run") else set()
        assert got["person_001"] == {"a.jpg", "b.jpg", "c.jpg", "f.jpg", "g.jpg"} | new, stage
    survives(src, out, cli, check)


def test_move_to_a_new_name_makes_a_new_person(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("move", out, "g.jpg#2", "Carol"))
    got = people_of(out)
    assert got["Carol"] == {"g.jpg"} and got["person_002"] == {"d.jpg", "e.jpg"}
    assert got["person_001"] == {"a.jpg", "b.jpg", "c.jpg", "g.jpg"}


def test_not_this_person_never_rejoins_them(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("notme", out, "a.jpg"))

    def check(out, stage):
        got = people_of(out)
        assert "a.jpg" not in got["person_001"], stage
        assert {"b.jpg", "c.jpg", "g.jpg"} <= got["person_001"], stage
        assert ("new0.jpg" in got["person_001"]) == (stage not in ("now", "re-run")), stage
    survives(src, out, cli, check)


def test_not_a_face_is_in_no_folder_chart_or_page_but_still_blurred(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q", "--blur"))
    ok(cli("notface", out, "f.jpg"))

    def check(out, stage):
        got, doc = people_of(out), report(out)
        assert "f.jpg" not in set().union(*got.values()), stage
        assert (out / "no_faces" / "f.jpg").exists(), stage
        f = next(p for p in doc["photos"] if p["path"] == "f.jpg")
        assert f["faces"] == [], stage
        assert "person_003" not in (out / "index.html").read_text(encoding="utf-8"), stage
    # still blurred: the blurred copy's face square is no longer the palette colour
    from PIL import Image
    pixel = Image.open(out / "blurred" / "f.jpg").convert("RGB").getpixel((12, 22))
    assert max(abs(a - b) for a, b in zip(pixel, (30, 30, 220), strict=True)) > 40
    survives(src, out, cli, check)


def test_split_undoes_a_merge_for_good(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    photo(src / "g.jpg", [0])  # no photo shows both: merging needs no --force
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("merge", out, "person_002", "person_001"))
    ok(cli("name", out, "person_001", "Hu"))
    assert people_of(out)["Hu"] >= {"a.jpg", "d.jpg"}
    ok(cli("split", out, "Hu"))

    def check(out, stage):
        got = people_of(out)
        new = stage not in ("now", "re-run")
        assert got["Hu"] == {"a.jpg", "b.jpg", "c.jpg", "g.jpg"} | ({"new0.jpg"} if new else set())
        other = [f for f, photos in got.items() if "d.jpg" in photos]
        assert other == ["person_004"], stage
        assert got["person_004"] == {"d.jpg", "e.jpg"} | ({"new1.jpg"} if new else set())
    survives(src, out, cli, check)


def test_split_with_faces_makes_them_a_new_person(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("split", out, "person_001", "a.jpg", "b.jpg"))
    got = people_of(out)
    assert got["person_001"] == {"c.jpg", "g.jpg"} and got["person_004"] == {"a.jpg", "b.jpg"}


def test_hidden_person_has_no_folder_and_keeps_their_new_photos(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("hide", out, "person_002"))

    def check(out, stage):
        got, doc = people_of(out), report(out)
        assert "person_002" not in got and not (out / "person_002").exists(), stage
        assert {"d.jpg", "e.jpg"} <= {q.name for q in (out / "unknown").iterdir()}, stage
        assert [p["id"] for p in doc["people"]] == ["person_001", "person_003"], stage
    survives(src, out, cli, check)
    ok(cli("unhide", out, "person_002"))
    assert people_of(out)["person_002"] == {"d.jpg", "e.jpg", "g.jpg", "new1.jpg"}


def test_corrections_are_listed_and_undone(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("notme", out, "a.jpg", "person_001"))
    rows = json.loads(ok(cli("corrections", out, "--json")).stdout)
    assert [(r["kind"], r["person"], r["how"]) for r in rows] == [
        ("notme", "person_001", "command")]
    ok(cli("undo", out, str(rows[0]["id"])))
    assert "a.jpg" in people_of(out)["person_001"]
    assert json.loads(ok(cli("corrections", out, "--json")).stdout) == []


def test_an_ambiguous_or_unknown_face_is_a_clear_failure(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    result = cli("notface", out, "g.jpg")
    assert result.exit_code == 1 and "g.jpg#N" in result.stderr and "Traceback" not in result.stderr
    result = cli("move", out, "nope.jpg", "person_001")
    assert result.exit_code == 1 and "no face 'nope.jpg'" in result.stderr
    assert result.stdout == ""


def test_the_merged_pair_rule_sees_two_people_not_one_with_an_outlier():
    import numpy as np

    from photokosh.doubt import looks_like_two, split_ratio

    rng = np.random.default_rng(0)
    one = rng.normal(0, 0.03, size=(20, 128))
    two = np.r_[one[:10], one[10:] + 0.05]  # two tight groups, a little apart
    outlier = np.r_[one, one[:1] + 0.2]
    assert looks_like_two(*split_ratio(two))
    assert not looks_like_two(*split_ratio(one))
    assert not looks_like_two(*split_ratio(outlier))  # far, but one face: an intruder
    assert not looks_like_two(*split_ratio(two[[0, 1, 2, 10, 11, 12]]))  # too few to tell


def test_a_correction_about_a_merged_person_follows_the_merge(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("move", out, "f.jpg", "person_002"))
    ok(cli("merge", out, "person_002", "person_001", "--force"))
    ok(cli("sort", src, "-o", out, "-q"))
    assert "f.jpg" in people_of(out)["person_001"]
    rows = json.loads(ok(cli("corrections", out, "--json")).stdout)
    assert [(r["kind"], r["person"]) for r in rows] == [("move", "person_001"),
                                                        ("merge", "person_001")]


def test_a_mistyped_id_makes_no_new_person(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    result = cli("move", out, "f.jpg", "person_01")
    assert result.exit_code == 1 and "person_01" in result.stderr
    assert set(people_of(out)) == {"person_001", "person_002", "person_003"}


def test_a_photo_named_with_a_hash_is_a_photo_first(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    photo(src / "x#2.jpg", [3])
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("notface", out, "x#2.jpg"))
    assert next(p for p in report(out)["photos"] if p["path"] == "x#2.jpg")["faces"] == []


def test_undo_of_a_split_takes_back_the_whole_split(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("name", out, "person_001", "Hu"))
    ok(cli("split", out, "Hu", "a.jpg", "b.jpg"))
    assert people_of(out)["Hu"] == {"c.jpg", "g.jpg"}
    rows = json.loads(ok(cli("corrections", out, "--json")).stdout)
    assert len(rows) == 4 and {r["how"] for r in rows} == {"split"}  # one per face of Hu
    ok(cli("undo", out, str(rows[0]["id"])))
    assert people_of(out)["Hu"] == {"a.jpg", "b.jpg", "c.jpg", "g.jpg"}
    assert json.loads(ok(cli("corrections", out, "--json")).stdout) == []
