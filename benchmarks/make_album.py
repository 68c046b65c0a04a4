"""Compose a benchmark album of 12 MP photos from labelled LFW faces, with its ground truth.

Each photo is 4000x3000 (or 3000x4000 when stored rotated with an EXIF orientation) and holds
0-8 faces of known people pasted at 100-600 px wide onto a textured background. Writes
OUT/photos/NNN/IMG_NNNNN.jpg and OUT/truth.json, which maps each photo's path (relative to
OUT/photos) to its faces: [{"box": [left, top, right, bottom], "person": name, "picture":
"person/file.jpg"}], in displayed pixels; "picture" is the LFW photo pasted there (in big albums,
most are pasted several times). The same arguments always give the same album.

    uv run python benchmarks/make_album.py --photos 20 --out /tmp/album --seed 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
SIZE = (4000, 3000)
# dlib HOG's box on a deep-funneled LFW photo: the median over 200 lfw-dev photos, upsampled
# once, was (67, 80, 175, 187) with an sd of ~6 px. The truth box is this box, scaled, so that
# a detector that finds the face matches it at IoU well above 0.5.
FACE = (70, 80, 175, 185)
# What is cut out around it: enough context for HOG's detection window; the outer band is
# feathered into the background so the square edge makes no gradients of its own.
CROP = (40, 45, 205, 220)
FEATHER = 0.22  # share of the crop's half-width over which the alpha ramps up
# How many faces a photo holds (0..8): mostly portraits and small groups, as on a real card.
FACE_COUNT_WEIGHTS = np.array([10, 25, 20, 14, 10, 8, 6, 4, 3], dtype=float)
FACE_COUNT_P = FACE_COUNT_WEIGHTS / FACE_COUNT_WEIGHTS.sum()
# EXIF orientation -> how the displayed picture is stored so that a viewer rotates it back
STORE = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
         8: Image.Transpose.ROTATE_270}


@dataclass
class Plan:
    rel: str
    seed: tuple[int, int]
    size: tuple[int, int]  # displayed width, height
    orientation: int
    faces: list[tuple[str, str, tuple[int, int, int, int]]]  # (LFW file, person, truth box)


def default_source() -> Path:
    samples = os.environ.get("PHOTOKOSH_SAMPLES")
    return (Path(samples) if samples else REPO.parent / "shared" / "photos") / "lfw-dev"


def plan_album(source: Path, photos: int, seed: int, people: int, rotated: float,
               widths: tuple[int, int]) -> list[Plan]:
    """Decide every photo's faces in one process, so the album does not depend on workers."""
    rng = np.random.default_rng(seed)
    folders = sorted(p for p in source.iterdir() if p.is_dir() and len(list(p.glob("*.jpg"))) > 1)
    if len(folders) < 2:
        sys.exit(f"make_album: no labelled faces in {source} (want <person>/*.jpg)")
    chosen = [folders[i] for i in sorted(rng.choice(len(folders), min(people, len(folders)),
                                                    replace=False))]
    # Each person's photos in a shuffled cycle: the album shows different photos of everyone.
    pools = {f.name: [str(p) for p in rng.permutation(sorted(f.glob("*.jpg")))] for f in chosen}
    used = dict.fromkeys(pools, 0)
    plans = []
    for i in range(photos):
        orientation = int(rng.choice([3, 6, 8])) if rng.random() < rotated else 1
        size = (SIZE[1], SIZE[0]) if orientation in (6, 8) else SIZE
        count = int(rng.choice(len(FACE_COUNT_WEIGHTS), p=FACE_COUNT_P))
        names = [chosen[j].name for j in rng.choice(len(chosen), min(count, len(chosen)),
                                                     replace=False)]
        faces, taken = [], []
        for name in names:
            width = math.exp(rng.uniform(math.log(widths[0]), math.log(widths[1])))
            box = _place(rng, size, width, taken)
            if box is None:
                continue
            path = pools[name][used[name] % len(pools[name])]
            used[name] += 1
            faces.append((path, name, box))
        plans.append(Plan(f"{i // 100:03d}/IMG_{i:05d}.jpg", (seed, i), size, orientation, faces))
    return plans


def _place(rng, size, width, taken, tries=60):
    """A face box of `width` whose pasted crop stays inside the photo and off the other crops
    (appended to `taken`): faces may stand close, as in a group photo, but never cover one
    another."""
    s = width / (FACE[2] - FACE[0])
    pad = [(FACE[i] - CROP[i]) * s for i in range(4)]  # negative on the right and bottom
    side = round(width)
    for _ in range(tries):
        left = int(rng.integers(math.ceil(pad[0]), int(size[0] - side + pad[2])))
        top = int(rng.integers(math.ceil(pad[1]), int(size[1] - side + pad[3])))
        crop = (left - pad[0], top - pad[1], left + side - pad[2], top + side - pad[3])
        if all(crop[0] > c[2] or crop[2] < c[0] or crop[1] > c[3] or crop[3] < c[1]
               for c in taken):
            taken.append(crop)
            return (left, top, left + side, top + side)
    return None


def background(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """Gradient x blotchy texture + shapes + grain: edges and noise everywhere, like a scene."""
    w, h = size
    sw, sh = w // 8, h // 8  # smooth parts are made small and scaled up: cheap and smooth
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    t = ((xx * math.cos(angle) + yy * math.sin(angle)) / max(sw, sh) + 1) / 2
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    base = c0 + (c1 - c0) * t[..., None]
    for cells, strength in ((6, 60), (40, 30)):  # large blotches, then a finer texture
        noise = rng.uniform(-1, 1, (cells * sh // sw + 2, cells + 2, 3)).astype(np.float32)
        layers = [np.asarray(Image.fromarray(noise[..., c]).resize((sw, sh), Image.BICUBIC))
                  for c in range(3)]  # mode "F" images resize one channel at a time
        base = base + strength * np.stack(layers, axis=-1)
    # Shapes are drawn at half size and scaled up: the scaling anti-aliases their edges for
    # less than a blur of the full frame costs.
    hw, hh = w // 2, h // 2
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8)).resize((hw, hh), Image.BILINEAR)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(8, 30))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = int(rng.integers(-hw // 4, hw)), int(rng.integers(-hh // 4, hh))
        x1, y1 = x0 + int(rng.integers(25, hw // 2)), y0 + int(rng.integers(25, hh // 2))
        kind = rng.integers(4)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif kind == 2:
            points = [(int(rng.integers(0, hw)), int(rng.integers(0, hh))) for _ in range(3)]
            draw.polygon(points, fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(2, 20)))
    image = image.resize(size, Image.BILINEAR)
    grain = rng.integers(-10, 11, (h, w, 1), dtype=np.int16)
    return Image.fromarray((np.asarray(image, dtype=np.int16) + grain).clip(0, 255)
                           .astype(np.uint8))


def _alpha(size: tuple[int, int]) -> Image.Image:
    """Opaque in the middle, fading to 0 at the crop's border (smoothstep)."""
    w, h = size
    dx = np.minimum(np.arange(w), np.arange(w)[::-1]) / (FEATHER * w / 2)
    dy = np.minimum(np.arange(h), np.arange(h)[::-1]) / (FEATHER * h / 2)
    r = np.clip(np.minimum(dx[None, :], dy[:, None]), 0, 1)
    return Image.fromarray((255 * r * r * (3 - 2 * r)).astype(np.uint8))


def render(plan: Plan, out: Path) -> None:
    rng = np.random.default_rng(plan.seed)
    image = background(rng, plan.size)
    for path, _, box in plan.faces:
        s = (box[2] - box[0]) / (FACE[2] - FACE[0])
        with Image.open(path) as lfw:
            crop = lfw.convert("RGB").crop(CROP)
        size = (round((CROP[2] - CROP[0]) * s), round((CROP[3] - CROP[1]) * s))
        crop = crop.resize(size, Image.LANCZOS)
        image.paste(crop, (round(box[0] - (FACE[0] - CROP[0]) * s),
                           round(box[1] - (FACE[1] - CROP[1]) * s)), _alpha(size))
    exif = Image.Exif()
    if plan.orientation != 1:
        exif[0x0112] = plan.orientation
        image = image.transpose(STORE[plan.orientation])
    target = out / "photos" / plan.rel
    target.parent.mkdir(parents=True, exist_ok=True)
    image.save(target, quality=90, exif=exif.tobytes())


def _render(args):
    render(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, default=None,
                        help="folder of <person>/*.jpg LFW photos [default: "
                             "$PHOTOKOSH_SAMPLES/lfw-dev or ../shared/photos/lfw-dev]")
    parser.add_argument("--people", type=int, default=40, help="distinct people in the album")
    parser.add_argument("--rotated", type=float, default=0.25,
                        help="share of photos stored rotated with an EXIF orientation")
    parser.add_argument("--min-width", type=int, default=100, help="smallest face, px")
    parser.add_argument("--max-width", type=int, default=600, help="largest face, px")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    make_album(args.out, args.photos, args.seed, args.source, people=args.people,
               rotated=args.rotated, widths=(args.min_width, args.max_width),
               workers=args.workers)


def truth_of(plans: list[Plan]) -> dict:
    """{photo: [{"box", "person", "picture"}]}, what truth.json holds."""
    return {p.rel: [{"box": list(box), "person": name, "picture": f"{name}/{Path(path).name}"}
                    for path, name, box in p.faces] for p in plans}


def make_album(out: Path, photos: int, seed: int = 0, source: Path | None = None, *,
               people: int = 40, rotated: float = 0.25, widths=(100, 600),
               workers: int | None = None) -> dict:
    """Write the album and return its truth (also saved as OUT/truth.json)."""
    start = time.perf_counter()
    if (out / "photos").exists():  # stale photos would be sorted but not in the truth
        sys.exit(f"make_album: {out / 'photos'} exists; choose a new --out folder")
    plans = plan_album(source or default_source(), photos, seed, people, rotated, widths)
    out.mkdir(parents=True, exist_ok=True)
    with get_context("spawn").Pool(workers or len(os.sched_getaffinity(0))) as pool:
        for _ in pool.imap_unordered(_render, [(p, out) for p in plans]):
            pass
    truth = truth_of(plans)
    lines = (f"{json.dumps(rel)}: {json.dumps(faces)}" for rel, faces in truth.items())
    (out / "truth.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")  # a photo a line
    faces = [f["person"] for v in truth.values() for f in v]
    print(f"make_album: {photos} photos, {len(faces)} faces of {len(set(faces))} people in {out} "
          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return truth


if __name__ == "__main__":
    main()
