"""Commands that hand photos over and find them: export, find, photos."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..find import THRESHOLD, find_people, photos_with
from ..pipeline import resolve_options
from ..settings import SortOptions
from ..share import export_people, export_person
from . import common, render
from .common import json_option, out_argument, pass_context, quiet_option

_EXPORT_OPTIONS = [
    click.option("--zip", "as_zip", is_flag=True,
                 help="Write DEST as one zip file instead of a folder."),
    click.option("--blur-others", is_flag=True,
                 help="Blur every face but the person's own (as --blur does)."),
    click.option("--blur-all", is_flag=True, help="Blur every face."),
    click.option("--keep-date", is_flag=True,
                 help="Keep the capture date (EXIF); all other metadata, GPS too, goes."),
    click.option("--force", is_flag=True,
                 help="Write into a non-empty DEST, replacing files of the names written "
                      "(nothing else there is removed), or replace the zip file."),
]


def export_options(command):
    for option in reversed(_EXPORT_OPTIONS):
        command = option(command)
    return command


def _blur(blur_others: bool, blur_all: bool) -> str:
    if blur_others and blur_all:
        raise click.UsageError("give --blur-others or --blur-all, not both")
    return "all" if blur_all else "others" if blur_others else "none"


def _export(run, quiet: bool, **options):
    """Run an export (`run(progress=...)`), its bars and skipped photos on stderr."""
    err = common.stderr_console()
    with common.feedback(err, False, quiet) as progress:
        result = run(progress=progress, **options)
    for rel, reason in result.skipped:
        if not quiet:
            err.print(f"skipped {rel}: {reason}", markup=False)
    return result


@click.command()
@out_argument
@click.argument("person")
@click.argument("dest", type=click.Path(path_type=Path))
@export_options
@json_option("Print what was written as JSON.")
@quiet_option
def export(out: Path, person: str, dest: Path, blur_others: bool, blur_all: bool,
           as_json: bool, quiet: bool, **options) -> None:
    """Copy every photo of PERSON to DEST, without metadata.

    PERSON is an id or a name; DEST a folder (or, with --zip, a zip file) outside PHOTOS
    and OUT. The copies are named as in PHOTOS (name-2.jpg for a second name.jpg), upright,
    with no metadata (GPS, camera, EXIF) unless --keep-date. DEST must be new or empty
    unless --force.

    \b
    Example:
        photokosh export ~/People "Alice Smith" ~/alice.zip --zip --blur-others
    """
    blur = _blur(blur_others, blur_all)
    result = _export(functools.partial(export_person, out, person, dest), quiet,
                     blur=blur, **options)
    render.exported(result, as_json)


@click.command()
@out_argument
@click.argument("selfies", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--threshold", type=click.FloatRange(0.1, 1.0), default=THRESHOLD,
              show_default=True, help="Largest face distance that is the same person.")
@click.option("--export", "dest", type=click.Path(path_type=Path), metavar="DEST",
              help="Also export the photos of the people found to DEST, as `export` does.")
@export_options
@json_option("Print the matches (and the export) as JSON.")
@quiet_option
@pass_context
def find(obj: common.Context, out: Path, selfies: tuple[Path, ...], threshold: float,
         dest: Path | None, blur_others: bool, blur_all: bool, as_json: bool, quiet: bool,
         **options) -> None:
    """Say who the faces in SELFIES are, and list their photos.

    Each face gets the nearest person and the distance; "nobody" beyond the threshold
    (0.5, tighter than dlib's 0.6: see docs/sharing.md), a close call when a second person
    is nearly as near (not exported). OUT is not changed.

    \b
    Example:
        photokosh find ~/People guest.jpg --export ~/guest --blur-others
    """
    blur = _blur(blur_others, blur_all)
    # OUT's detector settings: the selfie's faces found as OUT's were
    embedder = obj.embedder(*resolve_options(out, SortOptions()).model_settings())
    catalog, found = find_people(out, list(selfies), embedder, threshold)
    exported = None
    if dest is not None:
        matches = [m for f in found for m in f.faces if m.person]
        for m in (m for m in matches if m.close_call):
            common.stderr_console().print(
                f"not exported: {m.person} is a close call with {m.runner_up}; check, then "
                "`photokosh export` the right one", markup=False)
        people = list(dict.fromkeys(m.person for m in matches if not m.close_call))
        if not people:  # what was found is still the result
            render.found(found, None, as_json)
            raise click.ClickException("no face in SELFIES is surely anyone in OUT: nothing "
                                       "exported")
        exported = _export(functools.partial(export_people, catalog, people, dest),
                           quiet, blur=blur, **options)
    render.found(found, exported, as_json)


@click.command()
@out_argument
@click.option("--with", "people", multiple=True, required=True, metavar="PERSON",
              help="A person (id or name) who must appear; give it once per person.")
@json_option("Print the people and photos as JSON.")
def photos(out: Path, people: tuple[str, ...], as_json: bool) -> None:
    """List the photos that show every PERSON given with --with.

    PERSON is an id or a name; the paths are relative to PHOTOS.

    \b
    Example:
        photokosh photos ~/People --with "Alice Smith" --with person_007
    """
    ids, rels = photos_with(out, list(people))
    if as_json:
        render.print_json({"with": ids, "photos": rels})
    else:
        for rel in rels:
            click.echo(rel)


COMMANDS = (export, find, photos)
