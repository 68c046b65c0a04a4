"""`photokosh sort` end to end with the fake face model (issue 2): the layout of OUT, link modes,
the JSON report, the command line's streams and exit codes, blurred copies."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from conftest import placed_files, tree_state
from fakes import PALETTE, FakeEmbedder, draw
from PIL import Image, ImageOps

from photokosh import SortOptions, __version__, sort_photos
from photokosh.cli import main
from photokosh.settings import DEFAULTS

OLD = 1_000_000_000_000_000_000  # 2001-09-09, in ns: a source mtime no copy gets by accident


def album(root):
    """Person 1 in three photos, person 0 in two (one of them shared), person 2 once, one photo
    without faces. Person 0 sorts first by name so numbering by count is actually tested."""
    src = root / "photos"
    draw(src / "a_zero.jpg", [0])
    draw(src / "2019" / "trip" / "both.jpg", [0, 1])
    draw(src / "b_one.png", [1])
    draw(src / "c_one.jpg", [1])
    draw(src / "lonely.jpg", [2])
    draw(src / "misc" / "temple.jpg", [])
    for path in src.rglob("*.*"):
        os.utime(path, ns=(OLD, OLD))
    return src


def run(src, out, **options):
    return sort_photos(src, out, SortOptions(workers=1, **options), embedder=FakeEmbedder())


def test_layout_one_folder_per_person_numbered_by_photo_count(tmp_path):
    src = album(tmp_path)
    before = tree_state(src)
    result = run(src, tmp_path / "out", min_photos=2)
    assert placed_files(tmp_path / "out") == {
        "person_001/2019/trip/both.jpg", "person_001/b_one.png", "person_001/c_one.jpg",
        "person_002/2019/trip/both.jpg", "person_002/a_zero.jpg",
        "unknown/lonely.jpg", "no_faces/misc/temple.jpg",
    }
    people = result.report["people"]
    assert [(p["id"], p["photo_count"]) for p in people] == [("person_001", 3), ("person_002", 2)]
    assert tree_state(src) == before


def test_a_person_in_a_single_photo_gets_a_folder_by_default(tmp_path):
    src = album(tmp_path)
    result = run(src, tmp_path / "out")
    assert result.report["summary"]["people"] == 3
    assert "person_003/lonely.jpg" in placed_files(tmp_path / "out")
    assert not (tmp_path / "out" / "unknown").exists()


def test_default_output_is_the_sibling_photos_sorted(tmp_path, cli):
    src = album(tmp_path)
    before = tree_state(src)
    result = cli("sort", src, "-q")
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "photos-sorted"
    assert json.loads((out / "report.json").read_text())["output"] == str(out)
    assert "person_001/b_one.png" in placed_files(out)
    assert tree_state(src) == before  # nothing written inside PHOTOS


@pytest.mark.parametrize("link", ["copy", "hard", "sym"])
def test_link_modes(tmp_path, cli, link):
    src = album(tmp_path)
    before = tree_state(src)
    result = cli("sort", src, "-o", tmp_path / "out", "--link", link)
    assert result.exit_code == 0, result.stderr
    placed = tmp_path / "out" / "person_001" / "2019" / "trip" / "both.jpg"
    original = src / "2019" / "trip" / "both.jpg"
    assert placed.read_bytes() == original.read_bytes()
    if link == "copy":
        assert not placed.is_symlink()
        assert placed.stat().st_ino != original.stat().st_ino
        assert placed.stat().st_mtime_ns == OLD
    elif link == "hard":
        assert not placed.is_symlink()
        assert placed.stat().st_ino == original.stat().st_ino
    else:
        assert placed.is_symlink()
        assert os.readlink(placed) == str(original)
    assert tree_state(src) == before


def test_a_photo_of_two_people_is_copied_once(tmp_path):
    src = album(tmp_path)
    run(src, tmp_path / "out")
    original = src / "2019" / "trip" / "both.jpg"
    placed = [tmp_path / "out" / person / "2019" / "trip" / "both.jpg"
              for person in ("person_001", "person_002")]
    # one copy with two names: not the original, and its bytes written once
    assert placed[0].stat().st_ino == placed[1].stat().st_ino != original.stat().st_ino
    assert placed[0].stat().st_nlink == 2
    assert placed[0].read_bytes() == original.read_bytes()
    # a photo of one person is a copy of its own
    assert (tmp_path / "out" / "person_002" / "a_zero.jpg").stat().st_nlink == 1


def test_without_hard_links_every_folder_gets_its_own_copy(tmp_path, monkeypatch):
    """A file system without hard links (FAT, some network shares) refuses os.link."""
    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    src = album(tmp_path)
    before = tree_state(src)
    result = run(src, tmp_path / "out")
    assert result.report["errors"] == []
    original = src / "2019" / "trip" / "both.jpg"
    placed = [tmp_path / "out" / person / "2019" / "trip" / "both.jpg"
              for person in ("person_001", "person_002")]
    assert placed[0].stat().st_ino != placed[1].stat().st_ino
    for copy in placed:
        assert copy.read_bytes() == original.read_bytes()
        assert copy.stat().st_mtime_ns == OLD
    assert tree_state(src) == before


def _rotated_photo(path):
    """Stored sideways with EXIF orientation 6; displayed it is 240x160 with the face at
    (10, 20, 50, 60)."""
    shown = Image.new("RGB", (240, 160), (128, 128, 128))
    shown.paste(PALETTE[3], (10, 20, 50, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    shown.transpose(Image.Transpose.ROTATE_90).save(path, quality=95, exif=exif)


def check_summary(report):
    """The summary agrees with the lists it summarises."""
    s, photos, people = report["summary"], report["photos"], report["people"]
    assert s["photos"] == len(photos)
    assert s["faces"] == sum(len(p["faces"]) for p in photos)
    assert s["photos_with_faces"] == sum(1 for p in photos if p["faces"])
    assert s["no_face_photos"] == sum(1 for p in photos if not p["faces"])
    assert s["unknown_photos"] == sum(
        1 for p in photos if p["faces"] and all(f["person"] is None for f in p["faces"]))
    assert s["people"] == len(people)
    assert s["errors"] == len(report["errors"])
    for person in people:
        assert person["photo_count"] == len(person["photos"])
        in_photos = sorted(p["path"] for p in photos
                           if any(f["person"] == person["id"] for f in p["faces"]))
        assert sorted(person["photos"]) == in_photos
        assert person["face_count"] == sum(f["person"] == person["id"]
                                           for p in photos for f in p["faces"])
    counts = [p["photo_count"] for p in people]
    assert counts == sorted(counts, reverse=True)


def test_report_schema_types_and_consistency(tmp_path, cli):
    src = album(tmp_path)
    _rotated_photo(src / "2019" / "sideways.jpg")
    (src / "broken.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    result = cli("sort", src, "-o", out, "--min-photos", "2", "-q")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["schema"] == 1 and report["photokosh"] == __version__
    assert report["source"] == str(src) and report["output"] == str(out)
    settings = report["settings"]
    assert settings["detector"] == DEFAULTS["detector"]
    assert settings["upsample"] is None or isinstance(settings["upsample"], int)
    assert isinstance(settings["eps"], float) and isinstance(settings["min_samples"], int)
    summary_types = {"photos": int, "photos_with_faces": int, "faces": int, "people": int,
                     "unknown_photos": int, "no_face_photos": int, "errors": int,
                     "seconds": (int, float), "new_photos": int, "reused_photos": int}
    for key, kind in summary_types.items():
        assert isinstance(report["summary"][key], kind), key
    for person in report["people"]:
        assert isinstance(person["id"], str) and person["name"] is None
        assert person["folder"] == person["id"]
        for key in ("photo_count", "face_count", "new_photos"):
            assert isinstance(person[key], int)
        assert all(isinstance(p, str) for p in person["photos"])
    for photo in report["photos"]:
        assert isinstance(photo["path"], str) and "\\" not in photo["path"]
        assert isinstance(photo["width"], int) and isinstance(photo["height"], int)
        for face in photo["faces"]:
            assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
            assert face["person"] is None or isinstance(face["person"], str)
    assert report["errors"] == [{"path": "broken.jpg", "reason": report["errors"][0]["reason"]}]
    assert "not an image" in report["errors"][0]["reason"]
    paths = {p["path"] for p in report["photos"]}
    assert {"2019/trip/both.jpg", "misc/temple.jpg", "2019/sideways.jpg"} <= paths
    sideways = next(p for p in report["photos"] if p["path"] == "2019/sideways.jpg")
    assert (sideways["width"], sideways["height"]) == (240, 160)  # as displayed
    assert np.allclose(sideways["faces"][0]["box"], [10, 20, 50, 60], atol=3)
    check_summary(report)
    assert report["summary"]["unknown_photos"] == 2  # lonely.jpg and sideways.jpg
    assert report["summary"]["no_face_photos"] == 1


def test_json_puts_exactly_the_report_on_stdout(tmp_path, cli):
    src = album(tmp_path)
    (src / "broken.jpg").write_bytes(b"")
    result = cli("sort", src, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.stderr
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == on_disk
    assert "1 file(s) skipped" in result.stderr  # the warning goes to stderr ...
    assert "skipped" not in result.stdout.replace('"errors"', "")  # ... and not to stdout
    assert "{" not in result.stderr


def test_without_json_stdout_has_the_summary_and_chart(tmp_path, cli):
    src = album(tmp_path)
    result = cli("sort", src, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert "6 photos" in result.stdout and "person_001" in result.stdout
    assert "█" in result.stdout
    assert result.stderr == ""  # no errors, not a terminal: nothing on stderr


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"photokosh, version {__version__}"


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_works_for_every_command(cli, command):
    for flag in ("-h", "--help"):
        result = cli(*([command] if command else []), flag)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("Usage: ")
        assert "Example" in result.stdout


@pytest.mark.parametrize("args", [
    [],  # no PHOTOS
    ["{tmp}/nowhere"],
    ["{src}", "--link", "shortcut"],
    ["{src}", "-o", "{src}"],
    ["{src}", "-o", "{src}/."],
    ["{src}", "--workers", "0"],
])
def test_usage_errors_exit_2_and_write_nothing(tmp_path, cli, args):
    src = album(tmp_path)
    before = tree_state(tmp_path)
    argv = [a.format(tmp=tmp_path, src=src) for a in args]
    result = cli("sort", *argv)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Error" in result.stderr and "Usage:" in result.stderr
    assert tree_state(tmp_path) == before


@pytest.mark.parametrize("link", ["copy", "hard", "sym"])
def test_source_is_byte_identical_after_a_blurred_run_and_a_rerun(tmp_path, link):
    src = album(tmp_path)
    before = tree_state(src)
    run(src, tmp_path / "out", link=link, blur=True)
    run(src, tmp_path / "out", link=link, blur=True, min_photos=2)
    assert tree_state(src) == before


def _exif(camera="Secret Camera"):
    exif = Image.Exif()
    exif[0x010F] = camera
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 1.0)}  # GPS
    return exif


def blurred_album(root):
    src = root / "photos"
    draw(src / "one.jpg", [0], exif=_exif())
    draw(src / "2019" / "trip" / "two.jpg", [1, 2], exif=_exif())
    draw(src / "three.png", [3, 4, 5])
    draw(src / "big.jpg", [6, 7], size=(800, 600), square=120, exif=_exif())
    draw(src / "nobody.jpg", [], exif=_exif())
    return src


def test_blur_writes_a_copy_of_every_photo_without_metadata(tmp_path):
    src = blurred_album(tmp_path)
    result = run(src, tmp_path / "out", blur=True)
    blurred = tmp_path / "out" / "blurred"
    rels = {p["path"] for p in result.report["photos"]}
    assert {str(p.relative_to(blurred)) for p in blurred.rglob("*") if p.is_file()} == rels
    for rel in rels:
        with Image.open(blurred / rel) as image:
            with Image.open(src / rel) as original:
                assert image.size == original.size
            assert not image.getexif()
            assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(image.info)


def _palette_pixels(pixels: np.ndarray) -> int:
    near = [(np.abs(pixels.astype(np.int16) - c) < 40).all(axis=2) for c in PALETTE]
    return int(np.logical_or.reduce(near).sum())


def _steepest_step(pixels: np.ndarray) -> int:
    values = pixels.astype(np.int16)  # per channel: the palette differs from grey in hue
    return int(max(np.abs(np.diff(values, axis=0)).max(), np.abs(np.diff(values, axis=1)).max()))


def test_blurred_copies_smooth_every_face_away(tmp_path):
    """A fake face is a flat square whose only detail is its edge: in the blurred copy the
    edge is smoothed away (a flat inside stays flat under any blur; the real model's check,
    that dlib finds no face in the blurred demo album, is in test_real_model.py)."""
    src = blurred_album(tmp_path)
    result = run(src, tmp_path / "out", blur=True)
    checked = 0
    for photo in result.report["photos"]:
        with Image.open(tmp_path / "out" / "blurred" / photo["path"]) as image:
            pixels = np.asarray(image.convert("RGB"))
        with Image.open(src / photo["path"]) as image:
            original = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        for face in photo["faces"]:
            left, top, right, bottom = face["box"]
            area = (slice(max(0, top - 4), bottom + 4), slice(max(0, left - 4), right + 4))
            edge = _steepest_step(original[area])  # the square's edge, before
            assert edge > 50
            assert _steepest_step(pixels[area]) < 0.4 * edge, photo["path"]
            checked += 1
    assert checked >= 3


def test_blurred_folder_is_private(tmp_path):
    src = blurred_album(tmp_path)
    run(src, tmp_path / "out", blur=True)
    blurred = tmp_path / "out" / "blurred"
    assert stat.S_IMODE(blurred.stat().st_mode) == 0o700


def test_the_chart_shows_the_biggest_people_and_counts_the_rest(capsys):
    from photokosh.cli.common import stdout_console
    from photokosh.cli.render import CHART_ROWS, summary_and_chart

    people = [{"id": f"person_{i:03d}", "name": None, "photo_count": 1 + i % 7,
               "doubtful": i == 99} for i in range(1, 101)]  # person_099: 2 photos
    summary = {"photos": 400, "faces": 400, "people": 100, "unknown_photos": 0,
               "no_face_photos": 0, "errors": 0, "seconds": 1.0}
    summary_and_chart({"summary": summary, "people": people, "output": "OUT"}, stdout_console())
    out = capsys.readouterr().out
    shown = [line.split()[0] for line in out.splitlines() if "█" in line]
    assert len(shown) == CHART_ROWS
    assert all(p["photo_count"] == 7 for p in people if p["id"] in shown[:14])
    assert f"and {100 - CHART_ROWS} more people with fewer photos, 1 of them marked (check)" \
        in out


def test_a_piped_people_table_keeps_each_person_on_one_line(capsys):
    from photokosh.cli.common import stdout_console
    from photokosh.cli.render import people_table

    name = "Obama family archive, summer of 1998, Honolulu " * 2
    people_table([{"id": "person_001", "name": name.strip(), "folder": "obama",
                   "photo_count": 3, "face_count": 3}], stdout_console())
    assert name.strip() in capsys.readouterr().out


def test_counts_are_said_in_the_singular_for_one():
    from photokosh.cli.render import counted

    assert counted(1, "photo") == "1 photo" and counted(2, "photo") == "2 photos"
    assert counted(1, "person", "people") == "1 person"
    assert counted(1200, "person", "people") == "1,200 people"


def test_the_summary_counts_photos_analysed_again(capsys):
    from photokosh.cli.common import stdout_console
    from photokosh.cli.render import summary_and_chart

    summary = {"photos": 26, "faces": 30, "people": 7, "unknown_photos": 0,
               "no_face_photos": 0, "errors": 0, "seconds": 1.0, "new_photos": 0,
               "reused_photos": 0, "analysed_photos": 26}  # after other detection settings
    summary_and_chart({"summary": summary, "people": [], "output": "OUT"}, stdout_console())
    assert "(0 new, 0 from cache, 26 analysed again)" in capsys.readouterr().out
    first = {**summary, "new_photos": 26}
    summary_and_chart({"summary": first, "people": [], "output": "OUT"}, stdout_console())
    assert "(26 new, 0 from cache) " in capsys.readouterr().out
