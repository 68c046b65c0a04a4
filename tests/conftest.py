from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from fakes import FakeEmbedder

SHARED_PHOTOS = Path(os.environ.get(
    "PHOTOKOSH_SAMPLES", Path(__file__).resolve().parents[1].parent / "shared" / "photos"))


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path_factory):
    """No test sees the user's caches, colours or terminal width."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")


@pytest.fixture
def fake():
    return FakeEmbedder()


@pytest.fixture
def samples() -> Path:
    if not SHARED_PHOTOS.is_dir():
        pytest.skip(f"sample photos not found at {SHARED_PHOTOS} (set PHOTOKOSH_SAMPLES)")
    return SHARED_PHOTOS


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root (to prove sources stay unchanged)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}
