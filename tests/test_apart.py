"""Two people who are not one (`notsame`), several faces moved in one action, and the run
lock re-entered by the process that holds it (what `photokosh review` builds on)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import pytest
from test_corrections import album, ok, people_of

from photokosh import corrections, lock
from photokosh.constraints import from_corrections
from photokosh.errors import LockedError
from photokosh.state import open_state


def apart_pairs(out):
    with open_state(out, lock=False) as state:
        return from_corrections(state.corrections()).apart


def test_notsame_records_a_cannot_link_that_merge_honours(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    assert ok(cli("notsame", out, "person_001", "person_003")).stdout.strip() == (
        "person_001 and person_003 are two people")
    ok(cli("notsame", out, "3", "1"))  # the same pair again: recorded once
    rows = json.loads(ok(cli("corrections", out, "--json")).stdout)
    assert [(r["kind"], r["person"], r["value"]) for r in rows] == [
        ("apart", "person_001", {"other": "person_003"})]
    assert apart_pairs(out) == {frozenset({"person_001", "person_003"})}
    refused = cli("merge", out, "person_003", "person_001")
    assert refused.exit_code == 1 and "two people, you said" in refused.stderr
    assert set(people_of(out)) == {"person_001", "person_002", "person_003"}
    assert "apart person_001 / person_003" in ok(cli("corrections", out)).stdout
    ok(cli("sort", src, "-o", out, "-q"))  # survives a run
    assert apart_pairs(out) == {frozenset({"person_001", "person_003"})}
    ok(cli("undo", out, str(rows[0]["id"])))
    assert apart_pairs(out) == set()
    ok(cli("merge", out, "person_003", "person_001"))
    assert set(people_of(out)) == {"person_001", "person_002"}


def test_notsame_follows_a_merge_of_either_person(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    ok(cli("notsame", out, "person_002", "person_003"))
    ok(cli("merge", out, "person_003", "person_001"))  # the other one is person_001 now
    assert apart_pairs(out) == {frozenset({"person_001", "person_002"})}
    assert cli("merge", out, "person_002", "person_001", "--force").exit_code == 0
    assert apart_pairs(out) == set()  # merged anyway: the pair is moot


def test_notsame_of_one_person_or_an_unknown_one_fails_cleanly(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    for args in (("person_001", "1"), ("person_001", "person_099")):
        result = cli("notsame", out, *args)
        assert result.exit_code == 1 and result.stdout == "" and "Traceback" not in result.stderr


def test_move_faces_moves_several_faces_to_a_new_named_person_at_once(tmp_path, cli):
    src, out = album(tmp_path), tmp_path / "out"
    ok(cli("sort", src, "-o", out, "-q"))
    corrections.move_faces(out, ["d.jpg", "e.jpg"], "Dora")
    got = people_of(out)
    assert got["Dora"] == {"d.jpg", "e.jpg"} and got["person_002"] == {"g.jpg"}
    assert sum(c["kind"] == "move" for c in json.loads(
        ok(cli("corrections", out, "--json")).stdout)) == 2
    with pytest.raises(corrections.UnknownFace):
        corrections.move_faces(out, [], "Dora")


HOLDER = textwrap.dedent("""
    import sys
    from photokosh.lock import run_lock
    try:
        with run_lock(sys.argv[1]):
            print("took it")
    except Exception as exc:
        print(type(exc).__name__)
""")


def test_hold_lets_this_process_re_enter_and_no_other(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with lock.hold(out):
        with lock.run_lock(out), lock.run_lock(out):  # nested, as an action opening the state
            pass
        entered = []
        thread = threading.Thread(target=lambda: entered.append(lock.run_lock(out).__enter__()
                                                                 is None))
        thread.start()
        thread.join(10)
        assert entered == [True]  # a request thread of the same process re-enters too
        other = subprocess.run([sys.executable, "-c", HOLDER, str(out)], capture_output=True,
                               text=True, timeout=60)
        assert other.stdout.strip() == "LockedError"
        said = refusal_in_another_process(out)  # what a cron `sort` would be told
        assert "`photokosh review` (pid" in said and "Ctrl-C" in said
    again = subprocess.run([sys.executable, "-c", HOLDER, str(out)], capture_output=True,
                           text=True, timeout=60)
    assert again.stdout.strip() == "took it"  # released when the hold ends


def refusal_in_another_process(out) -> str:
    code = ("import sys; from pathlib import Path; from photokosh import lock\n"
            "try:\n    lock.run_lock(Path(sys.argv[1])).__enter__()\n"
            "except Exception as exc:\n    print(exc)")
    return subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                          text=True, timeout=60).stdout


def test_a_plain_run_lock_stays_exclusive_within_the_process(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with lock.run_lock(out):
        with pytest.raises(LockedError):
            with lock.run_lock(out):
                pass
