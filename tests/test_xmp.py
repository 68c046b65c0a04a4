"""XMP face regions (issue 24): photokosh's sidecars in OUT, read back by exiftool; names that
other tools wrote into PHOTOS (tagged here by exiftool) naming people on the first run."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess

import pytest
from conftest import tree_state
from fakes import FakeEmbedder, album, draw, photo

from photokosh import SortOptions, sort_photos, xmp
from photokosh.records import Region

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool not installed (Debian: libimage-exiftool-perl; .ci/run "
                             "installs it)")
# fakes.draw puts palette person i's 40 px square at x = 10 + 50 i, y = 20
SQUARE = 40


def square(i: int) -> tuple[int, int, int, int]:
    return (10 + 50 * i, 20, 10 + 50 * i + SQUARE, 20 + SQUARE)


def report(out):
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def sidecars(out):
    return {rel for rel, what in tree_state(out).items() if rel.endswith(".xmp")}


def exiftool_regions(path) -> dict:
    result = subprocess.run([EXIFTOOL, "-j", "-struct", "-RegionInfo", "-RegionInfoMP",
                             str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


def tag(path, regions, width, height, *, into=None):
    """Write MWG face regions with exiftool into `path` (or into a new sidecar `into`)."""
    items = []
    for name, (left, top, right, bottom) in regions:
        w, h = (right - left) / width, (bottom - top) / height
        items.append(f"{{Area={{W={w},H={h},X={left / width + w / 2},"
                     f"Y={top / height + h / 2},Unit=normalized}},Name={name},Type=Face}}")
    struct = (f"{{AppliedToDimensions={{W={width},H={height},Unit=pixel}},"
              f"RegionList=[{','.join(items)}]}}")
    where = ["-o", str(into)] if into else ["-overwrite_original"]
    subprocess.run([EXIFTOOL, "-q", *where, f"-XMP-mwg-rs:RegionInfo={struct}", str(path)],
                   check=True)


def test_a_sidecar_round_trips_both_schemas_in_bags():
    faces = [Region("Barack Obama", (100, 50, 200, 170)), Region("Zoë", (300, 100, 360, 180))]
    data = xmp.sidecar(640, 480, faces)
    assert xmp.read_regions(data, 640, 480) == faces
    import pyexiv2

    tags = pyexiv2.ImageData(data).read_xmp()
    assert tags["Xmp.mwg-rs.Regions/mwg-rs:RegionList"] == 'type="Bag"'  # as MWG says
    assert tags["Xmp.MP.RegionInfo/MPRI:Regions"] == 'type="Bag"'
    assert tags["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"] == "640"
    # Microsoft's regions alone are read too (a file from Windows Photo Gallery)
    mp_only = {k: v for k, v in tags.items() if k.startswith("Xmp.MP")}
    image = pyexiv2.ImageData(xmp.sidecar(640, 480, []))
    image.modify_xmp({k: v for k, v in mp_only.items() if not v.startswith("type=")})
    assert xmp.read_regions(image.get_bytes(), 640, 480) == faces


def test_unreadable_or_unnamed_xmp_gives_no_names(tmp_path):
    assert xmp.read_regions(b"not an image mwg-rs", 10, 10) == []
    tagged = xmp.sidecar(10, 10, [Region("Ann", (1, 1, 5, 5))])
    assert xmp.read_regions(tagged[:len(tagged) // 2], 10, 10) == []  # cut short
    assert xmp.read_regions(tagged.replace(b"Ann", b"\xff\xfe"), 10, 10) == []  # not UTF-8
    assert xmp.read_regions(xmp.sidecar(10, 10, []), 10, 10) == []
    broken = tmp_path / "a.jpg"
    broken.write_bytes(b"\xff\xd8 junk")
    (tmp_path / "a.jpg.xmp").write_bytes(b"<x:xmpmeta mwg-rs")
    assert xmp.regions_of(broken, broken.read_bytes(), 10, 10) == []


@needs_exiftool
def test_exiftool_reads_the_names_and_areas_of_photokosh_sidecars(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert sidecars(out) == set()  # nobody named yet: nothing to say
    assert cli("name", out, "person_001", "Barack Obama").exit_code == 0
    assert cli("name", out, "person_002", "Zoë Doe").exit_code == 0
    assert sidecars(out) == {"Barack Obama/a.jpg.xmp", "Barack Obama/b.jpg.xmp",
                             "Barack Obama/trip/c.jpg.xmp", "Zoë Doe/trip/c.jpg.xmp",
                             "Zoë Doe/trip/d.jpg.xmp"}
    photos = {p["path"]: p for p in report(out)["photos"]}
    info = exiftool_regions(out / "Zoë Doe/trip/c.jpg.xmp")["RegionInfo"]
    width, height = photos["trip/c.jpg"]["width"], photos["trip/c.jpg"]["height"]
    assert info["AppliedToDimensions"] == {"W": width, "H": height, "Unit": "pixel"}
    names = [r["Name"] for r in info["RegionList"]]
    assert names == ["Barack Obama", "Zoë Doe"]
    for region, i in zip(info["RegionList"], (0, 1), strict=True):
        left, top, right, bottom = square(i)
        area = region["Area"]
        assert region["Type"] == "Face" and area["Unit"] == "normalized"
        assert area["X"] == pytest.approx((left + right) / 2 / width, abs=1e-5)
        assert area["Y"] == pytest.approx((top + bottom) / 2 / height, abs=1e-5)
        assert area["W"] == pytest.approx(SQUARE / width, abs=1e-5)
        assert area["H"] == pytest.approx(SQUARE / height, abs=1e-5)
    mp = exiftool_regions(out / "Zoë Doe/trip/c.jpg.xmp")["RegionInfoMP"]["Regions"]
    assert [r["PersonDisplayName"] for r in mp] == names
    # a new name is a new sidecar; the old one goes with the old folder
    assert cli("name", out, "person_002", "Zoe").exit_code == 0
    info = exiftool_regions(out / "Barack Obama/trip/c.jpg.xmp")["RegionInfo"]
    assert [r["Name"] for r in info["RegionList"]] == ["Barack Obama", "Zoe"]
    assert not (out / "Zoë Doe").exists()
    assert (out / "Zoe/trip/d.jpg.xmp").is_file()


def test_sidecars_are_own_files_removed_with_their_photo_and_by_no_xmp(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    before = tree_state(src)
    assert cli("sort", src, "-o", out, "-q", "--link", "hard").exit_code == 0
    assert cli("name", out, "person_001", "Alice").exit_code == 0
    side = out / "Alice/a.jpg.xmp"
    assert side.is_file()
    assert os.stat(out / "Alice/a.jpg").st_ino == os.stat(src / "a.jpg").st_ino  # hard link
    assert side.stat().st_ino != os.stat(src / "a.jpg").st_ino and side.stat().st_nlink == 1
    assert tree_state(src) == before  # the source folder is never written
    (src / "a.jpg").unlink()
    assert cli("sort", src, "-o", out, "-q", "--prune").exit_code == 0
    assert not side.exists() and (out / "Alice/b.jpg.xmp").is_file()
    assert cli("sort", src, "-o", out, "-q", "--no-xmp").exit_code == 0
    assert sidecars(out) == set()
    assert cli("sort", src, "-o", out, "-q").exit_code == 0  # OUT remembers --no-xmp
    assert sidecars(out) == set()


def test_a_sidecar_is_never_written_over_a_strangers_file(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    (out / "person_001").mkdir(exist_ok=True)
    (out / "person_001/b.jpg.xmp").write_text("mine")
    result = cli("name", out, "person_001", "Alice")
    assert result.exit_code == 0, result.stderr
    (out / "Alice/b.jpg.xmp").write_text("mine too")
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert (out / "Alice/b.jpg.xmp").read_text() == "mine too"
    assert any(e["path"] == "OUT/Alice/b.jpg.xmp" for e in report(out)["errors"])


@needs_exiftool
@pytest.mark.parametrize("where", ["embedded", "sidecar", "microsoft"])
def test_a_photo_tagged_by_exiftool_names_that_person_on_the_first_run(tmp_path, cli, where):
    src, out = album(tmp_path), tmp_path / "out"
    size = draw(src / "tagged.jpg", [1]).stat().st_size and (240, 160)
    if where == "embedded":
        tag(src / "tagged.jpg", [("Barack Obama", square(0))], *size)
    elif where == "sidecar":
        tag(src / "tagged.jpg", [("Barack Obama", square(0))], *size,
            into=src / "tagged.jpg.xmp")
    else:  # Windows Photo Gallery's regions: left, top, width, height
        left, top, right, bottom = square(0)
        rect = "|, ".join(str(v) for v in (left / 240, top / 160, (right - left) / 240,
                                           (bottom - top) / 160))  # "|," : a comma, escaped
        subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-XMP-MP:RegionInfoMP="
                        f"{{Regions=[{{PersonDisplayName=Barack Obama,Rectangle={rect}}}]}}",
                        str(src / "tagged.jpg")], check=True)
    before = tree_state(src)
    result = cli("sort", src, "-o", out, "-q", "--json")
    assert result.exit_code == 0, result.stderr
    people = {p["name"]: p for p in json.loads(result.stdout)["people"]}
    assert people["Barack Obama"]["photo_count"] == 3  # trip/c.jpg, d.jpg and tagged.jpg
    assert (out / "Barack Obama/trip/d.jpg.xmp").is_file()
    assert tree_state(src) == before


def _tagged_album(tmp_path, tags: dict[str, list[tuple[str, int]]]):
    """album() plus photos of palette people named in their XMP: {file: [(name, person)]}."""
    src = album(tmp_path)
    for name, faces in tags.items():
        path = photo(src / name, [p for _, p in faces])
        from PIL import Image

        with Image.open(path) as image:
            size = image.size
        regions = [Region(n, square(i)) for i, (n, _) in enumerate(faces)]
        (src / f"{name}.xmp").write_bytes(xmp.sidecar(*size, regions))
    return src


def test_conflicting_names_are_reported_never_settled(tmp_path, cli):
    src = _tagged_album(tmp_path, {"x.jpg": [("Ann", 0)], "y.jpg": [("Anna", 0)],
                                   "z.jpg": [("Bob", 1)], "w.jpg": [("Bob", 2)]})
    out = tmp_path / "out"
    result = cli("sort", src, "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {p["id"]: p["name"] for p in doc["people"]} == {
        "person_001": None, "person_002": None, "person_003": None}
    conflicts = {tuple(c["names"]): c for c in doc["name_conflicts"]}
    assert conflicts[("Ann", "Anna")]["people"] == ["person_001"]
    assert conflicts[("Ann", "Anna")]["photos"] == ["x.jpg", "y.jpg"]
    assert conflicts[("Bob",)]["people"] == ["person_002", "person_003"]
    assert "Ann, Anna" in result.stderr and "Bob" in result.stderr
    assert report(out)["name_conflicts"] == doc["name_conflicts"]


def test_the_users_own_name_wins_and_regions_are_read_once(tmp_path, cli, monkeypatch):
    src = _tagged_album(tmp_path, {"x.jpg": [("Ann", 0)]})
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert {p["id"]: p["name"] for p in report(out)["people"]}["person_001"] == "Ann"
    assert cli("name", out, "person_001", "Annie").exit_code == 0
    calls = []
    real = xmp.regions_of
    monkeypatch.setattr(xmp, "regions_of", lambda *a: calls.append(a) or real(*a))
    photo(src / "new.jpg", [2])
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert [a[0].name for a in calls] == ["new.jpg"]  # cached with the analysis
    names = {p["id"]: p["name"] for p in report(out)["people"]}
    assert names["person_001"] == "Annie" and report(out)["name_conflicts"] == []


@needs_exiftool
def test_regions_are_in_the_oriented_image(tmp_path, cli):
    src, out = tmp_path / "photos", tmp_path / "out"
    path = draw(src / "turned.jpg", [0], size=(240, 160))
    from PIL import Image

    with Image.open(path) as image:  # stored sideways; EXIF says turn it back (6: 90° CW)
        turned = image.transpose(Image.Transpose.ROTATE_90)
        exif = image.getexif()
        exif[0x0112] = 6
        turned.save(path, exif=exif)
    photo(src / "b.jpg", [0])
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert cli("name", out, "person_001", "Ann").exit_code == 0
    info = exiftool_regions(out / "Ann/turned.jpg.xmp")["RegionInfo"]
    assert info["AppliedToDimensions"] == {"W": 240, "H": 160, "Unit": "pixel"}
    area = info["RegionList"][0]["Area"]
    assert (area["X"], area["Y"]) == pytest.approx((30 / 240, 40 / 160), abs=0.02)


def test_a_folder_renamed_by_hand_keeps_its_sidecars_photokoshs(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert cli("name", out, "person_001", "Alice").exit_code == 0
    (out / "Alice").rename(out / "Alice Smith")
    result = cli("sort", src, "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["errors"] == [] and [item["to"] for item in doc["learned"]] == ["Alice Smith"]
    assert sidecars(out) == {"Alice Smith/a.jpg.xmp", "Alice Smith/b.jpg.xmp",
                             "Alice Smith/trip/c.jpg.xmp", "person_002/trip/c.jpg.xmp"}
    for rel in ("Alice Smith/a.jpg.xmp", "person_002/trip/c.jpg.xmp"):  # with the new name
        got = xmp.read_regions((out / rel).read_bytes(), 1, 1)
        assert [r.name for r in got] == ["Alice Smith"]


def _killed_at_sidecar(src, out, nth):
    """A run that SIGKILLs itself when its nth sidecar is complete in OUT/.photokosh/tmp,
    about to be linked into place."""
    original, seen = os.link, [0]

    def deadly(source, dest, *args, **kwargs):
        if os.fspath(dest).endswith(".xmp"):
            seen[0] += 1
            if seen[0] == nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return original(source, dest, *args, **kwargs)

    os.link = deadly
    sort_photos(src, out, SortOptions(workers=1, xmp=True), embedder=FakeEmbedder())


def test_a_run_killed_between_writing_and_linking_a_sidecar_ends_as_if_never_killed(
        tmp_path, cli):
    src = album(tmp_path)
    out, reference = tmp_path / "out", tmp_path / "reference"
    for where in (out, reference):
        assert cli("sort", src, "-o", where, "-q").exit_code == 0
        assert cli("name", where, "person_001", "Alice").exit_code == 0
        assert cli("name", where, "person_002", "Bob").exit_code == 0
    assert cli("sort", src, "-o", out, "-q", "--no-xmp").exit_code == 0
    assert sidecars(out) == set()
    child = multiprocessing.get_context("forkserver").Process(
        target=_killed_at_sidecar, args=(src, out, 2))
    child.start()
    child.join(120)
    assert child.exitcode == -signal.SIGKILL, "the run never reached its second sidecar"
    assert len(sidecars(out)) == 1  # one linked, the second left complete in tmp
    result = cli("sort", src, "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["errors"] == []
    assert sidecars(out) == sidecars(reference) and len(sidecars(out)) == 5
    for rel in sidecars(out):
        assert (out / rel).read_bytes() == (reference / rel).read_bytes(), rel
    assert list((out / ".photokosh" / "tmp").iterdir()) == []
