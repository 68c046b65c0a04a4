"""Stage 6: the JSON report (schema 1; later versions only add keys)."""

from __future__ import annotations

import json
from pathlib import Path

from .catalog import Catalog, FaceEntry
from .layout import REPORT, report_file
from .own import write
from .scan import RAW_REASON
from .state import State
from .version import __version__

SCHEMA = 1


def build(catalog: Catalog, seconds: float) -> dict:
    """The report as a JSON-ready dict."""
    photos = catalog.photos
    # A forgotten person's faces stay boxes that belong to nobody: their photos count as
    # photos of unknown people, as organize places them.
    faces = {p.rel: [f for f in p.faces if not f.not_face] for p in photos}
    with_faces = [p for p in photos if faces[p.rel]]
    unknown = [p for p in with_faces if not any(_person(f) for f in p.faces)]
    unrecognised = [f for fs in faces.values() for f in fs if f.unrecognised]  # as `faces`
    return {
        "schema": SCHEMA,
        "photokosh": __version__,
        "source": str(catalog.source),
        "output": str(catalog.output),
        "settings": catalog.settings,
        "summary": {
            "photos": len(photos),
            "photos_with_faces": len(with_faces),
            "faces": sum(map(len, faces.values())),
            "people": len(catalog.people),
            "unknown_photos": len(unknown),
            "unrecognised_faces": len(unrecognised),
            "no_face_photos": len(photos) - len(with_faces),
            "errors": len(catalog.errors),
            "seconds": round(seconds, 3),
            "new_photos": sum(p.new for p in photos),
            "reused_photos": catalog.reused,
            "analysed_photos": catalog.analysed,
            "ignored_files": catalog.ignored,
            "hidden_files": catalog.hidden,
            "missing_photos": catalog.missing,
            "acknowledged_files": catalog.acknowledged,
            "learned": len(catalog.learned),
        },
        "people": [
            {
                "id": person.id,
                "name": person.name,
                "folder": person.folder,
                "photo_count": len(person.photos),
                "face_count": person.face_count,
                "new_photos": person.new_photos,
                **person.cohesion,
                "photos": [printable(r) for r in person.photos],
            }
            for person in catalog.people
        ],
        "photos": [
            {
                "path": printable(p.rel),
                "width": p.width,
                "height": p.height,
                "faces": [{"id": f.id, "box": list(f.box), "person": _person(f),
                           "score": round(f.score, 3), "unrecognised": f.unrecognised}
                          for f in faces[p.rel]],
            }
            for p in photos
        ],
        "errors": [{"path": printable(rel), "reason": reason} for rel, reason in catalog.errors],
        "duplicates": [[printable(r) for r in group] for group in catalog.duplicates()],
        "aliases": [{"path": printable(rel), "same_file_as": printable(other)}
                    for rel, other in catalog.aliases],
        "not_read": [{"path": printable(rel), "reason": RAW_REASON} for rel in catalog.raw],
        "learned": catalog.learned,
        "name_conflicts": [{**c, "photos": [printable(r) for r in c["photos"]]}
                           for c in catalog.name_conflicts],
    }


def _person(face: FaceEntry) -> str | None:
    return face.person if face.shown else None


def printable(rel: str) -> str:
    """File names with bytes that are not UTF-8 are shown with \\xNN escapes, so that the
    report stays valid UTF-8 JSON."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_json(out: Path, document: dict, state: State) -> Path:
    """Write OUT/report.json atomically, as photokosh's."""
    write(out, state, REPORT, dumps(document) + "\n")
    return report_file(out)


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)
