"""`photokosh sort`: the whole pipeline on a folder of photos."""

from __future__ import annotations

from pathlib import Path

import click

from .. import layout
from ..detectors import DETECTORS
from ..errors import OptionError, PlacesError
from ..identify import RECOGNISABLE_FACE
from ..pipeline import SortOptions, default_output, resolve_options, sort_photos
from ..places import check_places
from ..settings import AUTO, DEFAULTS
from ..sync import GRACE_DAYS
from . import common, render


class AutoOrInt(click.ParamType):
    """A whole number from `low` to `high`, or "auto"."""

    name = "integer"

    def __init__(self, low: int, high: int | None = None):
        self.range = click.IntRange(low, high)

    def convert(self, value, param, ctx):
        if value == AUTO:
            return AUTO
        if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
            self.fail(f"{value!r} is neither a whole number nor {AUTO!r}", param, ctx)
        return self.range.convert(value, param, ctx)


OUTS = "[default: OUT's setting; for a new OUT: {}]"


@click.command()
@click.argument("photos", type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help=f"Output folder [default: PHOTOS{layout.DEFAULT_SUFFIX} beside PHOTOS].")
@click.option("--detector", type=click.Choice(DETECTORS), default=None,
              help="Face detector: OpenCV's YuNet (finds small, turned and partly hidden "
                   "faces), dlib's HOG (face_recognition's results exactly) or dlib's CNN "
                   "(slow); see docs/detector.md. " + OUTS.format(DEFAULTS["detector"]))
@click.option("--model", "detector", type=click.Choice(DETECTORS), hidden=True,
              help="The old name of --detector.")
@click.option("--min-face", type=AutoOrInt(20), default=None, metavar="PX|auto",
              help="Smallest face to find, in the photo's pixels; larger is faster. Faces "
                   f"found under {RECOGNISABLE_FACE} px are counted and blurred but never "
                   "recognised (nobody's: unknown/). "
                   + OUTS.format("auto: 1/40 of the long side, at least 10 px with yunet, 40 "
                                 "with hog and cnn"))
@click.option("--upsample", type=AutoOrInt(0, 4), default=None, metavar="N|auto",
              help="hog and cnn: instead of --min-face, detect on the full photo upsampled N "
                   "times (face_recognition's way; slow on large photos). " + OUTS.format("auto"))
@click.option("--eps", type=click.FloatRange(0.1, 1.0), default=None,
              help="DBSCAN eps: largest distance between neighbouring faces. "
                   + OUTS.format(DEFAULTS["eps"]))
@click.option("--min-samples", type=click.IntRange(1), default=None,
              help="DBSCAN min_samples. " + OUTS.format(DEFAULTS["min_samples"]))
@click.option("--min-photos", type=click.IntRange(1), default=None,
              help=f"People without a name seen in fewer photos go to {layout.UNKNOWN}/. "
                   + OUTS.format(1))
@click.option("--link", type=click.Choice(["copy", "hard", "sym"]), default=None,
              help="How photos are placed in person folders: a copy (one per photo, linked "
                   "into each of its folders), hard links or symlinks to the originals. "
                   + OUTS.format("copy"))
@click.option("--blur/--no-blur", default=None,
              help=f"Also write OUT/{layout.BLURRED}/: each photo with all metadata removed "
                   "and every face photokosh found blurred; faces smaller than --min-face "
                   "are not found, so not blurred. " + OUTS.format("--no-blur"))
@common.workers_option
@click.option("--scheduler", metavar="ADDRESS",
              help="Run face detection on a Dask cluster (tcp://HOST:8786); needs "
                   "photokosh[dask] and the photos at the same path on every worker.")
@click.option("--known", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of reference photos, one sub-folder per person (KNOWN/<name>/).")
@click.option("--page/--no-page", default=None,
              help=f"Write the static page OUT/{layout.PAGE}. " + OUTS.format("--page"))
@click.option("--xmp/--no-xmp", default=None,
              help="Write an XMP sidecar (photo.jpg.xmp) beside each photo of a named person "
                   "in OUT, naming the faces for digiKam and other tools. "
                   + OUTS.format("--xmp"))
@click.option("--allow-removal", is_flag=True,
              help="The photos gone from PHOTOS are really gone: sort even if PHOTOS is empty "
                   f"or lost more than half of the photos OUT knows (else exit "
                   f"{common.EXIT_REFUSED}).")
@click.option("--prune", is_flag=True,
              help=f"Forget the photos gone from PHOTOS now, not after {GRACE_DAYS} days "
                   "(with their faces and names).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--strict", is_flag=True,
              help=f"Exit with {common.EXIT_SKIPPED} if any file was skipped.")
@common.json_option("Print the JSON report on stdout.")
@common.quiet_option
@common.verbose_option
@common.pass_context
def sort(obj: common.Context, photos: Path, out: Path | None, known: Path | None,
         strict: bool, as_json: bool, quiet: bool, verbose: bool, **settings) -> None:
    """Sort PHOTOS into one folder per person.

    Every photo is copied into the folder of every person in it (keeping its path below
    PHOTOS); photos whose faces belong to nobody go to unknown/, photos without faces to
    no_faces/. Running it again only looks at new and changed photos. OUT remembers the
    settings: an option given is kept for later runs.

    \b
    Example:
        photokosh sort ~/Pictures -o ~/People --blur
        photokosh sort ~/Pictures --json | jq '.people[] | {id, photo_count}'
    """
    out = out or default_output(photos)
    if not photos.exists() and not layout.state_db(out).exists():
        # a typo on a new OUT; a missing PHOTOS that OUT knows is refused by the core
        raise click.BadParameter(f"folder {str(photos)!r} does not exist", param_hint="PHOTOS")
    try:  # the core checks again; here its refusal becomes a usage error
        check_places(photos, out)
    except PlacesError as exc:
        raise click.BadParameter(exc.problem, param_hint=exc.param) from exc
    try:  # what Click's types cannot see: options that do not go together
        options = SortOptions(**settings, known=str(known.resolve()) if known else None)
        model = resolve_options(out, options).model_settings()
    except OptionError as exc:
        raise click.UsageError(str(exc)) from exc
    err = common.stderr_console()
    with common.feedback(err, verbose, quiet) as progress:
        embedder = obj.embedder(*model)
        result = sort_photos(photos, out, options, embedder=embedder, progress=progress)
    report = result.report
    if options.dry_run:
        render.dry_run(result.changes, as_json, report.get("learned", []))
    elif as_json:
        render.print_json(report)
    else:
        render.summary_and_chart(report, common.stdout_console())
    skipped = report["summary"]["errors"]
    if skipped and not quiet:
        render.skipped_warning(skipped, layout.report_file(out), err)
    if strict and skipped:
        click.get_current_context().exit(common.EXIT_SKIPPED)
