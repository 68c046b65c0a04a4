"""Write and read back 100 XMP sidecars with face regions: pyexiv2 (photokosh's choice)
against exiftool (Debian's libimage-exiftool-perl), called once per file as a tool
integration would, and once for all files (read only: exiftool writes one value per call).

    uv run python benchmarks/xmp_libraries.py [--files 100]

Prints a Markdown table (seconds) and checks that both read the other's regions back.
The results are in docs/xmp.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from photokosh import xmp
from photokosh.records import Region

FACES = [Region("Barack Obama", (100, 50, 200, 170)), Region("Zoë Doe", (300, 100, 360, 180))]
W, H = 640, 480


def _exiftool_struct(faces: list[Region]) -> str:
    items = []
    for name, (left, top, right, bottom) in faces:
        w, h = (right - left) / W, (bottom - top) / H
        items.append(f"{{Area={{W={w},H={h},X={left / W + w / 2},Y={top / H + h / 2},"
                     f"Unit=normalized}},Name={name},Type=Face}}")
    return (f"{{AppliedToDimensions={{W={W},H={H},Unit=pixel}},"
            f"RegionList=[{','.join(items)}]}}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    n = parser.parse_args().files
    tool = shutil.which("exiftool")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        for i in range(n):
            (root / f"p{i}.jpg.xmp").write_bytes(xmp.sidecar(W, H, FACES))
        rows.append(("pyexiv2", "write", time.perf_counter() - t))
        t = time.perf_counter()
        got = [xmp.read_regions((root / f"p{i}.jpg.xmp").read_bytes(), W, H) for i in range(n)]
        rows.append(("pyexiv2", "read", time.perf_counter() - t))
        assert all(g == FACES for g in got), got[0]
        if tool:
            struct = _exiftool_struct(FACES)
            t = time.perf_counter()
            for i in range(n):
                subprocess.run([tool, "-q", "-o", str(root / f"e{i}.xmp"),
                                f"-XMP-mwg-rs:RegionInfo={struct}"], check=True)
            rows.append(("exiftool, a call per file", "write", time.perf_counter() - t))
            t = time.perf_counter()
            for i in range(n):
                subprocess.run([tool, "-j", "-struct", "-RegionInfo", str(root / f"p{i}.jpg.xmp")],
                               check=True, capture_output=True)
            rows.append(("exiftool, a call per file", "read", time.perf_counter() - t))
            t = time.perf_counter()
            out = subprocess.run([tool, "-j", "-struct", "-RegionInfo",
                                  *[str(root / f"p{i}.jpg.xmp") for i in range(n)]],
                                 check=True, capture_output=True, text=True).stdout
            rows.append(("exiftool, one call", "read", time.perf_counter() - t))
            names = [r["Name"] for r in json.loads(out)[0]["RegionInfo"]["RegionList"]]
            assert names == [f.name for f in FACES], names
            theirs = xmp.read_regions((root / "e0.xmp").read_bytes(), W, H)
            assert [r.name for r in theirs] == [f.name for f in FACES], theirs
    print(f"| library | {n} sidecars | seconds |\n|---|---|---|")
    for library, what, seconds in rows:
        print(f"| {library} | {what} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
