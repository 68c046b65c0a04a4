"""evaluate --tune's grid (tune.py): rows that differ, and a recommendation only beyond the
noise."""

import json
from dataclasses import replace

import numpy as np
from test_cluster import people

from photokosh.cluster import DEFAULT_SETTINGS
from photokosh.tune import candidates, recommendation, tune


def grid(base, count=12, per=5):
    emb, truth, groups = people(count, per, seed=4)
    return tune(emb, groups, truth.astype(str), np.ones(len(emb), bool), base)


def test_every_candidate_changes_something_and_the_default_comes_once():
    rows = candidates(DEFAULT_SETTINGS)
    assert [c for c, _ in rows].count("default") == 1
    settings = [s for _, s in rows]
    assert len(set(settings)) == len(settings)  # no two rows with the same settings


def test_on_easy_people_nothing_beats_the_default():
    rows = grid(DEFAULT_SETTINGS)
    default = next(r for r in rows if r["change"] == "default")
    assert default["bcubed_f"] == 1.0
    assert recommendation(rows) is None
    # Every setting finds these same people: all marked, so the table can say so in a line.
    assert all(r["same_as_default"] and r["bcubed_f"] == 1.0 for r in rows)
    json.dumps(rows)  # what --json prints


def test_a_clearly_better_change_is_recommended_with_its_noise():
    bad = replace(DEFAULT_SETTINGS, eps=0.1, merge_distance=0.2, attach_size=0)
    rows = grid(bad)
    best = recommendation(rows)
    assert best is not None and best["change"] != "default"
    assert best["gain"] > best["noise"] >= 0 and best["bcubed_f"] > 0.9
    assert all(not r["better"] or r["gain"] > r["noise"] for r in rows)
    assert sum(r["same_as_default"] for r in rows) < len(rows) - 1
