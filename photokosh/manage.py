"""Commands that work on an output folder after a run: people, name, merge, forget."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from .cli import _fail, _stdout, main
from .errors import PhotokoshError
from .people import forget_person, list_people, merge_people, name_person

OUT = click.argument("out", type=click.Path(exists=True, file_okay=False, path_type=Path))


@main.command()
@OUT
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def people(out: Path, as_json: bool) -> None:
    """List the people in OUT: id, name, photos, faces.

    \b
    Example:
        photokosh people ~/People --json | jq -r '.[] | select(.name == null) | .id'
    """
    try:
        rows = list_people(out)
    except PhotokoshError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(box=None)
    for column in ("id", "name", "folder", "photos", "faces"):
        table.add_column(column, justify="right" if column in ("photos", "faces") else "left")
    for r in rows:
        table.add_row(r["id"], r["name"] or "", r["folder"], str(r["photo_count"]),
                      str(r["face_count"]))
    _stdout().print(table)


@main.command()
@OUT
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
    except PhotokoshError as exc:
        _fail(exc)
    _say_folder(result, person)


@main.command()
@OUT
@click.argument("source")
@click.argument("target")
@click.option("--force", is_flag=True, help="Merge even if both appear in one photo.")
def merge(out: Path, source: str, target: str, force: bool) -> None:
    """Merge person SOURCE into TARGET, for this and every later run.

    \b
    Example:
        photokosh merge ~/People person_007 person_003
    """
    try:
        result = merge_people(out, source, target, force)
    except PhotokoshError as exc:
        _fail(exc)
    _say_folder(result, target)


@main.command()
@OUT
@click.argument("person")
def forget(out: Path, person: str) -> None:
    """Erase PERSON: embeddings, thumbnails and folder; later runs do not bring them back.

    \b
    Example:
        photokosh forget ~/People person_007
    """
    try:
        forget_person(out, person)
    except PhotokoshError as exc:
        _fail(exc)
    click.echo(f"{person} forgotten")


@main.command()
@OUT
def page(out: Path) -> None:
    """Rebuild the review page OUT/index.html from the state (no detection is re-run).

    \b
    Example:
        photokosh page ~/People && xdg-open ~/People/index.html
    """
    from .pipeline import refresh_output

    try:
        refresh_output(out, page=True)
    except PhotokoshError as exc:
        _fail(exc)
    click.echo(str(out.resolve() / "index.html"))


def _say_folder(result, person: str) -> None:
    for p in result.report["people"]:
        if p["id"] == person or p["name"] == person:
            click.echo(f"{p['id']}: {p['folder']}/ ({p['photo_count']} photos)")
            return
