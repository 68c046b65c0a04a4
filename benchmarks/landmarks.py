"""How YuNet's faces are aligned for dlib's descriptor: calibration and pair ROC AUC.

    uv run python benchmarks/landmarks.py calibrate ../shared/photos/lfw-crowd --photos 600
    uv run python benchmarks/landmarks.py pairs ../shared/photos/lfw-dev

`calibrate` runs dlib's HOG + 5-point predictor and YuNet on the same photos and prints the
constants of photokosh/yunet.py that map YuNet's box onto HOG's (BOX_SIDE, BOX_SHIFT) and
YuNet's 5 points onto dlib's (EYE_POINTS, NOSE_POINT): medians over the central faces both
found. `pairs` embeds each photo's central face with HOG, YuNet + dlib's predictor on the
mapped box ("dlib" points) and YuNet's own points mapped ("yunet" points), keeps the photos
where all three found it, and prints the ROC AUC of same-person against different-person
pairs (distance as the score) for each. `shrunk` shrinks each photo until its central face
is N px wide and measures the same AUC on photokosh's default faces: the size below which
dlib's descriptor stops telling people apart. `blurred` does the same for photos blurred by
a Gaussian of each sigma, with each face's sharpness (variance of the Laplacian): whether a
cheap blur score could tell which faces are too blurry to recognise. Deterministic; one
process.

    uv run python benchmarks/landmarks.py shrunk ../shared/photos/lfw-dev --photos 500
    uv run python benchmarks/landmarks.py blurred ../shared/photos/lfw-dev --photos 300
"""

from __future__ import annotations

import argparse
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photokosh.faces import DlibEmbedder, box_iou, model_dir  # noqa: E402
from photokosh.images import Decoded  # noqa: E402
from photokosh.yunet import YunetEmbedder  # noqa: E402


def photos(root: Path, limit: int | None) -> list[tuple[str, Path]]:
    found = sorted((p.parent.name, p) for p in root.glob("*/*.jpg"))
    if limit and len(found) > limit:  # spread over every person, not the first names only
        step = len(found) / limit
        found = [found[int(i * step)] for i in range(limit)]
    return found


def decoded(path: Path) -> Decoded:
    image = Image.open(path).convert("RGB")
    return Decoded(np.asarray(image), image.width, image.height, 1.0, image)


def central(boxes, width: int, height: int) -> int | None:
    if not len(boxes):
        return None
    return min(range(len(boxes)), key=lambda i: ((boxes[i][0] + boxes[i][2]) / 2 - width / 2)
               ** 2 + ((boxes[i][1] + boxes[i][3]) / 2 - height / 2) ** 2)


def calibrate(root: Path, limit: int) -> None:
    import dlib

    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(model_dir() / "shape_predictor_5_face_landmarks.dat"))
    yunet = YunetEmbedder()
    side, shift, eyes, nose = [], [], [], []
    for _, path in photos(root, limit):
        photo = decoded(path)
        rects = hog(photo.pixels, 1)
        rows, _ = yunet.detect(photo)
        i = central([(r.left(), r.top(), r.right(), r.bottom()) for r in rects],
                    photo.width, photo.height)
        j = central([(x, y, x + w, y + h) for x, y, w, h in rows[:, :4]],
                    photo.width, photo.height)
        if i is None or j is None:
            continue
        rect, row = rects[i], rows[j]
        x, y, w, h = row[:4]
        if box_iou((rect.left(), rect.top(), rect.right(), rect.bottom()),
                   (x, y, x + w, y + h)) < 0.3:
            continue
        side.append((rect.width()) / w)
        shift.append((((rect.left() + rect.right()) / 2 - (x + w / 2)) / w,
                      ((rect.top() + rect.bottom()) / 2 - (y + h / 2)) / h))
        parts = np.array([(p.x, p.y) for p in predictor(photo.pixels, rect).parts()], float)
        pts = row[4:14].reshape(5, 2).astype(float)
        origin, ux = (pts[0] + pts[1]) / 2, pts[1] - pts[0]
        uy = np.array([-ux[1], ux[0]])
        norm = ux @ ux
        eyes.append([(2 * (p - origin) @ ux / norm, (p - origin) @ uy / norm)
                     for p in parts[:4]])
        nose.append(((parts[4] - pts[2]) @ ux / norm, (parts[4] - pts[2]) @ uy / norm))
    print(f"faces: {len(side)}")
    print(f"BOX_SIDE = {np.median(side):.3f}")
    print(f"BOX_SHIFT = ({np.median([s[0] for s in shift]):.3f}, "
          f"{np.median([s[1] for s in shift]):.3f})")
    med = np.median(np.array(eyes), axis=0)
    print("EYE_POINTS = (" + ", ".join(f"({a:.3f}, {b:.3f})" for a, b in med) + ")")
    print(f"NOSE_POINT = ({np.median([n[0] for n in nose]):.3f}, "
          f"{np.median([n[1] for n in nose]):.3f})")


def pairs(root: Path, limit: int | None) -> None:
    from scipy.spatial.distance import pdist
    from sklearn.metrics import roc_auc_score

    embedders = {"hog": DlibEmbedder(), "yunet+dlib points": YunetEmbedder(landmarks="dlib"),
                 "yunet+yunet points": YunetEmbedder(landmarks="yunet")}
    names, vectors = [], {k: [] for k in embedders}
    for name, path in photos(root, limit):
        photo = decoded(path)
        chosen = {}
        for key, embedder in embedders.items():
            found = embedder.faces(photo)
            i = central([f.box for f in found], photo.width, photo.height)
            chosen[key] = found[i] if i is not None else None
        if any(f is None for f in chosen.values()) or box_iou(
                chosen["hog"].box, chosen["yunet+yunet points"].box) < 0.3:
            continue
        names.append(name)
        for key, face in chosen.items():
            vectors[key].append(face.embedding)
    same = np.array([names[a] == names[b] for a, b in combinations(range(len(names)), 2)])
    print(f"faces: {len(names)} of {len(photos(root, limit))} photos; pairs: {len(same)} "
          f"({same.sum()} same-person)")
    print("| alignment | pair ROC AUC |\n| --- | --- |")
    for key, vecs in vectors.items():
        emb = np.array(vecs)
        dist = pdist(emb)  # in the order of combinations()
        print(f"| {key} | {roc_auc_score(same, -dist):.5f} |")


def shrunk(root: Path, limit: int | None, widths: list[int]) -> None:
    """Pair ROC AUC of photokosh's default faces on lfw photos shrunk so that the central
    face is `width` px wide (its box as found at full size), for each width."""
    from scipy.spatial.distance import pdist
    from sklearn.metrics import roc_auc_score

    embedder = YunetEmbedder()
    chosen = photos(root, limit)
    sizes = {}
    for _, path in chosen:
        photo = decoded(path)
        found = embedder.faces(photo)
        i = central([f.box for f in found], photo.width, photo.height)
        if i is not None:
            sizes[path] = found[i].box[2] - found[i].box[0]
    print("| face width (px) | faces found | pair ROC AUC | same-person distance "
          "(median) | different-person (5th percentile) |\n| --- | --- | --- | --- | --- |")
    for width in [*widths, 0]:
        names, vectors = [], []
        for name, path in chosen:
            if path not in sizes:
                continue
            image = Image.open(path).convert("RGB")
            if width:
                factor = width / sizes[path]
                image = image.resize((max(1, round(image.width * factor)),
                                      max(1, round(image.height * factor))),
                                     Image.Resampling.BILINEAR)
            face = central_face(embedder, image)
            if face is not None:
                names.append(name)
                vectors.append(face.embedding)
        same = np.array([names[a] == names[b] for a, b in combinations(range(len(names)), 2)])
        dist = pdist(np.array(vectors))
        print(f"| {width or 'as is'} | {len(names)} of {len(sizes)} | "
              f"{roc_auc_score(same, -dist):.4f} | {np.median(dist[same]):.3f} | "
              f"{np.percentile(dist[~same], 5):.3f} |")


def central_face(embedder, image: Image.Image):
    """The face `embedder` finds nearest the middle of `image` (LFW's labelled one), or None."""
    photo = Decoded(np.asarray(image), image.width, image.height, 1.0, image)
    found = embedder.faces(photo)
    i = central([f.box for f in found], photo.width, photo.height)
    return None if i is None else found[i]


def sharpness(image: Image.Image, box) -> float:
    """Variance of the Laplacian of the face's box, grey, resized to 64 px: the usual cheap
    blur score, made independent of the face's size."""
    import cv2

    grey = np.asarray(image.convert("L").crop(tuple(int(v) for v in box)).resize(
        (64, 64), Image.Resampling.BOX), dtype=np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def blurred(root: Path, limit: int | None, sigmas: list[float]) -> None:
    """Pair ROC AUC of photokosh's default faces on lfw photos blurred (Gaussian, `sigma` px
    of the ~250 px photo, its face ~100 px), with the faces' sharpness, for each sigma; then
    whether sharpness alone separates the faces whose descriptors fail: AUC of the pairs
    whose blurrier face is under each sigma's median sharpness, over every sigma's faces
    (never two versions of one photo)."""
    from PIL import ImageFilter
    from scipy.spatial.distance import pdist
    from sklearn.metrics import roc_auc_score

    embedder = YunetEmbedder()
    names, vectors, sharp, level, source = [], [], [], [], []
    print("| blur sigma (px) | faces found | pair ROC AUC | sharpness: 5th / median / 95th "
          "percentile |\n| --- | --- | --- | --- |")
    for sigma in sigmas:
        start = len(names)
        for name, path in photos(root, limit):
            image = Image.open(path).convert("RGB")
            if sigma:
                image = image.filter(ImageFilter.GaussianBlur(sigma))
            face = central_face(embedder, image)
            if face is not None:
                names.append(name)
                vectors.append(face.embedding)
                sharp.append(sharpness(image, face.box))
                level.append(sigma)
                source.append(path)
        here = slice(start, len(names))
        same = np.array([a == b for a, b in combinations(names[here], 2)])
        auc = roc_auc_score(same, -pdist(np.array(vectors[here])))
        p5, p50, p95 = np.percentile(sharp[here], [5, 50, 95])
        print(f"| {sigma:g} | {len(names) - start} | {auc:.4f} | {p5:.0f} / {p50:.0f} / "
              f"{p95:.0f} |")
    other = np.array([a != b for a, b in combinations(source, 2)])  # one photo twice: no pair
    same = np.array([a == b for a, b in combinations(names, 2)])[other]
    dist = pdist(np.array(vectors))[other]
    low = np.array([min(a, b) for a, b in combinations(sharp, 2)])[other]
    print("\nAll sigmas' faces together, pairs by their blurrier face's sharpness:\n\n"
          "| blurrier face's sharpness | pairs | pair ROC AUC | sigma-0 faces under it |\n"
          "| --- | --- | --- | --- |")
    level = np.array(level)
    for sigma in sigmas:
        cut = float(np.median(np.array(sharp)[level == sigma]))
        for part, pick in (("under", low < cut), ("from", low >= cut)):
            if pick.any() and same[pick].any() and not same[pick].all():
                print(f"| {part} {cut:.0f} (sigma {sigma:g}'s median) | {pick.sum()} | "
                      f"{roc_auc_score(same[pick], -dist[pick]):.4f} | "
                      f"{np.mean(np.array(sharp)[level == 0] < cut):.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["calibrate", "pairs", "shrunk", "blurred"])
    parser.add_argument("root", type=Path)
    parser.add_argument("--photos", type=int, default=None, help="at most this many photos")
    parser.add_argument("--widths", default="12,16,20,24,32,40",
                        help="shrunk: face widths to try, px")
    parser.add_argument("--sigmas", default="0,1,2,3,4",
                        help="blurred: Gaussian blur radii to try, px")
    args = parser.parse_args()
    if args.what == "calibrate":
        calibrate(args.root, args.photos or 600)
    elif args.what == "pairs":
        pairs(args.root, args.photos)
    elif args.what == "shrunk":
        shrunk(args.root, args.photos, [int(w) for w in args.widths.split(",")])
    else:
        blurred(args.root, args.photos, [float(s) for s in args.sigmas.split(",")])


if __name__ == "__main__":
    main()
