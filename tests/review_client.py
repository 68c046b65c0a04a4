"""The review app's test client, shared by tests/test_review_app.py and
tests/test_review_security.py."""

from __future__ import annotations

import pytest
from test_corrections import album, ok, photo

from photokosh.app import create_app
from photokosh.app.guard import COOKIE


@pytest.fixture
def sorted_out(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    photo(src / "h.jpg", [3])  # a fourth person, seen twice
    photo(src / "i.jpg", [3])
    ok(cli("sort", src, "-o", out, "-q"))
    return src, out


class Browser:
    """The test client with the token exchanged for its cookie, as a browser after the
    address `photokosh review` printed."""

    def __init__(self, out, port=None):
        self.app = create_app(out, port=port)
        self.context = self.app.extensions["photokosh"]
        self.client = self.app.test_client()
        first = self.client.get(f"/?token={self.context.token}")
        assert first.status_code == 303 and first.headers["Location"] == "/"
        cookie = first.headers["Set-Cookie"]
        assert f"{COOKIE}={self.context.token}" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data, **kw):
        return self.client.post(path, data={"csrf": self.context.csrf, **data}, **kw)

    def act(self, path, data, expect=303):
        response = self.post(path, data)
        assert response.status_code == expect, response.data[:2000]
        return response

    def page(self, path="/"):
        response = self.get(path)
        assert response.status_code == 200, path
        return response.get_data(as_text=True)
