"""The review app and its server: one Flask app per OUT, served on 127.0.0.1 only, holding
OUT's run lock for its whole life (lock.hold), so that a `photokosh sort` meanwhile refuses
with "another photokosh run" (exit 4) as it does for another run."""

from __future__ import annotations

import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .. import lock
from ..places import check_places
from .model import Review, build_review

HOST = "127.0.0.1"
_CACHED_FACES = 4000  # face thumbnails kept in memory


@dataclass
class ReviewApp:
    """What every request of one app shares: OUT, the secrets, the review of the state (made
    again after each action) and the lock that makes actions one at a time."""

    out: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    port: int | None = None  # the Host header must name it (None: any, for the test client)
    busy: threading.RLock = field(default_factory=threading.RLock)
    _review: Review | None = None
    faces: dict[tuple, bytes | None] = field(default_factory=dict)

    def review(self) -> Review:
        with self.busy:
            if self._review is None:
                self._review = build_review(self.out)
            return self._review

    def changed(self) -> None:
        with self.busy:
            self._review = None

    def remember(self, key: tuple, data: bytes | None) -> bytes | None:
        if len(self.faces) >= _CACHED_FACES:
            self.faces.pop(next(iter(self.faces)))
        self.faces[key] = data
        return data


def create_app(out: Path, *, port: int | None = None) -> Flask:
    """The review app over OUT (which must hold a finished run). The caller holds the lock."""
    from . import actions, guard, views

    context = ReviewApp(Path(out).resolve(), port=port)
    # fails now, with the core's message, if OUT has no finished run or holds its PHOTOS
    check_places(context.review().catalog.source, context.out)
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_NAME="photokosh_session", MAX_CONTENT_LENGTH=1 << 20)
    app.extensions["photokosh"] = context
    guard.install(app)
    app.register_blueprint(views.blueprint)
    app.register_blueprint(actions.blueprint)
    return app


def context_of(app: Flask) -> ReviewApp:
    return app.extensions["photokosh"]


class _Handler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        # the path without its query: the token must not reach the terminal or a log
        self.log("info", "%s %s %s", self.command, self.path.split("?")[0], code)


@dataclass
class Running:
    app: Flask
    server: BaseWSGIServer

    @property
    def url(self) -> str:
        """The address to open: the token in it is swapped for a cookie on the first visit."""
        return f"http://{HOST}:{self.server.port}/?token={context_of(self.app).token}"


@contextmanager
def running(out: Path, port: int = 0) -> Iterator[Running]:
    """The app bound to 127.0.0.1:`port` (0: any free one) under OUT's lock; the caller
    serves it (server.serve_forever) and the block's end closes it. OSError if the port
    cannot be had."""
    out = Path(out).resolve()
    with lock.hold(out):
        app = create_app(out)
        # bound here, not by werkzeug, which answers a taken port with sys.exit
        with socket.create_server((HOST, port)) as bound:
            server = make_server(HOST, bound.getsockname()[1], app, threaded=True,
                                 request_handler=_Handler, fd=bound.fileno())
        context_of(app).port = server.port
        try:
            yield Running(app, server)
        finally:
            server.server_close()
            # an action still running (its thread holds `busy`) ends before the lock goes:
            # stopped mid-action, OUT's folders would wait for the next sort to follow
            with context_of(app).busy:
                pass
