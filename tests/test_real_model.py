"""The real dlib model on the shared sample photos (issue 2's quality bar). Slow: one sort of
the demo album (through the command line, with --blur) and one of lfw-small serve every test."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED_PHOTOS, tree_state
from PIL import Image

from photokosh import SortOptions, sort_photos
from photokosh.cli import main
from photokosh.metrics import bcubed_scores

pytestmark = pytest.mark.slow

# Measured on lfw-small with default settings: BCubed P = R = F = 1.000 (8 people, 48 photos;
# one bystander face makes a ninth person, which BCubed on the central faces does not see).
LFW_SMALL_FLOOR = 0.95


def _need(folder):
    if not folder.is_dir():
        pytest.skip(f"sample photos not found at {folder} (set PHOTOKOSH_SAMPLES)")
    return folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`photokosh sort demo -o OUT --blur --json` with the real model, and the source's state
    before and after."""
    source = _need(SHARED_PHOTOS / "demo")
    out = tmp_path_factory.mktemp("demo") / "out"
    before = tree_state(source)
    result = CliRunner().invoke(main, ["sort", str(source), "-o", str(out), "--blur", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    labels = json.loads((SHARED_PHOTOS / "demo-labels.json").read_text())
    labels.pop("_about")
    return {"report": report, "out": out, "source": source, "before": before,
            "after": tree_state(source), "labels": labels}


def identity(photos, labels):
    """The one named person every single-person photo of a folder shows; None when the folder
    only holds group photos; "MIXED" when its photos disagree."""
    singles = {labels[p][0] for p in photos if len(labels[p]) == 1}
    if any(not labels[p] for p in photos):
        return "MIXED"
    if not singles:
        together = set.intersection(*(set(labels[p]) for p in photos))
        return None if together else "MIXED"
    return singles.pop() if len(singles) == 1 else "MIXED"


def test_demo_no_person_folder_mixes_two_named_people(demo):
    report, labels = demo["report"], demo["labels"]
    assert report["errors"] == []
    assert set(labels) == {p["path"] for p in report["photos"]}
    for person in report["people"]:
        assert identity(person["photos"], labels) != "MIXED", (person["id"], person["photos"])


def test_demo_each_named_person_has_all_their_photos_in_their_folders(demo):
    report, labels, out = demo["report"], demo["labels"], demo["out"]
    folders_of: dict[str, list[dict]] = {}
    for person in report["people"]:
        who = identity(person["photos"], labels)
        if who:
            folders_of.setdefault(who, []).append(person)
    names = {n for names in labels.values() for n in names}
    assert len(names) == 6 and set(folders_of) == names
    for name in names:
        for photo in (p for p, who in labels.items() if name in who):
            holders = [f for f in folders_of[name] if photo in f["photos"]]
            assert holders, f"{photo} is in no folder of {name}"
            assert all((out / f["folder"] / photo).is_file() for f in holders)


def test_demo_photos_without_faces_go_to_no_faces(demo):
    out, labels = demo["out"], demo["labels"]
    empty = sorted(p for p, who in labels.items() if not who)
    assert empty == ["misc/temple.jpg", "misc/trip 2019/flower.jpg"]
    found = sorted(str(p.relative_to(out / "no_faces")) for p in (out / "no_faces").rglob("*")
                   if p.is_file())
    assert found == empty
    assert demo["report"]["summary"]["no_face_photos"] == 2


def test_demo_source_is_byte_identical(demo):
    assert demo["after"] == demo["before"]
    assert len(demo["before"]) >= 24


def blur_checkers():
    """What looks for faces left in a blurred copy: dlib's HOG upsampled once, and YuNet at a
    lower score than sort's, on the photo as is and, under 1000 px, upscaled 2x."""
    import dlib

    from photokosh.yunet import count_faces

    hog = dlib.get_frontal_face_detector()
    return {"hog": lambda pixels: len(hog(pixels, 1)), "yunet": lambda p: count_faces(p, 0.6)}


def test_demo_blurred_copies_show_no_face_and_no_metadata(demo):
    report, out = demo["report"], demo["out"]
    assert report["summary"]["faces"] == 26  # what the same detector finds in the originals
    checkers = blur_checkers()
    found = {}
    for photo in report["photos"]:
        path = out / "blurred" / photo["path"]
        with Image.open(path) as image:
            assert not image.getexif(), photo["path"]
            assert "exif" not in image.info and "xmp" not in image.info
            assert image.size == (photo["width"], photo["height"])
            pixels = np.asarray(image.convert("RGB"))
        for name, checker in checkers.items():
            if checker(pixels):
                found[photo["path"], name] = checker(pixels)
    assert found == {}


@pytest.fixture(scope="module")
def lfw_small(tmp_path_factory):
    source = _need(SHARED_PHOTOS / "lfw-small")
    out = tmp_path_factory.mktemp("lfw") / "out"
    return sort_photos(source, out, SortOptions()).report


def test_lfw_small_bcubed_f_above_the_floor(lfw_small):
    true, pred = [], []
    for photo in lfw_small["photos"]:
        true.append(photo["path"].split("/")[0])
        faces = photo["faces"]
        if not faces:
            pred.append(f"nobody:{photo['path']}")
            continue
        cx, cy = photo["width"] / 2, photo["height"] / 2
        central = min(faces, key=lambda f: ((f["box"][0] + f["box"][2]) / 2 - cx) ** 2
                      + ((f["box"][1] + f["box"][3]) / 2 - cy) ** 2)
        pred.append(central["person"] or f"nobody:{photo['path']}")
    assert len(true) == 48
    precision, recall, f = bcubed_scores(true, pred)
    assert f >= LFW_SMALL_FLOOR, (precision, recall, f)


def test_demo_each_named_person_is_exactly_one_folder(demo):
    """Issue 4's target: every named person has one folder holding exactly their photos."""
    report, labels = demo["report"], demo["labels"]
    names = {name for people in labels.values() for name in people}
    assert len(names) == 6
    folders = {p["id"]: set(p["photos"]) for p in report["people"]}
    for name in sorted(names):
        theirs = {path for path, people in labels.items() if name in people}
        assert len([pid for pid, photos in folders.items() if photos == theirs]) == 1, name


def test_evaluate_scores_lfw_small_above_the_floor(tmp_path):
    source = _need(SHARED_PHOTOS / "lfw-small")
    result = CliRunner().invoke(main, ["evaluate", str(source), "--cache", str(tmp_path / "c"),
                                       "--json", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    scores = json.loads(result.stdout)
    assert scores["people_true"] == 8 and scores["faces"] == 48
    assert scores["pairwise_f"] >= LFW_SMALL_FLOOR and scores["bcubed_f"] >= LFW_SMALL_FLOOR
    assert scores["ari"] >= LFW_SMALL_FLOOR
    # --tune re-uses the cache: a grid of settings, best (BCubed F) first
    tuned = CliRunner().invoke(main, ["evaluate", str(source), "--cache", str(tmp_path / "c"),
                                      "--tune", "--json", "-q"], catch_exceptions=False)
    assert tuned.exit_code == 0, tuned.stderr
    rows = json.loads(tuned.stdout)
    assert {r["method"] for r in rows} == {"default", "dbscan"} and len(rows) >= 20
    assert rows[0]["bcubed_f"] == max(r["bcubed_f"] for r in rows)
    assert any(r["bcubed_f"] < rows[0]["bcubed_f"] for r in rows)


def test_demo_flags_none_of_its_correct_people_as_doubtful(demo):
    # The merged-pair rule (doubt.py) must not cry wolf on an album whose people are right.
    people = demo["report"]["people"]
    assert len(people) >= 6
    assert [p["id"] for p in people if p["doubtful"]] == []
    # measured with HOG's faces: 1.25 for the 10-face person; with YuNet's (the default) 1.34.
    # Both are above the ratio cut (1.2): its halves (4 and 6 faces) are what spare it, and
    # small people (4 faces: 1.45, 1.31) are spared by the size condition too.


def test_obama_with_his_new_photos_is_not_flagged_as_two(tmp_path):
    # His 12 photos then cut in two at a distance ratio of 1.26, above the ratio cut (1.2),
    # but the halves mix: one person in two settings (doubt.halves_keep_apart).
    demo, arrivals = _need(SHARED_PHOTOS / "demo"), _need(SHARED_PHOTOS / "new-arrivals")
    src = tmp_path / "photos"
    for photo in [*demo.rglob("*"), *arrivals.glob("obama-*")]:
        if photo.is_file():  # links, so that no sample photo is copied
            base = demo if photo.is_relative_to(demo) else arrivals.parent
            (src / photo.relative_to(base)).parent.mkdir(parents=True, exist_ok=True)
            (src / photo.relative_to(base)).symlink_to(photo)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sort", str(src), "-o", str(out), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    people = json.loads(result.stdout)["people"]
    obama = max(people, key=lambda p: sum("obama" in q.lower() for q in p["photos"]))
    assert sum("new-arrivals" in q for q in obama["photos"]) == 2
    assert obama["photo_count"] >= 12 and obama["split_ratio"] > 1.2
    assert [p["id"] for p in people if p["doubtful"]] == []


@pytest.mark.skipif(shutil.which("exiftool") is None,
                    reason="exiftool not installed (Debian: libimage-exiftool-perl)")
def test_demo_names_travel_through_xmp_both_ways(demo, tmp_path):
    """Issue 24: a copy of the demo whose obama.jpg exiftool tagged "Barack Obama" (over the face
    the demo run found) names his person on its first run; after `name`, exiftool reads every
    sidecar in OUT back with the names given and areas over those people's faces."""
    photos = {p["path"]: p for p in demo["report"]["photos"]}
    obama = photos["white-house/obama.jpg"]
    (left, top, right, bottom), (width, height) = obama["faces"][0]["box"], (
        obama["width"], obama["height"])
    w, h = (right - left) / width, (bottom - top) / height
    source, out = tmp_path / "demo", tmp_path / "out"
    shutil.copytree(demo["source"], source)
    area = f"{{W={w},H={h},X={left / width + w / 2},Y={top / height + h / 2},Unit=normalized}}"
    subprocess.run(["exiftool", "-q", "-overwrite_original",
                    f"-XMP-mwg-rs:RegionInfo={{AppliedToDimensions={{W={width},H={height},"
                    f"Unit=pixel}},RegionList=[{{Area={area},Name=Barack Obama,Type=Face}}]}}",
                    str(source / "white-house/obama.jpg")], check=True)
    result = CliRunner().invoke(main, ["sort", str(source), "-o", str(out), "--json", "-q"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    named = {p["name"]: p for p in report["people"] if p["name"]}
    assert list(named) == ["Barack Obama"] and named["Barack Obama"]["photo_count"] == 10
    assert report["name_conflicts"] == []
    biden = next(p for p in report["people"] if "white-house/biden.jpg" in p["photos"])
    assert CliRunner().invoke(main, ["name", str(out), biden["id"], "Joe Biden"]).exit_code == 0
    names = {named["Barack Obama"]["id"]: "Barack Obama", biden["id"]: "Joe Biden"}
    read = subprocess.run(["exiftool", "-j", "-struct", "-r", "-ext", "xmp", "-RegionInfo",
                           str(out)], capture_output=True, text=True, check=True)
    sidecars = {str(Path(d["SourceFile"]).relative_to(out)): d["RegionInfo"]
                for d in json.loads(read.stdout)}
    faces = {p["path"]: p for p in report["photos"]}
    after = json.loads((out / "report.json").read_text(encoding="utf-8"))  # the new folders
    wanted = {f"{p['folder']}/{rel}.xmp" for p in after["people"] for rel in p["photos"]
              if any(f["person"] in names for f in faces[rel]["faces"])}
    assert set(sidecars) == wanted and len(wanted) >= 14
    for rel, info in sidecars.items():
        photo = faces[rel.split("/", 1)[1][:-len(".xmp")]]
        assert info["AppliedToDimensions"] == {"W": photo["width"], "H": photo["height"],
                                               "Unit": "pixel"}
        expected = sorted((names[f["person"]], f["box"]) for f in photo["faces"]
                          if f["person"] in names)
        assert len(info["RegionList"]) == len(expected)
        for region in info["RegionList"]:
            a = region["Area"]
            x, y = a["X"] * photo["width"], a["Y"] * photo["height"]
            assert any(name == region["Name"] and box[0] < x < box[2] and box[1] < y < box[3]
                       for name, box in expected), (rel, region)


def _person_of(report, labels, name):
    """The demo person whose folder holds exactly `name`'s photos."""
    theirs = {path for path, people in labels.items() if name in people}
    return next(p["id"] for p in report["people"] if set(p["photos"]) == theirs)


def test_demo_export_blur_others_leaves_exactly_the_persons_face(demo, tmp_path):
    """Issue 24: in each exported copy of a group photo dlib finds one face, the person's
    (their box, their descriptor), and no other; no copy carries EXIF (so no GPS)."""
    from photokosh.catalog import looking
    from photokosh.faces import DlibEmbedder, box_iou
    from photokosh.images import Decoded

    report, labels, out = demo["report"], demo["labels"], demo["out"]
    with looking(out) as (state, catalog):
        embeddings = {f.id: f.embedding for f in state.current_faces(catalog.settings["embedder"])}
    photos = {p.rel: p for p in catalog.photos}
    groups = sorted(rel for rel, who in labels.items() if len(photos[rel].faces) > 1)
    assert groups == ["got-premiere/kit_with_rose.jpg", "white-house/obama_and_biden.jpg",
                      "white-house/two_people.jpg"]
    hog = DlibEmbedder("hog", upsample=1)
    yunet = blur_checkers()["yunet"]
    checked = 0
    for name in sorted({n for rel in groups for n in labels[rel]}):
        pid = _person_of(report, labels, name)
        dest = tmp_path / name
        result = CliRunner().invoke(main, ["export", str(out), pid, str(dest), "--blur-others",
                                           "--json", "-q"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        files = {f["photo"]: dest / f["file"] for f in json.loads(result.stdout)["files"]}
        assert set(files) == {rel for rel, who in labels.items() if name in who}
        for rel, path in files.items():
            with Image.open(path) as image:
                assert not image.getexif() and "exif" not in image.info, rel
                pixels = np.asarray(image.convert("RGB"))
            if rel not in groups:
                continue
            found = hog.faces(Decoded(pixels, pixels.shape[1], pixels.shape[0], 1.0))
            (theirs,) = [f for f in photos[rel].faces if f.person == pid]
            assert len(found) == 1, (name, rel, [f.box for f in found])
            assert yunet(pixels) == 1, (name, rel)  # blur's own checker agrees
            assert box_iou(found[0].box, theirs.box) >= 0.5, (name, rel)
            assert np.linalg.norm(found[0].embedding - embeddings[theirs.id]) < 0.6, (name, rel)
            checked += 1
    assert checked == 6  # kit and rose in one photo, obama and biden in two (the child: blurred)


def test_demo_find_a_new_photo_of_obama_returns_his_person_and_photos(demo):
    out, labels = demo["out"], demo["labels"]
    selfie = _need(SHARED_PHOTOS / "new-arrivals") / "obama-720p.jpg"
    before = tree_state(out)
    result = CliRunner().invoke(main, ["find", str(out), str(selfie), "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert tree_state(out) == before
    (face,) = json.loads(result.stdout)["found"][0]["faces"]
    obama = sorted(p for p, who in labels.items() if "barack_obama" in who)
    assert face["person"] == _person_of(demo["report"], labels, "barack_obama")
    assert face["photos"] == obama and len(obama) == 10
    assert face["distance"] < 0.6


def test_export_of_a_photo_with_gps_leaves_no_gps_and_one_face(tmp_path):
    """A real group photo given GPS, a camera and a date through Pillow: the copy exported
    with --blur-others has none of them, and dlib finds only the person's face in it."""
    from photokosh.faces import DlibEmbedder
    from photokosh.images import Decoded

    demo_photos = _need(SHARED_PHOTOS / "demo") / "white-house"
    src = tmp_path / "photos"
    src.mkdir()
    with Image.open(demo_photos / "two_people.jpg") as image:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"
        exif.get_ifd(0x8825).update({1: "N", 2: (38.0, 53.0, 52.0), 3: "W", 4: (77.0, 2.0, 11.0)})
        image.save(src / "two_people.jpg", exif=exif.tobytes(), quality=95)
    (src / "obama.jpg").write_bytes((demo_photos / "obama.jpg").read_bytes())
    with Image.open(src / "two_people.jpg") as tagged:
        assert tagged.getexif().get_ifd(0x8825)
    out, dest = tmp_path / "out", tmp_path / "dest"
    runner = CliRunner()
    assert runner.invoke(main, ["sort", str(src), "-o", str(out), "-q"]).exit_code == 0
    people = json.loads(runner.invoke(main, ["people", str(out), "--json"]).stdout)
    obama = next(p["id"] for p in people if p["photo_count"] == 2)
    result = runner.invoke(main, ["export", str(out), obama, str(dest), "--blur-others", "-q"])
    assert result.exit_code == 0, result.stderr
    with Image.open(dest / "two_people.jpg") as copy:
        assert not copy.getexif() and "exif" not in copy.info
        pixels = np.asarray(copy.convert("RGB"))
    hog = DlibEmbedder("hog", upsample=1)
    found = hog.faces(Decoded(pixels, pixels.shape[1], pixels.shape[0], 1.0))
    with Image.open(src / "obama.jpg") as portrait:
        ref = np.asarray(portrait.convert("RGB"))
    (his,) = hog.faces(Decoded(ref, ref.shape[1], ref.shape[0], 1.0))
    assert len(found) == 1 and np.linalg.norm(found[0].embedding - his.embedding) < 0.6


def test_demo_export_drops_alex2s_real_gps_and_keeps_the_image_bytes(demo, tmp_path):
    """hamilton/alex2.jpg carries GPS from its camera: the exported copy has none, and the
    same pixels (its compressed image is copied, not re-encoded)."""
    report, labels, out, source = demo["report"], demo["labels"], demo["out"], demo["source"]
    original = (source / "hamilton" / "alex2.jpg").read_bytes()
    with Image.open(source / "hamilton" / "alex2.jpg") as image:
        assert image.getexif().get_ifd(0x8825)  # the source does carry GPS
    dest = tmp_path / "alex"
    result = CliRunner().invoke(main, ["export", str(out), _person_of(report, labels,
                                       "alex_lacamoire"), str(dest), "-q"])
    assert result.exit_code == 0, result.stderr
    with Image.open(dest / "alex2.jpg") as image:
        assert not image.getexif() and "xmp" not in image.info and "photoshop" not in image.info
        with Image.open(io.BytesIO(original)) as source_image:
            assert np.array_equal(np.asarray(image), np.asarray(source_image))
    assert (dest / "alex2.jpg").stat().st_size < len(original)  # its EXIF thumbnail is gone
    assert sorted(p.name for p in dest.iterdir()) == ["alex1.jpg", "alex2.jpg", "alex3.png"]
