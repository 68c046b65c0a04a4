"""The review app's actions: each a POST (CSRF-checked by guard.py) that calls the same core
function as the CLI command of the same name, one at a time. The state changes at once and
the core brings OUT's folders, report and page in line before the answer comes back; then
the browser goes back where it was (POST, redirect, GET)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request
from flask import session as browser

from .. import corrections, people
from ..errors import MergeRefused, PhotokoshError

blueprint = Blueprint("actions", __name__, url_prefix="/act")


def _context():
    return current_app.extensions["photokosh"]


def _next() -> str:
    target = request.form.get("next", "/")
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _faces() -> list[str]:
    faces = [f for f in request.form.getlist("face") if f.isdigit()]
    if not faces:
        raise PhotokoshError("select at least one face first")
    return faces


MISSING = {"name": "type a name first",
           "to": "type who the selected faces are first: a name or id (a new name: a new "
                 "person)"}


def _field(name: str) -> str:
    """A form field; an empty one is a refusal, shown on the page as the others are."""
    value = request.form.get(name, "").strip()
    if not value:
        raise PhotokoshError(MISSING.get(name, f"{name} is missing"))
    return value


@blueprint.errorhandler(PhotokoshError)
def _refused(exc: PhotokoshError):
    """A refusal before the core was called (an empty field, no face ticked)."""
    flash(str(exc), "error")
    return redirect(_next(), 303)


def _there(where: str, instead: Callable[[], str | None] = lambda: None) -> str:
    """`where`, unless it is the page of a person the action took away (merged, emptied,
    erased): then `instead()` (say, where the faces went), or the people list."""
    path = where.partition("?")[0]
    if path.startswith("/person/") and path[len("/person/"):] not in _context().review().people:
        return instead() or "/"
    return where


def _who(spec: str) -> str:
    """How the app's messages call the person `spec` (an id or name): their name, else id."""
    context = _context()
    with context.busy:
        review = context.review()
        return review.label(review.find(spec) or spec)


def _act(work: Callable[[], object], done: str | Callable[[], str], where: str | None = None,
         instead: Callable[[], str | None] = lambda: None):
    """Run one action under the app's lock; its refusal is shown, never a traceback. `done`
    says what was done: a callable is asked afterwards (a person shown again has a name)."""
    context = _context()
    with context.busy:
        try:
            work()
        except PhotokoshError as exc:
            flash(str(exc), "error")
            return redirect(_there(_next()), 303)
        finally:
            context.changed()  # also after a refusal: the core may have settled the state
        flash(done() if callable(done) else done, "done")
        return redirect(_there(where or _next(), instead), 303)


@blueprint.post("/name")
def name():
    pid, new = _field("person"), _field("name")
    with _context().busy:
        review = _context().review()
        person = review.people.get(review.find(pid) or pid)
    # a renamed person by the old name; else the id, the only handle
    done = f"{person.name} is now {new}" if person and person.name else f"{pid} is {new}"
    return _act(lambda: people.name_person(_context().out, pid, new), done)


@blueprint.post("/merge")
def merge():
    context = _context()
    source, target = _field("source"), _field("target")
    force = request.form.get("force") == "1"
    with context.busy:
        review = context.review()
        src, dst = review.find(source) or source, review.find(target) or target
        names = review.label(src), review.label(dst)  # before: the target may take a name
        try:
            people.merge_people(context.out, source, target, force=force)
        except MergeRefused:  # side by side, or said to be two: the faces, and the override
            return render_template("refused.html", why=_why_two(review, src, dst),
                                   source=src, target=dst, back=_next()), 409
        except PhotokoshError as exc:
            flash(str(exc), "error")
            return redirect(_next(), 303)
        finally:
            context.changed()
        flash(f"{names[0]} merged into {names[1]}", "done")
        back = _next()
        return redirect(f"/person/{dst}" if back.startswith(f"/person/{src}") else
                        _there(back), 303)


def _why_two(review, a: str, b: str) -> str:
    """Why a merge of `a` and `b` was refused, in the app's words (the core's name `--force`)."""
    names = review.label(a), review.label(b)
    said = [c.id for c in review.corrections if c.kind == "apart"
            and {c.person, (c.value or {}).get("other")} == {a, b}]
    if said:
        return (f"You said {names[0]} and {names[1]} are two people (correction {said[0]}, "
                "on the Corrections page). If they are one person after all: Merge anyway.")
    n = len(review.together(a, b))
    where = f"{n} photos" if n > 1 else "1 photo" if n else "a photo"
    return (f"{names[0]} and {names[1]} appear side by side in {where}, so they look like two "
            "people. If they are one person all the same (a mirror, a photo of a photo): "
            "Merge anyway.")


@blueprint.post("/notsame")
def notsame():
    a, b = _field("person"), _field("other")
    return _act(lambda: corrections.not_same_person(_context().out, a, b),
                f"{_who(a)} and {_who(b)} are two people")


@blueprint.post("/forget")
def forget():
    pid = _field("person")
    if request.form.get("confirm") != "yes":
        flash(f"tick the box to confirm that {_who(pid)} is to be erased", "error")
        return redirect(_next(), 303)
    return _act(lambda: people.forget_person(_context().out, pid), f"{_who(pid)} erased", "/")


@blueprint.post("/hide")
def hide():
    pid = _field("person")
    return _act(lambda: corrections.hide_person(_context().out, pid), f"{_who(pid)} hidden",
                "/")


@blueprint.post("/unhide")
def unhide():
    pid = _field("person")
    return _act(lambda: corrections.unhide_person(_context().out, pid),
                lambda: f"{_who(pid)} shown again")


@blueprint.post("/split")
def split():
    pid = _field("person")
    # "Split in two" says so; "Split off as a new person" needs the faces to split off
    faces = [] if request.form.get("halves") == "1" else _faces()
    return _act(lambda: corrections.split_person(_context().out, pid, faces),
                f"{_who(pid)} split")


@blueprint.post("/move")
def move():
    to, context = _field("to"), _context()
    faces = _faces()
    # "Name them" on a group of unknown faces: those unticked are not that person, else the
    # refresh's clustering may join them to the person their look-alikes just became
    left_out = list(dict.fromkeys(f for f in request.form.getlist("group")
                                  if f.isdigit() and f not in faces))

    def work():
        corrections.move_faces(context.out, faces, to)
        if not left_out:
            return
        context.changed()
        ref = context.review().faces.get(int(faces[0]))
        for face in left_out if ref and ref.person else ():
            corrections.not_this_person(context.out, face, ref.person)

    def joined() -> str | None:  # the person the faces went to, if the last one is gone
        pid = context.review().find(to)
        return f"/person/{pid}" if pid else None
    who = _who(to)
    done = f"moved to {who}" + (f"; {len(left_out)} left out: not {who}" if left_out else "")
    return _act(work, done, instead=joined)


@blueprint.post("/notme")
def notme():
    pid = request.form.get("person") or None

    def work():
        for face in _faces():
            corrections.not_this_person(_context().out, face, pid)
    return _act(work, f"not {_who(pid)}" if pid else "not that person")


@blueprint.post("/notface")
def notface():
    def work():
        for face in _faces():
            corrections.not_a_face(_context().out, face)
    return _act(work, "marked as not a face")


@blueprint.post("/undo")
def undo():
    number = _field("correction")
    if not number.isdigit():
        raise PhotokoshError(f"no correction {number!r}: a correction is a number")
    return _act(lambda: corrections.undo(_context().out, int(number)),
                f"correction {number} undone")


@blueprint.post("/clear")
def show_clear():
    """With --blur: show the faces unblurred (in this browser, until it is closed) or not."""
    browser["clear"] = request.form.get("clear") == "1"
    return redirect(_next(), 303)
