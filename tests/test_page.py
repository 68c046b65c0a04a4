"""The review page (OUT/index.html) and its face thumbnails, down to a real headless Chromium."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from fakes import PALETTE, FakeEmbedder, draw
from PIL import Image, ImageOps

from photokosh import SortOptions, sort_photos
from photokosh.page import MARKER, render_page, write_page
from photokosh.state import open_state
from photokosh.thumbs import ThumbRequest, make_thumbnails

HOSTILE = "<script>alert(1)</script>"


def hand_report() -> dict:
    def person(pid, name, folder, photos, **extra):
        return {"id": pid, "name": name, "folder": folder, "photo_count": len(photos),
                "face_count": len(photos) + 1, "new_photos": 0, **extra, "photos": photos}

    odd = 'a "quoted" <b>\n\u202eevil.jpg'
    return {
        "schema": 1, "source": "/home/me/Pictures", "output": "/home/me/out",
        "settings": {"blur": False}, "summary": {"photos": 5, "faces": 6},
        "people": [person("person_001", HOSTILE, "script_alert(1)_script_", ["x/1.jpg", odd],
                          cohesion=0.61, doubtful=True),
                   person("person_002", None, "person_002", ["2.jpg"], cohesion=0.93,
                          doubtful=False)],
        "photos": [{"path": "x/1.jpg", "faces": [{"box": [0, 0, 9, 9], "person": "person_001"}]},
                   {"path": odd, "faces": [{"box": [0, 0, 9, 9], "person": "person_001"}]},
                   {"path": "2.jpg", "faces": [{"box": [0, 0, 9, 9], "person": "person_002"}]},
                   {"path": "who.jpg", "faces": [{"box": [0, 0, 9, 9], "person": None}]},
                   {"path": "empty's.jpg", "faces": []}],
        "errors": [{"path": "bad<1>.jpg", "reason": "damaged & truncated"}],
    }


class Sections(HTMLParser):
    """Person sections, images, links (href and src) and scripts of a page."""

    def __init__(self):
        super().__init__()
        self.people, self.images, self.links, self.scripts = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("href", "src")]
        if tag == "section" and "data-person" in attrs:
            self.people.append(attrs)
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "script":
            self.scripts += 1


def parse(page: str) -> Sections:
    parser = Sections()
    parser.feed(page)
    return parser


def test_page_escapes_user_data_and_embeds_nothing_remote():
    report = hand_report()
    thumbs = {1: ".photokosh/thumbs/1.jpg", 2: ".photokosh/thumbs/2 x.jpg"}
    where = {1: "x/1.jpg", 2: report["photos"][1]["path"]}
    page = render_page(report, {"person_001": [1, 2]}, thumbs, unknown_faces=[3],
                       face_photos=where)
    parsed = parse(page)
    assert MARKER in page
    assert HOSTILE not in page and "<b>" not in page and "&lt;script&gt;" in page
    assert parsed.scripts == 1  # only the filter
    assert "http://" not in page and "https://" not in page
    assert all(not urlsplit(v).scheme and not urlsplit(v).netloc for v in parsed.links)
    assert [p["data-person"] for p in parsed.people] == ["person_001", "person_002"]
    assert [(p["data-photos"], p["data-faces"]) for p in parsed.people] == [("2", "3"),
                                                                          ("1", "2")]
    # the odd path stays one attribute value: quotes, newline and RTL override are harmless
    assert ("script_alert%281%29_script_/a%20%22quoted%22%20%3Cb%3E%0A%E2%80%AEevil.jpg"
            in parsed.links)
    assert "Face of <script>alert(1)</script> in x/1.jpg" in [i["alt"] for i in parsed.images]
    assert all(i.get("alt") and i["loading"] == "lazy" and i["width"] for i in parsed.images)
    assert ".photokosh/thumbs/2%20x.jpg" in [i["src"] for i in parsed.images]
    assert 'href="no_faces/empty%27s.jpg"' in page and "damaged &amp; truncated" in page


def test_page_flags_doubtful_people_and_works_without_script():
    page = render_page(hand_report(), {}, {})
    first, second = page.split('data-person="person_002"')
    assert "Check this folder" in first and "Check this folder" not in second
    assert "cohesion 0.61" in first and "cohesion 0.93" in second
    assert '<details><summary>2 photos</summary>' in first  # long lists start collapsed
    assert 'id="filter-wrap" hidden' in page  # without JS the useless box stays hidden
    assert '<label for="filter">' in page


def test_page_is_written_atomically(tmp_path):
    with open_state(tmp_path, create=True) as state:
        path = write_page(tmp_path, "<p>one</p>", state)
        write_page(tmp_path, "<p>two</p>", state)
    assert path == tmp_path / "index.html" and path.read_text() == "<p>two</p>"
    # nothing left beside it: the temporary file lived in OUT/.photokosh/tmp and was renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == [".photokosh", "index.html"]
    assert list((tmp_path / ".photokosh" / "tmp").iterdir()) == []


def centre(path: Path) -> tuple[int, int, int]:
    with Image.open(path) as image:
        assert image.size == (96, 96)
        return image.convert("RGB").getpixel((48, 48))


def near(a, b) -> bool:
    return all(abs(x - y) < 40 for x, y in zip(a, b, strict=True))


def test_thumbnails_are_cut_upright_private_and_reused(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    draw(src / "flat.jpg", [0, 1])
    upright = Image.open(draw(tmp_path / "upright.png", [2, 3]))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated 90 degrees anticlockwise, shown after a clockwise turn
    upright.transpose(Image.Transpose.ROTATE_90).save(src / "turned.jpg", exif=exif)
    (src / "broken.jpg").write_bytes(b"not a jpeg")
    boxes = [(10, 20, 50, 60), (60, 20, 100, 60)]  # where draw() puts the first two people
    requests = [ThumbRequest(1, "flat.jpg", boxes[0], "a" * 32),
                ThumbRequest(2, "flat.jpg", boxes[1], "a" * 32),
                ThumbRequest(3, "turned.jpg", boxes[0], "b" * 32),
                ThumbRequest(4, "turned.jpg", boxes[1], "b" * 32),
                ThumbRequest(5, "broken.jpg", boxes[0], "c" * 32)]
    made = make_thumbnails(out, src, requests, blurred=False)
    assert sorted(made) == [1, 2, 3, 4]
    colours = {i: centre(out / rel) for i, rel in made.items()}
    for face, person in {1: 0, 2: 1, 3: 2, 4: 3}.items():
        assert near(colours[face], PALETTE[person]), (face, colours[face])
    folder = out / ".photokosh" / "thumbs"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}
    assert made[1].startswith(".photokosh/thumbs/")

    before = (out / made[1]).stat().st_ino
    again = make_thumbnails(out, src, requests[:1] + [ThumbRequest(2, "flat.jpg", boxes[0],
                                                                   "a" * 32)], blurred=False)
    assert again[1] == made[1] and (out / made[1]).stat().st_ino == before  # reused
    # Face 2 now shows face 1's box of the same content: the same picture, the same file.
    assert again[2] == made[1] and near(centre(out / again[2]), PALETTE[0])
    assert sorted(p.name for p in folder.iterdir()) == [Path(made[1]).name]  # rest removed


def test_thumbnails_of_a_big_photo_come_from_a_reduced_decode(tmp_path, monkeypatch):
    from photokosh import images, thumbs

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    shown = Image.new("RGB", (3000, 4000), (128, 128, 128))  # as displayed: portrait
    faces = {1: ((600, 800, 900, 1100), PALETTE[0]), 2: ((2000, 2500, 2300, 2800), PALETTE[1])}
    for box, colour in faces.values():
        shown.paste(colour, box)
    exif = Image.Exif()
    exif[0x0112] = 6
    shown.transpose(Image.Transpose.ROTATE_90).save(src / "big.jpg", exif=exif, quality=92)
    decoded = []
    real = images.decode
    monkeypatch.setattr(images, "decode",
                        lambda *a, **k: decoded.append(real(*a, **k)) or decoded[-1])
    made = make_thumbnails(out, src, [ThumbRequest(i, "big.jpg", box, "d" * 32)
                                      for i, (box, _) in faces.items()], blurred=False)
    # The 300 px faces' 570 px squares need ~0.15 of the photo: the DCT's quarter scale.
    assert [d.pixels.shape[:2] for d in decoded] == [(1000, 750)]
    for i, (_, colour) in faces.items():
        thumb = Image.open(out / made[i])
        assert thumb.size == (96, 96) and near(centre(out / made[i]), colour), i
    assert thumbs.SHARPNESS * 96 <= 570 * decoded[0].scale


def _thumb_of(out: Path, src: Path, photo: dict, face: dict, blurred: bool = False) -> Path:
    from photokosh import images, thumbs

    digest = images.content_hash(images.read_bytes(src / photo["path"]))
    return out / ".photokosh" / "thumbs" / thumbs.thumb_name(digest, face["box"],
                                                             blurred=blurred)


def test_sort_cuts_thumbnails_while_analysing_and_keeps_them(tmp_path, cli, monkeypatch):
    from photokosh import thumbs

    src, out = tmp_path / "src", tmp_path / "out"
    draw(src / "a.jpg", [0, 1])
    draw(src / "b.jpg", [1], size=(300, 200))
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.open(draw(tmp_path / "c.png", [2, 0])).transpose(
        Image.Transpose.ROTATE_270).save(src / "c.jpg", exif=exif)
    decoded_again = []
    real = thumbs._cut
    monkeypatch.setattr(thumbs, "_cut", lambda path, *a: decoded_again.append(path)
                        or real(path, *a))
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    assert decoded_again == []  # every thumbnail came from the analysis' own decode
    report = json.loads((out / "report.json").read_text())
    shown = [i["src"] for i in parse((out / "index.html").read_text()).images]
    for photo in report["photos"]:
        with Image.open(src / photo["path"]) as original:
            upright = ImageOps.exif_transpose(original).convert("RGB")
            for face in photo["faces"]:
                thumb = _thumb_of(out, src, photo, face)
                left, top, right, bottom = face["box"]
                middle = ((left + right) // 2, (top + bottom) // 2)
                assert near(centre(thumb), upright.getpixel(middle))
                assert thumb.stat().st_mode & 0o777 == 0o600
                assert f".photokosh/thumbs/{thumb.name}" in shown
    assert sum(len(p["faces"]) for p in report["photos"]) == 5

    # A later page with other faces shown neither decodes the photos nor loses thumbnails.
    assert cli("page", out).exit_code == 0
    assert decoded_again == []
    assert len(list((out / ".photokosh" / "thumbs").glob("*.jpg"))) == 5


def test_no_unblurred_thumbnail_with_blur_and_none_left_of_a_forgotten_face(tmp_path, cli):
    src, out = tmp_path / "src", tmp_path / "out"
    draw(src / "a.jpg", [0, 1])
    draw(src / "b.jpg", [1], size=(300, 200))
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    folder = out / ".photokosh" / "thumbs"
    assert len(list(folder.glob("*.jpg"))) == 3
    report = json.loads((out / "report.json").read_text())
    person = next(p["id"] for p in report["people"] if p["photo_count"] == 2)
    gone = [(photo, face) for photo in report["photos"] for face in photo["faces"]
            if face["person"] == person]
    assert cli("sort", src, "-o", out, "-q", "--no-page").exit_code == 0
    assert cli("forget", out, person, "--yes").exit_code == 0
    assert all(not _thumb_of(out, src, photo, face).exists() for photo, face in gone)
    assert len(list(folder.glob("*.jpg"))) == 1

    blurred = tmp_path / "blurred"
    assert cli("sort", src, "-o", blurred, "-q", "--blur").exit_code == 0
    names = [p.name for p in (blurred / ".photokosh" / "thumbs").iterdir()]
    assert len(names) == 3 and all(n.endswith("-b.jpg") for n in names)


def test_blurred_thumbnails_come_from_the_blurred_copies(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    draw(src / "a.jpg", [0])
    (out / "blurred").mkdir(parents=True)
    Image.new("RGB", (240, 160), (0, 0, 0)).save(out / "blurred" / "a.jpg")
    request = ThumbRequest(1, "a.jpg", (10, 20, 50, 60), "a" * 32)
    made = make_thumbnails(out, src, [request], blurred=True)
    assert near(centre(out / made[1]), (0, 0, 0))
    assert make_thumbnails(tmp_path / "none", src, [request], blurred=True) == {}


# -- a real browser --------------------------------------------------------------------------
def open_page(page, path: Path) -> list[str]:
    """Load `path` in the browser; the URLs it requested, in order."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(path.as_uri(), wait_until="load", timeout=30000)
    return requested


LOAD_ALL = """(async () => {
  const images = [...document.images];
  images.forEach(i => { i.loading = 'eager'; });
  const timeout = new Promise(done => setTimeout(done, 15000));
  await Promise.race([Promise.allSettled(images.map(i => i.decode())), timeout]);
  return JSON.stringify({
    people: [...document.querySelectorAll('section.person')].map(s => [s.dataset.person,
      +s.dataset.photos, +s.dataset.faces]),
    broken: images.filter(i => !(i.naturalWidth > 0)).map(i => i.src),
    images: images.map(i => i.currentSrc),
    resources: performance.getEntriesByType('resource').map(e => e.name),
  });
})()"""


def build_output(tmp_path: Path) -> tuple[Path, dict]:
    src, out = tmp_path / "src", tmp_path / "out"
    for name, people in {"a.jpg": [0, 1], "b.jpg": [0], "c/d.jpg": [0, 2], "e f.jpg": [1],
                         "g.jpg": [2], "h.jpg": [], "i.jpg": [0, 1, 2]}.items():
        draw(src / name, people)
    result = sort_photos(src, out, SortOptions(workers=1), embedder=FakeEmbedder())
    requests, faces, face_photos, unknown = [], {}, {}, []
    for photo in result.catalog.photos:
        for face in (f for f in photo.faces if not f.forgotten):
            requests.append(ThumbRequest(face.id, photo.rel, face.box, photo.hash))
            face_photos[face.id] = photo.rel
            if face.person:
                faces.setdefault(face.person, []).append(face.id)
            else:
                unknown.append(face.id)
    thumbs = make_thumbnails(out, src, requests, blurred=False)
    with open_state(out) as state:
        write_page(out, render_page(result.report, faces, thumbs, unknown_faces=unknown,
                                    face_photos=face_photos), state)
    return out, json.loads((out / "report.json").read_text())


def test_page_in_headless_chromium(tmp_path, chromium):
    out, report = build_output(tmp_path)
    assert len(report["people"]) == 3
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    requested = open_page(page, out / "index.html")
    seen = json.loads(page.evaluate(LOAD_ALL))
    assert seen["people"] == [[p["id"], p["photo_count"], p["face_count"]]
                              for p in report["people"]]
    assert len(seen["images"]) == report["summary"]["faces"] and seen["broken"] == []
    # Chromium keeps no resource timing for file:// URLs, so the requests are the proof
    assert set(seen["images"]) <= set(requested)
    assert [u for u in requested + seen["resources"] if not u.startswith("file://")] == []
    # the optional filter hides every person whose name or id does not match
    shown = page.evaluate("""(() => { const box = document.getElementById('filter');
        box.value = 'person_002'; box.dispatchEvent(new Event('input'));
        return [...document.querySelectorAll('section.person')].filter(s => !s.hidden)
            .map(s => s.dataset.person); })()""")
    assert shown == ["person_002"]
    page.screenshot(path=str(tmp_path / "page.png"))
    with Image.open(tmp_path / "page.png") as image:
        low, high = image.convert("L").getextrema()
        assert image.size[0] >= 800 and high - low > 100
