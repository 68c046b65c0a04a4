"""Stage 6b: the review page OUT/index.html, with face thumbnails, from a run's catalogue."""

from __future__ import annotations

from pathlib import Path

from .catalog import Catalog
from .page import render_page, write_page
from .state import State
from .thumbs import ThumbRequest, make_thumbnails

FACES_SHOWN = 12
UNKNOWN_SHOWN = 60


def publish_page(catalog: Catalog, report: dict, state: State, *, blurred: bool,
                 workers: int = 1) -> Path:
    """Write OUT/index.html: thumbnails for each person's most typical faces (cut from the
    blurred copies with --blur, so the page shows no face either) and for unknown faces."""
    where: dict[int, tuple[str, str, tuple]] = {}
    unknown: list[int] = []
    for photo in catalog.photos:
        for face in photo.faces:
            if face.forgotten or face.not_face or face.id in where:
                continue  # a duplicate photo shows the same face: the first path names it
            where[face.id] = (photo.rel, photo.hash, face.box)
            if face.person is None:
                unknown.append(face.id)
    shown = {p.id: p.typical[:FACES_SHOWN] for p in catalog.people}
    unknown = unknown[:UNKNOWN_SHOWN]
    wanted = [fid for ids in shown.values() for fid in ids] + unknown
    requests = [ThumbRequest(fid, where[fid][0], tuple(where[fid][2]), where[fid][1])
                for fid in wanted if fid in where]
    # The thumbnails the analysis cut stay for later pages (not with blurred output, whose
    # pages show no unblurred face): a person's most typical faces change as they grow.
    keep = [] if blurred else [(photo.hash, tuple(face.box)) for photo in catalog.photos
                               for face in photo.faces if not face.forgotten]
    thumbs = make_thumbnails(catalog.output, catalog.source, requests, blurred=blurred,
                             workers=workers, keep=keep)
    html = render_page(report, shown, thumbs, unknown_faces=unknown,
                       face_photos={fid: where[fid][0] for fid in wanted if fid in where})
    return write_page(catalog.output, html, state)
