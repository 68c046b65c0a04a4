"""The core logs what each stage did through `logging` (the command line's -v shows it); as a
library it never configures logging itself."""

from __future__ import annotations

import logging

from fakes import draw

from photokosh import SortOptions, sort_photos

STAGES = ("scan", "sync", "analyze", "cluster", "identify", "organize", "state")


def test_every_stage_logs_what_it_did(tmp_path, fake, caplog):
    src = tmp_path / "src"
    draw(src / "a.jpg", [0])
    draw(src / "b.jpg", [0, 1], size=(300, 160))
    draw(src / "c.jpg", [])
    (src / "empty.jpg").write_bytes(b"")  # found, then skipped by the analysis
    (src / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")  # skipped by the scan
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with caplog.at_level(logging.DEBUG, logger="photokosh"):
        sort_photos(src, tmp_path / "out", SortOptions(workers=1), embedder=fake)
    by_module = {}
    for record in caplog.records:
        by_module.setdefault(record.name, []).append(record.getMessage())
    assert {f"photokosh.{stage}" for stage in STAGES} <= set(by_module), sorted(by_module)
    assert any("4 photos" in m and "1 skipped" in m for m in by_module["photokosh.scan"])
    assert any("gone.jpg" in m and "broken" in m for m in by_module["photokosh.scan"])
    assert any("empty.jpg" in m and "empty" in m for m in by_module["photokosh.sync"])
    assert any("3 faces" in m for m in by_module["photokosh.cluster"])
    assert any("added" in m for m in by_module["photokosh.organize"])
    assert (root.handlers, root.level) == (handlers, level)  # configured nothing


def test_importing_photokosh_configures_no_logging():
    import subprocess
    import sys

    code = ("import logging, photokosh.pipeline, photokosh.people, photokosh.evaluate; "
            "print(len(logging.getLogger().handlers), "
            "[n for n, l in logging.Logger.manager.loggerDict.items() "
            "if n.startswith('photokosh') and isinstance(l, logging.Logger) and l.handlers])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["0", "[]"]
