"""Commands that work on an output folder after a run: people, name, merge, forget, page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import layout
from ..errors import InvalidName
from ..names import clean_name
from ..people import describe_person, forget_person, list_people, merge_people, name_person
from ..pipeline import refresh_output
from . import render
from .common import json_option, out_argument, stdout_console


@click.command()
@out_argument
@json_option("Print the list as JSON.")
def people(out: Path, as_json: bool) -> None:
    """List the people in OUT: id, name, folder, photos, faces and cohesion.

    Cohesion is 1 minus the mean distance of a person's faces to their average face
    (1: all alike). (check) marks a person whose faces may be two people, or include
    someone else; they come first: look at their folder, then split, move, merge or name.

    \b
    Example:
        photokosh people ~/People --json | jq -r '.[] | select(.name == null) | .id'
    """
    rows = list_people(out)
    if as_json:
        render.print_json(rows)
    else:
        render.people_table(rows, stdout_console())


@click.command()
@out_argument
@click.argument("person")
@click.argument("name")
def name(out: Path, person: str, name: str) -> None:
    """Name PERSON (an id such as person_003); their folder becomes NAME.

    \b
    Example:
        photokosh name ~/People person_003 "Alice Smith"
    """
    try:
        result = name_person(out, person, name)
    except InvalidName as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from exc
    render.folder_of(result.report, person, clean_name(name))


@click.command()
@out_argument
@click.argument("source")
@click.argument("target")
@click.option("--force", is_flag=True, help="Merge even if both appear in one photo.")
def merge(out: Path, source: str, target: str, force: bool) -> None:
    """Merge person SOURCE into TARGET, for this and every later run (recluster too).

    The merge is a correction: `photokosh corrections OUT` lists it, `undo` parts them.

    \b
    Example:
        photokosh merge ~/People person_007 person_003
    """
    render.folder_of(merge_people(out, source, target, force).report, target)


@click.command()
@out_argument
@click.argument("person")
@click.option("--yes", is_flag=True, help="Do not ask (for scripts): erase at once.")
def forget(out: Path, person: str, yes: bool) -> None:
    """Erase PERSON: embeddings, thumbnails and folder; later runs do not bring them back.

    Their photos go to unknown/. The erasure holds for the same files: a re-saved or
    edited copy of one of their photos (new bytes) is a new photo, and brings their face
    back as a new person, since photokosh keeps nothing of the face to recognise it by.
    It cannot be undone, so it asks first (without a terminal, give --yes).

    \b
    Example:
        photokosh forget ~/People person_007
    """
    if not yes:
        # an erasure cannot be undone: a typo in the id must not be permanent
        if not stdin_is_terminal():
            raise click.UsageError("forget erases for good: confirm on a terminal, or add "
                                   "--yes in a script")
        about = describe_person(out, person)
        click.confirm(f"Erase {about} for good?", abort=True, err=True)
    forget_person(out, person)
    click.echo(f"{person} forgotten")


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@click.command()
@out_argument
def page(out: Path) -> None:
    """Rebuild the static page OUT/index.html from the state (no detection is re-run).

    \b
    Example:
        photokosh page ~/People && xdg-open ~/People/index.html
    """
    refresh_output(out, page=True)
    click.echo(str(layout.page_file(out.resolve())))

