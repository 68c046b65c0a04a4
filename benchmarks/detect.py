"""Face detectors on real web photos: recall by face size, false detections, time.

    uv run python benchmarks/detect.py --half tune            # every other photo: choose here
    uv run python benchmarks/detect.py --half held-out --sheet /tmp/unmatched.png

Runs every detector configuration on the photos of `../shared/photos/scenes` (boxes.json:
photo -> labelled face boxes; its README says how they were made), each photo decoded the way
photokosh decodes it for that detector, the detectors interleaved photo by photo (so that a
slower moment of a shared machine costs each the same). A detection matches a labelled face at
IoU >= 0.5 (greedy, best pairs first). Prints a Markdown table: recall overall, by the labelled
face's width, in photos of 8+ labelled faces, unmatched detections per photo (an upper bound
of false detections: the labels are not exhaustive, so look at `--sheet`, a contact sheet of
the unmatched detections of `--sheet-detector`) and detector time per megapixel (one thread).

`--half tune` is photos 0, 2, 4... in file-name order, `held-out` 1, 3, 5...: settings are
chosen on the first and reported on the second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rolled import Passes  # noqa: E402

from photokosh import images  # noqa: E402
from photokosh.blur import RECHECKS, blur_faces  # noqa: E402
from photokosh.faces import DlibEmbedder, box_iou  # noqa: E402
from photokosh.yunet import YunetEmbedder, count_faces, find_faces  # noqa: E402

SIZES = [(0, 20), (20, 40), (40, 80), (80, 160), (160, 10**9)]
CROWD = 8  # a photo "of 8+ people"


def configurations(names: list[str]) -> dict:
    """hog: photokosh's HOG (automatic scales); hog-up1: face_recognition's default (the
    photo upsampled once); yunet: photokosh's YuNet, with -x<most upscale> and -s<score>
    to try other settings (yunet-x1-s0.7); yunet-r45: YuNet plus passes on the photo turned
    by +-45 degrees (rolled.Passes), yunet-r45-new: only the detections the passes add."""
    made = {}
    for name in names:
        if name == "hog":
            made[name] = DlibEmbedder()
        elif name.startswith("hog-up"):
            made[name] = DlibEmbedder(upsample=int(name[6:]))
        elif name.startswith("yunet-r"):  # yunet-r45: + passes turned +-45 degrees
            angle, _, only = name[7:].partition("-")  # yunet-r45-new: only what they add
            made[name] = Passes(float(angle), only_new=only == "new")
        elif name.startswith("yunet"):
            settings = {}
            for part in name.split("-")[1:]:
                settings["max_upscale" if part[0] == "x" else "score"] = float(part[1:])
            made[name] = YunetEmbedder(**settings)
        else:
            raise SystemExit(f"unknown detector {name!r}")
    return made


def match(truth: list, found: list) -> tuple[list[bool], list[int]]:
    """(for each labelled box: matched?, indices of unmatched detections)."""
    pairs = sorted(((box_iou(t, f), i, j) for i, t in enumerate(truth)
                    for j, f in enumerate(found)), reverse=True)
    hit, used = [False] * len(truth), set()
    for iou, i, j in pairs:
        if iou < 0.5:
            break
        if not hit[i] and j not in used:
            hit[i] = True
            used.add(j)
    return hit, [j for j in range(len(found)) if j not in used]


def select(root: Path, half: str, limit: int | None) -> list[str]:
    photos = sorted(json.loads((root / "boxes.json").read_text()))
    photos = photos[0::2] if half == "tune" else photos[1::2] if half == "held-out" else photos
    return photos[:limit] if limit else photos


def run(root: Path, half: str, names: list[str], limit: int | None):
    boxes = json.loads((root / "boxes.json").read_text())
    photos = select(root, half, limit)
    detectors = configurations(names)
    stats = {n: {"hits": [], "widths": [], "crowd": [], "unmatched": [], "seconds": 0.0}
             for n in names}
    megapixels = 0.0
    for k, name in enumerate(photos):
        data = (root / name).read_bytes()
        truth = boxes[name]
        image = images.open_image(data)
        width, height = images.displayed_size(image)
        megapixels += width * height / 1e6
        order = names[k % len(names):] + names[:k % len(names)]  # interleaved, rotating
        for det in order:
            embedder = detectors[det]
            photo = images.decode(images.open_image(data),
                                  embedder.detection_scale(width, height), exact=False)
            started = time.process_time()
            found = embedder.boxes(photo)
            stats[det]["seconds"] += time.process_time() - started
            hit, unmatched = match(truth, [box for box, _ in found])
            s = stats[det]
            s["hits"] += hit
            s["widths"] += [t[2] - t[0] for t in truth]
            s["crowd"] += [h for h in hit] if len(truth) >= CROWD else []
            s["unmatched"].append([(name, found[j]) for j in unmatched])
    return photos, stats, megapixels


def table(photos, stats, megapixels) -> str:
    head = ("| detector | recall | " + " | ".join(
        f"{lo}-{hi} px" if hi < 10**9 else f">= {lo} px" for lo, hi in SIZES)
        + f" | photos of {CROWD}+ | unmatched per photo | s per MP |")
    lines = [head, "|" + " --- |" * (len(SIZES) + 5)]
    for det, s in stats.items():
        hits, widths = np.array(s["hits"]), np.array(s["widths"])
        by_size = []
        for lo, hi in SIZES:
            inside = (widths >= lo) & (widths < hi)
            by_size.append(f"{hits[inside].mean():.1%} ({inside.sum()})" if inside.any()
                           else "-")
        crowd = f"{np.mean(s['crowd']):.1%}" if s["crowd"] else "-"
        unmatched = sum(len(u) for u in s["unmatched"]) / len(photos)
        lines.append(f"| {det} | {hits.mean():.1%} | " + " | ".join(by_size)
                     + f" | {crowd} | {unmatched:.3f} | {s['seconds'] / megapixels:.3f} |")
    return "\n".join(lines)


def contact_sheet(root: Path, unmatched: list, path: Path, below: float = 1.0,
                  tile: int = 96) -> int:
    """Every unmatched detection scored under `below`, with some context, `tile` px, 12 per
    row, numbered."""
    crops = [(name, box) for per_photo in unmatched for name, (box, score) in per_photo
             if score < below]
    if not crops:
        return 0
    columns = 12
    rows = (len(crops) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tile, rows * tile), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (name, (left, top, right, bottom)) in enumerate(crops):
        photo = images.load_upright((root / name).read_bytes())
        margin = (right - left) * 0.3
        crop = photo.crop((int(left - margin), int(top - margin),
                           int(right + margin), int(bottom + margin)))
        crop = crop.resize((tile - 4, tile - 4))
        x, y = (i % columns) * tile, (i // columns) * tile
        sheet.paste(crop, (x + 2, y + 2))
        draw.text((x + 4, y + 2), str(i), fill="yellow")
    sheet.save(path)
    return len(crops)


def checkers() -> dict:
    """What looks for faces left in a blurred copy (the issue's check): YuNet at score 0.6 on
    the photo as is and, under 1000 px, upscaled 2x; dlib's HOG upsampled once."""
    import dlib

    hog = dlib.get_frontal_face_detector()

    def yunet(pixels: np.ndarray) -> int:
        return count_faces(pixels, 0.6)

    return {"yunet 0.6 (1x, 2x under 1000 px)": yunet, "hog up1": lambda p: len(hog(p, 1))}


def blur_check(root: Path, photos: list[str], name: str, recheck: bool = True) -> str:
    """Blur each photo as `sort --blur` does with detector `name`, and count the faces the
    checkers find in the originals and in the blurred copies."""
    embedder = configurations([name])[name]
    looks = checkers()
    counts = {k: [0, 0] for k in looks}
    for photo_name in photos:
        data = (root / photo_name).read_bytes()
        image = images.open_image(data)
        width, height = images.displayed_size(image)
        photo = images.decode(image, embedder.detection_scale(width, height), exact=False)
        upright = images.load_upright(data).convert("RGB")
        blurred = blur_faces(upright, [box for box, _ in embedder.boxes(photo)])
        for _ in range(RECHECKS if recheck else 0):  # as blur.write_blurred does
            left = find_faces(np.asarray(blurred))
            if not left:
                break
            blurred = blur_faces(blurred, left)
        for key, look in looks.items():
            counts[key][0] += look(np.asarray(upright))
            counts[key][1] += look(np.asarray(blurred))
    lines = [f"| checker | faces in the originals | in copies blurred by {name} | share |",
             "| --- | --- | --- | --- |"]
    for key, (before, after) in counts.items():
        lines.append(f"| {key} | {before} | {after} | {after / max(1, before):.1%} |")
    total = [sum(c[i] for c in counts.values()) for i in (0, 1)]
    lines.append(f"| both | {total[0]} | {total[1]} | {total[1] / max(1, total[0]):.1%} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos-dir", type=Path, default=Path(os.environ.get(
        "PHOTOKOSH_SAMPLES", Path(__file__).resolve().parents[2] / "shared" / "photos"))
        / "scenes")
    parser.add_argument("--half", choices=["tune", "held-out", "all"], default="held-out")
    parser.add_argument("--detectors", default="hog,hog-up1,yunet,yunet-s0.6,yunet-x1")
    parser.add_argument("--limit", type=int, help="only the first N photos of the half")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of unmatched detections")
    parser.add_argument("--sheet-detector", default="yunet")
    parser.add_argument("--blur-check", metavar="DETECTOR",
                        help="instead: blur with DETECTOR and count the faces left")
    parser.add_argument("--no-recheck", action="store_true",
                        help="with --blur-check: blur once, without blur.py's second look")
    parser.add_argument("--sheet-below", type=float, default=1.0,
                        help="only the unmatched detections scored under this")
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    names = args.detectors.split(",")
    if args.blur_check:
        photos = select(args.photos_dir, args.half, args.limit)
        print(f"{len(photos)} photos ({args.half})\n")
        print(blur_check(args.photos_dir, photos, args.blur_check, not args.no_recheck))
        return
    photos, stats, megapixels = run(args.photos_dir, args.half, names, args.limit)
    faces = len(stats[names[0]]["hits"])
    print(f"{len(photos)} photos ({args.half}), {faces} labelled faces, "
          f"{megapixels:.1f} MP\n")
    print(table(photos, stats, megapixels))
    if args.sheet:
        count = contact_sheet(args.photos_dir, stats[args.sheet_detector]["unmatched"],
                              args.sheet, args.sheet_below)
        print(f"\n{count} unmatched detections of {args.sheet_detector} in {args.sheet}")


if __name__ == "__main__":
    main()
