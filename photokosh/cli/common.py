"""What every command shares: exit codes, the one place domain errors become exits, the
context object that hands commands the face model, the consoles and the common options.

Command modules import this one and never the group (`photokosh.cli`), so registering the
commands cannot form an import cycle.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console

from ..detectors import DEFAULT as DEFAULT_DETECTOR
from ..detectors import make_embedder
from ..errors import LockedError, PhotokoshError, RefusedError
from ..faces import Embedder
from . import render

EXIT_FAILED = 1  # a runtime failure (click.ClickException)
EXIT_USAGE = 2  # a usage error (click.UsageError)
EXIT_SKIPPED = 3  # --strict and some files were skipped
EXIT_LOCKED = 4  # another run holds the output folder
EXIT_REFUSED = 5  # PHOTOS missing, empty or mostly gone: refused, nothing changed
EXIT_SIGNAL = 128  # + the signal's number: 130 Ctrl-C (SIGINT), 143 SIGTERM, as shells do
INTERRUPTED = "interrupted: what is done is kept; run the command again to finish"

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class LockedException(click.ClickException):
    exit_code = EXIT_LOCKED


class RefusedException(click.ClickException):
    exit_code = EXIT_REFUSED


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the core's PhotokoshError into a message and an exit code, never a traceback."""
    try:
        yield
    except LockedError as exc:
        raise LockedException(str(exc)) from exc
    except RefusedError as exc:
        raise RefusedException(str(exc)) from exc
    except PhotokoshError as exc:
        raise click.ClickException(str(exc)) from exc


class Interrupted(KeyboardInterrupt):
    """The command got SIGINT or SIGTERM (`signum`). A KeyboardInterrupt, so that what stops
    on Ctrl-C (the review server) stops on either."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# A terminal's Ctrl-C reaches the whole process group and `uv run` forwards its own copy
# ~50 ms later: a copy that breaks into the clean-up leaves it half done and hangs the exit.
REPEAT_WINDOW = 1.0  # seconds in which a second signal is that copy, ignored


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into `Interrupted`, for an orderly unwinding; a
    copy within REPEAT_WINDOW is ignored, and a later one (the user insists) ends the process
    at once, which loses nothing either (a kill at any moment is safe)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers are the main thread's alone
        return
    first: list[float] = []

    def handler(signum, frame):
        if not first:
            first.append(time.monotonic())
            raise Interrupted(signum)
        if time.monotonic() - first[0] > REPEAT_WINDOW:
            os.write(2, f"{INTERRUPTED}\n".encode())
            os._exit(EXIT_SIGNAL + signum)

    # an ignored signal stays so (a background job of a script, nohup): it is not ours
    old = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)
           if signal.getsignal(signum) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for signum, previous in old.items():
            # interrupted: the copy may come yet, while Python shuts down, which would make
            # it a kill by the signal, not the exit code
            signal.signal(signum, signal.SIG_IGN if first else previous)


class Group(click.Group):
    """A group whose every command runs inside `domain_errors`, and whose interrupted run
    exits with one line and 128 + the signal's number: a new command gets the same exits
    without repeating the try/except."""

    def main(self, *args, **kwargs):
        with interruptible():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            with domain_errors():
                return super().invoke(ctx)
        except Interrupted as exc:
            signum = exc.signum
        # out of the except clause: the traceback, and the frames it holds, are freed first
        click.echo(INTERRUPTED, err=True)
        raise click.exceptions.Exit(EXIT_SIGNAL + signum)


@dataclass(frozen=True)
class Context:
    """Click's context object (`ctx.obj`): what commands take from outside their arguments.

    The face model is made here, not in the core, so tests hand the CLI a fake one:
    `main(obj=Context(make_embedder=lambda *settings: fake))`.
    """

    # called as make_embedder(detector, upsample, min_face)
    make_embedder: Callable[..., Embedder] = make_embedder

    def embedder(self, detector: str = DEFAULT_DETECTOR, upsample: int | None = None,
                 min_face: int | None = None) -> Embedder:
        return self.make_embedder(detector, upsample, min_face)


# ensure=True: run without obj (the installed command), every command gets the real model.
pass_context = click.make_pass_decorator(Context, ensure=True)


def stdout_console() -> Console:
    """The result: soft-wrapped so a piped line is never cut at the terminal's width; piped,
    tables are as wide as their content (rich would fold them at 80 columns, cutting names
    that grep then misses)."""
    console = Console(soft_wrap=True, highlight=False)
    if not console.is_terminal:
        console.width = 10_000
    return console


def stderr_console() -> Console:
    """Progress, warnings and log records."""
    return Console(stderr=True, highlight=False)


@contextmanager
def stderr_logging(console: Console, verbose: bool, quiet: bool) -> Iterator[None]:
    """Show the core's log records (the `photokosh` loggers) on stderr while a command runs:
    debug and up with -v, errors only with -q, else warnings and up. The core only logs; the
    CLI alone decides where records go."""
    handler = _ConsoleHandler(console)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("photokosh")
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


@contextmanager
def feedback(console: Console, verbose: bool,
             quiet: bool) -> Iterator[Callable[[str, int, int], None]]:
    """While the core works: its log records and, on a terminal without -q, progress bars,
    both on stderr. Yields the progress callback the core takes."""
    with stderr_logging(console, verbose, quiet), \
            render.progress_bars(console, not quiet and console.is_terminal) as progress:
        yield progress


class _ConsoleHandler(logging.Handler):
    # Printing through the progress bars' console keeps a record from tearing a live bar.
    def __init__(self, console: Console):
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.format(record), markup=False, highlight=False,
                               soft_wrap=True)
        except Exception:  # a broken stderr must not end the run
            self.handleError(record)


def _changeable_out(ctx, param, out: Path) -> Path:
    """OUT, unless it holds its own PHOTOS (sorted before that was refused): refused before
    a command changes anything in it."""
    from ..catalog import check_holds_no_photos

    try:
        check_holds_no_photos(out)
    except PhotokoshError as exc:
        raise click.ClickException(str(exc)) from exc
    return out


out_argument = click.argument(
    "out", type=click.Path(exists=True, file_okay=False, path_type=Path),
    callback=_changeable_out)


def json_option(help: str):
    return click.option("--json", "as_json", is_flag=True, help=help)


quiet_option = click.option("-q", "--quiet", is_flag=True,
                            help="No progress bars or warnings on stderr.")
verbose_option = click.option("-v", "--verbose", is_flag=True,
                              help="Show the details of each stage on stderr (log records).")
workers_option = click.option("--workers", type=click.IntRange(1), default=None,
                              help="Processes for face detection [default: all cores].")
