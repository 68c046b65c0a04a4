"""Throughput and accuracy of `photokosh sort` against the peers' methods, on one album (issue 5).

(a) naive: face_recognition's method at full resolution (HOG upsampled once, 5-point landmarks,
    ResNet descriptor for every face), one process: what the peer scripts do;
(b) fr-cli: face_recognition_cli's method: photos shrunk to at most 1600 px (thumbnail, LANCZOS),
    then as (a), in a multiprocessing pool of all cores;
(c) photokosh sort with default settings, run as a command on a fresh output folder.
Each runs as its own process tree; wall time includes start-up and model loading for all three.

    uv run python benchmarks/bench.py --photos 12 --seed 1
    uv run python benchmarks/bench.py --album /tmp/album --naive-sample 20
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

FR_MAX_SIDE = 1600  # face_recognition_cli.test_image: thumbnail((1600, 1600), LANCZOS)
CORES = len(os.sched_getaffinity(0))
_models = None


def model_files():
    from photokosh.faces import model_dir

    folder = model_dir()
    return (folder / "shape_predictor_5_face_landmarks.dat",
            folder / "dlib_face_recognition_resnet_model_v1.dat")


def encode_photo(path: str, max_side: int | None = None) -> list[tuple[list[float], np.ndarray]]:
    """face_recognition's face_locations + face_encodings on one photo; boxes in displayed px."""
    global _models
    import dlib

    if _models is None:  # once per process, like face_recognition's module-level models
        landmarks, resnet = model_files()
        _models = (dlib.get_frontal_face_detector(), dlib.shape_predictor(str(landmarks)),
                   dlib.face_recognition_model_v1(str(resnet)))
    detector, predictor, encoder = _models
    # EXIF orientation is applied for both (a) and (b); face_recognition's load_image_file does
    # not, so the real CLI misses the faces of rotated photos: (b) here is the stronger baseline.
    pixels = np.array(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    scale = 1.0
    if max_side and max(pixels.shape) > max_side:
        small = Image.fromarray(pixels)
        small.thumbnail((max_side, max_side), Image.LANCZOS)
        scale = pixels.shape[1] / small.size[0]
        pixels = np.array(small)
    h, w = pixels.shape[:2]
    faces = []
    for rect in detector(pixels, 1):
        shape = predictor(pixels, rect)
        embedding = np.array(encoder.compute_face_descriptor(pixels, shape, 1), dtype=np.float32)
        box = [max(0, rect.left()), max(0, rect.top()), min(w, rect.right()), min(h, rect.bottom())]
        faces.append(([v * scale for v in box], embedding))
    return faces


def _fr_cli(path: str):
    return encode_photo(path, FR_MAX_SIDE)


def run_method(method: str, photos: Path, rels: list[str], result: Path) -> None:
    """Body of the child process for (a) or (b): write {rel: faces} to `result`."""
    paths = [str(photos / rel) for rel in rels]
    if method == "a":
        found = [encode_photo(p) for p in paths]
    else:  # as face_recognition_cli.process_images_in_process_pool, with --cpus = all cores
        from multiprocessing import get_context

        with get_context("forkserver").Pool(CORES) as pool:
            found = pool.map(_fr_cli, paths)
    result.write_bytes(pickle.dumps(dict(zip(rels, found, strict=True))))


def tree_usage(root: int) -> tuple[int, dict[int, float]]:
    """Summed RSS (bytes) of `root` and its descendants, and each one's CPU seconds, from /proc."""
    procs = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces
        procs[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21]))
    tree, new = set(), {root}
    while new:
        tree |= new
        new = {pid for pid, (ppid, _, _) in procs.items() if ppid in new} - tree
    tree &= procs.keys()
    return (sum(procs[p][2] for p in tree) * os.sysconf("SC_PAGE_SIZE"),
            {p: procs[p][1] / os.sysconf("SC_CLK_TCK") for p in tree})


def timed(cmd: list[str], env: dict | None = None) -> tuple[str, dict]:
    """Run `cmd`; its stdout, wall time, CPU time and peak RSS of its whole process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    peak, cpu, done = 0, {}, threading.Event()

    def sample():  # every 0.1 s: ru_maxrss would give the largest process, not the sum
        nonlocal peak
        while not done.wait(0.1):
            rss, seconds = tree_usage(proc.pid)
            peak = max(peak, rss)
            cpu.update({p: max(s, cpu.get(p, 0.0)) for p, s in seconds.items()})

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode:
        sys.exit(f"bench: {shlex.join(cmd[:6])} ... failed with {proc.returncode}:\n{err}")
    # Sampled rather than from getrusage(RUSAGE_CHILDREN), which misses pool workers their
    # parent never waited for; what is lost is each process's last 0.1 s.
    return out, {"wall": wall, "cpu": sum(cpu.values()), "cpu_main": cpu.get(proc.pid, 0.0),
                 "rss": peak}


def match(truth: list[dict], boxes: list) -> dict[int, int]:
    """Detection index -> truth index, greedily by box IoU (>= 0.5), one to one."""
    from photokosh.faces import box_iou

    pairs = sorted(((box_iou(t["box"], b), ti, di) for ti, t in enumerate(truth)
                    for di, b in enumerate(boxes)), reverse=True)
    found: dict[int, int] = {}
    for score, ti, di in pairs:
        if score >= 0.5 and di not in found and ti not in found.values():
            found[di] = ti
    return found


def score(truth: dict, found: dict, rels: list[str], min_face: int) -> dict:
    """Recall, precision and BCubed F of {rel: [(box, embedding or person id)]} on `rels`."""
    from sklearn.cluster import DBSCAN

    from photokosh.cluster import DEFAULT_SETTINGS, cluster_faces
    from photokosh.metrics import bcubed_scores

    people, payloads, groups, faces_of, hit, hit_big = [], [], [], [], 0, 0
    for g, rel in enumerate(rels):
        faces, dets = truth[rel], found.get(rel, [])
        matched = match(faces, [box for box, _ in dets])
        hit += len(matched)
        hit_big += sum(faces[t]["box"][2] - faces[t]["box"][0] >= min_face
                       for t in matched.values())
        for di, (_, payload) in enumerate(dets):
            people.append(faces[matched[di]]["person"] if di in matched else None)
            faces_of.append((rel, matched.get(di)))
            payloads.append(payload)
            groups.append(g)
    every = [f for rel in rels for f in truth[rel]]
    big = sum(f["box"][2] - f["box"][0] >= min_face for f in every)
    row = {"faces": len(payloads), "recall": hit / max(len(every), 1),
           "recall_big": hit_big / max(big, 1), "precision": hit / max(len(payloads), 1)}
    keep = np.array([p is not None for p in people], dtype=bool)  # false positives: unscored
    if not keep.any():
        return row
    true = np.array(people, dtype=object)[keep].astype(str)
    if isinstance(payloads[0], np.ndarray):  # (a), (b): cluster the embeddings both ways
        emb = np.stack(payloads)
        pred = np.asarray(cluster_faces(emb, np.array(groups), DEFAULT_SETTINGS))
        row["bcubed"] = bcubed_scores(true, pred[keep])[2]
        row["bcubed_dbscan"] = bcubed_scores(
            true, DBSCAN(eps=0.5, min_samples=1).fit_predict(emb)[keep])[2]
    else:  # (c): the people photokosh made; a face of nobody gets a person of its own
        ids = {p: i for i, p in enumerate(sorted({p for p in payloads if p is not None}))}
        pred = np.array([ids[p] if p is not None else len(ids) + i
                         for i, p in enumerate(payloads)])
        row["bcubed"] = bcubed_scores(true, pred[keep])[2]
    # each correctly found truth face -> (its person, the group it was put in)
    row["labels"] = {faces_of[i]: (people[i], int(pred[i])) for i in np.flatnonzero(keep)}
    if all("picture" in f for f in every):  # not in albums made before make_album kept them
        row["pictures"] = {(rel, t): truth[rel][t]["picture"] for rel, t in row["labels"]}
    return row


def common_text(rows: dict) -> str | None:
    """BCubed F of (b) and (c) on the truth faces both found: with more faces found, a method
    also has more hard faces to cluster, so this compares the clustering of the same faces."""
    from photokosh.metrics import bcubed_scores

    if not all("labels" in rows.get(k, {}) for k in "bc"):  # none found: no labels
        return None
    both = sorted(rows["b"]["labels"].keys() & rows["c"]["labels"].keys())
    scores = {}
    for key in "bc":
        labels = rows[key]["labels"]
        true = np.array([labels[f][0] for f in both])
        scores[key] = bcubed_scores(true, np.array([labels[f][1] for f in both]))[2]
    return (f"BCubed F on the {len(both)} truth faces that (b) and (c) both found: "
            f"(b) {scores['b']:.4f}, (c) {scores['c']:.4f}.")


def pictures_text(rows: dict) -> str | None:
    """make_album pastes an LFW picture more than once (in big albums, many times), so BCubed F
    weighs a picture by the copies of it a method found. This compares where (b) and (c) put
    each picture's copies: in their person's main group or elsewhere. A method's main group of
    a person holds most of the person's faces it found (ties: the group holding the first
    face); a face (c) gave nobody has a group of its own, so it is elsewhere. Pictures are
    compared on the copies both found; the copies only one found are counted apart."""
    if not all("pictures" in rows.get(k, {}) for k in "bc"):
        return None
    in_main = {}
    for key in "bc":
        labels = rows[key]["labels"]
        first, count = {}, Counter(labels.values())  # (person, group) -> first face, faces
        for face, pair in sorted(labels.items()):
            first.setdefault(pair, face)
        main: dict = {}
        for person, group in sorted(count, key=lambda pair: (-count[pair], first[pair])):
            main.setdefault(person, group)
        in_main[key] = {face: group == main[person] for face, (person, group) in labels.items()}
    pictures = {**rows["b"]["pictures"], **rows["c"]["pictures"]}
    inside: dict = {}  # picture -> [copies both found, of them in (b)'s main group, in (c)'s]
    for face in in_main["b"].keys() & in_main["c"].keys():
        counts = inside.setdefault(pictures[face], [0, 0, 0])
        counts[0] += 1
        counts[1] += in_main["b"][face]
        counts[2] += in_main["c"][face]
    differ = [f"{pic} ({b} of {n} copies in the main group for (b), {c} for (c))"
              for pic, (n, b, c) in sorted(inside.items()) if b != c]
    only = []
    for key, other in ("bc", "cb"):
        faces = in_main[key].keys() - in_main[other].keys()
        only.append(f"only ({key}) found {len(faces)}, "
                    f"{sum(not in_main[key][f] for f in faces)} of them outside the main group")
    return (f"Pictures: the truth faces found are copies of {len(set(pictures.values()))} LFW "
            f"pictures. Of the {len(inside)} with copies that (b) and (c) both found, they put as "
            f"many of those copies in the person's main group for all but {len(differ)}"
            f"{': ' + '; '.join(differ) if differ else ''}. Copies {'; '.join(only)}.")


def stored_faces(out: Path) -> dict[str, list]:
    """{rel: [(box, embedding)]} of the faces run (c) stored in its output folder's state."""
    from photokosh.state import State

    state = State(out, create=False, readonly=True)
    try:
        key = state.get_meta("last_run")["key"]  # the model and settings the run used
        by_hash: dict[str, list] = {}
        for face in state.current_faces(key):
            if not face.forgotten:
                by_hash.setdefault(face.hash, []).append((list(face.box), face.embedding))
        return {rel: by_hash.get(row.hash, []) for rel, row in state.photo_rows().items()}
    finally:
        state.close()


def truth_embeddings(truth: dict, found: dict, rels: list[str]) -> dict:
    """(rel, truth face index) -> embedding, for every truth face found."""
    out = {}
    for rel in rels:
        dets = found.get(rel, [])
        for di, ti in match(truth[rel], [box for box, _ in dets]).items():
            out[(rel, ti)] = np.asarray(dets[di][1], dtype=np.float64)
    return out


def pair_measures(emb: np.ndarray, people: np.ndarray) -> dict:
    """How well embeddings tell people apart, pair by pair (no clustering, so no threshold
    cascades): ROC AUC of -distance as a same-person score, the error rates of dlib's
    same-person test (distance <= 0.6), and, among the faces whose person has other faces,
    those whose RMS distance to another person's faces is smaller than to their own
    person's other faces."""
    from scipy.spatial.distance import cdist, pdist, squareform
    from sklearn.metrics import roc_auc_score

    codes = np.unique(people, return_inverse=True)[1].ravel()
    sq = cdist(emb, emb, "sqeuclidean")
    dist = np.sqrt(squareform(sq, checks=False))  # each pair once, from the same matrix
    same = pdist(codes[:, None].astype(float)) == 0
    own, other = np.full(len(emb), np.nan), np.full(len(emb), np.inf)
    for code in np.unique(codes):
        mine = codes == code
        total, n = sq[:, mine].sum(axis=1), mine.sum()
        if n > 1:  # leaving the face itself out (its distance to itself is 0)
            own[mine] = np.sqrt(total[mine] / (n - 1))
        other[~mine] = np.minimum(other[~mine], np.sqrt(total[~mine] / n))
    return {"auc": roc_auc_score(same, -dist), "false_split": float((dist[same] > 0.6).mean()),
            "false_match": float((dist[~same] <= 0.6).mean()),
            "nearer_other": int((other < own).sum()), "with_others": int((own >= 0).sum())}


def both_found(rows: dict) -> tuple[list, np.ndarray, dict] | None:
    """The truth faces (b) and (c) both found, their people, and each method's embeddings of
    them; None without two such faces (or with a --save file older than the embeddings)."""
    if not all("embeddings" in rows.get(k, {}) for k in "bc"):
        return None
    both = sorted(rows["b"]["embeddings"].keys() & rows["c"]["embeddings"].keys())
    if len(both) < 2:
        return None
    people = np.array([rows["b"]["labels"][f][0] for f in both])
    return both, people, {k: np.stack([rows[k]["embeddings"][f] for f in both]) for k in "bc"}


def pair_text(rows: dict) -> str | None:
    """pair_measures of (b) and (c) on the truth faces both found."""
    found = both_found(rows)
    if found is None:
        return None
    both, people, emb = found
    parts = []
    for key in "bc":
        m = pair_measures(emb[key], people)
        parts.append(f"({key}) ROC AUC {m['auc']:.5f}, same-person pairs over 0.6 "
                     f"{m['false_split']:.2%}, different-person pairs within 0.6 "
                     f"{m['false_match']:.3%}, faces nearer (RMS) another person's faces "
                     f"than their own person's {m['nearer_other']} of {m['with_others']}")
    return f"Embeddings of the {len(both)} truth faces both found, pair by pair: " \
        + "; ".join(parts) + "."


def same_faces_text(rows: dict, halves: int = 200, seed: int = 0) -> str | None:
    """Cluster only the truth faces (b) and (c) both found, each with its own embeddings, on
    the whole album and on random halves of its photos. With the same faces in, a difference in
    BCubed F comes from the embeddings alone; the halves show how far it moves from one subset
    of the album to another. They share the album's pictures, so they are not independent
    samples: no significance test is made of them."""
    from photokosh.cluster import cluster_faces
    from photokosh.metrics import bcubed_scores

    found = both_found(rows)
    if found is None:
        return None
    both, people, emb = found
    photo = np.unique([rel for rel, _ in both], return_inverse=True)[1].ravel()

    def f(key: str, keep: np.ndarray) -> float:
        return bcubed_scores(people[keep], cluster_faces(emb[key][keep], photo[keep]))[2]

    whole = np.ones(len(both), dtype=bool)
    rng, n = np.random.default_rng(seed), int(photo.max()) + 1
    diff = []
    for _ in range(halves):
        keep = np.isin(photo, rng.choice(n, n // 2, replace=False))
        diff.append(f("c", keep) - f("b", keep))
    diff = np.array(diff)
    higher, lower = int((diff > 1e-12).sum()), int((diff < -1e-12).sum())
    low, high = np.percentile(diff, [2.5, 97.5])
    return (f"The {len(both)} truth faces both found, clustered alone (each method's own "
            f"embeddings): BCubed F (b) {f('b', whole):.4f}, (c) {f('c', whole):.4f}. On "
            f"{halves} random halves of the photos (seed {seed}), (c) minus (b): higher in "
            f"{higher}, equal in {halves - higher - lower}, lower in {lower}; mean "
            f"{diff.mean():+.4f}, 95% of the halves within "
            f"[{low:+.4f}, {high:+.4f}].")


# Put first on run (c)'s PYTHONPATH as sitecustomize.py, so that every process of the run (the
# command, the forkserver and the workers it forks) times dlib's working calls with
# process_time and keeps its running totals in $PHOTOKOSH_BENCH_PROBE/<pid>.json. Model
# loading is not counted as dlib's work. cProfile cannot do this: a call into a pybind11
# object is invisible to it.
PROBE = '''
import json, os, time
import dlib

_folder = os.environ["PHOTOKOSH_BENCH_PROBE"]
_spent = {}


def _timed(fn, kind):
    def call(*args, **kwargs):
        start = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _spent[kind] = _spent.get(kind, 0.0) + time.process_time() - start
            with open(os.path.join(_folder, f"{os.getpid()}.json"), "w") as f:
                json.dump(_spent, f)
    return call


class _Model:
    def __init__(self, inner, kind):
        self._inner, self._kind, self._call = inner, kind, _timed(inner, kind)

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        return _timed(attr, self._kind) if name in ("run", "compute_face_descriptor") else attr


def _maker(make, kind):
    return lambda *args: _Model(make(*args), kind)


for _name, _kind in [("get_frontal_face_detector", "detector"),
                     ("cnn_face_detection_model_v1", "detector"),
                     ("shape_predictor", "landmarks"),
                     ("face_recognition_model_v1", "encoder")]:
    setattr(dlib, _name, _maker(getattr(dlib, _name), _kind))
'''


def probe_env(tmp: Path) -> dict:
    """Environment for a run whose dlib calls are timed (PROBE); totals land in tmp/probe."""
    for folder in ("probe", "probe-site"):
        shutil.rmtree(tmp / folder, ignore_errors=True)
        (tmp / folder).mkdir(parents=True)
    (tmp / "probe-site" / "sitecustomize.py").write_text(PROBE)
    path = os.pathsep.join(filter(None, [str(tmp / "probe-site"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PHOTOKOSH_BENCH_PROBE": str(tmp / "probe")}


def probe_totals(tmp: Path) -> dict[str, float]:
    """dlib CPU seconds by kind, summed over every process of the probed run."""
    totals: dict[str, float] = {}
    for f in (tmp / "probe").glob("*.json"):
        for kind, seconds in json.loads(f.read_text()).items():
            totals[kind] = totals.get(kind, 0.0) + seconds
    return totals


def sample(rels: list[str], k: int | None) -> list[str]:
    if not k or k >= len(rels):
        return rels
    return [rels[i] for i in np.linspace(0, len(rels) - 1, k).round().astype(int)]


def bench(album: Path, tmp: Path, args) -> tuple[dict, list[str]]:
    truth = json.loads((album / "truth.json").read_text())
    photos, rels, rows, notes = album / "photos", sorted(truth), {}, []
    if "c" not in args.skip:
        out = tmp / "out"
        report, cost = timed([sys.executable, "-m", "photokosh", "sort", str(photos), "-o",
                              str(out), "--json", "-q", *shlex.split(args.pk_args)],
                             env=probe_env(tmp))
        found = {p["path"]: [(f["box"], f["person"]) for f in p["faces"]]
                 for p in json.loads(report)["photos"]}
        rows["c"] = {**cost, "n": len(rels), **score(truth, found, rels, args.min_face),
                     "dlib": probe_totals(tmp),
                     "embeddings": truth_embeddings(truth, stored_faces(out), rels)}
        shutil.rmtree(out)  # its copies of the photos: several GB on a big album
    for method in ("b", "a"):
        if method in args.skip:
            continue
        chosen = sample(rels, args.naive_sample) if method == "a" else rels
        result = tmp / f"{method}.pkl"
        _, cost = timed([sys.executable, __file__, "--run-method", method, str(photos),
                         str(result), *chosen])
        found = pickle.loads(result.read_bytes())
        rows[method] = {**cost, "n": len(chosen), **score(truth, found, chosen, args.min_face),
                        "embeddings": truth_embeddings(truth, found, chosen)}
        if len(chosen) < len(rels):
            notes.append(f"(a) ran on {len(chosen)} of {len(rels)} photos (evenly spaced): its "
                         "rates are extrapolated from them, its accuracy is the sample's.")
    return rows, notes


def table(rows: dict, args) -> list[str]:
    names = {"a": "(a) naive: full size, HOG up 1, 1 process",
             "b": f"(b) face_recognition CLI: <= {FR_MAX_SIDE} px, HOG up 1, {CORES} processes",
             "c": f"(c) photokosh sort {args.pk_args or '(defaults)'}"}
    lines = ["| method | photos/s | faces/s | CPU s/photo | peak RSS MB | face recall | "
             f"recall >= {args.min_face} px | precision | BCubed F | BCubed F, DBSCAN 0.5 |",
             "|" + " --- |" * 10]
    rate = {k: r["n"] / r["wall"] for k, r in rows.items()}
    for key, r in sorted(rows.items()):
        cells = [names[key], f"{rate[key]:.3f}", f"{r['faces'] / r['wall']:.2f}",
                 f"{r['cpu'] / r['n']:.2f}", f"{r['rss'] / 2**20:.0f}", f"{r['recall']:.4f}",
                 f"{r['recall_big']:.4f}", f"{r['precision']:.4f}",
                 *(f"{r[k]:.4f}" if k in r else "-" for k in ("bcubed", "bcubed_dbscan"))]
        lines.append("| " + " | ".join(cells) + " |")
    ratios = [f"c/{k} = {rate['c'] / rate[k]:.2f}x" for k in "ab" if k in rate and "c" in rate]
    return lines + ([f"\nSpeed (photos/s): {', '.join(ratios)}."] if ratios else [])


def share_text(run: dict) -> str:
    """How much of run (c)'s CPU time (every process, start-up included) was dlib's work."""
    spent = run["dlib"]
    work = sum(spent.get(k, 0.0) for k in ("detector", "landmarks", "encoder"))
    if not work:
        return "photokosh's CPU share in dlib: no dlib call was seen (did the embedder change?)"
    return (f"Run (c)'s CPU time inside dlib's detector, landmarks and encoder: "
            f"{work / run['cpu']:.1%} (detector {spent.get('detector', 0):.0f} s, landmarks "
            f"{spent.get('landmarks', 0):.0f} s, encoder {spent.get('encoder', 0):.0f} s, of "
            f"{run['cpu']:.0f} s CPU over all its processes, start-up and model loading "
            f"included; its main process, which scans, stores, clusters, copies and writes the "
            f"page, used {run['cpu_main']:.0f} s of it). Each process of the run timed its "
            "dlib calls with process_time (bench.py's PROBE, loaded as sitecustomize).")


NOTES = (
    "Wall time: each command from start to exit. CPU and peak RSS: summed over its process tree "
    "(RSS sampled from /proc every 0.1 s; shared pages count once per process). Recall and "
    "precision: box IoU >= 0.5 with the truth. BCubed F: over the correctly detected faces; (a) "
    "and (b) clustered with photokosh.cluster.cluster_faces (defaults, one group per photo) and "
    "with plain DBSCAN (eps 0.5, min_samples 1) as the peer scripts do. (b) applies the EXIF "
    "orientation, which the real face_recognition CLI does not (it misses rotated photos' faces).")


def comparisons(rows: dict) -> list[str]:
    """(b) against (c) on the truth faces both found."""
    return [text for text in [common_text(rows), pictures_text(rows), same_faces_text(rows),
                              pair_text(rows)] if text]


def albums_text(saved: dict[str, dict]) -> str:
    """The table's BCubed F of (b) and (c) on several albums, each from its own run."""
    runs = {name: rows for name, rows in saved.items()
            if "bcubed" in rows.get("b", {}) and "bcubed" in rows.get("c", {})}
    if not runs:
        return "No file holds both (b)'s and (c)'s BCubed F."
    diff = np.array([rows["c"]["bcubed"] - rows["b"]["bcubed"] for rows in runs.values()])
    parts = [f"{name} (b) {rows['b']['bcubed']:.4f}, (c) {rows['c']['bcubed']:.4f}"
             for name, rows in runs.items()]
    albums = f"{len(runs)} album{'s' * (len(runs) > 1)}"
    return (f"BCubed F on {albums}: {'; '.join(parts)}. (c) minus (b): mean "
            f"{diff.mean():+.4f}; (c) at least (b)'s on {int((diff >= 0).sum())} of {len(diff)}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--album", type=Path, help="made by make_album.py: photos/, truth.json")
    parser.add_argument("--photos", type=int, default=12, help="without --album: photos to make")
    parser.add_argument("--seed", type=int, default=0, help="without --album: the album's seed")
    parser.add_argument("--skip", default="", help="methods to skip, e.g. a or a,b")
    parser.add_argument("--naive-sample", type=int, metavar="K",
                        help="time (a) on K evenly spaced photos and extrapolate its rates")
    parser.add_argument("--min-face", type=int, default=100,
                        help="faces at least this wide (px) count for the 'big' recall")
    parser.add_argument("--pk-args", default="", help="extra arguments for photokosh sort")
    parser.add_argument("--save", type=Path, metavar="FILE",
                        help="also keep every measure, each found face's group and the "
                        "embeddings of the truth faces found (pickle)")
    parser.add_argument("--rescore", type=Path, nargs="+", metavar="FILE",
                        help="run nothing: compare (b) and (c) again from --save FILEs, "
                        "each an album's run, and sum up over them")
    args = parser.parse_args()
    if args.rescore:
        saved = {str(path): pickle.loads(path.read_bytes()) for path in args.rescore}
        for name, rows in saved.items():
            print("\n".join([f"{name}:", *comparisons(rows), ""]))
        if len(saved) > 1:
            print(albums_text(saved))
        return
    with tempfile.TemporaryDirectory(prefix="photokosh-bench-") as tmp:
        album = args.album
        if album is None:
            sys.path.insert(0, str(Path(__file__).parent))
            from make_album import make_album

            album = Path(tmp) / "album"
            make_album(album, args.photos, args.seed)
        truth = json.loads((album / "truth.json").read_text())
        people = {f["person"] for v in truth.values() for f in v}
        print(f"Album {album}: {len(truth)} photos, {sum(map(len, truth.values()))} faces of "
              f"{len(people)} people; {CORES} cores.\n")
        rows, notes = bench(album, Path(tmp), args)
    if args.save:
        args.save.write_bytes(pickle.dumps(rows))
    lines = table(rows, args) + ([share_text(rows["c"])] if "c" in rows else [])
    lines += comparisons(rows)
    print("\n".join([*lines, "", *notes, NOTES]))
    print("\nCommand: uv run python benchmarks/bench.py " + shlex.join(sys.argv[1:]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run-method"]:
        run_method(sys.argv[2], Path(sys.argv[3]), sys.argv[5:], Path(sys.argv[4]))
    else:
        main()
