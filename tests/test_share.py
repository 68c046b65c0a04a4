"""export: a person's photos handed over outside OUT (fake model: exact faces and boxes)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import tree_state
from fakes import PALETTE, photo
from PIL import Image

from photokosh import share
from photokosh.share import file_names


def test_export_writes_every_photo_of_the_person_flat_and_changes_nothing_else(
        sorted_album, cli):
    s = sorted_album
    before_src, before_out = tree_state(s["src"]), tree_state(s["out"])
    dest = s["tmp"] / "share" / "p0"
    result = cli("export", s["out"], s["p0"], dest, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["files"] == [{"photo": "a.jpg", "file": "a.jpg"},
                            {"photo": "b.jpg", "file": "b.jpg"},
                            {"photo": "trip/c.jpg", "file": "c.jpg"}]
    assert doc["skipped"] == [] and doc["people"] == [s["p0"]] and doc["zip"] is False
    assert sorted(p.name for p in dest.iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]
    assert tree_state(s["src"]) == before_src
    assert tree_state(s["out"]) == before_out  # state.db included: export only reads OUT


def test_export_text_output_lists_each_file_on_stdout(sorted_album, cli):
    s = sorted_album
    result = cli("export", s["out"], s["p1"], s["tmp"] / "p1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["trip/c.jpg\tc.jpg", "trip/d.jpg\td.jpg"]
    assert lines[2].startswith(f"2 photo(s) of {s['p1']} exported to ")


def test_file_names_resolve_collisions_in_path_order_whatever_the_case():
    names = file_names(["a/x.jpg", "b/X.JPG", "c/x-2.jpg", "d/x.jpg", "e/p.heic", "f/noext"])
    assert names == {"a/x.jpg": "x.jpg", "b/X.JPG": "X-2.JPG", "c/x-2.jpg": "x-2-2.jpg",
                     "d/x.jpg": "x-3.jpg", "e/p.heic": "p.heic.jpg", "f/noext": "noext.jpg"}


def test_export_of_same_named_photos_gives_each_its_own_name(tmp_path, cli):
    src = tmp_path / "photos"
    photo(src / "2019" / "img.jpg", [0])
    photo(src / "2020" / "img.jpg", [0])
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out).exit_code == 0
    result = cli("export", out, "1", tmp_path / "dest", "--json")
    assert [f["file"] for f in json.loads(result.stdout)["files"]] == ["img.jpg", "img-2.jpg"]


def _textured(path, people):
    """Palette faces with a texture (which blurring smooths away) at x 10..50, 60..100."""
    rng = np.random.default_rng(len(people))
    pixels = np.full((160, 240, 3), 128, np.int16)
    for i, person in enumerate(people):
        x = 10 + i * 50
        noise = rng.integers(-15, 16, (40, 40, 3))
        pixels[20:60, x:x + 40] = np.array(PALETTE[person]) + noise
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path)


def texture(path, person_slot):
    with Image.open(path) as image:
        x = 10 + person_slot * 50
        face = np.asarray(image.convert("RGB"))[22:58, x + 2:x + 38].astype(float)
    return float(np.abs(np.diff(face, axis=1)).mean())  # pixel to pixel: the noise


@pytest.mark.parametrize("blur", ["--blur-others", "--blur-all"])
def test_blur_others_blurs_every_face_but_the_persons_own(tmp_path, cli, blur):
    src = tmp_path / "photos"
    _textured(src / "pair.png", [0, 1])
    _textured(src / "alone.png", [0])
    out, dest = tmp_path / "out", tmp_path / "dest"
    assert cli("sort", src, "-o", out).exit_code == 0
    assert cli("export", out, "1", dest, blur).exit_code == 0
    assert texture(src / "pair.png", 0) > 7 and texture(src / "pair.png", 1) > 7
    # the neighbour's blurred margin reaches the person's face, which is restored
    assert texture(dest / "pair.png", 0) > 7 if blur == "--blur-others" else \
        texture(dest / "pair.png", 0) < 3
    assert texture(dest / "pair.png", 1) < 3
    assert (texture(dest / "alone.png", 0) > 7) == (blur == "--blur-others")


def test_blur_others_and_blur_all_together_are_a_usage_error(sorted_album, cli):
    s = sorted_album
    result = cli("export", s["out"], s["p0"], s["tmp"] / "d", "--blur-others", "--blur-all")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_zip_holds_the_same_files_and_is_replaced_only_with_force(sorted_album, cli):
    s = sorted_album
    dest = s["tmp"] / "p0.zip"
    assert cli("export", s["out"], s["p0"], dest, "--zip").exit_code == 0
    with zipfile.ZipFile(dest) as z:
        assert z.namelist() == ["a.jpg", "b.jpg", "c.jpg"]
        assert z.testzip() is None
    assert sorted(p.name for p in s["tmp"].iterdir()) == ["out", "p0.zip", "photos"]
    again = cli("export", s["out"], s["p1"], dest, "--zip")
    assert again.exit_code == 1 and "--force" in again.stderr
    assert cli("export", s["out"], s["p1"], dest, "--zip", "--force").exit_code == 0
    with zipfile.ZipFile(dest) as z:
        assert z.namelist() == ["c.jpg", "d.jpg"]


@pytest.mark.parametrize("where", ["photos", "out", "link"])
def test_dest_inside_photos_or_out_is_refused_links_resolved(sorted_album, cli, where):
    s = sorted_album
    dest = {"photos": s["src"] / "shared", "out": s["out"] / "shared",
            "link": s["tmp"] / "link" / "shared"}[where]
    (s["tmp"] / "link").symlink_to(s["src"])
    before = tree_state(s["src"])
    result = cli("export", s["out"], s["p0"], dest)
    assert result.exit_code == 1
    assert "inside" in result.stderr and "Traceback" not in result.stderr
    assert not dest.exists() and tree_state(s["src"]) == before


def test_force_replaces_only_the_names_export_writes(sorted_album, cli):
    s = sorted_album
    dest = s["tmp"] / "dest"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    (dest / "a.jpg").write_text("an older a.jpg")
    refused = cli("export", s["out"], s["p0"], dest)
    assert refused.exit_code == 1 and "not empty" in refused.stderr
    assert (dest / "a.jpg").read_text() == "an older a.jpg"
    assert cli("export", s["out"], s["p0"], dest, "--force").exit_code == 0
    assert (dest / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in dest.iterdir()) == ["a.jpg", "b.jpg", "c.jpg", "notes.txt"]
    with Image.open(dest / "a.jpg") as image:
        assert image.format == "JPEG"


def test_an_interrupted_export_leaves_only_whole_files_and_the_next_cleans_up(
        sorted_album, cli, monkeypatch):
    s = sorted_album
    dest, zipped = s["tmp"] / "dest", s["tmp"] / "p0.zip"
    real = share.shared_copy
    calls = []

    def killed_at_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) % 3 == 0:
            raise KeyboardInterrupt  # as a kill would, mid-export
        return real(*args, **kwargs)

    monkeypatch.setattr(share, "shared_copy", killed_at_the_third)
    for target, as_zip in ((dest, False), (zipped, True)):
        with pytest.raises(KeyboardInterrupt):
            share.export_person(s["out"], s["p0"], target, as_zip=as_zip)
    assert sorted(p.name for p in dest.iterdir()) == ["a.jpg", "b.jpg"]
    assert not zipped.exists()
    leftover = dest / f"{share.TMP_PREFIX}0{share.TMP_SUFFIX}"  # as a SIGKILL leaves one
    leftover.write_bytes(b"half")
    monkeypatch.setattr(share, "shared_copy", real)
    assert cli("export", s["out"], s["p0"], dest, "--force").exit_code == 0
    assert sorted(p.name for p in dest.iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]
    assert sorted(p.name for p in s["tmp"].iterdir()) == ["dest", "out", "photos"]


def test_a_photo_changed_since_the_sort_is_skipped_with_a_reason(sorted_album, cli):
    s = sorted_album
    photo(s["src"] / "b.jpg", [1])  # new content: the stored boxes are not its faces
    result = cli("export", s["out"], s["p0"], s["tmp"] / "dest", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [f["photo"] for f in doc["files"]] == ["a.jpg", "trip/c.jpg"]
    assert doc["skipped"][0]["photo"] == "b.jpg" and "changed" in doc["skipped"][0]["reason"]
    assert "skipped b.jpg" in result.stderr


def test_unknown_person_and_a_file_as_dest_exit_1_with_a_message(sorted_album, cli):
    s = sorted_album
    unknown = cli("export", s["out"], "Nobody Known", s["tmp"] / "d")
    assert unknown.exit_code == 1 and "no person" in unknown.stderr
    (s["tmp"] / "file").write_text("x")
    not_folder = cli("export", s["out"], s["p0"], s["tmp"] / "file")
    assert not_folder.exit_code == 1 and "not a folder" in not_folder.stderr


@pytest.mark.parametrize("as_zip", [False, True])
def test_nothing_readable_exits_1_and_leaves_no_empty_folder_or_zip(sorted_album, cli, as_zip):
    s = sorted_album
    for rel in ("b.jpg", "trip/d.jpg"):
        (s["src"] / rel).unlink()
    dest = s["tmp"] / ("p1.zip" if as_zip else "p1")
    result = cli("export", s["out"], s["p1"], dest, *(["--zip"] if as_zip else []))
    assert result.exit_code == 0  # trip/c.jpg is still there
    (s["src"] / "trip" / "c.jpg").unlink()
    dest2 = s["tmp"] / ("again.zip" if as_zip else "again")
    result = cli("export", s["out"], s["p1"], dest2, *(["--zip"] if as_zip else []))
    assert result.exit_code == 1 and "nothing written" in result.stderr
    assert not dest2.exists()
    assert not [p for p in s["tmp"].iterdir() if p.name.startswith(".")]


def test_zip_members_unzip_readable(sorted_album, cli):
    s = sorted_album
    dest = s["tmp"] / "p0.zip"
    assert cli("export", s["out"], s["p0"], dest, "--zip").exit_code == 0
    with zipfile.ZipFile(dest) as z:
        assert {info.external_attr >> 16 for info in z.infolist()} == {0o644}


def test_dest_that_cannot_be_made_exits_1_naming_it(sorted_album, cli):
    s = sorted_album
    (s["tmp"] / "file").write_text("x")
    for zipped in ([], ["--zip"]):
        result = cli("export", s["out"], s["p0"], s["tmp"] / "file" / "dest", *zipped)
        assert result.exit_code == 1 and "Traceback" not in result.stderr
        assert "could not write" in result.stderr and "choose another DEST" in result.stderr


def test_export_by_name_says_whose_photos_went_where(sorted_album, cli):
    s = sorted_album
    assert cli("name", s["out"], s["p0"], "Alice Smith").exit_code == 0
    text = cli("export", s["out"], "Alice Smith", s["tmp"] / "alice")
    assert text.exit_code == 0
    assert text.stdout.splitlines()[-1] == (f"3 photo(s) of {s['p0']} (Alice Smith) exported "
                                            f"to {(s['tmp'] / 'alice').resolve()}")
    doc = json.loads(cli("export", s["out"], "Alice Smith", s["tmp"] / "a2", "--json").stdout)
    assert doc["people"] == [s["p0"]] and doc["names"] == {s["p0"]: "Alice Smith"}


def test_export_follows_the_users_corrections(sorted_album, cli):
    s = sorted_album
    assert cli("move", s["out"], "trip/d.jpg", s["p0"]).exit_code == 0  # d's face is p0's
    doc = json.loads(cli("export", s["out"], s["p0"], s["tmp"] / "d1", "--json").stdout)
    assert [f["photo"] for f in doc["files"]] == ["a.jpg", "b.jpg", "trip/c.jpg", "trip/d.jpg"]
    assert cli("hide", s["out"], s["p1"]).exit_code == 0
    hidden = cli("export", s["out"], s["p1"], s["tmp"] / "d2")
    assert hidden.exit_code == 1 and "hidden" in hidden.stderr
