"""`photokosh review` through Flask's test client (fake embedder): each action, which must
change the state, report.json and the folders as the CLI command does, and survive the next
`photokosh sort`; the queues; the command. Its security: tests/test_review_security.py."""

from __future__ import annotations

import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import threading
import urllib.request

from conftest import tree_state
from review_client import Browser  # its sorted_out fixture: a plugin of conftest.py
from test_corrections import album, ok, people_of, photo, report

from photokosh.app import running
from photokosh.corrections import list_corrections


def test_the_queues(sorted_out, monkeypatch):
    monkeypatch.setattr("photokosh.app.model.SUGGEST_BELOW", 2.0)  # every pair is near here
    _, out = sorted_out
    review = Browser(out).context.review()
    assert review.suggestions
    seen_once = [p for p, e in review.people.items() if len(e.photos) == 1]
    assert review.order[:1] == ["person_001"] and review.once == seen_once != []
    assert not set(review.order) & set(seen_once)
    # side by side in g.jpg: person_001 and person_002 are never suggested as one
    assert all({s.a, s.b} != {"person_001", "person_002"} for s in review.suggestions)
    assert [s.distance for s in review.suggestions] == sorted(s.distance
                                                               for s in review.suggestions)
    for pid in review.people:
        typical, furthest = review.strips(pid)
        shown = typical + furthest
        assert len(shown) == len(set(shown)) and set(shown) <= set(review.people[pid].typical)


def strip(html, name):
    found = re.search(rf'<div class="strip" id="{name}">(.*?)</div>', html, re.S)
    return [int(f) for f in re.findall(r'data-face="(\d+)"', found.group(1))] if found else []


def test_a_person_of_a_few_faces_has_their_furthest_shown_apart(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    review = browser.context.review()
    order = review.typical("person_001")  # a, b, c, g: 4 faces, nearest the centre first
    html = browser.page("/person/person_001")
    assert len(order) == 4 and "Furthest from the centre" in html
    assert strip(html, "typical") == order[:2] and strip(html, "furthest") == order[:1:-1]
    for pid in ("person_002", "person_004"):  # 3 faces, 2 faces: one strip
        html = browser.page(f"/person/{pid}")
        assert strip(html, "furthest") == [] and strip(html, "typical") == review.typical(pid)


def test_each_action_changes_state_report_and_folders_and_survives_a_sort(sorted_out, cli,
                                                                         monkeypatch):
    monkeypatch.setattr("photokosh.app.model.SUGGEST_BELOW", 2.0)  # every pair is near here
    src, out = sorted_out
    browser = Browser(out)
    browser.act("/act/name", {"person": "person_001", "name": "Alice", "next": "/"})
    assert "person_001 is Alice" in browser.page()
    browser.act("/act/name", {"person": "person_002", "name": "Bob"})
    assert {"Alice", "Bob"} <= set(people_of(out))
    # side by side in g.jpg: refused, with the override offered; then forced
    refused = browser.act("/act/merge", {"source": "Bob", "target": "Alice"}, expect=409)
    assert "side by side" in refused.get_data(as_text=True) and 'name="force"' in \
        refused.get_data(as_text=True)
    assert "Bob" in people_of(out)
    assert any({s.a, s.b} == {"person_001", "person_003"}
               for s in browser.context.review().suggestions)
    browser.act("/act/notsame", {"person": "person_001", "other": "person_003"})
    assert all({s.a, s.b} != {"person_001", "person_003"}
               for s in browser.context.review().suggestions)
    f_face = next(f["id"] for p in report(out)["photos"] if p["path"] == "f.jpg"
                  for f in p["faces"])
    browser.act("/act/move", {"face": str(f_face), "to": "Bob"})
    assert "f.jpg" in people_of(out)["Bob"]
    a_face = next(f["id"] for p in report(out)["photos"] if p["path"] == "a.jpg"
                  for f in p["faces"])
    browser.act("/act/notface", {"face": str(a_face)})
    assert "a.jpg" not in people_of(out)["Alice"]
    kinds = [c.kind for c in list_corrections(out)]
    assert kinds == ["apart", "move", "notface"]
    ok(cli("sort", src, "-o", out, "-q"))  # every action survives the next run
    got = people_of(out)
    assert "f.jpg" in got["Bob"] and "a.jpg" not in got["Alice"] and "Bob" in got
    assert [c.kind for c in list_corrections(out)] == kinds


def test_refusals_show_a_message_never_a_traceback(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    browser.act("/act/move", {"to": "Alice", "next": "/person/person_001"})  # no face chosen
    assert "select at least one face" in browser.page("/person/person_001")
    browser.act("/act/forget", {"person": "person_002"})  # not confirmed
    assert "person_002" in people_of(out)
    browser.act("/act/name", {"person": "person_002", "name": "..."})
    assert "no characters usable" in browser.page()
    browser.act("/act/merge", {"source": "person_002", "target": "person_002"})
    assert "same person already" in browser.page()


def test_an_empty_field_is_a_refusal_on_the_page_not_a_bare_400(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    before = people_of(out)
    face = str(browser.context.review().typical("person_001")[0])
    for action, data, said in (
            ("move", {"face": face, "to": "  "}, "type who the selected faces are first"),
            ("name", {"person": "person_001", "name": ""}, "type a name first"),
            ("undo", {"correction": "x"}, "a correction is a number")):
        browser.act(f"/act/{action}", {**data, "next": "/person/person_001"})
        assert said in browser.page("/person/person_001"), action
    assert people_of(out) == before and list_corrections(out) == []


def test_split_off_needs_a_face_and_split_in_two_halves(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    before = people_of(out)
    browser.act("/act/split", {"person": "person_001", "next": "/person/person_001"})
    assert "select at least one face" in browser.page("/person/person_001")
    assert people_of(out) == before and list_corrections(out) == []
    html = browser.page("/person/person_001")
    halves = re.search(r'<form[^>]*id="split-halves">(.*?)</form>', html, re.S).group(1)
    assert 'name="halves" value="1"' in halves and 'name="face"' not in halves
    browser.act("/act/merge", {"source": "person_003", "target": "person_002"})
    browser.act("/act/split", {"person": "person_002", "halves": "1"})  # the merge undone
    assert sorted(people_of(out).values(), key=sorted) == sorted(before.values(), key=sorted)
    assert {c.kind for c in list_corrections(out)} == {"merge", "move"}  # the split wins


def test_hide_unhide_split_forget_and_naming_a_group(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    browser.act("/act/hide", {"person": "person_003"})
    assert "person_003" not in people_of(out) and "person_003" in browser.page()
    browser.act("/act/unhide", {"person": "person_003"})
    assert "person_003" in people_of(out)
    alice = [str(f) for f in browser.context.review().people["person_001"].typical]
    browser.act("/act/split", {"person": "person_001", "face": alice[:2]})
    assert len(report(out)["people"]) == len(browser.context.review().people)
    assert any(p["photo_count"] == 2 and p["id"] not in ("person_001", "person_002")
               for p in report(out)["people"])
    faces = [str(f) for f in browser.context.review().people["person_002"].typical]
    browser.act("/act/move", {"face": faces, "to": "Dora"})  # a whole group, one action
    assert people_of(out)["Dora"] == {"d.jpg", "e.jpg", "g.jpg"}
    browser.act("/act/forget", {"person": "Dora", "confirm": "yes"})
    assert "Dora" not in people_of(out)
    assert all(p["name"] != "Dora" for p in report(out)["people"])


def test_messages_call_people_by_their_names(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    browser.act("/act/name", {"person": "person_003", "name": "Carol"})
    assert "person_003 is Carol" in browser.page()
    browser.act("/act/notsame", {"person": "Carol", "other": "person_001"})
    assert "Carol and person_001 are two people" in browser.page()
    browser.act("/act/hide", {"person": "person_003"})
    assert "Carol hidden" in browser.page()
    browser.act("/act/unhide", {"person": "person_003"})
    assert "Carol shown again" in browser.page()
    browser.act("/act/name", {"person": "Carol", "name": "Caroline"})
    assert "Carol is now Caroline" in browser.page()


def test_the_server_binds_127_0_0_1_and_holds_the_lock(sorted_out, tmp_path):
    _, out = sorted_out
    with running(out) as app:
        assert app.server.server_address[0] == "127.0.0.1"
        assert app.url.startswith(f"http://127.0.0.1:{app.server.port}/?token=")
        assert (out / ".photokosh" / "lock").read_text() != ""
    assert json.loads((out / "report.json").read_text())["people"]


def test_unknown_faces_are_grouped_and_suggestions_ranked():
    import numpy as np

    from photokosh.app.model import FaceRef, group_unknown, suggest

    rng = np.random.default_rng(1)
    centres = rng.normal(0, 1, (3, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    emb = {i: centres[i % 3] + rng.normal(0, 0.01, 128) for i in range(12)}
    groups = group_unknown(list(range(12)), emb)
    assert sorted(sorted(g) for g in groups) == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]
    # people p0/p1 share centre 0 (one person split), p2 is someone else
    emb.update({100: centres[0], 101: centres[0] + 0.02, 102: centres[1]})
    faces = {i: FaceRef(i, f"{i}.jpg", "h", (0, 0, 1, 1), p, False)
             for i, p in ((100, "p0"), (101, "p1"), (102, "p2"))}
    people = dict.fromkeys(("p0", "p1", "p2"))
    found = suggest(people, faces, emb, set())
    assert [(s.a, s.b) for s in found] == [("p0", "p1")] and found[0].distance < 0.3
    assert suggest(people, faces, emb, {frozenset(("p0", "p1"))}) == []


def test_the_command_prints_the_address_holds_the_lock_and_stops_on_ctrl_c(sorted_out, cli):
    src, out = sorted_out
    # SIGINT handled as a terminal's Ctrl-C, even where the tests run in a shell's background
    # (whose children inherit SIGINT ignored).
    server = subprocess.Popen([sys.executable, "-m", "photokosh", "review", str(out),
                               "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        url = server.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{40,}", url), url
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(url, timeout=30) as page:
            assert page.status == 200 and "person_001" in page.read().decode()
        busy = cli("sort", src, "-o", out, "-q")  # a cron run meanwhile
        assert busy.exit_code == 4 and "another photokosh run" in busy.stderr
        server.send_signal(signal.SIGINT)
        assert server.wait(30) == 0
        rest, errors = server.communicate(timeout=10)
        assert rest == "" and "Traceback" not in errors and "stopped" in errors
        assert "GET / 200" in errors and "token" not in errors  # requests logged, no token
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    assert cli("sort", src, "-o", out, "-q").exit_code == 0  # the lock went with it


def test_review_of_a_folder_without_a_run_fails_cleanly(tmp_path, cli):
    result = cli("review", tmp_path, "--no-browser")
    assert result.exit_code == 1 and result.stdout == "" and "photokosh sort" in result.stderr


def test_new_since_the_last_run_is_marked(sorted_out, cli):
    src, out = sorted_out
    first = Browser(out)
    assert not first.context.review().marks_new  # after a first run, everything is new
    assert "badge new" not in first.page("/person/person_001")
    photo(src / "later.jpg", [0])
    ok(cli("sort", src, "-o", out, "-q"))
    browser = Browser(out)
    review = browser.context.review()
    [new] = [f for f in review.faces.values() if f.new]
    assert new.photo == "later.jpg" and new.person == "person_001"
    html = browser.page("/person/person_001")
    assert re.search(rf'class="face new" data-face="{new.id}"', html)
    assert html.count('<span class="badge new">new</span>') == 1
    assert '<span class="badge new">1 new</span>' in browser.page("/")


def test_faces_without_a_thumbnail_are_cut_in_memory_blurred_or_not(tmp_path, cli):
    from photokosh import thumbs

    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q", "--blur"))
    for jpg in (out / ".photokosh" / "thumbs").glob("*.jpg"):
        jpg.unlink()  # as for a face the page shows no thumbnail of
    browser = Browser(out)
    ref = next(iter(browser.context.review().faces.values()))
    before = tree_state(out)
    as_sorted = browser.get(f"/face/{ref.id}.jpg")
    assert as_sorted.data == thumbs.face_crop(out, src, ref.photo, ref.box, blurred=True)
    browser.act("/act/clear", {"clear": "1"})
    clear = browser.get(f"/face/{ref.id}.jpg")
    assert clear.data == thumbs.face_crop(out, src, ref.photo, ref.box, blurred=False)
    assert clear.data != as_sorted.data and clear.data[:2] == b"\xff\xd8"
    assert tree_state(out) == before  # cut in memory: nothing written in OUT


def test_a_port_in_use_is_a_clear_failure(sorted_out, cli):
    import socket

    _, out = sorted_out
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = cli("review", out, "--no-browser", "--port", str(taken.getsockname()[1]))
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1:" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_doubtful_people_come_first(tmp_path, cli):
    src = tmp_path / "photos"
    for i in range(6):
        photo(src / f"a{i}.jpg", [0])
        photo(src / f"b{i}.jpg", [1])
    for i in range(13):
        photo(src / f"c{i}.jpg", [2])
    out = tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    by_photo = {p["photos"][0][0]: p["id"] for p in report(out)["people"]}
    ok(cli("merge", out, by_photo["b"], by_photo["a"]))  # two people made one by mistake
    browser = Browser(out)
    review = browser.context.review()
    assert review.order == [by_photo["a"], by_photo["c"]]  # 12 photos before 13: doubtful
    first = re.search(r'<section class="card doubtful" data-person="(\w+)"', browser.page())
    assert first and first.group(1) == by_photo["a"]
    assert "check: two people?" in browser.page()


def test_corrections_are_listed_and_undone_in_the_app(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    assert "None yet." in browser.page("/corrections")
    browser.act("/act/hide", {"person": "person_003"})
    browser.act("/act/notsame", {"person": "person_001", "other": "person_002"})
    html = browser.page("/corrections")
    rows = re.findall(r'data-correction="(\d+)"', html)
    assert rows == [str(c.id) for c in reversed(list_corrections(out))] and len(rows) == 2
    assert "two people" in html and "hidden" in html
    hide = next(c.id for c in list_corrections(out) if c.kind == "hide")
    browser.act("/act/undo", {"correction": str(hide)})
    assert "person_003" in people_of(out)
    assert [c.kind for c in list_corrections(out)] == ["apart"]
    browser.act("/act/undo", {"correction": "999"})
    assert "no correction 999" in browser.page()


def test_the_command_opens_the_browser_unless_told_not_to(sorted_out, cli, monkeypatch):
    import webbrowser

    from werkzeug.serving import BaseWSGIServer

    _, out = sorted_out
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url))
    monkeypatch.setattr(BaseWSGIServer, "serve_forever", lambda self: None)  # Ctrl-C at once
    result = cli("review", out)
    assert result.exit_code == 0, result.stderr
    url = result.stdout.strip()
    for _ in range(100):  # opened from a thread
        if opened:
            break
        threading.Event().wait(0.01)
    assert opened == [url] and url.startswith("http://127.0.0.1:")
    opened.clear()
    assert cli("review", out, "--no-browser", "-q").exit_code == 0 and opened == []


def test_an_action_that_empties_a_person_lands_where_the_faces_went(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    faces = [str(f) for f in browser.context.review().typical("person_003")]  # h.jpg, i.jpg
    moved = browser.act("/act/move", {"face": faces, "to": "person_001",
                                      "next": "/person/person_003"})
    assert moved.headers["Location"] == "/person/person_001"
    assert "moved to person_001" in browser.page("/person/person_001")
    assert "person_003" not in people_of(out)
    [last] = [str(f) for f in browser.context.review().typical("person_004")]  # f.jpg
    gone = browser.act("/act/notface", {"face": last, "next": "/person/person_004?x=1"})
    assert gone.headers["Location"] == "/"
    assert "marked as not a face" in browser.page("/")


def test_naming_a_group_leaves_the_unticked_faces_out_for_good(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q", "--min-photos", "5"))  # everyone unknown
    browser = Browser(out)
    html = browser.page("/unknown")
    faces = {f["id"]: p["path"] for p in report(out)["photos"] for f in p["faces"]}
    sections = re.findall(r'<section class="group".*?</section>', html, re.S)
    [group] = [s for s in sections if len(re.findall(r'type="checkbox"', s)) == 4]  # a b c g
    form = re.search(r"<form.*?</form>", group, re.S).group(0)
    members = re.findall(r'name="group" value="(\d+)"', form)
    assert sorted(faces[int(f)] for f in members) == ["a.jpg", "b.jpg", "c.jpg", "g.jpg"]
    odd = next(f for f in members if faces[int(f)] == "g.jpg")
    ticked = [f for f in members if f != odd]  # the odd one out unticked: not sent
    browser.act("/act/move", {"face": ticked, "group": members, "to": "Zed",
                              "next": "/unknown"})
    assert "1 left out: not Zed" in browser.page("/unknown")

    def check(stage):
        assert people_of(out)["Zed"] == {"a.jpg", "b.jpg", "c.jpg"}, stage
        person = {f["id"]: f["person"] for p in report(out)["photos"] for f in p["faces"]}
        assert person[int(odd)] is None, stage
        zed = next(p["id"] for p in report(out)["people"] if p["name"] == "Zed")
        assert [(c.kind, c.face, c.person) for c in list_corrections(out)] == [
            *(("move", int(f), zed) for f in ticked), ("notme", int(odd), zed)], stage
    check("now")
    ok(cli("sort", src, "-o", out, "-q", "--min-photos", "5"))
    check("after the next sort")


def test_a_refused_merge_names_the_people_shows_their_faces_and_offers_merge_anyway(
        sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    browser.act("/act/name", {"person": "person_001", "name": "Alice"})
    browser.act("/act/name", {"person": "person_002", "name": "Bob"})
    review = browser.context.review()
    refused = browser.act("/act/merge", {"source": "person_002", "target": "person_001",
                                         "next": "/person/person_002"}, expect=409)
    html = refused.get_data(as_text=True)
    assert "Merge Bob into Alice?" in html and "Bob and Alice appear side by side in 1 photo," \
        in html and "--force" not in html and "Merge anyway" in html
    for pid in ("person_001", "person_002"):  # both people's faces, side by side
        shown = re.search(rf'<div data-person="{pid}">(.*?)</div></div>', html, re.S).group(1)
        assert re.findall(r'data-face="(\d+)"', shown) == [str(f) for f in review.typical(pid)]
    assert f'href="/photo/{review.hash_of["g.jpg"]}">g.jpg</a>' in html
    forced = browser.act("/act/merge", {"source": "person_002", "target": "person_001",
                                        "force": "1", "next": "/person/person_002"})
    assert forced.headers["Location"] == "/person/person_001"
    assert "Bob merged into Alice" in browser.page("/person/person_001")
    browser.act("/act/notsame", {"person": "person_003", "other": "person_004"})
    said = browser.act("/act/merge", {"source": "person_004", "target": "person_003"},
                       expect=409).get_data(as_text=True)
    assert "You said person_004 and person_003 are two people (correction" in said
    assert "--force" not in said and "`undo`" not in said
    card = re.search(r'<section class="card[^"]*" data-person="person_001"[^>]*>', browser.page())
    assert 'data-name="Alice"' in card.group(0)  # the drag's confirmation names them


def test_a_stop_waits_for_the_action_in_progress(sorted_out):
    # Ctrl-C or SIGTERM ends serve_forever; the lock must not go while an action is midway.
    import time

    from photokosh.app.server import context_of

    _, out = sorted_out
    finished = []
    with running(out) as app:
        busy = context_of(app.app).busy

        def action():
            with busy:
                time.sleep(0.5)
                finished.append(time.monotonic())
        worker = threading.Thread(target=action)
        worker.start()
        time.sleep(0.1)  # the action holds `busy` now
    closed = time.monotonic()
    worker.join()
    assert finished and finished[0] <= closed
