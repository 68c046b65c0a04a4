"""Corrections that stick (issue 21): stable face ids, and what the user teaches photokosh
about faces and people honoured by every later run."""

from __future__ import annotations

import json

from fakes import FakeEmbedder, draw

from photokosh import SortOptions, sort_photos

_sizes = iter(range(10_000))


def photo(path, people):
    """A photo of `people` with bytes of its own (equal contents are one photo)."""
    return draw(path, people, size=(240 + next(_sizes) % 500, 160))


class Redetect(FakeEmbedder):
    """Other detection settings (as --min-face changes them): every photo is analysed again."""

    key = "fake-minface"


def run(src, out, embedder=None):
    return sort_photos(src, out, SortOptions(workers=1), embedder=embedder or FakeEmbedder())


def face_ids(report) -> dict[tuple[str, int], int]:
    """(photo, index) -> face id, for every face in the report."""
    return {(p["path"], i): f["id"] for p in report["photos"] for i, f in enumerate(p["faces"])}


def test_face_ids_survive_reruns_renames_and_redetection(tmp_path):
    src, out = tmp_path / "photos", tmp_path / "out"
    photo(src / "a.jpg", [0, 1])
    photo(src / "b.jpg", [1])
    first = run(src, out).report
    ids = face_ids(first)
    assert sorted(ids.values()) == [1, 2, 3]
    assert json.loads((out / "report.json").read_text())["photos"][0]["faces"][0]["id"] == 1
    assert face_ids(run(src, out).report) == ids
    (src / "a.jpg").rename(src / "renamed.jpg")
    renamed = face_ids(run(src, out).report)
    assert renamed == {(("renamed.jpg" if p == "a.jpg" else p), i): f for (p, i), f in ids.items()}
    assert face_ids(run(src, out, Redetect()).report) == renamed
    photo(src / "c.jpg", [2])
    (src / "b.jpg").unlink()
    later = face_ids(run(src, out, Redetect()).report)
    assert later[("c.jpg", 0)] == 4  # a new face takes an id never given before
