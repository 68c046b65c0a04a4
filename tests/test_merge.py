"""A merge is a correction like the others: in the journal, listed, undone by `undo`, and kept
by every later clustering (re-runs, new photos of either side, re-detection, `recluster`)."""

from __future__ import annotations

import json

from fakes import FakeEmbedder
from test_corrections import album, ok, people_of, photo, survives

from photokosh import SortOptions, sort_photos
from photokosh.corrections import list_corrections, recluster, undo
from photokosh.people import list_people, merge_people, name_person


def sorted_album(tmp_path, cli):
    """The album and g.jpg (palette 0), sorted: person_001 a, b, c, g; person_002 d, e."""
    src, out = album(tmp_path), tmp_path / "out"
    photo(src / "g.jpg", [0])
    ok(cli("sort", src, "-o", out, "-q"))
    return src, out


def merged_album(tmp_path, cli):
    """The album with palette 1 (person_002: d, e) merged into palette 0 (person_001: a, b,
    c), named Lance. No photo shows both, so the merge needs no --force."""
    src, out = sorted_album(tmp_path, cli)
    result = ok(cli("merge", out, "person_002", "person_001"))
    assert "person_001/" in result.stdout
    ok(cli("name", out, "person_001", "Lance"))
    return src, out


def corrections(cli, out) -> list[dict]:
    return json.loads(ok(cli("corrections", out, "--json")).stdout)


def test_a_merge_lasts_through_reruns_new_photos_redetection_and_recluster(tmp_path, cli):
    src, out = merged_album(tmp_path, cli)

    def check(out, stage):
        got = people_of(out)
        new = {"new0.jpg", "new1.jpg"} if stage not in ("now", "re-run") else set()
        # new photos of either side join the merged person, nearest side or not
        assert got["Lance"] == {"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "g.jpg"} | new, stage
        assert set(got) == {"Lance", "person_003"}, stage
    survives(src, out, cli, check)


def test_a_merge_is_listed_and_undo_gives_both_people_back(tmp_path, cli):
    src, out = merged_album(tmp_path, cli)
    rows = corrections(cli, out)
    assert [(r["kind"], r["person"], r["value"]["other"], r["how"]) for r in rows] == [
        ("merge", "person_001", "person_002", "command")]
    listed = ok(cli("corrections", out)).stdout
    assert listed.strip() == f"{rows[0]['id']}: merge person_001 / person_002 (command)"
    ok(cli("undo", out, str(rows[0]["id"])))
    got = people_of(out)
    assert got["Lance"] == {"a.jpg", "b.jpg", "c.jpg", "g.jpg"}  # the name given after stays
    assert got["person_002"] == {"d.jpg", "e.jpg"}
    assert corrections(cli, out) == []
    ok(cli("recluster", out))  # and the clustering no longer holds them together
    assert people_of(out) == got


def test_undo_of_a_merge_gives_back_the_name_taken_and_the_corrections_moved(tmp_path, cli):
    src, out = sorted_album(tmp_path, cli)
    ok(cli("name", out, "person_002", "Bob"))
    ok(cli("move", out, "f.jpg", "Bob"))  # about person_002: follows the merge, and comes back
    ok(cli("merge", out, "Bob", "person_001"))
    assert people_of(out)["Bob"] >= {"a.jpg", "d.jpg", "f.jpg"}  # the target took the name
    merge = next(r for r in corrections(cli, out) if r["kind"] == "merge")
    ok(cli("undo", out, str(merge["id"])))
    got = people_of(out)
    assert got["Bob"] == {"d.jpg", "e.jpg", "f.jpg"} and got["person_001"] == {
        "a.jpg", "b.jpg", "c.jpg", "g.jpg"}
    assert [(r["kind"], r["person"]) for r in corrections(cli, out)] == [("move", "person_002")]


def test_photos_added_after_a_merge_are_placed_again_by_its_undo(tmp_path, cli):
    src, out = merged_album(tmp_path, cli)
    photo(src / "new0.jpg", [0])
    photo(src / "new1.jpg", [1])
    ok(cli("sort", src, "-o", out, "-q"))
    assert {"new0.jpg", "new1.jpg"} <= people_of(out)["Lance"]
    ok(cli("undo", out, str(corrections(cli, out)[0]["id"])))
    got = people_of(out)
    assert got["person_002"] == {"d.jpg", "e.jpg", "new1.jpg"}
    assert got["Lance"] == {"a.jpg", "b.jpg", "c.jpg", "g.jpg", "new0.jpg"}


def test_a_split_after_a_merge_wins_and_its_undo_merges_again(tmp_path, cli):
    src, out = merged_album(tmp_path, cli)
    ok(cli("split", out, "Lance"))  # the later correction wins: two people again
    ok(cli("recluster", out))
    got = people_of(out)
    assert got["Lance"] == {"a.jpg", "b.jpg", "c.jpg", "g.jpg"}
    assert got["person_004"] == {"d.jpg", "e.jpg"}
    ok(cli("notsame", out, "Lance", "person_004"))
    split = next(r for r in corrections(cli, out) if r["how"] == "split")
    ok(cli("undo", out, str(split["id"])))  # the split taken back: the merge holds again
    ok(cli("recluster", out))
    assert people_of(out)["Lance"] == {"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "g.jpg"}


def test_notsame_of_a_merged_person_says_how_to_undo_the_merge(tmp_path, cli):
    src, out = merged_album(tmp_path, cli)
    merge = corrections(cli, out)[0]["id"]
    result = cli("notsame", out, "person_002", "Lance")
    assert result.exit_code == 1 and result.stdout == ""
    assert f"person_002 was merged into person_001 (correction {merge})" in result.stderr
    assert f"undo OUT {merge}" in result.stderr and "Traceback" not in result.stderr


def test_the_core_merge_is_kept_by_recluster_and_a_redetection(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    photo(src / "g.jpg", [0])
    sort_photos(src, out, SortOptions(workers=1), embedder=FakeEmbedder())
    merge_people(out, "person_002", "person_001")
    name_person(out, "person_001", "Lance")
    recluster(out)
    rows = {r["id"]: r for r in list_people(out)}
    assert set(rows) == {"person_001", "person_003"}
    assert rows["person_001"]["name"] == "Lance" and rows["person_001"]["photo_count"] == 6
    [merge] = list_corrections(out)
    assert (merge.kind, merge.person, merge.value["other"]) == ("merge", "person_001",
                                                                 "person_002")
    undo(out, merge.id)
    assert {r["id"]: r["photo_count"] for r in list_people(out)} == {
        "person_001": 4, "person_002": 2, "person_003": 1}


def test_the_review_apps_merge_is_listed_kept_by_recluster_and_undone(sorted_out):
    from review_client import Browser

    _, out = sorted_out
    browser = Browser(out)
    browser.act("/act/merge", {"source": "person_004", "target": "person_003"})  # f into h, i
    html = browser.page("/corrections")
    [merge] = list_corrections(out)
    assert f'data-correction="{merge.id}"' in html and "one person" in html
    assert "person_003 / person_004" in html
    recluster(out)
    assert people_of(out)["person_003"] == {"f.jpg", "h.jpg", "i.jpg"}
    browser.act("/act/undo", {"correction": str(merge.id)})
    got = people_of(out)
    assert got["person_003"] == {"h.jpg", "i.jpg"} and got["person_004"] == {"f.jpg"}


def test_a_forced_merge_of_two_said_apart_wins_and_its_undo_brings_the_notsame_back(
        tmp_path, cli):
    src, out = sorted_album(tmp_path, cli)
    ok(cli("notsame", out, "person_001", "person_002"))
    assert cli("merge", out, "person_002", "person_001").exit_code == 1
    ok(cli("merge", out, "person_002", "person_001", "--force"))  # the later correction wins
    ok(cli("recluster", out))
    assert people_of(out)["person_001"] == {"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "g.jpg"}
    apart, merge = corrections(cli, out)
    ok(cli("undo", out, str(merge["id"])))
    [back] = corrections(cli, out)
    assert (back["kind"], back["person"], back["value"]) == (
        "apart", "person_001", {"other": "person_002"})
    result = cli("merge", out, "person_002", "person_001")
    assert result.exit_code == 1 and "two people, you said" in result.stderr


def test_undo_of_the_first_of_two_merges_into_one_person_takes_back_that_one_only(
        tmp_path, cli):
    src, out = sorted_album(tmp_path, cli)
    ok(cli("merge", out, "person_002", "person_001"))
    ok(cli("merge", out, "person_003", "person_001"))  # its pins hold person_002's faces too
    first, _ = corrections(cli, out)
    ok(cli("undo", out, str(first["id"])))
    ok(cli("recluster", out))
    got = people_of(out)
    assert got["person_002"] == {"d.jpg", "e.jpg"}
    assert got["person_001"] == {"a.jpg", "b.jpg", "c.jpg", "f.jpg", "g.jpg"}
