from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from fakes import FakeEmbedder, album

pytest_plugins = ["review_client"]  # the review app's test client and fixture

SHARED_PHOTOS = Path(os.environ.get(
    "PHOTOKOSH_SAMPLES", Path(__file__).resolve().parents[1].parent / "shared" / "photos"))


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path_factory):
    """No test sees the user's caches, colours or terminal width."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if os.access("/usr/bin/chromium", os.X_OK) else None)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (whose own browser download is not
    available here); one per session, a fresh page per test."""
    if not CHROMIUM:
        pytest.skip("no chromium binary (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def fake():
    return FakeEmbedder()


@pytest.fixture(scope="session")
def face_photo():
    """One LFW portrait (a single frontal face), for the detector tests."""
    path = SHARED_PHOTOS / "lfw-small" / "Abdullah_Gul" / "Abdullah_Gul_0001.jpg"
    if not path.is_file():
        pytest.skip(f"sample photos not found at {SHARED_PHOTOS} (set PHOTOKOSH_SAMPLES)")
    from PIL import Image

    return Image.open(path).convert("RGB")


@pytest.fixture
def samples() -> Path:
    if not SHARED_PHOTOS.is_dir():
        pytest.skip(f"sample photos not found at {SHARED_PHOTOS} (set PHOTOKOSH_SAMPLES)")
    return SHARED_PHOTOS


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root (to prove sources stay unchanged)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


# --- shared by test_sort, test_incremental, test_people, test_bad_input, test_crash ----------

def tree_state(root: Path) -> dict[str, tuple]:
    """Every entry under root (hidden ones too) -> what it is: ("dir", mode), ("link", target),
    ("special", mode) or ("file", mode, mtime_ns, sha256). Equal snapshots mean nothing was
    created, removed, rewritten or touched."""
    found: dict[str, tuple] = {}
    if not Path(root).exists():
        return found
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.fsdecode(os.path.relpath(full, os.fsencode(root)))
            st = os.lstat(full)
            if os.path.islink(full):
                found[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                found[rel] = ("dir", st.st_mode)
            elif not os.path.isfile(full):  # a FIFO or socket: reading it could block
                found[rel] = ("special", st.st_mode)
            else:
                with open(full, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                found[rel] = ("file", st.st_mode, st.st_mtime_ns, digest)
    return found


def placed_files(out: Path) -> set[str]:
    """Photos (files and symlinks) photokosh places in OUT: not its state, report, review
    page or XMP sidecars (test_xmp looks at those)."""
    return {rel for rel, what in tree_state(out).items()
            if what[0] != "dir" and not rel.startswith(".photokosh")
            and rel not in ("report.json", "index.html") and not rel.endswith(".xmp")}


@pytest.fixture
def cli(fake):
    """Run a photokosh command through CliRunner with the fake face model (the `fake` fixture,
    so tests can read fake.calls), handed over as Click's context object; `sort` and
    `evaluate` run in this process (--workers 1). `invoke.settings` lists the
    (model, upsample, min_face) each command asked the model for."""
    from click.testing import CliRunner

    from photokosh.cli import Context, main

    runner = CliRunner()

    def make_embedder(*settings):
        invoke.settings.append(settings)
        return fake

    def invoke(*args: str | Path):
        argv = [os.fspath(a) if isinstance(a, os.PathLike) else a for a in args]
        if argv and argv[0] in ("sort", "evaluate") and "--workers" not in argv:
            argv += ["--workers", "1"]
        return runner.invoke(main, argv, obj=Context(make_embedder=make_embedder),
                             catch_exceptions=False)

    invoke.settings = []
    return invoke


@pytest.fixture
def sorted_album(tmp_path, cli):
    """The fakes' album sorted: person 0 (a, b, trip/c) and person 1 (trip/c, trip/d)."""
    src = album(tmp_path)
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out, "--json").exit_code == 0
    rows = json.loads(cli("people", out, "--json").stdout)
    ids = {r["photo_count"]: r["id"] for r in rows}
    return {"src": src, "out": out, "p0": ids[3], "p1": ids[2], "tmp": tmp_path}
