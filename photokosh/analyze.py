"""Stage 3 driver: run images + faces over many photos, in parallel, streaming results.

Each worker process loads the models once (the embedder loads lazily and is pickled without
them). A photo whose content was analysed before (same hash, same settings) is hashed but
never decoded.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context

from PIL import Image

from . import images, thumbs, xmp
from .errors import UnreadablePhoto
from .faces import Embedder, Face
from .records import Region
from .scan import Candidate

log = logging.getLogger(__name__)

# Fewer photos than this are analysed in this process: worker processes start 0.5-1 s late
# and cost ~0.35 s of CPU each (imports, models), which 12 MP photos at ~0.22 s each repay
# from 6-8 photos on 2 free cores (docs/performance.md, "A small run").
POOL_FROM = 8
ANALYSING = "analysing"  # the state's meta key marking an analysis under way: + "/" + what


@contextmanager
def crash_mark(state, what: str) -> Iterator[bool]:
    """Mark in `state` (a State, outside any transaction, so that the mark is on disk) that
    `what` ("photos", "references") is being analysed, and say whether an earlier run left
    that mark: it died while analysing them, maybe killed by a photo that crashes a native
    decoder in its own process, so this run's analysis is to `isolate` it in workers."""
    key = f"{ANALYSING}/{what}"
    died = bool(state.get_meta(key))
    state.set_meta(key, True)
    yield died
    state.set_meta(key, None)  # not on an exception: the next run isolates, harmlessly


@dataclass
class Analysis:
    job: Candidate  # the photo analysed
    hash: str | None = None
    width: int = 0
    height: int = 0
    faces: list[Face] | None = None  # None: content already analysed (cached) or unreadable
    error: str | None = None
    cached: bool = False
    thumbs: list[bytes] | None = None  # a JPEG per face, when asked for (thumb_size)
    regions: list[Region] | None = None  # faces named in its XMP by other tools (xmp.py)


def analyze_file(job: Candidate, embedder: Embedder, known: frozenset[str] = frozenset(),
                 thumb_size: int | None = None) -> Analysis:
    """Hash one photo and, unless its content is in `known`, find and embed its faces; with
    `thumb_size`, also cut each face's thumbnail from the image decoded for them."""
    result = Analysis(job)
    try:
        data = images.read_bytes(job.path)
        result.hash = images.content_hash(data)
        if result.hash in known:
            result.cached = True
            return result
        image = images.open_image(data)
        result.width, result.height = images.displayed_size(image)
        # here, so that the names other tools gave are cached with the analysis, by content
        result.regions = xmp.regions_of(job.path, data, result.width, result.height)
        scale = embedder.detection_scale(result.width, result.height)
        decoded = images.decode(image, scale, exact=False)
        result.faces = embedder.faces(decoded)
        if thumb_size and result.faces:
            image = decoded.image if decoded.image is not None else Image.fromarray(decoded.pixels)
            result.thumbs = [thumbs.face_thumbnail(image, decoded.scale, face.box,
                                                   result.width, result.height, thumb_size)
                             for face in result.faces]
    except UnreadablePhoto as exc:
        result.error = exc.reason
    except MemoryError:
        result.error = "not enough memory to process this photo"
    return result


def split_duplicates(jobs: list[Candidate]) -> tuple[list[Candidate], list[Analysis]]:
    """Find byte-identical photos among `jobs` so that each content is analysed once.

    Only photos that share their size with another are hashed here (identical files have
    equal sizes), so a library without duplicates costs nothing extra. Returns the jobs to
    analyse and, for each extra copy, an Analysis marked cached with its hash: to be stored
    after the analysis of its first copy."""
    sizes = Counter(job.size for job in jobs)
    first: dict[str, Candidate] = {}
    unique, copies = [], []
    for job in jobs:
        if sizes[job.size] > 1:
            try:
                digest = images.content_hash(images.read_bytes(job.path))
            except UnreadablePhoto:
                unique.append(job)  # the worker will report why
                continue
            if digest in first:
                copies.append(Analysis(job, hash=digest, cached=True))
                continue
            first[digest] = job
        unique.append(job)
    return unique, copies


_worker: dict = {}


def exit_when_gone(main_pid: int) -> None:
    """End this worker as soon as the main process `main_pid` is gone, however it died: a
    kill -9 runs no clean-up, and the forkserver (the workers' parent) lives on, so neither
    the pool nor a parent-death signal would end them. With the workers gone, the forkserver
    and the resource tracker exit by themselves."""
    try:
        fd = os.pidfd_open(main_pid)
    except ProcessLookupError:
        os._exit(1)  # died already
    except (AttributeError, OSError):  # no pidfd (not Linux 5.3+): look every second
        def poll() -> None:
            while True:
                time.sleep(1)
                try:
                    os.kill(main_pid, 0)
                except (ProcessLookupError, PermissionError):  # gone, or its pid reused
                    os._exit(1)

        threading.Thread(target=poll, daemon=True).start()
        return

    def watch() -> None:
        select.select([fd], [], [])  # readable when the process has exited
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _init_worker(main_pid: int, embedder: Embedder, known: frozenset[str],
                 thumb_size: int | None) -> None:
    # The main process alone ends workers (kill_workers when it is interrupted): a Ctrl-C or
    # SIGTERM to the process group must not look like a photo that crashed its worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_when_gone(main_pid)
    # One BLAS/OpenMP thread per worker: the workers already use every core.
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass
    _worker["embedder"] = embedder
    _worker["known"] = known
    _worker["thumb_size"] = thumb_size


def _run(job: Candidate) -> Analysis:
    return analyze_file(job, _worker["embedder"], _worker["known"], _worker["thumb_size"])


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def analyze(jobs: Iterable[Candidate], embedder: Embedder, *, known: frozenset[str] = frozenset(),
            workers: int | None = None, thumb_size: int | None = None,
            isolate: bool = False) -> Iterator[Analysis]:
    """Yield one Analysis per job, in completion order.

    A photo that kills its worker process (a crash inside a native decoder) is retried alone
    once; if it kills the worker again it is reported as unreadable and the run goes on.
    `workers` 1 analyses in this process, and so do fewer than POOL_FROM photos unless
    `isolate` (a run died while analysing in its own process: the photo that killed it, if
    one did, is to be named, not to kill this run too).
    """
    jobs = list(jobs)
    requested = workers or default_workers()
    here = requested <= 1 or len(jobs) < POOL_FROM and not isolate
    workers = min(requested, len(jobs))
    log.info("analysing %d photos with %s", len(jobs),
             "this process" if here else f"{workers} worker processes")
    if here or not jobs:
        for job in jobs:
            yield analyze_file(job, embedder, known, thumb_size)
        return
    suspects: list[Candidate] = []
    setup = (os.getpid(), embedder, known, thumb_size)
    yield from _pool_run(jobs, setup, workers, suspects)
    for job in suspects:  # each alone, so a crash names its photo
        log.debug("retrying %s alone: a worker process died while it was being analysed",
                  job.rel)
        survivors: list[Candidate] = []
        results = list(_pool_run([job], setup, 1, survivors))
        if results:
            yield from results
        else:
            yield Analysis(job, error="crashed the image decoder (worker process died); "
                                      "the file is probably damaged")


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """End `pool`'s worker processes now, whatever they are doing."""
    kill = getattr(pool, "kill_workers", None)  # Python 3.14+
    if kill is not None:
        kill()
        return
    for process in list((pool._processes or {}).values()):
        process.kill()


def _pool_run(jobs: list[Candidate], setup: tuple, workers, suspects: list[Candidate]):
    queue = deque(jobs)
    rest: list[Candidate] = []
    ctx = get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=setup) as pool:
        running: dict = {}
        try:
            while queue or running:
                while queue and len(running) < workers * 3:
                    job = queue.popleft()
                    running[pool.submit(_run, job)] = job
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    result = future.result()  # raises if the pool broke: job stays a suspect
                    del running[future]
                    yield result
        except BrokenProcessPool:
            suspects.extend(running.values())
            rest = list(queue)
        except BaseException:  # interrupted, or the caller stopped reading (GeneratorExit)
            kill_workers(pool)  # else leaving the pool waits for every photo submitted
            raise
    if rest:  # never started: run them in a fresh pool
        yield from _pool_run(rest, setup, workers, suspects)
