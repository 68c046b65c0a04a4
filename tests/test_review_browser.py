"""`photokosh review` end to end: Debian's Chromium (Playwright) doing real user work on the
demo album sorted with the real model, then the state, report.json and the folders checked,
and checked again after the next `photokosh sort`. With PHOTOKOSH_SCREENSHOTS=DIR the main
views are saved there as PNGs (docs/review-*.png were made so)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_PHOTOS
from PIL import Image

from photokosh.app import running
from photokosh.cli import main
from photokosh.corrections import list_corrections

pytestmark = pytest.mark.slow


def sort(source: Path, out: Path) -> dict:
    result = CliRunner().invoke(main, ["sort", str(source), "-o", str(out), "--blur",
                                       "--min-photos", "2", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo album sorted once (real model, --blur; people seen once stay unknown)."""
    source = SHARED_PHOTOS / "demo"
    if not source.is_dir():
        pytest.skip(f"sample photos not found at {source} (set PHOTOKOSH_SAMPLES)")
    out = tmp_path_factory.mktemp("review-demo") / "out"
    return source, out, sort(source, out)


@pytest.fixture
def served(demo):
    """The app on 127.0.0.1:<free port> in a thread, as `photokosh review` serves it."""
    _, out, _ = demo
    with running(out) as app:
        thread = threading.Thread(target=app.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield app
        finally:
            app.server.shutdown()
            thread.join(10)


def shoot(page, name: str, tmp_path: Path) -> None:
    """A screenshot of the view (kept in PHOTOKOSH_SCREENSHOTS if set), never a blank one."""
    folder = Path(os.environ.get("PHOTOKOSH_SCREENSHOTS") or tmp_path)
    path = folder / f"review-{name}.png"
    page.wait_for_function("""() => [...document.images].every(i => i.complete
        || i.getBoundingClientRect().top > innerHeight)""")  # what the view shows, loaded
    page.screenshot(path=str(path), full_page=False)
    with Image.open(path) as image:
        low, high = image.convert("L").getextrema()
        assert image.size[0] >= 1000 and high - low > 100, name


def face_of(report: dict, photo: str) -> int:
    [face] = next(p["faces"] for p in report["photos"] if p["path"] == photo)
    return face["id"]


def folders(out: Path) -> dict[str, set[str]]:
    report = json.loads((out / "report.json").read_text())
    found = {p["folder"]: set(p["photos"]) for p in report["people"]}
    for folder, photos in found.items():
        files = {q.relative_to(out / folder).as_posix() for q in (out / folder).rglob("*")
                 if not q.is_dir() and q.suffix != ".xmp"}  # sidecars: tests/test_xmp.py
        assert files == photos, folder
    return found


def test_demo_review_in_chromium(demo, served, chromium, tmp_path):
    source, out, first = demo
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    asked: list[str] = []  # the merge by drag asks first

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()
    page.on("dialog", answer)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    base = served.url.split("/?")[0]
    page.goto(served.url)
    assert page.url == base + "/"  # the token left the address for a cookie
    page.click("text=Show faces unblurred")  # --blur: faces cut from the originals

    # name two people, in place
    for pid, name in (("person_001", "Barack Obama"), ("person_002", "Joe Biden")):
        card = page.locator(f'.card[data-person="{pid}"]')
        card.locator('input[name="name"]').fill(name)
        card.locator("text=Save").click()
        assert page.locator(".flash.done").inner_text() == f"{pid} is {name}"
    shoot(page, "people", tmp_path)

    # an unknown face (seen once) named in one action; the child's face, the demo having no
    # detector mistake, stands in for one: "not a face"
    lin = face_of(first, "hamilton/lin-manuel-miranda.png")
    child = next(f["id"] for p in first["photos"] if p["path"] == "white-house/obama_and_biden.jpg"
                 for f in p["faces"] if f["person"] is None)
    page.click("#nav-unknown")
    assert page.locator("section.group").count() == 2
    shoot(page, "unknown", tmp_path)
    group = page.locator("section.group", has=page.locator(f'[data-face="{lin}"]'))
    group.locator('input[name="to"]').fill("Lin-Manuel Miranda")
    group.locator("text=Name them").click()
    page.locator("section.group", has=page.locator(f'[data-face="{child}"]')).locator(
        "text=Not faces").click()
    assert page.locator("section.group").count() == 0

    # move a face to a new person, then merge the two back by dragging one onto the other
    kit = face_of(first, "got-premiere/kit1.jpeg")
    page.goto(base + "/person/person_003")
    shoot(page, "person", tmp_path)
    # in one of the two strips: the most typical, or the furthest from the centre
    page.check(f'#typical [data-face="{kit}"] input, #furthest [data-face="{kit}"] input')
    page.fill('#faces input[name="to"]', "Kit H")
    page.click("#do-move")
    assert folders(out)["Kit H"] == {"got-premiere/kit1.jpeg"}
    page.goto(base + "/")
    page.click("#once summary")  # seen once: in the collapsed list
    kit_h = page.locator(".card", has=page.locator('input[value="Kit H"]'))
    kit_h.drag_to(page.locator('.card[data-person="person_003"]'))
    page.wait_for_selector(".flash.done")
    assert page.locator(".flash.done").inner_text() == "Kit H merged into person_003"
    assert asked == ["Merge Kit H into person_003?"]  # by name where they have one

    # a person cut in two (as a clustering may leave them) is suggested as one: answer no
    page.goto(base + "/person/person_001")
    page.click("#split-halves button")
    page.wait_for_selector(".flash.done")
    page.click("#nav-suggestions")
    pairs = page.locator("section.pair")
    assert pairs.count() >= 1
    shoot(page, "suggestions", tmp_path)
    answered = pairs.first.get_attribute("data-pair").split()
    pairs.first.locator("text=No, two people").click()
    assert " ".join(answered) not in [pairs.nth(i).get_attribute("data-pair")
                                      for i in range(pairs.count())]

    # a photo opened large: every face's box and name
    together = next(p for p in first["photos"] if p["path"] == "white-house/two_people.jpg")
    obama = next(f["id"] for f in together["faces"] if f["person"] == "person_001")
    page.goto(base + "/person/person_001")
    page.locator(f'#typical [data-face="{obama}"] a, #furthest [data-face="{obama}"] a').click()
    assert page.locator("svg#large a.box").count() == 2
    assert sorted(page.locator("svg#large text").all_text_contents()) == ["Barack Obama",
                                                                        "Joe Biden"]
    page.wait_for_function("() => document.querySelector('svg#large image').getBBox().width > 0")
    shoot(page, "photo", tmp_path)
    assert [u for u in requested if not u.startswith(base)] == []  # nothing from the network

    served.server.shutdown()  # the app stops: a run may take the lock again

    def check(stage):
        report = json.loads((out / "report.json").read_text())
        got = folders(out)
        assert got["Barack Obama"] >= {"white-house/obama.jpg", "white-house/two_people.jpg"}
        assert got["Joe Biden"] >= {"white-house/biden.jpg", "white-house/two_people.jpg"}
        assert got["Lin-Manuel Miranda"] == {"hamilton/lin-manuel-miranda.png"}, stage
        # merged back: person_003 (unnamed) took the name of the one merged into it
        kit = next(p for p in report["people"] if p["id"] == "person_003")
        assert kit["name"] == "Kit H" and len(kit["photos"]) == 4, stage
        assert [f for f, photos in got.items() if "got-premiere/kit1.jpeg" in photos] == [
            "Kit H"], stage
        faces = {f["id"] for p in report["photos"] for f in p["faces"]}
        assert child not in faces and lin in faces, stage
        kinds = [(c.kind, c.person) for c in list_corrections(out)]
        assert ("notface", None) in kinds and ("move", "person_003") in kinds, stage
        assert [c.value for c in list_corrections(out) if c.kind == "apart"] == [
            {"other": answered[1]}], stage
    check("after the app")
    sort(source, out)  # every action survives the next run
    check("after the next sort")
