"""How fast `photokosh review` shows its first view on a large library, as Markdown.

    uv run python benchmarks/review_scale.py --people 500 --faces 10000

Builds a synthetic OUT through the real State API (no photo on disk, fake embeddings: each
person's faces scattered around a random centre, people's sizes a power law, one photo in
five holds two faces), then times, each --repeat times:

- the HTML endpoint alone, through Flask's test client: a fresh app building the review of
  the state (catalogue, queues) and the first GET / rendering the people list; and that
  GET / alone;
- the whole first view: from the server's start (`running(OUT)`: lock, app, review, bind) to
  the people list loaded in headless Chromium (the browser launched beforehand). The photos do
  not exist, so thumbnails answer 404 at once: the figure leaves out cutting them.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photokosh.app import create_app, running  # noqa: E402
from photokosh.faces import Face  # noqa: E402
from photokosh.settings import SortOptions  # noqa: E402
from photokosh.state import open_state  # noqa: E402

KEY = "synthetic"


def build(out: Path, people: int, faces: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, (rng.pareto(1.2, people) + 1) * 4).astype(int)
    sizes = np.maximum(1, np.round(sizes * faces / sizes.sum())).astype(int)
    sizes[0] += faces - sizes.sum()  # exactly `faces`
    centres = rng.normal(size=(people, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) / 0.6
    owner = np.repeat(np.arange(people), sizes)
    rng.shuffle(owner)
    embeddings = (centres[owner] + rng.normal(0, 0.03, (faces, 128))).astype(np.float32)
    with open_state(out, create=True) as state, state.transaction():
        run = state.begin_run(time.time())
        pids = [state.add_person(state.next_person_number(), run) for _ in range(people)]
        i, photo, assignments = 0, 0, []
        while i < faces:
            n = 2 if rng.random() < 0.2 and i + 1 < faces else 1
            digest = f"{photo:032x}"
            rel = f"album/{photo // 500:03d}/img_{photo:05d}.jpg"
            state.put_photo(rel, 100_000, 0, digest, None, run)
            state.put_analysis(digest, KEY, 1200, 900, [
                Face((100 + 400 * k, 100, 300 + 400 * k, 300), 0.99, embeddings[i + k])
                for k in range(n)], None)
            assignments += [(f.id, pids[owner[i + k]])
                            for k, f in enumerate(state.faces_of(digest))]
            i, photo = i + n, photo + 1
        state.set_persons(assignments)
        options = SortOptions().resolved(None)
        state.set_meta("last_run", {
            "source": str(out.parent / "photos"), "key": KEY, "options": options.record(),
            "run": run, "scan_errors": [], "aliases": [], "ignored": 0, "raw": [],
            "hidden": 0, "acknowledged": 0, "missing": 0})
        state.finish_run(run, time.time())


def html_alone(out: Path) -> tuple[float, float]:
    """(review of the state built and the people list rendered, rendered alone)."""
    started = time.perf_counter()
    app = create_app(out)  # builds the review of the state (catalogue and queues)
    client = app.test_client()
    client.get(f"/?token={app.extensions['photokosh'].token}")  # the cookie; no work
    rendered = time.perf_counter()
    response = client.get("/")
    done = time.perf_counter()
    assert response.status_code == 200
    return done - started, done - rendered


def first_view(out: Path, browser) -> tuple[float, int]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    started = time.perf_counter()
    with running(out) as app:
        thread = threading.Thread(target=app.server.serve_forever, daemon=True)
        thread.start()
        page.goto(app.url, wait_until="load")
        took = time.perf_counter() - started
        cards = page.locator(".card").count()
        app.server.shutdown()
        thread.join(10)
    page.close()
    return took, cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--faces", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="review-scale-"))
    try:
        out = root / "out"
        started = time.perf_counter()
        build(out, args.people, args.faces)
        built = time.perf_counter() - started
        html = [html_alone(out) for _ in range(args.repeat)]
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
            views = [first_view(out, browser) for _ in range(args.repeat)]
            browser.close()
    finally:
        shutil.rmtree(root)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"`uv run python benchmarks/review_scale.py --people {args.people} --faces "
          f"{args.faces}` at commit {commit}, {datetime.date.today()}, "
          f"{os.cpu_count()} cores; median (min-max) of {args.repeat}; state built in "
          f"{built:.1f} s.\n")
    print("| people | faces | people shown | HTML endpoint: review built + page | page "
          "alone | server start to the page loaded in Chromium |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    cells = [[h[0] for h in html], [h[1] for h in html], [t for t, _ in views]]
    print(f"| {args.people} | {args.faces:,} | {views[0][1]} | " + " | ".join(
        f"{statistics.median(c):.2f} s ({min(c):.2f}-{max(c):.2f})" for c in cells) + " |")

if __name__ == "__main__":
    main()
