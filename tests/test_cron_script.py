"""examples/nightly-cron.sh as cron runs it: a bare environment (env -i, PATH=/usr/bin:/bin),
relative arguments, photokosh installed by `uv tool install`. The real model runs here (the
fake cannot reach an installed tool), on two tiny photos without faces, so it is fast."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import tree_state
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "nightly-cron.sh"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A home whose ~/.local/bin holds photokosh, installed from this repository by uv."""
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if uv is None:
        pytest.skip("uv is not installed: the cron example's photokosh is installed with it")
    home = tmp_path_factory.mktemp("home")
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "UV_TOOL_DIR": str(home / "tools"), "UV_CACHE_DIR": cache,
           "UV_TOOL_BIN_DIR": str(home / ".local" / "bin"), "UV_NO_PROGRESS": "1"}
    for offline in (["--offline"], []):  # the cache usually holds every wheel already
        done = subprocess.run([uv, "tool", "install", *offline, str(ROOT)], env=env,
                              capture_output=True, text=True, timeout=1200)
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stderr
    assert (home / ".local" / "bin" / "photokosh").exists()
    return home


def cron(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["/usr/bin/env", "-i", f"HOME={home}", "PATH=/usr/bin:/bin",
                           str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_the_nightly_script_works_as_cron_runs_it(home, tmp_path):
    work = tmp_path / "work"
    for name, shade in (("a.jpg", 90), ("b.jpg", 170)):
        (work / "photos").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (shade, shade, shade)).save(work / "photos" / name)
    done = cron(home, work, "photos", "out")  # relative: to where cron started it
    assert done.returncode == 0, done.stderr
    report = json.loads((work / "out" / "report.json").read_text())
    assert report["summary"]["photos"] == 2 and report["summary"]["no_face_photos"] == 2
    assert json.loads((work / "out.last-run.json").read_text())["summary"]["photos"] == 2

    (work / "photos" / "broken.jpg").write_bytes(b"not a photo")
    done = cron(home, work, "photos", "out")
    assert done.returncode == 3
    assert "broken.jpg" in done.stderr and ".photokoshignore" in done.stderr
    (work / "photos" / ".photokoshignore").write_text("broken.jpg\n")
    done = cron(home, work, "photos", "out")
    assert done.returncode == 0, done.stderr
    assert json.loads((work / "out.last-run.json").read_text())["summary"][
        "acknowledged_files"] == 1

    (work / "photos").rename(work / "away")
    (work / "photos").mkdir()  # unmounted
    before = tree_state(work / "out")
    done = cron(home, work, "photos", "out")
    assert done.returncode == 5, done.stderr
    assert "holds no photos" in done.stderr and "nothing was changed" in done.stderr
    assert tree_state(work / "out") == before


def test_the_nightly_script_says_where_photokosh_is_missing(tmp_path):
    done = cron(tmp_path, tmp_path, "photos", "out")
    assert done.returncode == 1
    assert "uv tool install photokosh" in done.stderr
