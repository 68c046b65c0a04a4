"""Commands that correct single faces and people, for this and every later run: move,
notme, notface, split, notsame, hide, unhide, corrections, undo, recluster."""

from __future__ import annotations

from pathlib import Path

import click

from .. import corrections as core
from . import render
from .common import json_option, out_argument

FACE_HELP = "FACE is a face id (report.json), PHOTO (relative path) or PHOTO#N."


def _done(message: str) -> None:
    click.echo(message)


@click.command(epilog=FACE_HELP)
@out_argument
@click.argument("face")
@click.argument("person")
def move(out: Path, face: str, person: str) -> None:
    """Put FACE with PERSON (an id or name; a new name makes a new person), for good.

    \b
    Example:
        photokosh move ~/People trip/beach.jpg#2 "Alice Smith"
    """
    result = core.move_face(out, face, person)
    render.folder_of(result.report, person)


@click.command(epilog=FACE_HELP)
@out_argument
@click.argument("face")
@click.argument("person", required=False)
def notme(out: Path, face: str, person: str | None) -> None:
    """FACE is not PERSON (default: the person it is with now); it never rejoins them.

    \b
    Example:
        photokosh notme ~/People trip/beach.jpg person_003
    """
    core.not_this_person(out, face, person)
    _done(f"{face} is not {person or 'that person'}")


@click.command(epilog=FACE_HELP)
@out_argument
@click.argument("face")
def notface(out: Path, face: str) -> None:
    """FACE is no face (a detector mistake): in no folder, chart or page; still blurred.

    \b
    Example:
        photokosh notface ~/People 17
    """
    core.not_a_face(out, face)
    _done(f"{face} is not a face")


@click.command(epilog=FACE_HELP)
@out_argument
@click.argument("person")
@click.argument("faces", nargs=-1)
def split(out: Path, person: str, faces: tuple[str, ...]) -> None:
    """Split PERSON in two: FACES become a new person, or without FACES their faces are
    clustered into two people (the larger keeps PERSON's id and name).

    \b
    Example:
        photokosh split ~/People person_004
    """
    result = core.split_person(out, person, list(faces))
    render.folder_of(result.report, person)


@click.command()
@out_argument
@click.argument("person")
@click.argument("other")
def notsame(out: Path, person: str, other: str) -> None:
    """PERSON and OTHER are two people: never suggested as one (`photokosh review`), and
    `merge` refuses them without --force.

    \b
    Example:
        photokosh notsame ~/People person_003 person_007
    """
    core.not_same_person(out, person, other)
    _done(f"{person} and {other} are two people")


@click.command()
@out_argument
@click.argument("person")
def hide(out: Path, person: str) -> None:
    """Hide PERSON (a stranger): no folder, not in the chart; new photos of them join them.

    \b
    Example:
        photokosh hide ~/People person_012
    """
    core.hide_person(out, person)
    _done(f"{person} hidden")


@click.command()
@out_argument
@click.argument("person")
def unhide(out: Path, person: str) -> None:
    """Show a hidden PERSON again.

    \b
    Example:
        photokosh unhide ~/People person_012
    """
    core.unhide_person(out, person)
    _done(f"{person} shown again")


@click.command()
@out_argument
@json_option("Print the corrections as JSON.")
def corrections(out: Path, as_json: bool) -> None:
    """List the corrections in force, oldest first, with the id `undo` takes.

    \b
    Example:
        photokosh corrections ~/People
    """
    rows = [c._asdict() for c in core.list_corrections(out)]
    if as_json:
        render.print_json(rows)
    for r in rows if not as_json else ():
        about = [f"face {r['face']}" if r["face"] is not None else None, r["person"],
                 r["value"]["name"] if r["kind"] == "name" else None,
                 f"/ {r['value']['other']}" if r["kind"] in ("apart", "merge") else None]
        click.echo(f"{r['id']}: {r['kind']} {' '.join(map(str, filter(None, about)))} "
                   f"({r['how']})")


@click.command()
@out_argument
@click.argument("correction", type=click.IntRange(1))
def undo(out: Path, correction: int) -> None:
    """Take back CORRECTION (an id from `photokosh corrections OUT`).

    \b
    Example:
        photokosh undo ~/People 3
    """
    core.undo(out, correction)
    _done(f"correction {correction} undone")


@click.command()
@out_argument
def recluster(out: Path) -> None:
    """Cluster every face again from scratch, keeping every correction; people keep the ids
    and names of the groups they overlap most.

    \b
    Example:
        photokosh recluster ~/People
    """
    result = core.recluster(out)
    _done(f"{len(result.report['people'])} people")


COMMANDS = (move, notme, notface, split, notsame, hide, unhide, corrections, undo, recluster)
