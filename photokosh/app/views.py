"""The review app's pages and images (GET only: nothing here changes anything).

A file is reached only through the state's ids: a face by its id, a photo by its content
hash, each looked up in the review of the state; no part of a request path ever becomes a
file path, so `../` finds nothing (404). Thumbnails come from OUT/.photokosh/thumbs (the
blurred ones with --blur), or are cut in memory, never written, for faces without one.
"""

from __future__ import annotations

import io
import re

from flask import Blueprint, Response, abort, current_app, render_template, request, session

from .. import blur, images, thumbs
from ..errors import UnreadablePhoto
from ..layout import THUMBS_PATH

blueprint = Blueprint("views", __name__)
HASH = re.compile(r"[0-9a-f]{16,128}")
LARGE = 1600  # px, the long side of a photo opened large
PERSON_FACES = 240  # faces on a person's page


def _context():
    return current_app.extensions["photokosh"]


def clear() -> bool:
    """Show faces unblurred (cut from the originals) although OUT was sorted with --blur."""
    return bool(session.get("clear"))


@blueprint.app_context_processor
def _shared():
    context = _context()
    review = context.review()
    mode = "clear" if clear() else "as-sorted"  # in the address: the browser's cache
    return {"review": review, "csrf": context.csrf, "clear": clear(), "mode": mode,
            "face_url": lambda fid: f"/face/{fid}.jpg?{mode}",  # keeps the two apart
            "next": request.full_path.rstrip("?")}


@blueprint.get("/")
def people():
    return render_template("people.html")


@blueprint.get("/person/<pid>")
def person(pid: str):
    review = _context().review()
    if pid not in review.people:
        abort(404)
    entry = review.people[pid]
    faces = [f for f in entry.typical if f in review.faces][:PERSON_FACES]
    typical, furthest = review.strips(pid)
    return render_template("person.html", person=entry, faces=faces, typical=typical,
                           furthest=furthest)


@blueprint.get("/suggestions")
def suggestions():
    return render_template("suggestions.html")


@blueprint.get("/unknown")
def unknown():
    return render_template("unknown.html")


@blueprint.get("/corrections")
def corrections():
    return render_template("corrections.html")


@blueprint.get("/photo/<digest>")
def photo(digest: str):
    review = _context().review()
    if not HASH.fullmatch(digest) or digest not in review.photo_of:
        abort(404)
    rel = review.photo_of[digest]
    info = next(p for p in review.catalog.photos if p.hash == digest)
    faces = [f for f in review.photos[digest] if f.shown]
    return render_template("photo.html", digest=digest, rel=rel, photo=info, faces=faces)


@blueprint.get("/face/<int:fid>.jpg")
def face(fid: int):
    context = _context()
    review = context.review()
    ref = review.faces.get(fid)
    if ref is None:
        abort(404)
    blurred = review.blurred and not clear()
    key = (ref.hash, ref.box, blurred)
    data = context.faces[key] if key in context.faces else context.remember(
        key, _thumbnail(review, ref, blurred))
    if data is None:
        abort(404)
    return _jpeg(data)


@blueprint.get("/image/<digest>.jpg")
def image(digest: str):
    review = _context().review()
    if not HASH.fullmatch(digest) or digest not in review.photo_of:
        abort(404)
    rel, out = review.photo_of[digest], review.catalog.output
    if review.blurred and not clear():
        data = thumbs.read_in_out(out, blur.blurred_rel(rel))
    else:
        try:
            data = images.read_bytes(review.catalog.source / rel)
        except UnreadablePhoto:
            data = None
    if data is None:
        abort(404)
    try:
        upright = images.load_upright(data, LARGE)
    except UnreadablePhoto:
        abort(404)
    buffer = io.BytesIO()
    upright.convert("RGB").save(buffer, format="JPEG", quality=85)
    return _jpeg(buffer.getvalue())


def _thumbnail(review, ref, blurred: bool) -> bytes | None:
    out = review.catalog.output
    name = thumbs.thumb_name(ref.hash, ref.box, blurred=blurred)
    return thumbs.read_in_out(out, f"{THUMBS_PATH}/{name}") or thumbs.face_crop(
        out, review.catalog.source, ref.photo, ref.box, blurred=blurred)


def _jpeg(data: bytes) -> Response:
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
