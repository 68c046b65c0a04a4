"""The command line: parse, call the core, render. No photo logic lives here."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .errors import LockedError, PhotokoshError
from .pipeline import SortOptions, default_output, sort_photos

EXIT_SKIPPED = 3  # --strict and some files were skipped
EXIT_LOCKED = 4  # another run holds the output folder

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LockedException(click.ClickException):
    exit_code = EXIT_LOCKED


def _stdout() -> Console:
    return Console(soft_wrap=True, highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _fail(exc: PhotokoshError):
    if isinstance(exc, LockedError):
        raise LockedException(str(exc))
    raise click.ClickException(str(exc))


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="photokosh")
def main() -> None:
    """Sort a folder of photos by the people in them.

    \b
    Example:
        photokosh sort ~/Pictures -o ~/People
    """


@main.command()
@click.argument("photos", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [default: PHOTOS-sorted beside PHOTOS].")
@click.option("--model", type=click.Choice(["hog", "cnn"]), default="hog", show_default=True,
              help="Face detector: dlib's HOG (fast) or CNN (finds more turned faces, slow).")
@click.option("--min-face", type=click.IntRange(20), default=None, metavar="PX",
              help="Smallest face to find, in the photo's pixels [default: 1/40 of the long "
                   "side, at least 40]. Larger is faster.")
@click.option("--upsample", type=click.IntRange(0, 4), default=None,
              help="Instead of --min-face: detect on the full photo upsampled N times "
                   "(face_recognition's way; slow on large photos).")
@click.option("--eps", type=click.FloatRange(0.1, 1.0), default=SortOptions.eps,
              show_default=True, help="DBSCAN eps: largest distance between neighbouring faces.")
@click.option("--min-samples", type=click.IntRange(1), default=SortOptions.min_samples,
              show_default=True, help="DBSCAN min_samples.")
@click.option("--min-photos", type=click.IntRange(1), default=1, show_default=True,
              help="People seen in fewer photos go to unknown/.")
@click.option("--link", type=click.Choice(["copy", "hard", "sym"]), default="copy",
              show_default=True, help="How photos are placed in person folders: a copy (one per "
              "photo, linked into each of its folders), hard links or symlinks to the originals.")
@click.option("--blur", is_flag=True, help="Also write OUT/blurred/: every face blurred, "
              "all metadata removed.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Processes for face detection [default: all cores].")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run face detection on a Dask cluster (tcp://HOST:8786); needs "
                   "photokosh[dask] and the photos at the same path on every worker.")
@click.option("--known", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of reference photos, one sub-folder per person (KNOWN/<name>/).")
@click.option("--no-page", is_flag=True, help="Do not write the review page OUT/index.html.")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--strict", is_flag=True, help=f"Exit with {EXIT_SKIPPED} if any file was skipped.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or warnings on stderr.")
@click.option("-v", "--verbose", is_flag=True, help="Log details on stderr.")
def sort(photos: Path, out: Path | None, known: Path | None, no_page: bool, strict: bool,
         as_json: bool, quiet: bool, verbose: bool, **settings) -> None:
    """Sort PHOTOS into one folder per person.

    Every photo is copied into the folder of every person in it (keeping its path below
    PHOTOS); photos whose faces belong to nobody go to unknown/, photos without faces to
    no_faces/. Running it again only looks at new and changed photos.

    \b
    Example:
        photokosh sort ~/Pictures -o ~/People --blur
        photokosh sort ~/Pictures --json | jq '.people[] | {id, photo_count}'
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr)
    out = out or default_output(photos)
    if out.resolve() == photos.resolve():
        raise click.BadParameter("must not be the photo folder itself", param_hint="-o/--out")
    options = SortOptions(**settings, page=not no_page,
                          known=str(known.resolve()) if known else None)
    dry_run = options.dry_run
    err = _stderr()
    from .render import progress_bars, summary_and_chart

    try:
        with progress_bars(err, enabled=not quiet and err.is_terminal) as progress:
            result = sort_photos(photos, out, options, progress=progress)
    except PhotokoshError as exc:
        _fail(exc)
    report = result.report
    if dry_run:
        _print_changes(result.changes, as_json)
    elif as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        summary_and_chart(report, _stdout())
    skipped = report["summary"]["errors"]
    if skipped and not quiet:
        err.print(f"{skipped} file(s) skipped: see \"errors\" in {out / 'report.json'}")
    if strict and skipped:
        sys.exit(EXIT_SKIPPED)


def _print_changes(changes, as_json: bool) -> None:
    doc = {"add": sorted(changes.add), "move": [{"from": old, "to": new} for new, old in
                                                sorted(changes.move.items())],
           "remove": changes.remove, "conflicts": [{"path": p, "reason": r}
                                                   for p, r in changes.conflicts]}
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    for key in ("add", "remove"):
        for rel in doc[key]:
            click.echo(f"{key}\t{rel}")
    for move in doc["move"]:
        click.echo(f"move\t{move['from']}\t{move['to']}")
    click.echo(f"{len(doc['add'])} to add, {len(doc['move'])} to move, "
               f"{len(doc['remove'])} to remove (dry run: nothing was changed)")


from . import cli_evaluate, manage  # noqa: E402,F401  (registers the other commands)
