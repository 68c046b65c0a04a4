"""The command line: parse, call the core, render. No photo logic lives here.

The group is defined and its commands registered here; each command family has a module of
its own (sort, evaluate, people) that imports only `common` and `render`, never this one.
"""

from __future__ import annotations

import signal

import click

from .. import __version__
from . import correct, evaluate, people, review, share, sort
from .common import (
    CONTEXT_SETTINGS,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_REFUSED,
    EXIT_SIGNAL,
    EXIT_SKIPPED,
    EXIT_USAGE,
    Context,
    Group,
)

__all__ = ["Context", "main"]

EXIT_CODES = (f"Exit codes: 0 done, {EXIT_FAILED} failed, {EXIT_USAGE} usage error, "
              f"{EXIT_SKIPPED} files skipped (sort --strict), {EXIT_LOCKED} OUT is in use by "
              f"another run, {EXIT_REFUSED} PHOTOS missing, empty or mostly gone (nothing "
              f"changed), {EXIT_SIGNAL + signal.SIGINT} Ctrl-C, {EXIT_SIGNAL + signal.SIGTERM} "
              "SIGTERM (run again to finish).")


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES)
@click.version_option(__version__, "--version", prog_name="photokosh")
def main() -> None:
    """Sort a folder of photos by the people in them.

    \b
    Example:
        photokosh sort ~/Pictures -o ~/People
    """


for command in (sort.sort, people.people, people.name, people.merge, people.forget,
                people.page, *correct.COMMANDS, review.review, *share.COMMANDS,
                evaluate.evaluate):
    main.add_command(command)
