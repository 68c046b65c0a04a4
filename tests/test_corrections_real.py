"""Issue 21's scenario with the real model: Hu Jintao and Wen Jiabao, whom dlib merges into one
person, are flagged, split by one command, and stay split after new photos of both and a
re-clustering from scratch. Slow (about 10 s)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner
from conftest import SHARED_PHOTOS

from photokosh.cli import main

pytestmark = pytest.mark.slow

PAIR = ("Hu_Jintao", "Wen_Jiabao")
LATER = 3  # photos of each that arrive after the split


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def purity(out) -> dict[str, Counter]:
    """person id -> how many photos of each of the pair their folder holds."""
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return {p["id"]: Counter(r.split("/")[0] for r in p["photos"]) for p in report["people"]}


def test_hu_and_wen_are_flagged_split_and_stay_split(tmp_path):
    lfw = SHARED_PHOTOS / "lfw-dev"
    if not lfw.is_dir():
        pytest.skip(f"sample photos not found at {lfw}")
    src, out = tmp_path / "photos", tmp_path / "out"
    later = []
    for name in PAIR:  # links, so that no sample photo is copied
        photos = sorted((lfw / name).iterdir())
        (src / name).mkdir(parents=True)
        for p in photos[:-LATER]:
            (src / name / p.name).symlink_to(p)
        later += [(name, p) for p in photos[-LATER:]]
    invoke("sort", src, "-o", out, "-q", "--workers", "2")
    rows = json.loads(invoke("people", out, "--json").stdout)
    merged = rows[0]  # doubtful people come first
    assert merged["doubtful"] and merged["photo_count"] >= 20
    assert merged["split_ratio"] >= 1.2
    assert merged["cohesion"] > 0.6  # as tight as one person: cohesion alone cannot tell
    invoke("split", out, merged["id"])

    def split_apart(stage):
        people = purity(out)
        sides = [max(PAIR, key=lambda n, c=c: c[n]) for c in people.values() if sum(c.values()) > 5]
        assert sorted(sides) == sorted(PAIR), (stage, people)
        for c in people.values():  # each side is mostly one of them
            if sum(c.values()) > 5:
                assert max(c.values()) >= 0.8 * sum(c.values()), (stage, people)
    split_apart("split")
    for name, p in later:
        (src / name / p.name).symlink_to(p)
    invoke("sort", src, "-o", out, "-q", "--workers", "2")
    split_apart("new photos")
    invoke("recluster", out)
    split_apart("re-clustering")
