"""Faces too small for a reliable embedding (issue 20): found, counted, listed with a reason,
blurred and on the page, but they neither form nor join people; a photo with nobody else in it
goes to unknown/. The fake model finds squares of any size, so tests draw the faces' sizes."""

from __future__ import annotations

import json
import os

import numpy as np
from conftest import placed_files
from fakes import PALETTE, FakeEmbedder
from PIL import Image

from photokosh import SortOptions, sort_photos
from photokosh.identify import RECOGNISABLE_FACE

TINY = 16  # px: found by the fake (>= 12), under RECOGNISABLE_FACE
BIG = 40


def paint(path, faces, size=(240, 160)):
    """A photo with a (person, side in px) square per face, side by side."""
    image = Image.new("RGB", size, (128, 128, 128))
    x = 10
    for person, side in faces:
        image.paste(PALETTE[person], (x, 20, x + side, 20 + side))
        x += side + 10
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def album(root):
    """Person 0 big in two photos and tiny in a third; person 1 only tiny, in two photos;
    person 2 tiny beside a big person 0."""
    src = root / "photos"
    paint(src / "big_a.png", [(0, BIG)])
    paint(src / "big_b.png", [(0, BIG)], size=(250, 160))
    paint(src / "tiny_zero.png", [(0, TINY)])
    paint(src / "tiny_one_a.png", [(1, TINY)])
    paint(src / "tiny_one_b.png", [(1, TINY)], size=(250, 160))
    paint(src / "mixed.png", [(0, BIG), (2, TINY)])
    return src


def sort(src, out, embedder=None, **options):
    return sort_photos(src, out, SortOptions(workers=1, **options),
                       embedder=embedder or FakeEmbedder())


def faces_of(report):
    return {p["path"]: p["faces"] for p in report["photos"]}


def test_tiny_faces_count_and_go_to_unknown_with_a_reason(tmp_path):
    assert TINY < RECOGNISABLE_FACE <= BIG
    src, out = album(tmp_path), tmp_path / "out"
    sort(src, out)
    report = json.loads((out / "report.json").read_text())
    faces = faces_of(report)
    assert report["summary"]["faces"] == 7  # the tiny ones count
    assert report["summary"]["unrecognised_faces"] == 4
    assert report["summary"]["people"] == 1  # person 1's two tiny faces formed nobody
    assert report["summary"]["unknown_photos"] == 3
    (person,) = report["people"]
    assert sorted(person["photos"]) == ["big_a.png", "big_b.png", "mixed.png"]
    assert person["face_count"] == 3  # the tiny face of person 0 did not join them
    for rel in ("tiny_zero.png", "tiny_one_a.png", "tiny_one_b.png"):
        (face,) = faces[rel]
        assert face["person"] is None
        assert face["unrecognised"] == f"too small to recognise ({TINY} px)"
    big, tiny = sorted(faces["mixed.png"], key=lambda f: f["box"][0])
    assert big["person"] == person["id"] and big["unrecognised"] is None
    assert tiny["person"] is None and tiny["unrecognised"] == f"too small to recognise ({TINY} px)"
    assert placed_files(out) == {
        f"{person['folder']}/big_a.png", f"{person['folder']}/big_b.png",
        f"{person['folder']}/mixed.png", "unknown/tiny_zero.png", "unknown/tiny_one_a.png",
        "unknown/tiny_one_b.png"}

    # A second run, and a recluster from scratch, keep them nobody's.
    sort(src, out)
    again = json.loads((out / "report.json").read_text())
    assert faces_of(again) == faces
    from photokosh.corrections import recluster

    recluster(out)
    from photokosh.catalog import load_catalog

    catalog = load_catalog(out)
    (person,) = catalog.people
    assert sorted(person.photos) == ["big_a.png", "big_b.png", "mixed.png"]
    assert sum(bool(f.unrecognised) for p in catalog.photos for f in p.faces) == 4


def test_the_size_is_the_faces_in_the_photo_not_in_the_decoded_pixels(tmp_path):
    """The analysis may decode a photo reduced (here to half): a face's size is still its
    size in the photo as displayed."""

    class HalfScale(FakeEmbedder):
        def detection_scale(self, width, height):
            return 0.5

    src, out = tmp_path / "photos", tmp_path / "out"
    # 30 px faces are 15 px where the fake looks (recognisable), 20 px ones 10 px (not)
    paint(src / "a.png", [(0, 30)], size=(400, 200))
    paint(src / "b.png", [(0, 30), (1, 20)], size=(420, 200))
    sort(src, out, embedder=HalfScale(min_px=8))
    report = json.loads((out / "report.json").read_text())
    (person,) = report["people"]
    assert sorted(person["photos"]) == ["a.png", "b.png"]
    sizes = {f["box"][2] - f["box"][0]: f for fs in faces_of(report).values() for f in fs}
    assert set(sizes) >= {20}
    assert all(abs(size - 30) <= 2 for size in sizes if size != 20)
    assert sizes[20]["unrecognised"] == "too small to recognise (20 px)"
    assert sizes[20]["person"] is None


def _steepest_step(pixels: np.ndarray) -> int:
    values = pixels.astype(np.int16)
    return int(max(np.abs(np.diff(values, axis=0)).max(), np.abs(np.diff(values, axis=1)).max()))


def test_tiny_faces_are_blurred_and_on_the_review_page(tmp_path):
    src, out = album(tmp_path), tmp_path / "out"
    sort(src, out, blur=True)
    report = json.loads((out / "report.json").read_text())
    tiny = [(p["path"], f) for p in report["photos"] for f in p["faces"] if f["unrecognised"]]
    assert len(tiny) == 4
    for rel, face in tiny:
        left, top, right, bottom = face["box"]
        area = (slice(top - 4, bottom + 4), slice(left - 4, right + 4))
        with Image.open(src / rel) as image:
            before = _steepest_step(np.asarray(image.convert("RGB"))[area])
        with Image.open(out / "blurred" / rel) as image:
            after = _steepest_step(np.asarray(image.convert("RGB"))[area])
        assert before > 50 and after < 0.4 * before, rel

    # the page shows them among the unknown faces (thumbnails cut from the blurred copies)
    from photokosh import images, thumbs

    page = (out / "index.html").read_text()
    unknown = page[page.index('id="unknown"'):]
    for rel, face in tiny:
        digest = images.content_hash(images.read_bytes(src / rel))
        name = thumbs.thumb_name(digest, face["box"], blurred=True)
        assert f".photokosh/thumbs/{name}" in unknown
        assert (out / ".photokosh" / "thumbs" / name).is_file()


def test_a_tiny_face_can_still_be_given_a_person_by_hand(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    report = json.loads((out / "report.json").read_text())
    person = report["people"][0]["id"]
    result = cli("move", out, "tiny_zero.png", person)
    assert result.exit_code == 0, result.output
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    report = json.loads((out / "report.json").read_text())
    (face,) = faces_of(report)["tiny_zero.png"]
    assert face["person"] == person and face["unrecognised"] is None
    assert report["summary"]["unrecognised_faces"] == 3
    assert os.path.isfile(out / report["people"][0]["folder"] / "tiny_zero.png")


def test_the_summary_says_how_many_were_too_small(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    result = cli("sort", src, "-o", out)
    assert result.exit_code == 0
    assert "4 faces too small to recognise" in result.stdout
    assert "too small" not in result.stderr
    doc = json.loads(cli("sort", src, "-o", out, "--json").stdout)
    assert doc["summary"]["unrecognised_faces"] == 4


def test_a_reference_face_too_small_to_recognise_names_nobody(tmp_path, cli):
    src, out, known = album(tmp_path), tmp_path / "out", tmp_path / "known"
    paint(known / "Zed" / "tiny.png", [(0, TINY)])  # person 0, who is in the album big
    result = cli("sort", src, "-o", out, "--known", known, "-q")
    assert result.exit_code == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert [p["name"] for p in report["people"]] == [None]
    (error,) = report["errors"]
    assert error["path"] == "known/Zed"
    assert error["reason"].endswith(f"is too small to recognise ({TINY} px)")

    paint(known / "Zed" / "big.png", [(0, BIG)])  # a recognisable one names them
    assert cli("sort", src, "-o", out, "--known", known, "-q").exit_code == 0
    report = json.loads((out / "report.json").read_text())
    assert [p["name"] for p in report["people"]] == ["Zed"]
