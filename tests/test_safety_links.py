"""Issue 19, items 1-3: a symbolic link or a stranger's file anywhere in OUT never makes
photokosh delete, write, chmod or replace anything outside OUT or anything that is not its own.

Each test puts a link to a sibling "victim" folder (or file) where photokosh wants a folder or
a file of its own, runs a sort, and checks that nothing outside OUT changed, byte for byte,
mode and mtime included. What the run must do instead is decided per place:

- inside OUT/.photokosh (the state folder, tmp/, thumbs/, lock, state.db) and at report.json
  or index.html: REFUSE (PhotokoshError, exit 1), before a single photo is placed. These are
  photokosh's private files, or the result that scripts read; a link there is tampering or a
  mistaken OUT, and there is nowhere sensible to write instead.
- at a person folder (or a folder inside one) and at blurred/: a reported CONFLICT for every
  file that would land there, as for a stranger's photo in the way; the rest of the sort is
  still worth having, and --strict makes the conflict loud for cron jobs.
"""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import placed_files, tree_state
from fakes import draw
from safety_helpers import (
    PERSON_0,
    PERSON_1,
    album,
    assert_untouched,
    errors_under,
    outside,
    run,
    victim,
)

from photokosh.errors import PhotokoshError


def attempt(src, out, **options) -> PhotokoshError | None:
    """Run a sort; return its PhotokoshError (a refusal), None if it completed. Any other
    exception escapes: a raw traceback is a failure too."""
    try:
        run(src, out, **options)
    except PhotokoshError as exc:
        return exc
    return None


def assert_refused(error: PhotokoshError | None, rel: str) -> None:
    assert error is not None, f"the run went on with a link at OUT/{rel} instead of refusing"
    message = str(error)
    assert rel in message, f"the refusal does not name OUT/{rel}: {message}"
    assert "link" in message.lower(), f"the refusal does not say it is a link: {message}"


# --- items 1 and 2: links in photokosh's own state folder ----------------------------------

@pytest.mark.parametrize("rel", [".photokosh", ".photokosh/tmp", ".photokosh/thumbs",
                                 ".photokosh/lock", ".photokosh/state.db"])
def test_a_link_in_the_state_folder_is_refused_and_its_target_untouched(tmp_path, rel):
    """Today: tmp/ -> victim is emptied (clean_tmp), thumbs/ -> victim loses its JPEGs and is
    chmod'ed 0700 (make_thumbnails), .photokosh -> victim is chmod'ed 0700 and filled with
    state, lock -> a file truncates it, state.db -> a file gets SQLite written into it."""
    src, target = album(tmp_path), victim(tmp_path)
    out = tmp_path / "out"
    link = out / rel
    link.parent.mkdir(parents=True, exist_ok=True)
    # a folder's place gets a link to the victim folder, a file's place a link to a file of
    # it (an empty one for state.db, which SQLite would happily turn into a database)
    pointed = {".photokosh/lock": target / "doc.txt", ".photokosh/state.db": target / "data.db"}
    (target / "data.db").touch()
    os.symlink(pointed.get(rel, target), link)
    before = outside(tmp_path, out)
    error = attempt(src, out)
    assert_untouched(tmp_path, out, before)
    assert_refused(error, rel)
    assert os.readlink(link) == str(pointed.get(rel, target))  # the link stays too
    assert placed_files(out) == set()  # refused before placing a single photo


def test_the_cli_turns_a_refusal_into_exit_1_and_a_message(tmp_path, cli):
    src, target = album(tmp_path), victim(tmp_path)
    out = tmp_path / "out"
    (out / ".photokosh").mkdir(parents=True)
    os.symlink(target, out / ".photokosh" / "tmp")
    before = outside(tmp_path, out)
    result = cli("sort", src, "-o", out, "--json")
    assert_untouched(tmp_path, out, before)
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert ".photokosh/tmp" in result.stderr and "Traceback" not in result.stderr


# --- item 2: links where photokosh wants a folder of copies --------------------------------

@pytest.mark.parametrize("when", ["before the first run", "after a run", "a sub-folder"])
def test_a_linked_person_folder_is_a_conflict_not_a_way_out(tmp_path, when):
    """Today the copies are written into the victim folder. Decided: each photo that would
    land behind the link is a conflict in report["errors"] whose reason says it is a link;
    the other person's folder is sorted as usual."""
    src, target = album(tmp_path), victim(tmp_path)
    out = tmp_path / "out"
    if when == "before the first run":
        out.mkdir()
        link, expected = out / PERSON_0, {"a.jpg", "b.jpg", "sub/c.jpg"}
    elif when == "after a run":
        run(src, out)
        shutil.rmtree(out / PERSON_0)  # the user moves the folder away and links it back
        link, expected = out / PERSON_0, {"a.jpg", "b.jpg", "sub/c.jpg", "e.jpg"}
        draw(src / "e.jpg", [0], size=(300, 170))
    else:
        (out / PERSON_0).mkdir(parents=True)
        link, expected = out / PERSON_0 / "sub", {"a.jpg", "b.jpg", "sub/c.jpg"}
    os.symlink(target, link)
    before = outside(tmp_path, out)
    report = run(src, out).report
    assert_untouched(tmp_path, out, before)
    assert os.readlink(link) == str(target)
    behind = {rel for rel in expected
              if (PERSON_0 + "/" + rel).startswith(os.path.relpath(link, out) + "/")}
    conflicts = errors_under(report, f"OUT/{PERSON_0}/")
    assert set(conflicts) == {f"OUT/{PERSON_0}/{rel}" for rel in behind}
    assert all("link" in reason.lower() for reason in conflicts.values()), conflicts
    assert {f"{PERSON_1}/sub/c.jpg", f"{PERSON_1}/d.jpg"} <= placed_files(out)


def test_a_linked_blurred_folder_is_a_conflict(tmp_path):
    """Today every blurred copy is written into the victim folder. Decided: a conflict for
    each blurred copy, naming the link; the person folders are sorted as usual."""
    src, target = album(tmp_path), victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / "blurred")
    before = outside(tmp_path, out)
    report = run(src, out, blur=True).report
    assert_untouched(tmp_path, out, before)
    conflicts = errors_under(report, "OUT/blurred/")
    assert set(conflicts) == {f"OUT/blurred/{rel}" for rel in
                              ("a.jpg", "b.jpg", "sub/c.jpg", "d.jpg", "n.jpg")}
    assert all("link" in reason.lower() for reason in conflicts.values()), conflicts
    assert f"{PERSON_0}/a.jpg" in placed_files(out)


def test_the_blurred_page_never_shows_a_picture_from_behind_a_link(tmp_path):
    """With --blur the page's thumbnails are cut from OUT/blurred/. When blurred/ is a link to
    a folder holding files of the same names (here: unblurred photos of the same faces), the
    page must show no thumbnail rather than pictures from outside OUT."""
    src = album(tmp_path)
    target = tmp_path / "elsewhere"
    shutil.copytree(src, target)  # the same names, faces plainly visible
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / "blurred")
    run(src, out, blur=True)
    thumbs = list((out / ".photokosh" / "thumbs").glob("*.jpg"))
    assert thumbs == [], f"thumbnails cut from files behind the link: {thumbs}"


def test_the_cli_reports_a_linked_person_folder_and_strict_exits_3(tmp_path, cli):
    src, target = album(tmp_path), victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / PERSON_0)
    before = outside(tmp_path, out)
    result = cli("sort", src, "-o", out, "--strict", "-q")
    assert_untouched(tmp_path, out, before)
    assert result.exit_code == 3, result.stderr


# --- item 3: report.json and index.html ---------------------------------------------------

@pytest.mark.parametrize("rel", ["report.json", "index.html"])
def test_a_link_at_the_report_or_the_page_is_refused(tmp_path, rel):
    """Today the link itself is silently replaced (its target survives only because a rename
    replaces the link). Decided: refuse, as for any file photokosh did not write there."""
    src, target = album(tmp_path), victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target / "doc.txt", out / rel)
    before = outside(tmp_path, out)
    error = attempt(src, out)
    assert_untouched(tmp_path, out, before)
    assert_refused(error, rel)
    assert os.readlink(out / rel) == str(target / "doc.txt")
    assert placed_files(out) == set()


@pytest.mark.parametrize("rel, mine", [("report.json", '{"mine": true}\n'),
                                       ("index.html", "<h1>my own home page</h1>\n")])
def test_the_users_own_report_or_page_is_never_replaced(tmp_path, rel, mine):
    """The first run into a folder that holds the user's own index.html or report.json.
    Today both are silently replaced. Decided: refuse before anything is written, naming the
    file (the message says to move it or choose another -o OUT), rather than write the report
    elsewhere: a script reading OUT/report.json would then read the user's file as ours."""
    src = album(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / rel).write_text(mine)
    before = tree_state(out)
    error = attempt(src, out)
    assert (out / rel).read_text() == mine, f"the user's own {rel} was replaced"
    assert error is not None and rel in str(error), error
    assert tree_state(out) == before  # refused: OUT exactly as it was


def test_the_users_own_page_does_not_stop_a_run_without_a_page(tmp_path):
    """With --no-page photokosh wants no index.html, so the user's own is no conflict.
    (Passes today: kept so that the fix for item 3 does not refuse too much.)"""
    src = album(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<h1>mine</h1>\n")
    report = run(src, out, page=False).report
    assert report["errors"] == []
    assert (out / "index.html").read_text() == "<h1>mine</h1>\n"
    assert f"{PERSON_0}/a.jpg" in placed_files(out)
