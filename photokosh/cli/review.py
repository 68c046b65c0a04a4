"""`photokosh review`: the local web app over OUT (photokosh.app), from start to Ctrl-C."""

from __future__ import annotations

import logging
import threading
import webbrowser
from pathlib import Path

import click

from .common import out_argument, quiet_option


@click.command()
@out_argument
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--no-browser", is_flag=True, help="Only print the address; open no browser.")
@quiet_option
def review(out: Path, port: int, no_browser: bool, quiet: bool) -> None:
    """Fix the result in the browser: name, merge, move faces, answer "same person?".

    Serves a local web app on 127.0.0.1 only and opens it; the address printed (stdout)
    holds a per-run token. Every change is saved at once and OUT's folders follow. Ctrl-C
    stops it. While it runs it holds OUT's lock: a `photokosh sort` of OUT meanwhile
    refuses (exit 4), as for any other run.

    \b
    Example:
        photokosh review ~/People
    """
    from ..app import running  # Flask is loaded by this command only

    logging.getLogger("werkzeug").setLevel(logging.ERROR if quiet else logging.INFO)
    try:
        with running(out, port) as app:
            click.echo(app.url)
            if not quiet:
                click.echo(f"Serving the review of {out}; Ctrl-C stops it.", err=True)
            if not no_browser:  # in a thread: a text-mode browser would block the server
                threading.Thread(target=webbrowser.open, args=(app.url,), daemon=True).start()
            app.server.serve_forever()  # returns on Ctrl-C (werkzeug catches it)
            if not quiet:
                click.echo("stopped", err=True)
    except OSError as exc:  # the port is taken, or not ours to use
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: "
                                   f"{exc.strerror or exc}") from exc
