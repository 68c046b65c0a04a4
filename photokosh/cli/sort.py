"""`photokosh sort`: the whole pipeline on a folder of photos."""

from __future__ import annotations

from pathlib import Path

import click

from .. import layout
from ..detectors import DETECTORS
from ..errors import OptionError
from ..pipeline import SortOptions, default_output, sort_photos
from . import common, render


@click.command()
@click.argument("photos", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path),
              help=f"Output folder [default: PHOTOS{layout.DEFAULT_SUFFIX} beside PHOTOS].")
@click.option("--detector", type=click.Choice(DETECTORS), default=SortOptions.detector,
              show_default=True, help="Face detector: OpenCV's YuNet (finds small, turned and "
              "partly hidden faces), dlib's HOG (face_recognition's results exactly) or dlib's "
              "CNN (slow). See docs/detector.md.")
@click.option("--model", "detector", type=click.Choice(DETECTORS), hidden=True,
              help="The old name of --detector.")
@click.option("--min-face", type=click.IntRange(20), default=None, metavar="PX",
              help="Smallest face to find, in the photo's pixels [default: 1/40 of the long "
                   "side, at least 10 px with yunet, 40 with hog and cnn]. Larger is faster.")
@click.option("--upsample", type=click.IntRange(0, 4), default=None,
              help="hog and cnn: instead of --min-face, detect on the full photo upsampled N "
                   "times (face_recognition's way; slow on large photos).")
@click.option("--eps", type=click.FloatRange(0.1, 1.0), default=SortOptions.eps,
              show_default=True, help="DBSCAN eps: largest distance between neighbouring faces.")
@click.option("--min-samples", type=click.IntRange(1), default=SortOptions.min_samples,
              show_default=True, help="DBSCAN min_samples.")
@click.option("--min-photos", type=click.IntRange(1), default=1, show_default=True,
              help=f"People seen in fewer photos go to {layout.UNKNOWN}/.")
@click.option("--link", type=click.Choice(["copy", "hard", "sym"]), default="copy",
              show_default=True, help="How photos are placed in person folders: a copy (one per "
              "photo, linked into each of its folders), hard links or symlinks to the originals.")
@click.option("--blur", is_flag=True, help=f"Also write OUT/{layout.BLURRED}/: each photo with "
              "all metadata removed and every face photokosh found blurred; faces smaller "
              "than --min-face are not found, so not blurred.")
@common.workers_option
@click.option("--scheduler", metavar="ADDRESS",
              help="Run face detection on a Dask cluster (tcp://HOST:8786); needs "
                   "photokosh[dask] and the photos at the same path on every worker.")
@click.option("--known", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of reference photos, one sub-folder per person (KNOWN/<name>/).")
@click.option("--no-page", is_flag=True,
              help=f"Do not write the review page OUT/{layout.PAGE}.")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--strict", is_flag=True,
              help=f"Exit with {common.EXIT_SKIPPED} if any file was skipped.")
@common.json_option("Print the JSON report on stdout.")
@common.quiet_option
@common.verbose_option
@common.pass_context
def sort(obj: common.Context, photos: Path, out: Path | None, known: Path | None, no_page: bool,
         strict: bool, as_json: bool, quiet: bool, verbose: bool, **settings) -> None:
    """Sort PHOTOS into one folder per person.

    Every photo is copied into the folder of every person in it (keeping its path below
    PHOTOS); photos whose faces belong to nobody go to unknown/, photos without faces to
    no_faces/. Running it again only looks at new and changed photos.

    \b
    Example:
        photokosh sort ~/Pictures -o ~/People --blur
        photokosh sort ~/Pictures --json | jq '.people[] | {id, photo_count}'
    """
    out = out or default_output(photos)
    if out.resolve() == photos.resolve():
        raise click.BadParameter("must not be the photo folder itself", param_hint="-o/--out")
    try:  # what Click's types cannot see: options that do not go together
        options = SortOptions(**settings, page=not no_page,
                              known=str(known.resolve()) if known else None)
    except OptionError as exc:
        raise click.UsageError(str(exc)) from exc
    embedder = obj.embedder(options.detector, options.upsample, options.min_face)
    err = common.stderr_console()
    with common.feedback(err, verbose, quiet) as progress:
        result = sort_photos(photos, out, options, embedder=embedder, progress=progress)
    report = result.report
    if options.dry_run:
        render.dry_run(result.changes, as_json)
    elif as_json:
        render.print_json(report)
    else:
        render.summary_and_chart(report, common.stdout_console())
    skipped = report["summary"]["errors"]
    if skipped and not quiet:
        render.skipped_warning(skipped, layout.report_file(out), err)
    if strict and skipped:
        click.get_current_context().exit(common.EXIT_SKIPPED)
