"""Issue 21 A: a cron run cannot lose the user's work. A PHOTOS missing, empty or mostly gone
is refused (exit 5, OUT untouched); photos gone for a while keep their faces and people;
OUT remembers its settings."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time

import pytest
from conftest import tree_state
from fakes import album, photo


def sort(cli, src, out, *options):
    result = cli("sort", src, "-o", out, "--json", *options)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def names(report):
    return {p["id"]: p["name"] for p in report["people"]}


def sorted_once(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    report = sort(cli, src, out)
    assert {p["id"]: len(p["photos"]) for p in report["people"]} == {
        "person_001": 3, "person_002": 2}
    assert cli("name", out, "person_001", "Barack Obama").exit_code == 0
    assert cli("name", out, "person_002", "Wen Jiabao").exit_code == 0
    return src, out


def refused(cli, src, out, *options):
    before = tree_state(out)
    result = cli("sort", src, "-o", out, "--json", *options)
    assert result.exit_code == 5, result.stderr
    assert result.stdout == ""
    assert "Nothing was changed" in result.stderr and "--allow-removal" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_state(out) == before  # not a byte, not an mtime, not a new file
    return result.stderr


def test_the_issue_replayed_empty_photos_refused_then_back_without_analysis(tmp_path, cli,
                                                                           fake):
    src, out = sorted_once(tmp_path, cli)
    library = tmp_path / "nas"
    src.rename(library)
    src.mkdir()  # the mount point, the NAS not mounted at 3 a.m.
    assert "holds no photos, but OUT knows 5" in refused(cli, src, out)
    assert "does not exist" in refused(cli, tmp_path / "gone", out)  # a missing PHOTOS too
    src.rmdir()
    library.rename(src)  # mounted again
    calls = fake.calls
    report = sort(cli, src, out)
    assert fake.calls == calls and report["summary"]["analysed_photos"] == 0
    assert names(report) == {"person_001": "Barack Obama", "person_002": "Wen Jiabao"}


def test_a_missing_photos_with_an_unknown_out_is_a_usage_error(tmp_path, cli):
    result = cli("sort", tmp_path / "nowhere", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "out").exists()


def test_more_than_half_gone_is_refused_until_allowed(tmp_path, cli):
    src, out = sorted_once(tmp_path, cli)
    for rel in ("a.jpg", "b.jpg", "trip/d.jpg"):
        (src / rel).unlink()
    assert "3 of the 5 photos OUT knows are gone" in refused(cli, src, out)
    assert "3 of the 5" in refused(cli, src, out, "--dry-run")
    report = sort(cli, src, out, "--allow-removal")
    assert sorted(p["path"] for p in report["photos"]) == ["empty.jpg", "trip/c.jpg"]
    assert not (out / "Barack Obama" / "a.jpg").exists()


def test_half_gone_or_moved_photos_are_not_refused(tmp_path, cli, fake):
    src, out = sorted_once(tmp_path, cli)
    (src / "a.jpg").unlink()
    (src / "b.jpg").unlink()  # 2 of 5: a sorted-out folder, not an unmounted disk
    sort(cli, src, out)
    (src / "trip").rename(src / "2019")  # 2 of 3 moved: found again by size and time
    calls = fake.calls
    report = sort(cli, src, out)
    assert fake.calls == calls
    assert sorted(p["path"] for p in report["photos"]) == ["2019/c.jpg", "2019/d.jpg",
                                                           "empty.jpg"]


def test_a_folder_gone_for_a_night_comes_back_with_its_people(tmp_path, cli, fake):
    src, out = sorted_once(tmp_path, cli)
    shutil.move(src / "trip", tmp_path / "trip")  # 2 of 5 photos: allowed
    report = sort(cli, src, out)
    # OUT shows what is in PHOTOS: Wen's folder goes while all his photos are away ...
    assert names(report) == {"person_001": "Barack Obama"}
    assert not (out / "Wen Jiabao").exists()
    assert not (out / "Barack Obama" / "trip").exists()
    # ... but he is kept: a new photo of him joins him instead of making a new person
    assert report["summary"]["missing_photos"] == 2
    summary = cli("sort", src, "-o", out).stdout  # and the summary says so
    assert "2 photos gone from PHOTOS: their faces and people are kept for 30 days" in summary
    photo(src / "new.jpg", [1])
    report = sort(cli, src, out)
    assert names(report) == {"person_001": "Barack Obama", "person_002": "Wen Jiabao"}
    shutil.move(tmp_path / "trip", src / "trip")
    calls = fake.calls
    report = sort(cli, src, out)
    assert fake.calls == calls and report["summary"]["analysed_photos"] == 0
    assert {p["id"]: (p["name"], len(p["photos"])) for p in report["people"]} == {
        "person_001": ("Barack Obama", 3), "person_002": ("Wen Jiabao", 3)}
    assert (out / "Wen Jiabao" / "trip" / "d.jpg").is_file()


def age_missing(out, days):
    db = sqlite3.connect(out / ".photokosh" / "state.db")
    with db:
        db.execute("UPDATE photos SET missing_since=? WHERE missing_since IS NOT NULL",
                   (time.time() - days * 86400,))
    db.close()


def test_after_the_grace_period_only_named_people_are_kept(tmp_path, cli, fake):
    src, out = album(tmp_path), tmp_path / "out"
    sort(cli, src, out)
    assert cli("name", out, "person_002", "Wen Jiabao").exit_code == 0
    photo(src / "x" / "e.jpg", [2])  # person 3, unnamed
    sort(cli, src, out)
    shutil.move(src / "x", tmp_path / "x")
    shutil.move(src / "trip", tmp_path / "trip")
    sort(cli, src, out, "--allow-removal")  # 3 of 6 gone: exactly half, allowed anyway
    age_missing(out, 29)
    sort(cli, src, out)
    shutil.move(tmp_path / "x", src / "x")
    calls = fake.calls
    report = sort(cli, src, out)
    assert fake.calls == calls  # within 29 days: nothing analysed again
    assert "person_003" in names(report)
    shutil.move(src / "x", tmp_path / "x")
    sort(cli, src, out)
    age_missing(out, 31)
    sort(cli, src, out)  # the unnamed person's photo is forgotten, Wen's photos are not
    shutil.move(tmp_path / "x", src / "x")
    shutil.move(tmp_path / "trip", src / "trip")
    calls = fake.calls
    report = sort(cli, src, out)
    assert fake.calls == calls + 1  # x/e.jpg only
    assert names(report)["person_002"] == "Wen Jiabao"
    assert "person_003" not in names(report)  # a new id: an unnamed person is not kept


def test_prune_forgets_the_missing_photos_now(tmp_path, cli, fake):
    src, out = sorted_once(tmp_path, cli)
    shutil.move(src / "trip", tmp_path / "trip")
    sort(cli, src, out, "--prune")
    shutil.move(tmp_path / "trip", src / "trip")
    calls = fake.calls
    report = sort(cli, src, out)
    assert fake.calls == calls + 2
    assert "person_002" not in names(report)


def test_acknowledged_bad_files_are_passed_over_and_strict_alerts_only_on_new_ones(tmp_path,
                                                                                  cli):
    src, out = album(tmp_path), tmp_path / "out"
    (src / "broken.jpg").write_bytes(b"not a jpeg")
    (src / "old").mkdir()
    (src / "old" / "half.jpg").write_bytes(b"\xff\xd8 cut short")
    result = cli("sort", src, "-o", out, "--strict", "--json")
    assert result.exit_code == 3
    assert {e["path"] for e in json.loads(result.stdout)["errors"]} == {"broken.jpg",
                                                                       "old/half.jpg"}
    (src / ".photokoshignore").write_text("# known bad, leave them be\nbroken.jpg\nold/\n")
    report = sort(cli, src, out, "--strict")
    assert report["errors"] == []
    assert report["summary"]["acknowledged_files"] == 2
    assert report["summary"]["hidden_files"] == 0  # the ignore file is photokosh's own
    (src / "new-bad.jpg").write_bytes(b"")
    result = cli("sort", src, "-o", out, "--strict", "--json")
    assert result.exit_code == 3
    assert [e["path"] for e in json.loads(result.stdout)["errors"]] == ["new-bad.jpg"]
    assert "1 file(s) skipped" in result.stderr


def test_an_older_out_inside_photos_is_skipped_and_listed(tmp_path, cli):
    src = album(tmp_path)
    sort(cli, src, src / "2023-sorted")  # the old default: an OUT inside PHOTOS
    report = sort(cli, src, tmp_path / "people")
    assert not any(p["path"].startswith("2023-sorted") for p in report["photos"])
    assert report["duplicates"] == []
    assert [e["path"] for e in report["errors"]] == ["2023-sorted"]
    assert ".photokosh/" in report["errors"][0]["reason"]
    (src / ".photokoshignore").write_text("/2023-sorted/\n")  # acknowledged: silent
    report = sort(cli, src, tmp_path / "people", "--strict")
    assert report["errors"] == [] and report["summary"]["acknowledged_files"] == 1


def test_a_read_only_out_or_photos_that_is_a_file_is_a_message_not_a_traceback(tmp_path, cli):
    from test_safety import mounted

    src, out = sorted_once(tmp_path, cli)
    photo(src / "new.jpg", [0])  # something to write
    with mounted("--bind", out, tmp_path / "ro") as ro:
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {done.stderr.strip()}")
        before = tree_state(out)
        for target in (ro, ro / "sub"):  # the existing OUT, and a new one inside it
            result = cli("sort", src, "-o", target)
            assert result.exit_code == 1, result.stderr
            assert "Traceback" not in result.stderr and result.stdout == ""
            assert str(ro) in result.stderr and "read-only" in result.stderr, result.stderr
        assert tree_state(out) == before
    result = cli("sort", src / "a.jpg", "-o", tmp_path / "x")
    assert result.exit_code == 2 and "is a file" in result.stderr  # a bad argument
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()
