"""`photokosh evaluate`: accuracy of the clustering on photos whose people are known."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click
from rich.table import Table

from .cli import _fail, _stderr, _stdout, main
from .errors import PhotokoshError


@main.command()
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
@click.option("--tune", is_flag=True, help="Grid-search the clustering settings instead.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path),
              help="State folder to keep the faces in [default: LABELLED-sorted if sorted "
                   "before, else the user cache].")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Processes for face detection [default: all cores].")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def evaluate(labelled: Path, labels: Path | None, eps, min_samples, method, tune, cache,
             workers, as_json: bool, quiet: bool) -> None:
    """Score the clustering against known people.

    Prints pairwise and BCubed precision/recall/F, adjusted Rand index, people found vs
    true, and the worst merges and splits.

    \b
    Examples:
        photokosh evaluate ../shared/photos/lfw-dev
        photokosh evaluate ../shared/photos/demo --labels ../shared/photos/demo-labels.json
        photokosh evaluate ../shared/photos/lfw-small --tune --json
    """
    from .cluster import DEFAULT_SETTINGS
    from .evaluate import labelled_faces, load_labels, score
    from .evaluate import tune as grid
    from .faces import DlibEmbedder
    from .render import progress_bars

    settings = replace(DEFAULT_SETTINGS, method=method)
    if eps is not None:
        settings = replace(settings, eps=eps)
    if min_samples is not None:
        settings = replace(settings, min_samples=min_samples)
    err = _stderr()
    try:
        truth_map = load_labels(labelled.resolve(), labels)
        with progress_bars(err, enabled=not quiet and err.is_terminal) as progress:
            faces, truth, _ = labelled_faces(labelled, truth_map, DlibEmbedder(), cache,
                                             workers, progress)
        result = grid(faces, truth, settings) if tune else score(faces, truth, settings)
    except PhotokoshError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    elif tune:
        _print_grid(result)
    else:
        _print_scores(result)


def _print_scores(r: dict) -> None:
    out = _stdout()
    table = Table(box=None)
    table.add_column("measure")
    for col in ("precision", "recall", "F"):
        table.add_column(col, justify="right")
    for kind in ("pairwise", "bcubed"):
        table.add_row(kind, *(f"{r[f'{kind}_{m}']:.4f}" for m in ("precision", "recall", "f")))
    out.print(table)
    out.print(f"adjusted Rand index {r['ari']:.4f}; people found {r['clusters_found']} "
              f"vs true {r['people_true']}; {r['faces']} labelled faces "
              f"({r['faces_clustered']} clustered)")
    for merge in r["worst_merges"]:
        people = ", ".join(f"{p} ({n})" for p, n in merge["people"])
        out.print(f"merged in one cluster: {people}")
    for split in r["worst_splits"]:
        parts = ", ".join(str(n) for _, n in split["clusters"])
        out.print(f"split: {split['person']} over {len(split['clusters'])} clusters "
                  f"({parts}) + {split['unassigned']} unassigned")


def _print_grid(rows: list[dict]) -> None:
    table = Table(box=None)
    for col in ("method", "eps", "min_samples", "pairwise F", "BCubed F", "ARI", "found",
                "true"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["method"], f"{r['eps']:.2f}", str(r["min_samples"]),
                      f"{r['pairwise_f']:.4f}", f"{r['bcubed_f']:.4f}", f"{r['ari']:.4f}",
                      str(r["clusters_found"]), str(r["people_true"]))
    out = _stdout()
    out.print(table)
    best = rows[0]
    out.print(f"best: method {best['method']}, eps {best['eps']:.2f}, min_samples "
              f"{best['min_samples']} (BCubed F {best['bcubed_f']:.4f})")
