"""The face stage on a real Dask cluster: a scheduler and two workers, each its own process on
127.0.0.1, started and torn down by the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import FakeEmbedder, draw

from photokosh import SortOptions, sort_photos

pytest.importorskip("distributed")
TESTS = Path(__file__).parent


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get(
        "PYTHONPATH", "")]), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    bin_dir = Path(sys.executable).parent
    procs = [subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--dashboard-address", ":0", "--scheduler-file", str(info)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert info.exists(), "the Dask scheduler did not start within 60 s"
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(bin_dir / "dask"), "worker", "--scheduler-file", str(info),
                 "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard", "--local-directory", str(folder)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        address = json.loads(info.read_text())["address"]
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _album(root: Path) -> Path:
    people = [[0], [1], [0, 1], [2], [0], [2, 1], [], [3], [0, 3], [1]] * 3
    for i, who in enumerate(people):
        draw(root / f"day{i % 3}" / f"p{i:02d}.png", who)
    return root


def _comparable(report: dict) -> dict:
    report = json.loads(json.dumps(report))
    for key in ("seconds",):
        report["summary"].pop(key)
    report.pop("output")
    return report


def test_cluster_run_equals_local_run(cluster, tmp_path):
    photos = _album(tmp_path / "photos")
    local = sort_photos(photos, tmp_path / "local", SortOptions(workers=1),
                        embedder=FakeEmbedder())
    remote = sort_photos(photos, tmp_path / "remote", SortOptions(workers=1, scheduler=cluster),
                         embedder=FakeEmbedder())
    # 30 photos, of which 8 distinct contents: each analysed once, on the cluster
    assert remote.report["summary"]["analysed_photos"] == 8
    assert _comparable(remote.report) == _comparable(local.report)
    # and a re-run against the cluster sends it nothing: everything is in the local state
    again = sort_photos(photos, tmp_path / "remote", SortOptions(workers=1, scheduler=cluster),
                        embedder=FakeEmbedder())
    assert again.report["summary"]["analysed_photos"] == 0


def test_real_model_on_the_cluster(cluster, tmp_path, samples):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("two_people.jpg", "obama_small.jpg", "biden.jpg"):
        os.symlink(samples / "demo" / "white-house" / name, photos / name)
    local = sort_photos(photos, tmp_path / "local", SortOptions(workers=1))
    remote = sort_photos(photos, tmp_path / "remote", SortOptions(scheduler=cluster))
    assert remote.report["summary"]["faces"] == local.report["summary"]["faces"] == 4
    assert _comparable(remote.report) == _comparable(local.report)


def test_unreachable_scheduler_is_a_clear_failure(tmp_path):
    from photokosh.errors import PhotokoshError

    photos = _album(tmp_path / "photos")
    with pytest.raises(PhotokoshError, match="cannot reach the Dask scheduler"):
        sort_photos(photos, tmp_path / "out",
                    SortOptions(workers=1, scheduler="tcp://127.0.0.1:9"),
                    embedder=FakeEmbedder())
