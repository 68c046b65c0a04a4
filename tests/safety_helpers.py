"""What the safety tests (issue 19) share: a small album, a "victim" folder beside OUT that no
run may touch, snapshots of everything outside OUT, and the live processes a run started."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from conftest import tree_state
from fakes import FakeEmbedder, draw

from photokosh import SortOptions, sort_photos

# person_001 is palette 0 (three photos), person_002 palette 1 (two: one shared), n.jpg has
# nobody. Sizes differ so that no two photos have the same bytes.
ALBUM = {"a.jpg": [0], "b.jpg": [0], "sub/c.jpg": [0, 1], "d.jpg": [1], "n.jpg": []}
PERSON_0 = "person_001"  # the folder of palette person 0
PERSON_1 = "person_002"
MARKER = "PHOTOKOSH_SAFETY_RUN"  # in the environment of the run and all it starts


def album(root: Path, photos: dict[str, list[int]] | None = None) -> Path:
    src = root / "photos"
    for i, (rel, people) in enumerate(sorted((photos or ALBUM).items())):
        draw(src / rel, people, size=(240 + 7 * i, 160))
    return src


def victim(root: Path) -> Path:
    """A folder of someone else's files beside OUT: a document, a JPEG (thumbnail clean-ups
    delete *.jpg) and a sub-folder, with the ordinary mode 0755 (a chmod to 0700 shows)."""
    folder = root / "victim"
    (folder / "sub").mkdir(parents=True)
    (folder / "doc.txt").write_text("precious\n")
    draw(folder / "face.jpg", [0])
    (folder / "sub" / "notes.txt").write_text("also precious\n")
    os.chmod(folder, 0o755)
    return folder


def outside(root: Path, out: Path) -> dict[str, tuple]:
    """Every entry under `root` (the test's tmp folder) except OUT and what is below it, with
    its mode, bytes and mtime: equal snapshots mean nothing outside OUT was touched."""
    rel_out = os.path.relpath(out, root)
    return {rel: what for rel, what in tree_state(root).items()
            if rel != rel_out and not rel.startswith(rel_out + os.sep)}


def run(src: Path, out: Path, **options):
    return sort_photos(src, out, SortOptions(workers=1, **options), embedder=FakeEmbedder())


def errors_under(report: dict, prefix: str) -> dict[str, str]:
    """report errors whose path starts with `prefix` ("OUT/person_001/"), path -> reason."""
    return {e["path"]: e["reason"] for e in report["errors"] if e["path"].startswith(prefix)}


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """What differs between two snapshots, one line per entry, for failure messages."""
    lines = [f"created {rel}" for rel in sorted(after.keys() - before.keys())]
    lines += [f"removed {rel}" for rel in sorted(before.keys() - after.keys())]
    for rel in sorted(before.keys() & after.keys()):
        old, new = before[rel], after[rel]
        if old == new:
            continue
        if old[0] != new[0]:
            what = f"a {old[0]} became a {new[0]}"
        elif old[0] == "link":
            what = f"now -> {new[1]}"
        elif old[1] != new[1]:
            what = f"mode {oct(old[1])} -> {oct(new[1])}"
        else:
            what = "contents" if old[-1] != new[-1] else "mtime"
        lines.append(f"changed {rel} ({what})")
    return lines


def assert_untouched(root: Path, out: Path, before: dict[str, tuple]) -> None:
    """Nothing outside OUT changed since `before` (an `outside` snapshot)."""
    diff = changes(before, outside(root, out))
    assert not diff, "outside OUT: " + "; ".join(diff)


def started_by(marker: str, group: int) -> dict[int, str]:
    """pid -> command line of every live process of the run: found by the marker in its
    environment or by its process group (zombies are dead already and hold nothing)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            ours = f"{MARKER}={marker}".encode() in env or os.getpgid(pid) == group
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
        if ours:
            found[pid] = command.decode(errors="replace").strip()
    return found


def kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
