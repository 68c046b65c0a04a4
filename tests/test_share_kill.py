"""export SIGKILLed at any moment: DEST holds only whole files, and the next export ends as an
uninterrupted one would (fake model; the export runs in a forked process)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import zipfile

import pytest
from fakes import album

from photokosh import share
from photokosh.catalog import load_catalog

_context = multiprocessing.get_context("fork")
PADDING = b"\0" * (32 << 20)  # makes each file slow enough to be killed in the middle of


@pytest.fixture
def sorted_album(tmp_path, cli):
    src = album(tmp_path)
    out = tmp_path / "out"
    assert cli("sort", src, "-o", out).exit_code == 0
    pid = max(load_catalog(out).people, key=lambda p: len(p.photos)).id
    return out, pid


def _padded(monkeypatch):
    real = share.shared_copy
    monkeypatch.setattr(share, "shared_copy", lambda *a, **k: real(*a, **k) + PADDING)


def _export(out, pid, dest, as_zip, die_at_link=None):
    """Export (with --force, which replaces by rename; a new DEST is named by link)."""
    if die_at_link is not None:  # SIGKILL itself at the nth link: a file whole, not named
        original, seen = os.link, [0]

        def deadly(*args, **kwargs):
            seen[0] += 1
            if seen[0] == die_at_link:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)

        os.link = deadly
    share.export_person(out, pid, dest, as_zip=as_zip, force=die_at_link is None)


def _check_whole(dest, reference, as_zip):
    """Every file in DEST is the uninterrupted export's, byte for byte; what else is there
    is a temporary file of export's."""
    if as_zip:
        names = [p.name for p in dest.parent.iterdir() if p.name != "reference"]
        if dest.exists():
            with zipfile.ZipFile(dest) as z:
                assert z.testzip() is None
        assert all(n == dest.name or share.TMP_PREFIX in n for n in names), names
        return
    for path in dest.iterdir() if dest.exists() else []:
        if path.name.startswith(share.TMP_PREFIX):
            continue
        assert path.read_bytes() == (reference / path.name).read_bytes(), path.name


@pytest.mark.parametrize("as_zip", [False, True])
def test_killed_at_random_moments_dest_holds_only_whole_files(sorted_album, tmp_path,
                                                              monkeypatch, as_zip):
    out, pid = sorted_album
    _padded(monkeypatch)
    reference = tmp_path / "shared" / "reference"
    share.export_person(out, pid, reference)
    dest = tmp_path / "shared" / ("p.zip" if as_zip else "p")
    started = time.monotonic()
    share.export_person(out, pid, tmp_path / "timed", as_zip=as_zip)
    took = time.monotonic() - started
    for k in range(1, 9):  # kills spread over a whole export's time
        proc = _context.Process(target=_export, args=(out, pid, dest, as_zip))
        proc.start()
        time.sleep(took * k / 9)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        _check_whole(dest, reference, as_zip)
    share.export_person(out, pid, dest, as_zip=as_zip, force=True)
    leftovers = [p.name for p in dest.parent.iterdir() if share.TMP_PREFIX in p.name]
    leftovers += [p.name for p in dest.iterdir() if p.name.startswith(".")] if not as_zip else []
    assert leftovers == []
    _check_whole(dest, reference, as_zip)


@pytest.mark.parametrize("as_zip, nth", [(False, 2), (True, 1)])
def test_killed_with_a_file_whole_but_not_named(sorted_album, tmp_path, as_zip, nth):
    out, pid = sorted_album
    dest = tmp_path / "shared" / ("p.zip" if as_zip else "p")
    proc = _context.Process(target=_export, args=(out, pid, dest, as_zip, nth))
    proc.start()
    proc.join(60)
    assert proc.exitcode == -signal.SIGKILL, "the export never reached that point"
    folder = dest.parent if as_zip else dest
    temporary = [p for p in folder.iterdir() if p.name.startswith(share.TMP_PREFIX)]
    assert len(temporary) == 1 and not (as_zip and dest.exists())
    result = share.export_person(out, pid, dest, as_zip=as_zip, force=True)
    assert len(result.files) == 3
    assert not [p for p in folder.iterdir() if p.name.startswith(share.TMP_PREFIX)]
