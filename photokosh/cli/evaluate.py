"""`photokosh evaluate`: accuracy of the clustering on photos whose people are known."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..cluster import DEFAULT_SETTINGS
from ..detectors import DETECTORS
from ..errors import PlacesError
from ..evaluate import labelled_faces, load_labels, score
from ..evaluate import tune as grid_search
from ..places import check_cache
from ..settings import DEFAULTS
from . import common, render


@click.command()
@click.argument("labelled", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file: photo path (relative to LABELLED) -> list of names. "
                   "Without it, each sub-folder of LABELLED is one person.")
@click.option("--eps", type=click.FloatRange(0.1, 1.0), default=None,
              help="DBSCAN eps [default: as sort].")
@click.option("--min-samples", type=click.IntRange(1), default=None,
              help="DBSCAN min_samples [default: as sort].")
@click.option("--method", type=click.Choice(["default", "dbscan"]), default="default",
              show_default=True, help="default: DBSCAN plus refinement; dbscan: plain DBSCAN.")
@click.option("--detector", type=click.Choice(DETECTORS), default=DEFAULTS["detector"],
              show_default=True, help="Face detector, as in sort.")
@click.option("--tune", is_flag=True, help="Grid-search the clustering settings instead.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              help="State folder to keep the faces in [default: LABELLED-sorted if sorted "
                   "before, else the user cache].")
@common.workers_option
@common.json_option("Print the scores as JSON.")
@common.quiet_option
@common.verbose_option
@common.pass_context
def evaluate(obj: common.Context, labelled: Path, labels: Path | None, eps: float | None,
             min_samples: int | None, method: str, detector: str, tune: bool, cache: Path | None,
             workers: int | None, as_json: bool, quiet: bool, verbose: bool) -> None:
    """Score the clustering against known people.

    Prints pairwise and BCubed precision/recall/F, adjusted Rand index, people found vs
    true, and the worst merges and splits.

    \b
    Examples:
        photokosh evaluate ../shared/photos/lfw-dev
        photokosh evaluate ../shared/photos/demo --labels ../shared/photos/demo-labels.json
        photokosh evaluate ../shared/photos/lfw-small --tune --json
    """
    if cache is not None:
        try:  # the core checks again; here its refusal becomes a usage error
            check_cache(labelled, cache)
        except PlacesError as exc:
            raise click.BadParameter(exc.problem, param_hint=exc.param) from exc
    settings = replace(DEFAULT_SETTINGS, method=method)
    if eps is not None:
        settings = replace(settings, eps=eps)
    if min_samples is not None:
        settings = replace(settings, min_samples=min_samples)
    with common.feedback(common.stderr_console(), verbose, quiet) as progress:
        truth_map = load_labels(labelled.resolve(), labels)
        faces, truth, _ = labelled_faces(labelled, truth_map, obj.embedder(detector), cache,
                                         workers, progress)
        result = grid_search(faces, truth, settings) if tune else score(faces, truth, settings)
    if as_json:
        render.print_json(result)
    elif tune:
        render.grid(result, common.stdout_console())
    else:
        render.scores(result, common.stdout_console())
