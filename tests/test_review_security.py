"""`photokosh review`'s security, a test per rule of issue 23 (Flask's test client, fake
embedder): the token, the Host header, GET changing nothing and POST needing the CSRF token,
files only by the state's ids, nothing from the network."""

from __future__ import annotations

import re

from conftest import tree_state
from review_client import Browser  # its sorted_out fixture: a plugin of conftest.py

from photokosh.app import create_app
from photokosh.app.guard import COOKIE, local_host


def test_every_request_needs_the_token(sorted_out):
    _, out = sorted_out
    app = create_app(out)
    client = app.test_client()
    token = app.extensions["photokosh"].token
    for path in ("/", "/person/person_001", "/face/1.jpg", "/static/app.js", "/nothing"):
        assert client.get(path).status_code == 403, path
    assert client.get("/?token=wrong").status_code == 403
    client.set_cookie(COOKIE, "wrong")
    assert client.get("/").status_code == 403
    assert client.get(f"/?token={token}").status_code == 303
    assert client.get("/").status_code == 200  # the cookie now


def test_a_foreign_host_is_refused(sorted_out):
    _, out = sorted_out
    browser = Browser(out, port=8123)
    client = browser.app.test_client(use_cookies=False)  # a jar keeps cookies per host
    cookie = f"{COOKIE}={browser.context.token}"
    for host in ("evil.example", "evil.example:8123", "127.0.0.1.evil.example", "[::1]:8123",
                 "127.0.0.1:9999", "localhost:x"):
        assert client.get("/", headers={"Host": host, "Cookie": cookie}).status_code == 403
    for host in ("127.0.0.1:8123", "localhost:8123", "LOCALHOST"):
        assert client.get("/", headers={"Host": host, "Cookie": cookie}).status_code == 200
    assert not local_host("example.com", None) and local_host("127.0.0.1:1", None)


def test_get_changes_nothing_and_a_post_needs_the_csrf_token(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    before = tree_state(out)
    review = browser.context.review()
    pages = ["/", "/person/person_001", "/suggestions", "/unknown", "/corrections",
             *(f"/photo/{h}" for h in review.photo_of), *(f"/face/{f}.jpg" for f in review.faces),
             *(f"/image/{h}.jpg" for h in review.photo_of)]
    for path in pages:
        assert browser.get(path).status_code == 200, path
    for action in ("merge", "name", "forget", "move", "notface", "hide", "notsame", "undo"):
        assert browser.get(f"/act/{action}?source=person_002&target=person_001&person="
                           "person_001&name=X&confirm=yes&face=1").status_code == 405
    data = {"source": "person_002", "target": "person_001", "force": "1"}
    assert browser.client.post("/act/merge", data=data).status_code == 403  # no csrf
    assert browser.client.post("/act/merge", data={**data, "csrf": "forged"}).status_code == 403
    assert browser.post("/act/merge", data, headers={"Origin": "http://evil.example"}
                        ).status_code == 403
    assert tree_state(out) == before  # not a byte: not even SQLite's side files


def test_files_only_by_state_ids(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    digest = next(iter(browser.context.review().photo_of))
    for path in ("/face/999.jpg", "/face/../.photokosh/state.db", "/face/..%2f..%2fstate.db",
                 "/photo/../../etc/passwd", "/photo/..%2F..%2Fetc%2Fpasswd", "/image/0000.jpg",
                 f"/image/{'0' * 32}.jpg", f"/photo/{digest}/../../report.json",
                 "/static/../server.py", "/static/..%2fserver.py", "/.photokosh/state.db",
                 "/report.json", "/person/../../etc"):
        assert browser.get(path).status_code == 404, path
    html = browser.page(f"/photo/{digest}")
    assert f"/image/{digest}.jpg" in html
    image = browser.get(f"/image/{digest}.jpg")
    assert image.mimetype == "image/jpeg" and image.data[:2] == b"\xff\xd8"


def test_pages_load_nothing_from_the_network(sorted_out):
    _, out = sorted_out
    browser = Browser(out)
    for path in ("/", "/person/person_001", "/suggestions", "/unknown", "/corrections"):
        response = browser.get(path)
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        links = re.findall(r'(?:src|href)="([^"]+)"', response.get_data(as_text=True))
        assert links and all(u.startswith("/") and not u.startswith("//") for u in links), path
