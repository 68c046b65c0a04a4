"""Who may talk to the review app: it is a server, even if local.

Every request needs the per-run token (in the address the CLI opens, then an HttpOnly,
SameSite=Strict cookie), a Host header naming 127.0.0.1 or localhost (a DNS-rebinding page
names its own host), and a state-changing request is a POST carrying the CSRF token of the
page it came from. Nothing leaves for the network: the Content-Security-Policy allows only
the app itself.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import Flask, abort, current_app, redirect, request

COOKIE = "photokosh_review"
LOCAL_NAMES = {"127.0.0.1", "localhost"}
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def install(app: Flask) -> None:
    app.before_request(_check)
    app.after_request(_headers)


def _context():
    return current_app.extensions["photokosh"]


def local_host(host: str, port: int | None) -> bool:
    """Whether a Host header names this server: 127.0.0.1 or localhost, with its port."""
    name, sep, given = host.partition(":")  # "[::1]:port" is refused: not bound there
    if name.lower() not in LOCAL_NAMES or (sep and not given.isdigit()):
        return False
    return not sep or port is None or int(given) == port


def _check():
    context = _context()
    if not local_host(request.host, context.port):
        abort(403, "this app answers only to 127.0.0.1 or localhost")
    given = request.args.get("token")
    if given is not None:
        if not secrets.compare_digest(given, context.token):
            abort(403, "wrong token: open the address `photokosh review` printed")
        rest = {k: v for k, v in request.args.items() if k != "token"}
        response = redirect(request.path + (f"?{urlencode(rest)}" if rest else ""), 303)
        response.set_cookie(COOKIE, context.token, httponly=True, samesite="Strict", path="/")
        return response  # the token leaves the address bar and the history
    cookie = request.cookies.get(COOKIE, "")
    if not secrets.compare_digest(cookie, context.token):
        abort(403, "no token: open the address `photokosh review` printed")
    if request.method not in ("GET", "HEAD"):
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{request.host}":
            abort(403, "a request from another site")
        if not secrets.compare_digest(request.form.get("csrf", ""), context.csrf):
            abort(403, "a stale or forged form: reload the page")
    return None


def _headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # not "no-referrer": Chromium then sends "Origin: null" with every form, ours too
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
