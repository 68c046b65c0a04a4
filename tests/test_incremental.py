"""Incremental, cron-safe runs (issue 3): nothing re-analysed, ids kept, the source mirrored,
user files left alone, one run at a time, dry runs that change nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import placed_files, tree_state
from fakes import FakeEmbedder, album, photo

from photokosh import SortOptions, sort_photos
from photokosh.lock import run_lock


def run(src, out, embedder=None, **options):
    embedder = embedder or FakeEmbedder()
    result = sort_photos(src, out, SortOptions(workers=1, **options), embedder=embedder)
    return result, embedder


def person_of(report, palette_rel):
    return {p["id"] for p in report["people"] if palette_rel in p["photos"]}


def test_second_run_over_unchanged_photos_analyses_nothing(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    first, _ = run(src, out)
    before = tree_state(out)
    second, fake = run(src, out)
    assert fake.calls == 0
    summary = second.report["summary"]
    assert summary["reused_photos"] == summary["photos"] == 5
    assert summary["analysed_photos"] == 0 and summary["new_photos"] == 0
    assert all(p["new_photos"] == 0 for p in second.report["people"])
    assert [(p["id"], p["photos"]) for p in second.report["people"]] == \
        [(p["id"], p["photos"]) for p in first.report["people"]]
    after = tree_state(out)
    untouched = placed_files(out)
    assert {rel: after[rel] for rel in untouched} == {rel: before[rel] for rel in untouched}


def test_new_photos_join_their_person_with_the_same_id(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    first, _ = run(src, out)
    assert person_of(first.report, "a.jpg") == {"person_001"}
    assert person_of(first.report, "trip/d.jpg") == {"person_002"}
    photo(src / "2020" / "e.jpg", [1])
    photo(src / "2020" / "f.jpg", [1])
    photo(src / "2020" / "g.jpg", [1, 0])
    second, fake = run(src, out)
    assert fake.calls == 3
    people = {p["id"]: p for p in second.report["people"]}
    assert set(people) == {"person_001", "person_002"}
    assert people["person_002"]["photo_count"] == 5  # now the larger one: the id stays
    assert people["person_002"]["new_photos"] == 3 and people["person_001"]["new_photos"] == 1
    assert second.report["summary"]["new_photos"] == 3
    assert second.report["summary"]["analysed_photos"] == 3
    assert second.report["summary"]["reused_photos"] == 5
    assert {"person_002/2020/e.jpg", "person_002/2020/g.jpg",
            "person_001/2020/g.jpg"} <= placed_files(out)


def test_a_new_person_gets_the_next_id_and_ids_are_never_reused(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    run(src, out)
    photo(src / "h.jpg", [2])
    second, _ = run(src, out)
    assert person_of(second.report, "h.jpg") == {"person_003"}
    (src / "h.jpg").unlink()
    third, _ = run(src, out)
    assert {p["id"] for p in third.report["people"]} == {"person_001", "person_002"}
    assert not (out / "person_003").exists()
    photo(src / "i.jpg", [3])
    fourth, _ = run(src, out)
    assert person_of(fourth.report, "i.jpg") == {"person_004"}


def test_deleted_photo_vanishes_from_out(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    run(src, out)
    assert {"person_001/trip/c.jpg", "person_002/trip/c.jpg"} <= placed_files(out)
    (src / "trip" / "c.jpg").unlink()
    (src / "empty.jpg").unlink()
    result, _ = run(src, out)
    placed = placed_files(out)
    assert not {p for p in placed if p.endswith("c.jpg") or p.endswith("empty.jpg")}
    assert not (out / "no_faces").exists()  # folders it emptied go too
    assert result.report["summary"]["photos"] == 3


def test_moved_photo_moves_in_out_without_analysis(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    run(src, out)
    (src / "2021").mkdir()
    os.rename(src / "trip" / "c.jpg", src / "2021" / "renamed.jpg")
    os.rename(src / "a.jpg", src / "a2.jpg")
    result, fake = run(src, out)
    assert fake.calls == 0
    placed = placed_files(out)
    assert {"person_001/2021/renamed.jpg", "person_002/2021/renamed.jpg",
            "person_001/a2.jpg"} <= placed
    assert not {"person_001/trip/c.jpg", "person_002/trip/c.jpg", "person_001/a.jpg"} & placed
    assert (out / "person_001" / "a2.jpg").read_bytes() == (src / "a2.jpg").read_bytes()
    assert person_of(result.report, "2021/renamed.jpg") == {"person_001", "person_002"}
    assert result.report["summary"]["new_photos"] == 0  # moved, not new


def test_files_the_user_put_in_out_are_never_touched(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    out.mkdir()
    photo(out / "person_001" / "a.jpg", [5])  # where photokosh wants to put a.jpg
    (out / "person_001" / "notes.txt").write_text("mine")
    (out / "no_faces" / "keep").mkdir(parents=True)
    first, _ = run(src, out)
    mine = {rel: what for rel, what in tree_state(out).items()
            if rel in ("person_001/a.jpg", "person_001/notes.txt", "no_faces/keep")}
    assert len(mine) == 3
    assert any("in the way" in e["reason"] for e in first.report["errors"])
    # the user also edits a copy photokosh made; then every source photo of person 0 goes
    (out / "person_001" / "b.jpg").write_bytes(b"edited by the user")
    for rel in ("a.jpg", "b.jpg", "trip/c.jpg"):
        (src / rel).unlink()
    run(src, out, allow_removal=True)
    after = tree_state(out)
    assert {rel: after.get(rel) for rel in mine} == mine
    assert (out / "person_001" / "b.jpg").read_bytes() == b"edited by the user"


class OtherModel(FakeEmbedder):
    key = "fake-v2"


def test_another_model_reanalyses_but_keeps_ids(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    first, _ = run(src, out)
    photo(src / "x.jpg", [2])  # a fresh person arrives with the new model
    second, fake = run(src, out, embedder=OtherModel())
    assert fake.calls == 6
    assert second.report["settings"]["embedder"] == "fake-v2"
    assert second.report["summary"]["analysed_photos"] == 6
    ids = {p["id"]: sorted(p["photos"]) for p in second.report["people"]}
    assert ids == {**{p["id"]: sorted(p["photos"]) for p in first.report["people"]},
                   "person_003": ["x.jpg"]}
    third, again = run(src, out, embedder=OtherModel())
    assert again.calls == 0
    assert {p["id"]: p["photos"] for p in third.report["people"]} == ids


def test_a_second_run_on_a_locked_out_exits_4(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    photo(src / "new.jpg", [2])
    with run_lock(out):
        before = tree_state(out)
        result = cli("sort", src, "-o", out, "--json")
        assert result.exit_code == 4
        assert result.stdout == ""
        assert "another photokosh run" in result.stderr and str(out) in result.stderr
        assert tree_state(out) == before
    assert cli("sort", src, "-o", out, "-q").exit_code == 0


HOLDER = textwrap.dedent("""
    import sys, time
    from photokosh.lock import run_lock
    with run_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
""")


def test_a_lock_left_by_a_killed_run_does_not_block(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert cli("sort", src, "-o", out, "-q").exit_code == 4
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    assert (out / ".photokosh" / "lock").exists()  # left behind by the killed holder
    result = cli("sort", src, "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert "person_001/a.jpg" in placed_files(out)


def changed_album(tmp_path, cli):
    """An album sorted once, then changed: one photo added, one deleted, one moved."""
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q", "--blur").exit_code == 0
    photo(src / "new.jpg", [0])
    (src / "b.jpg").unlink()
    os.rename(src / "trip" / "d.jpg", src / "d-moved.jpg")
    return src, out




def test_dry_run_changes_nothing_and_says_what_it_would_do(tmp_path, cli):
    src, out = changed_album(tmp_path, cli)
    before = tree_state(out)
    result = cli("sort", src, "-o", out, "--dry-run", "--json", "--blur")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert {"add", "move", "remove"} <= set(plan)
    assert set(plan["add"]) == {"person_001/new.jpg", "blurred/new.jpg"}
    assert set(plan["remove"]) == {"person_001/b.jpg", "blurred/b.jpg"}
    assert {(m["from"], m["to"]) for m in plan["move"]} == {
        ("person_002/trip/d.jpg", "person_002/d-moved.jpg"),
        ("blurred/trip/d.jpg", "blurred/d-moved.jpg")}
    text = cli("sort", src, "-o", out, "--dry-run", "--blur")
    assert text.exit_code == 0
    assert "add\tperson_001/new.jpg" in text.stdout.splitlines()
    assert "dry run" in text.stdout
    after = tree_state(out)
    assert after == before  # the state database included


def test_dry_run_creates_no_file_in_the_state_folder(tmp_path, cli):
    src, out = changed_album(tmp_path, cli)
    before = tree_state(out)
    assert cli("sort", src, "-o", out, "--dry-run", "-q").exit_code == 0
    assert sorted(set(tree_state(out)) - set(before)) == []


def test_dry_run_on_a_new_out_creates_nothing(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    before = tree_state(tmp_path)
    result = cli("sort", src, "-o", out, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert "person_001/a.jpg" in json.loads(result.stdout)["add"]
    assert not out.exists()
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("when", ["before", "after"])
def test_dry_run_report_matches_the_real_run(tmp_path, when):
    """What a dry run predicts is what the real run then does."""
    src, out = album(tmp_path), tmp_path / "out"
    if when == "after":
        run(src, out)
        photo(src / "late.jpg", [1])
    dry, _ = run(src, out, dry_run=True)
    real, _ = run(src, out)
    assert {p["id"]: p["photos"] for p in dry.report["people"]} == \
        {p["id"]: p["photos"] for p in real.report["people"]}
    assert set(dry.changes.add) <= placed_files(out)
