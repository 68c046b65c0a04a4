"""Terminal output for people: the summary and the bar chart (stdout), progress (stderr)."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

_STAGES = {"faces": "Finding faces", "cluster": "Grouping people", "organize": "Placing photos"}


def summary_and_chart(report: dict, console: Console, width: int = 40) -> None:
    """The run's summary, then one bar per person (photos per person, most first)."""
    s = report["summary"]
    console.print(
        f"[bold]{s['photos']}[/] photos, [bold]{s['faces']}[/] faces, "
        f"[bold]{s['people']}[/] people; {s['unknown_photos']} unknown, "
        f"{s['no_face_photos']} without faces, {s['errors']} skipped "
        f"({s.get('new_photos', 0)} new, {s.get('reused_photos', 0)} from cache) "
        f"in {s['seconds']:.1f} s"
    )
    console.print(f"Sorted into {report['output']}")
    rows = [(p["name"] or p["id"], p["photo_count"], p.get("doubtful", False))
            for p in report["people"]]
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
        name = Text(label + (" (check)" if doubtful else ""))
        table.add_row(name, str(count), bar)
    console.print(table)


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
