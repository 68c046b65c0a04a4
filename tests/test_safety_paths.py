"""PHOTOS, OUT and DEST that contain each other. OUT equal to PHOTOS was refused; PHOTOS
inside OUT was accepted (person folders landed among the photos, XMP sidecars were written
into PHOTOS) and an output folder given as PHOTOS was analysed in full. Each is refused, as a
usage error on the command line, before anything is written; links and `..` do not get
around the checks. An OUT inside PHOTOS stays allowed: the scan passes over it."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import tree_state
from safety_helpers import PERSON_0, PERSON_1, album, run
from test_cli import labelled_album

from photokosh import pipeline, places
from photokosh.errors import PhotokoshError, PlacesError


def refused(result, param: str, *words: str) -> str:
    """A usage error (exit 2) naming `param`, on stderr only; returns its message."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert re.search(rf"Invalid value for '?{re.escape(param)}'?:", result.stderr), \
        result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result.stderr


def spellings(tmp_path, target):
    """`target` as given, through a symbolic link, and through a `..`."""
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    return {"plain": target, "link": link, "dotdot": target / "x" / ".."}


@pytest.mark.parametrize("spelling", ["plain", "link", "dotdot"])
def test_out_equal_to_photos_is_refused_as_usage(tmp_path, cli, spelling):
    src = album(tmp_path)
    (src / "x").mkdir()
    out = spellings(tmp_path, src)[spelling]
    before = tree_state(tmp_path)
    refused(cli("sort", src, "-o", out), "-o/--out", "must not be the photo folder itself")
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("spelling", ["plain", "link", "dotdot"])
def test_photos_inside_a_new_out_is_refused_before_anything_is_written(tmp_path, cli,
                                                                       spelling):
    nest = tmp_path / "nest"
    (nest / "x").mkdir(parents=True)
    pics = album(nest)
    out = spellings(tmp_path, nest)[spelling]
    before = tree_state(tmp_path)
    refused(cli("sort", pics, "-o", out), "-o/--out", "must not hold the photo folder")
    assert tree_state(tmp_path) == before  # no .photokosh, no person folder, no sidecar


def test_the_core_refuses_photos_inside_out_too(tmp_path):
    nest = tmp_path / "nest"
    pics = album(nest)
    before = tree_state(tmp_path)
    with pytest.raises(PhotokoshError, match="must not hold the photo folder"):
        run(pics, nest)
    assert tree_state(tmp_path) == before


def test_photos_inside_an_existing_out_is_refused_as_such(tmp_path, cli):
    """Not "14 of the 26 photos OUT knows are gone" (exit 5): the folder is inside OUT."""
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    before = tree_state(tmp_path)
    message = refused(cli("sort", out / PERSON_0, "-o", out), "-o/--out",
                      "must not hold the photo folder")
    assert "gone" not in message
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("inner", ["", PERSON_0])
def test_an_output_folder_given_as_photos_is_refused_unread(tmp_path, cli, fake, inner):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    other, link = tmp_path / "other", spellings(tmp_path, out)["link"]
    calls, before = fake.calls, tree_state(tmp_path)
    photos = link / inner if inner else link
    refused(cli("sort", photos, "-o", other), "PHOTOS", "photokosh output folder",
            "sort its source photos instead")
    assert fake.calls == calls  # not one photo analysed
    assert not other.exists() and tree_state(tmp_path) == before


def test_an_out_inside_photos_is_still_sorted_and_passed_over(tmp_path, cli):
    src = album(tmp_path)
    out = src / "sorted"
    result = cli("sort", src, "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    photos = {p["path"] for p in json.loads(result.stdout)["photos"]}
    assert photos and not any(p.startswith("sorted/") for p in photos)


@pytest.fixture
def nested_out(tmp_path, monkeypatch):
    """An OUT sorted before the check (switched off to make one), holding its PHOTOS."""
    nest = tmp_path / "nest"
    pics = album(nest)
    monkeypatch.setattr(pipeline, "check_places", lambda source, out: None)
    run(pics, nest)
    monkeypatch.undo()
    return nest, pics


def test_an_out_holding_its_photos_is_not_written_by_later_commands(nested_out, cli):
    """Naming a person after the photo folder would put their folder, and its sidecars,
    in PHOTOS."""
    nest, pics = nested_out
    before, state = tree_state(pics), tree_state(nest / ".photokosh")
    for command in (("name", nest, PERSON_1, "photos"), ("forget", nest, PERSON_1, "--yes")):
        result = cli(*command)
        assert result.exit_code == 1, (result.stdout, result.stderr)
        assert "holds its photo folder" in result.stderr and result.stdout == ""
        # refused before the change: the state is as it was (forget could not be undone)
        assert tree_state(pics) == before and tree_state(nest / ".photokosh") == state
    assert cli("people", nest, "--json").exit_code == 1


def test_the_review_app_refuses_an_out_holding_its_photos(nested_out):
    from photokosh.app import create_app

    with pytest.raises(PlacesError, match="must not hold the photo folder"):
        create_app(nested_out[0])


@pytest.mark.parametrize("where", ["photos", "out"])
def test_find_export_into_photos_or_out_is_refused(tmp_path, cli, where):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    root = src if where == "photos" else out
    dest = spellings(tmp_path, root)["link"] / "shared"
    before = tree_state(tmp_path)
    result = cli("find", out, src / "a.jpg", "--export", dest)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert f"inside {where.upper()}" in result.stderr.replace("\n", " ")
    assert tree_state(tmp_path) == before
    assert os.listdir(root)  # the refusal removed nothing there either


def test_what_counts_as_an_output_folder(tmp_path):
    """As the scan has it: a folder holding a .photokosh folder, not a link named so."""
    real, linked, plain = tmp_path / "real", tmp_path / "linked", tmp_path / "plain"
    (real / ".photokosh").mkdir(parents=True)
    (real / "person_001").mkdir()
    linked.mkdir()
    (linked / ".photokosh").symlink_to(real / ".photokosh")
    plain.mkdir()
    assert places.is_output(real) and not places.is_output(linked)
    assert not places.is_output(plain) and not places.is_output(tmp_path / "missing")
    assert places.output_around(real / "person_001" / "x") == real.resolve()
    assert places.output_around(linked) is None


def test_within_sees_through_links_and_dotdot(tmp_path):
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(photos / "sub", target_is_directory=True)
    assert places.within(tmp_path / "link", photos)
    assert places.within(photos / "sub" / ".." / "sub", photos / "sub")
    assert not places.within(photos, photos / "sub")
    assert not places.within(tmp_path / "photos-sorted", photos)  # a prefix is not a parent
    assert places.within(photos / "new" / "folder", photos)  # not made yet


@pytest.mark.parametrize("spelling", ["plain", "link", "dotdot"])
def test_evaluate_keeps_its_cache_out_of_labelled(tmp_path, cli, fake, spelling):
    """--cache LABELLED would write a state folder among the labelled photos (and make
    LABELLED look like an output folder to every later sort)."""
    src = labelled_album(tmp_path)
    (src / "x").mkdir()
    cache = spellings(tmp_path, src)[spelling]
    before = tree_state(tmp_path)
    refused(cli("evaluate", src, "--cache", cache, "--json"), "--cache",
            "must not be LABELLED or a folder that holds it")
    assert fake.calls == 0 and tree_state(tmp_path) == before


def test_evaluate_keeps_its_cache_from_around_labelled(tmp_path, cli, fake):
    """A cache folder holding LABELLED would make every later `sort LABELLED` refuse it as
    lying inside an output folder."""
    src = labelled_album(tmp_path)
    before = tree_state(tmp_path)
    refused(cli("evaluate", src, "--cache", tmp_path, "--json"), "--cache",
            "must not be LABELLED or a folder that holds it")
    assert fake.calls == 0 and tree_state(tmp_path) == before
