"""The command line as a package (issue 18): the face model through Click's context object,
the one error wrapper, the people table, -v, evaluate with the fake model, and the generated
CLI reference."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import tree_state
from fakes import FakeEmbedder, draw

from photokosh.cli import Context, main
from photokosh.cli.common import EXIT_FAILED, EXIT_LOCKED, domain_errors
from photokosh.errors import LockedError, PhotokoshError, StateError
from photokosh.settings import DEFAULTS


def small_album(root):
    src = root / "photos"
    draw(src / "a.jpg", [0])
    draw(src / "b.jpg", [0, 1])
    draw(src / "c.jpg", [1])
    draw(src / "d.jpg", [])
    return src


def test_sort_makes_its_model_through_the_context_with_the_settings_it_was_given(tmp_path,
                                                                                 cli, fake):
    src = small_album(tmp_path)
    result = cli("sort", src, "-o", tmp_path / "out", "--model", "cnn", "--min-face", "60",
                 "-q")
    assert result.exit_code == 0, result.stderr
    assert cli.settings == [("cnn", None, 60)]
    assert fake.calls == 4  # every photo went through the model the context made


@pytest.mark.parametrize("args, detector", [([], None), (["--detector", "yunet"], "yunet"),
                                            (["--detector", "hog"], "hog"),
                                            (["--model", "hog"], "hog")])
def test_sort_asks_for_the_detector_chosen_and_model_is_its_old_name(tmp_path, cli, args,
                                                                    detector):
    src = small_album(tmp_path)
    result = cli("sort", src, "-o", tmp_path / "out", *args, "--json", "-q")
    assert result.exit_code == 0, result.stderr
    expected = detector or DEFAULTS["detector"]
    assert cli.settings == [(expected, None, None)]
    assert json.loads(result.stdout)["settings"]["detector"] == expected


def test_yunet_with_upsample_is_a_usage_error(tmp_path, cli):
    result = cli("sort", small_album(tmp_path), "-o", tmp_path / "out", "--detector", "yunet",
                 "--upsample", "1")
    assert result.exit_code == 2
    assert "upsample" in result.stderr and result.stdout == ""


def test_without_obj_the_commands_get_the_real_model():
    """`photokosh` as installed passes no obj: pass_context makes this default Context."""
    from photokosh.faces import DlibEmbedder
    from photokosh.yunet import YunetEmbedder

    model = Context().embedder("cnn", 1, None)
    assert isinstance(model, DlibEmbedder)
    assert (model.model, model.upsample, model.min_face) == ("cnn", 1, None)
    model = Context().embedder("yunet", None, 50)
    assert isinstance(model, YunetEmbedder) and model.min_face == 50


@pytest.mark.parametrize("error, code", [(LockedError("busy"), EXIT_LOCKED),
                                         (StateError("foreign"), EXIT_FAILED),
                                         (PhotokoshError("broken"), EXIT_FAILED)])
def test_domain_errors_become_a_message_and_an_exit_code(error, code):
    with pytest.raises(click.ClickException) as caught:
        with domain_errors():
            raise error
    assert caught.value.exit_code == code
    assert caught.value.message == str(error)


def test_a_core_failure_exits_1_with_the_message_and_no_traceback(tmp_path, cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("people", empty)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_clirunner_invoke_with_obj_hands_sort_the_model(tmp_path, fake):
    """What the cli fixture does, spelled out for a library's tests."""
    src = small_album(tmp_path)
    asked = []
    obj = Context(make_embedder=lambda *settings: asked.append(settings) or fake)
    result = CliRunner().invoke(main, ["sort", str(src), "-o", str(tmp_path / "out"),
                                       "--workers", "1", "--json"], obj=obj)
    assert result.exit_code == 0, result.stderr
    assert asked == [(DEFAULTS["detector"], None, None)]
    assert json.loads(result.stdout)["summary"]["people"] == 2


def test_people_shows_cohesion_and_marks_doubtful_people_as_the_json_has_them(tmp_path, cli):
    src = tmp_path / "photos"
    for i, (name, who) in enumerate((("a.jpg", [0]), ("b.jpg", [0]), ("c.jpg", [1]),
                                     ("d.jpg", [2]))):
        draw(src / name, who, size=(240 + i, 160))  # sizes differ: no two photos are equal
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out, "-q").exit_code == 0
    # two different faces made one person: what the cohesion numbers are there to catch
    merged = cli("merge", out, "person_003", "person_002")
    assert merged.exit_code == 0, merged.stderr
    rows = json.loads(cli("people", out, "--json").stdout)
    assert [(r["id"], r["faces"], r["doubtful"]) for r in rows] == [  # doubtful first
        ("person_002", 2, True), ("person_001", 2, False)]
    table = cli("people", out)
    assert table.exit_code == 0 and table.stderr == ""
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["id", "name", "folder", "photos", "faces", "cohesion"]
    shown = {line.split()[0]: line.split()[4:] for line in lines}  # no names: 5 columns first
    assert shown == {r["id"]: [f"{r['cohesion']:.2f}", *(["(check)"] if r["doubtful"] else [])]
                     for r in rows}
    assert shown["person_001"] == ["1.00"]


class LoggingFake(FakeEmbedder):
    """Logs as a core stage does: a debug record per photo, a warning once."""

    def faces(self, photo):
        log = logging.getLogger("photokosh.faces")
        if not self.calls:
            log.warning("a warning from the model")
        log.debug("looking at a %dx%d photo", photo.pixels.shape[1], photo.pixels.shape[0])
        return super().faces(photo)


def sort_with_logging_model(src, out, *flags):
    obj = Context(make_embedder=lambda *settings: LoggingFake())
    return CliRunner().invoke(main, ["sort", str(src), "-o", str(out), "--workers", "1",
                                     *flags], obj=obj, catch_exceptions=False)


@pytest.mark.parametrize("flags, debug, warning", [((), False, True), (("-v",), True, True),
                                                    (("-q",), False, False),
                                                    (("-q", "-v"), True, True)])
def test_the_core_log_records_reach_stderr_as_the_flags_say(tmp_path, flags, debug, warning):
    result = sort_with_logging_model(small_album(tmp_path), tmp_path / "out", *flags)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert ("DEBUG photokosh.faces: looking at a 240x160 photo" in lines) == debug
    assert ("WARNING photokosh.faces: a warning from the model" in lines) == warning
    assert "DEBUG" not in result.stdout and "WARNING" not in result.stdout
    assert logging.getLogger("photokosh").handlers == []  # the command cleaned up after itself


def test_verbose_writes_log_lines_on_stderr_and_leaves_stdout_as_it_was(tmp_path):
    src = small_album(tmp_path)
    runs = {}
    for flags in ((), ("-v",)):
        out = tmp_path / ("out" + "".join(flags))
        text = sort_with_logging_model(src, out, *flags)
        doc = sort_with_logging_model(src, tmp_path / ("json" + "".join(flags)), "--json", *flags)
        assert text.exit_code == doc.exit_code == 0
        report = json.loads(doc.stdout)
        del report["summary"]["seconds"], report["output"]
        summary = re.sub(r"in [0-9.]+ s$", "in _ s", text.stdout.replace(str(out), "OUT"),
                         flags=re.M)
        runs[flags] = (summary, report, text.stderr)
    assert runs[()][:2] == runs[("-v",)][:2]
    assert sum(line.startswith("DEBUG photokosh.") for line in runs[("-v",)][2].splitlines()) >= 4
    assert "DEBUG" not in runs[()][2]


def labelled_album(root):
    """alice/ holds three photos of palette person 0; bob/ two of person 1 and one of person 0
    filed there by mistake. So the clustering (exact with the fake model) finds two people,
    one of them alice with a "bob" inside: every score can be worked out by hand."""
    src = root / "labelled"
    for i, (rel, who) in enumerate([("alice/1.jpg", 0), ("alice/2.jpg", 0), ("alice/3.jpg", 0),
                                    ("bob/1.jpg", 1), ("bob/2.jpg", 1), ("bob/wrong.jpg", 0)]):
        draw(src / rel, [who], size=(240 + i, 160))
    return src


def test_evaluate_scores_a_drawn_album_with_the_fake_model(tmp_path, cli, fake):
    src = labelled_album(tmp_path)
    before = tree_state(src)
    result = cli("evaluate", src, "--cache", tmp_path / "cache", "--json", "-q")
    assert result.exit_code == 0, result.stderr
    assert fake.calls == 6 and cli.settings == [(DEFAULTS["detector"], None, None)]
    scores = json.loads(result.stdout)
    assert (scores["faces"], scores["people_true"], scores["clusters_found"]) == (6, 2, 2)
    # pairs put together: 6 in the 4-face cluster + 1 in bob's, 3 + 1 of them right; true
    # pairs: 3 alice + 3 bob
    assert scores["pairwise_precision"] == pytest.approx(4 / 7)
    assert scores["pairwise_recall"] == pytest.approx(4 / 6)
    assert scores["pairwise_f"] == pytest.approx(8 / 13)
    # per face: alice 3/4 precise, the stray bob 1/4, bob's two 1; recall 1, 1/3, 2/3 and 2/3
    assert scores["bcubed_precision"] == pytest.approx((3 * 3 / 4 + 1 / 4 + 2) / 6)
    assert scores["bcubed_recall"] == pytest.approx((3 + 1 / 3 + 4 / 3) / 6)
    assert [split["person"] for split in scores["worst_splits"]] == ["bob"]
    assert {p for p, _ in scores["worst_merges"][0]["people"]} == {"alice", "bob"}
    assert tree_state(src) == before  # evaluate reads LABELLED, never writes there


def test_evaluate_prints_its_tables_on_stdout_only(tmp_path, cli):
    src = labelled_album(tmp_path)
    result = cli("evaluate", src, "--cache", tmp_path / "cache")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["pairwise", "0.5714", "0.6667", "0.6154"]
    assert "split: bob over 2 clusters" in result.stdout
    tuned = cli("evaluate", src, "--cache", tmp_path / "cache", "--tune", "--json")
    rows = json.loads(tuned.stdout)
    assert rows[0]["bcubed_f"] == max(r["bcubed_f"] for r in rows)
    assert {r["method"] for r in rows} == {"default", "dbscan"}
    text = cli("evaluate", src, "--cache", tmp_path / "cache", "--tune").stdout
    shown = [r["change"] for r in rows if not r["same_as_default"] or r["change"] == "default"]
    assert all(change in text for change in shown)
    same = [r["change"] for r in rows if r["same_as_default"] and r["change"] != "default"]
    if same:
        assert "same people as the default: " + ", ".join(same) in " ".join(text.split())
    best = [r for r in rows if r["better"]]
    assert (f"try {best[0]['change']}" if best else "keep the defaults") in text


CLI_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
REGENERATE = "docs/cli.md is out of date with the commands' --help: run `uv run cog -r docs/cli.md`"


def cog_check(path: Path) -> int:
    from cogapp import Cog

    return Cog().main(["cog", "--check", "--diff", "--check-fail-msg", REGENERATE, str(path)])


def test_the_cli_reference_is_generated_from_the_current_help(capsys):
    assert cog_check(CLI_REFERENCE) == 0, "".join(capsys.readouterr())


def test_the_cli_reference_check_fails_on_stale_text(tmp_path, capsys):
    text = CLI_REFERENCE.read_text(encoding="utf-8")
    stale = tmp_path / "cli.md"
    stale.write_text(text.replace("Show this message and exit.", "Show help.", 1),
                     encoding="utf-8")
    assert stale.read_text(encoding="utf-8") != text
    assert cog_check(stale) == 5  # cogapp's "check failed"
    assert "uv run cog -r docs/cli.md" in capsys.readouterr().err


def test_the_cli_reference_covers_every_command():
    text = CLI_REFERENCE.read_text(encoding="utf-8")
    for command in main.commands:
        assert f"\n## photokosh {command}\n" in text
        assert f"Usage: photokosh {command} [OPTIONS]" in text


@pytest.mark.parametrize("value, said", [("abc", "neither a whole number nor 'auto'"),
                                         ("12", "12 is not in the range x>=20")])
def test_a_bad_min_face_says_what_it_takes(tmp_path, cli, value, said):
    result = cli("sort", small_album(tmp_path), "-o", tmp_path / "out", "--min-face", value)
    assert result.exit_code == 2 and result.stdout == ""
    assert said in result.stderr
