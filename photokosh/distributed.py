"""The face stage on an existing Dask cluster (`sort --scheduler tcp://HOST:8786`).

Only imported when a scheduler is given: Dask is an optional extra (photokosh[dask]). Workers
must see the photos under the same absolute paths (a shared mount) and have photokosh and its
models installed. Results stream back as batches finish, into the same state a local run
fills, so an interrupted distributed run resumes like a local one.
"""

from __future__ import annotations

from collections.abc import Iterator

from .analyze import Analysis, analyze_file
from .errors import PhotokoshError
from .faces import Embedder
from .scan import Candidate

# Photos per task. A 12 MP photo costs about 0.3-1 core-seconds while Dask spends about a
# millisecond per task, so even small batches keep scheduling overhead far below 5%; small
# batches also keep the cluster busy to the end and lose little work when a worker dies.
BATCH = 8

_models: dict[str, Embedder] = {}


def _analyze_batch(jobs: list[Candidate], embedder: Embedder, known: frozenset[str],
                   thumb_size: int | None = None) -> list[Analysis]:
    # One embedder (and so one set of loaded models) per worker process and settings: tasks
    # arrive with a freshly unpickled embedder whose models are not loaded yet.
    kept = _models.setdefault(embedder.key, embedder)
    return [analyze_file(job, kept, known, thumb_size) for job in jobs]


def analyze_on_cluster(jobs: list[Candidate], embedder: Embedder, known: frozenset[str],
                       scheduler: str, batch: int = BATCH,
                       thumb_size: int | None = None) -> Iterator[Analysis]:
    """Yield one Analysis per job as the cluster finishes them (in completion order)."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise PhotokoshError("--scheduler needs Dask: pip install 'photokosh[dask]'") from exc
    try:
        client = Client(scheduler, timeout=30)
    except OSError as exc:
        raise PhotokoshError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    try:
        if not jobs:
            return
        # in a list, or Dask would scatter the set's members one by one
        [known_future] = client.scatter([known], broadcast=True)
        batches = [jobs[i:i + batch] for i in range(0, len(jobs), batch)]
        futures = client.map(_analyze_batch, batches, embedder=embedder,
                             known=known_future, thumb_size=thumb_size, pure=False)
        for future in as_completed(futures):
            yield from future.result()
            future.release()
    finally:
        client.close()
