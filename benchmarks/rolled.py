"""Rolled faces (heads tilted sideways, people lying down): what YuNet and HOG find, and what
extra passes on the photo turned back would cost and find.

    uv run python benchmarks/rolled.py ../shared/photos/lfw-dev --photos 300

Each photo's central face (LFW faces are upright and centred) is rolled by each angle: the
photo turned about its centre (black corners), so the face's centre stays at the photo's. A
face counts as found when a detection's centre lies within 0.3 face widths of it. "+ passes"
also runs YuNet on the turned photo turned back by +-PASS degrees and keeps what it finds
there: the detector time it costs is relative to one pass.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photokosh.faces import DlibEmbedder, box_iou  # noqa: E402
from photokosh.images import Decoded  # noqa: E402
from photokosh.yunet import NMS, YunetEmbedder, dlib_box  # noqa: E402


class Passes:
    """YuNet's upright pass plus passes on the photo turned by +-`angle` about its centre (a
    face rolled by about that much is upright there), at the upright pass's scale and size
    (the corners turned out of the frame are not looked at again). A pass's detection is kept
    where it overlaps no detection kept before (IoU under YuNet's NMS threshold; upright
    first, then by score); `only_new` returns only those (what the passes add)."""

    def __init__(self, angle: float = 45.0, only_new: bool = False, **settings):
        self.yunet, self.angle, self.only_new = YunetEmbedder(**settings), angle, only_new

    def detection_scale(self, width: int, height: int) -> float:
        return self.yunet.detection_scale(width, height)

    def boxes(self, photo: Decoded) -> list:
        import cv2

        kept = self.yunet.boxes(photo)
        bgr = cv2.cvtColor(np.ascontiguousarray(photo.pixels), cv2.COLOR_RGB2BGR)
        factor = self.yunet.plan(photo.width, photo.height) / photo.scale  # as YuNet's own
        if abs(factor - 1.0) > 0.05:
            bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA
                             if factor < 1 else cv2.INTER_LINEAR)
        height, width = bgr.shape[:2]
        to_full = 1 / (width / photo.pixels.shape[1] * photo.scale)  # detector px -> full size
        detector = self.yunet._models()[0]  # noqa: SLF001 - the same net, another input
        detector.setInputSize((width, height))
        extra = []
        for angle in (self.angle, -self.angle):
            turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
            back = cv2.invertAffineTransform(turn)
            rows = detector.detect(cv2.warpAffine(bgr, turn, (width, height)))[1]
            for row in [] if rows is None else rows:
                left, top, right, bottom = dlib_box(row[:4])
                x, y = back @ np.array([(left + right) / 2, (top + bottom) / 2, 1.0])
                half = (right - left) / 2
                corners = (max(0.0, x - half), max(0.0, y - half), min(width, x + half),
                           min(height, y + half))
                box = tuple(int(round(v * to_full)) for v in corners)
                extra.append((box, float(row[14])))
        new = []
        for box, score in sorted(extra, key=lambda e: -e[1]):
            if all(box_iou(box, other) < NMS for other, _ in kept + new):
                new.append((box, score))
        return new if self.only_new else kept + new


def decoded(image: Image.Image) -> Decoded:
    return Decoded(np.asarray(image), image.width, image.height, 1.0, image)


def hit(boxes, centre, width) -> bool:
    return any(np.hypot((b[0] + b[2]) / 2 - centre[0], (b[1] + b[3]) / 2 - centre[1])
               <= 0.3 * width for b in boxes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--angles", default="0,15,30,45,60,90")
    parser.add_argument("--pass-angle", type=float, default=45.0)
    args = parser.parse_args()
    import cv2

    cv2.setNumThreads(1)
    paths = sorted(args.root.glob("*/*.jpg"))
    paths = paths[:: max(1, len(paths) // args.photos)][: args.photos]
    yunet, hog = YunetEmbedder(), DlibEmbedder()
    print(f"{len(paths)} photos\n\n| roll | hog | yunet | yunet + passes at +-{args.pass_angle:g} "
          f"| passes' detector time |\n| --- | --- | --- | --- | --- |")
    for angle in [float(a) for a in args.angles.split(",")]:
        found = {"hog": 0, "yunet": 0, "passes": 0}
        one = more = 0.0
        for path in paths:
            image = Image.open(path).convert("RGB")
            width = 0.45 * image.width  # LFW's faces: about 110 of 250 px
            turned = image.rotate(angle, resample=Image.Resampling.BILINEAR)
            centre = (turned.width / 2, turned.height / 2)
            found["hog"] += hit([b for b, _ in hog.boxes(decoded(turned))], centre, width)
            started = time.process_time()
            boxes = [b for b, _ in yunet.boxes(decoded(turned))]
            one += time.process_time() - started
            found["yunet"] += hit(boxes, centre, width)
            started = time.process_time()
            for back in (args.pass_angle, -args.pass_angle):
                # turned back about the same centre: a box centre maps back by the inverse turn
                again = turned.rotate(-back, resample=Image.Resampling.BILINEAR)
                for b in (b for b, _ in yunet.boxes(decoded(again))):
                    x, y = (b[0] + b[2]) / 2 - centre[0], (b[1] + b[3]) / 2 - centre[1]
                    t = np.radians(back)  # PIL turns counter-clockwise on screen
                    bx = centre[0] + x * np.cos(t) + y * np.sin(t)
                    by = centre[1] - x * np.sin(t) + y * np.cos(t)
                    boxes.append((bx - 1, by - 1, bx + 1, by + 1))
            more += time.process_time() - started
            found["passes"] += hit(boxes, centre, width)
        n = len(paths)
        print(f"| {angle:g} | {found['hog'] / n:.1%} | {found['yunet'] / n:.1%} | "
              f"{found['passes'] / n:.1%} | +{more / one:.1f}x |")


if __name__ == "__main__":
    main()
