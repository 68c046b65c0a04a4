"""All terminal output: the sort summary and chart, the people table, the evaluate tables and
the dry-run change list (stdout), progress bars (stderr). Commands hand plain data in; nothing
here calls the core."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..sync import GRACE_DAYS

_STAGES = {"faces": "Finding faces", "cluster": "Grouping people", "organize": "Placing photos"}
CHECK = "(check)"  # beside a person whose faces may be two people, or hold an intruder


def counted(n: int, one: str, many: str | None = None) -> str:
    """`1 photo`, `2 photos`, `1 person`, `3 people`."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def _again(summary: dict) -> str:
    """Photos analysed again, not being new: after a change of detection settings."""
    again = summary.get("analysed_photos", 0) - summary.get("new_photos", 0)
    return f", {again:,} analysed again" if again > 0 else ""


def print_json(doc) -> None:
    """A JSON document, alone on stdout (so `| jq` always works)."""
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False, default=str))


CHART_ROWS = 40  # people the chart shows; `photokosh people` lists them all


def summary_and_chart(report: dict, console: Console, width: int = 40) -> None:
    """The run's summary, then one bar per person (photos per person, most first), the first
    CHART_ROWS of them: a library of thousands would print thousands of lines."""
    s = report["summary"]
    console.print(
        f"[bold]{counted(s['photos'], 'photo')}[/], [bold]{counted(s['faces'], 'face')}[/], "
        f"[bold]{counted(s['people'], 'person', 'people')}[/]; {s['unknown_photos']} unknown, "
        f"{s['no_face_photos']} without faces, {s['errors']} skipped "
        f"({s.get('new_photos', 0)} new, {s.get('reused_photos', 0)} from cache"
        f"{_again(s)}) "
        f"in {s['seconds']:.1f} s"
    )
    console.print(f"Sorted into {report['output']}", markup=False)
    if s.get("unrecognised_faces"):
        console.print(f"{s['unrecognised_faces']} faces too small to recognise: counted and "
                      "blurred, but nobody's (the report says why)")
    if s.get("missing_photos"):
        console.print(f"{s['missing_photos']} photos gone from PHOTOS: their faces and people "
                      f"are kept for {GRACE_DAYS} days (--prune forgets them now)")
    if report.get("learned"):
        console.print(f"Learned {len(report['learned'])} correction(s) from what you did in "
                      "its folders: `photokosh corrections OUT` lists them, `undo` takes one "
                      "back", markup=False)
    rows = [(p["name"] or p["id"], p["photo_count"], p.get("doubtful", False))
            for p in report["people"]]
    rows.sort(key=lambda row: -row[1])  # stable: ties keep the report's order
    more, hidden_checks = len(rows) - CHART_ROWS, sum(d for _, _, d in rows[CHART_ROWS:])
    rows = rows[:CHART_ROWS]
    if s["unknown_photos"]:
        rows.append(("unknown", s["unknown_photos"], False))
    if s["no_face_photos"]:
        rows.append(("no faces", s["no_face_photos"], False))
    if not rows:
        return
    top = max(count for _, count, _ in rows)
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("person", overflow="fold")
    table.add_column("photos", justify="right")
    table.add_column("")
    for label, count, doubtful in rows:
        bar = Text("█" * max(1, round(width * count / top)), style="cyan")
        name = Text(label + (f" {CHECK}" if doubtful else ""))
        table.add_row(name, str(count), bar)
    console.print(table)
    if more > 0:
        checks = f", {hidden_checks:,} of them marked {CHECK}" if hidden_checks else ""
        console.print(f"and {counted(more, 'more person', 'more people')} with fewer photos"
                      f"{checks}: `photokosh people OUT` lists everyone", markup=False)


def skipped_warning(skipped: int, report_file: Path, console: Console) -> None:
    console.print(f"{skipped} file(s) skipped: see \"errors\" in {report_file}", markup=False)


def dry_run(changes, as_json: bool, learned: list[dict] = ()) -> None:
    """A dry run's plan (organize's Changes, and what it learned from OUT's folders): as
    JSON, or one tab-separated line per change and then the counts."""
    doc = {"add": sorted(changes.add), "move": [{"from": old, "to": new} for new, old in
                                                sorted(changes.move.items())],
           "remove": changes.remove, "conflicts": [{"path": p, "reason": r}
                                                   for p, r in changes.conflicts],
           "learned": list(learned)}
    if as_json:
        print_json(doc)
        return
    for key in ("add", "remove"):
        for rel in doc[key]:
            click.echo(f"{key}\t{rel}")
    for move in doc["move"]:
        click.echo(f"move\t{move['from']}\t{move['to']}")
    for item in doc["learned"]:
        click.echo(f"learn\t{item['kind']}\t{item['person']}\t{item['to'] or ''}\t"
                   f"{item['photo'] or ''}")
    click.echo(f"{len(doc['add'])} to add, {len(doc['move'])} to move, "
               f"{len(doc['remove'])} to remove (dry run: nothing was changed)")


def people_table(rows: list[dict], console: Console) -> None:
    """One line per person, as `photokosh people` lists them."""
    table = Table(box=None)
    for column in ("id", "name", "folder", "photos", "faces", "cohesion"):
        table.add_column(column, justify="left" if column in ("id", "name", "folder")
                         else "right")
    table.add_column("")
    for r in rows:
        cohesion = f"{r['cohesion']:.2f}" if "cohesion" in r else ""
        table.add_row(Text(r["id"]), Text(r["name"] or ""), Text(r["folder"]),
                      str(r["photo_count"]), str(r["face_count"]), cohesion,
                      CHECK if r.get("doubtful") else "")
    console.print(table)


def folder_of(report: dict, person: str, name: str | None = None) -> None:
    """Where `person` (an id, its number or a name; or, after `name`, the new `name`) is now,
    after name or merge."""
    def by_id(p):
        return person == p["id"] or person.isdigit() and p["id"].endswith(f"_{int(person):03d}")

    found = [p for p in report["people"] if by_id(p)] or [
        p for p in report["people"] if p["name"] in (person, name)]
    if len(found) == 1:
        p = found[0]
        click.echo(f"{p['id']}: {p['folder']}/ ({counted(p['photo_count'], 'photo')})")


def exported_doc(result) -> dict:
    return {"dest": str(result.dest), "zip": result.zip, "people": result.people,
            "names": result.names, "files": result.files,
            "skipped": [{"photo": rel, "reason": why} for rel, why in result.skipped]}


def exported(result, as_json: bool) -> None:
    """`photokosh export`: where the copies went, one line per file written."""
    if as_json:
        print_json(exported_doc(result))
        return
    _export_lines(result)


def _export_lines(result) -> None:
    for item in result.files:
        click.echo(f"{item['photo']}\t{item['file']}")
    who = ", ".join(f"{pid} ({result.names[pid]})" if result.names.get(pid) else pid
                    for pid in result.people)
    click.echo(f"{len(result.files)} photo(s) of {who} exported to "
               f"{result.dest}" + (f", {len(result.skipped)} skipped" if result.skipped else ""))


def found(found, exported, as_json: bool) -> None:
    """`photokosh find`: per face of each photo, who it is (or nobody) and their photos."""
    doc = [{"photo": str(f.photo), "error": f.error,
            "faces": [{"box": list(m.box), "person": m.person, "name": m.name,
                       "distance": m.distance, "nearest": m.nearest,
                       "nearest_name": m.nearest_name, "photos": m.photos,
                       "runner_up": m.runner_up, "runner_up_distance": m.runner_up_distance,
                       "close_call": m.close_call}
                      for m in f.faces]} for f in found]
    if as_json:
        print_json({"found": doc, "export": exported_doc(exported) if exported else None})
        return
    for f in found:
        if f.error or not f.faces:
            click.echo(f"{f.photo}: {f.error or 'no face found'}")
        for n, m in enumerate(f.faces, 1):
            where = f"{f.photo}#{n}" if len(f.faces) > 1 else str(f.photo)
            if m.person is None:
                who = f"{m.nearest} ({m.nearest_name})" if m.nearest_name else m.nearest
                near = f" (nearest {who} at {m.distance:.2f})" if m.nearest else ""
                click.echo(f"{where}: nobody{near}")
                continue
            who = f"{m.person} ({m.name})" if m.name else m.person
            close = (f" (close call: {m.runner_up} at {m.runner_up_distance:.2f})"
                     if m.close_call else "")
            click.echo(f"{where}: {who} at distance {m.distance:.2f}{close}, "
                       + counted(len(m.photos), "photo"))
            for rel in m.photos:
                click.echo(f"  {rel}")
    if exported:
        _export_lines(exported)


def scores(r: dict, console: Console) -> None:
    """`photokosh evaluate`: precision, recall and F, then the worst merges and splits."""
    table = Table(box=None)
    table.add_column("measure")
    for col in ("precision", "recall", "F"):
        table.add_column(col, justify="right")
    for kind in ("pairwise", "bcubed"):
        table.add_row(kind, *(f"{r[f'{kind}_{m}']:.4f}" for m in ("precision", "recall", "f")))
    console.print(table)
    console.print(f"adjusted Rand index {r['ari']:.4f}; people found {r['clusters_found']} "
                  f"vs true {r['people_true']}; {r['faces']} labelled faces "
                  f"({r['faces_clustered']} clustered)")
    for merge in r["worst_merges"]:
        people = ", ".join(f"{p} ({n})" for p, n in merge["people"])
        console.print(f"merged in one cluster: {people}", markup=False)
    for split in r["worst_splits"]:
        parts = ", ".join(str(n) for _, n in split["clusters"])
        console.print(f"split: {split['person']} over {len(split['clusters'])} clusters "
                      f"({parts}) + {split['unassigned']} unassigned", markup=False)


def grid(rows: list[dict], console: Console) -> None:
    """`photokosh evaluate --tune`: one line per setting that changes the people, best first,
    then the recommendation (only a gain beyond the noise)."""
    from ..tune import recommendation

    table = Table(box=None)
    for col in ("change", "pairwise F", "BCubed F", "gain", "noise", "found", "true"):
        table.add_column(col, justify="left" if col == "change" else "right")
    same = [r["change"] for r in rows if r["same_as_default"] and r["change"] != "default"]
    for r in rows:
        if r["same_as_default"] and r["change"] != "default":
            continue
        default = r["change"] == "default"
        table.add_row(r["change"], f"{r['pairwise_f']:.4f}", f"{r['bcubed_f']:.4f}",
                      "" if default else f"{r['gain']:+.4f}",
                      "" if default else f"±{r['noise']:.4f}",
                      str(r["clusters_found"]), str(r["people_true"]))
    console.print(table)
    if same:
        console.print(f"same people as the default: {', '.join(same)}", markup=False)
    best = recommendation(rows)
    if best is None:
        console.print("keep the defaults: no change beats them by more than the noise")
    else:
        console.print(f"try {best['change']}: BCubed F {best['bcubed_f']:.4f} "
                      f"({best['gain']:+.4f}, noise ±{best['noise']:.4f})", markup=False)


@contextmanager
def progress_bars(console: Console, enabled: bool):
    """A progress callback for the core: bars on stderr that vanish when done."""
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=True,
                    disable=not enabled)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(_STAGES.get(stage, stage), total=total)
        bars.update(tasks[stage], completed=done, total=total)

    with bars:
        yield update
