"""The review page, OUT/index.html: who is in which folder, shown by their faces.

A single static file that works from file:// with no server and no network: inline CSS, an
inline SVG bar chart, thumbnails as relative links, and one optional inline script (the filter
box) that the page does not need. Every name and path is user data and is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote

from .layout import NO_FACES, PAGE, UNKNOWN, page_file
from .own import PAGE_MARK, write
from .state import State

MARKER = PAGE_MARK
FACES_PER_PERSON = 12  # the avatar and the strip together
CHART_ROWS = 25  # more bars than this is a wall, not a chart; the rest are summed up
UNKNOWN_THUMBS = 60
AVATAR, THUMB = 72, 44


def render_page(report: dict, faces: Mapping[str, list[int]], thumbs: Mapping[int, str], *,
                unknown_faces: Iterable[int] = (),
                face_photos: Mapping[int, str] | None = None) -> str:
    """The page for `report` as one HTML string.

    `faces`: person id -> face ids, most typical first; `thumbs`: face id -> thumbnail path
    relative to OUT (faces without one are left out); `unknown_faces`: ids of faces nobody was
    recognised in; `face_photos`: face id -> photo path, for alt texts and links.
    """
    face_photos = face_photos or {}
    people = sorted(report["people"], key=lambda p: not p.get("doubtful"))  # check these first
    photos = report.get("photos", [])
    unknown = [p["path"] for p in photos
               if p["faces"] and not any(f.get("person") for f in p["faces"])]
    no_faces = [p["path"] for p in photos if not p["faces"]]
    blurred = bool(report.get("settings", {}).get("blur"))
    title = f"photokosh: {_count(len(people), 'person', 'people')} in {_name(report)}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>", MARKER,
        '<div class="wrap"><header>', f"<h1>{_e(title)}</h1>",
        _summary(report, len(unknown), len(no_faces), blurred),
        '<div class="filter" id="filter-wrap" hidden><label for="filter">Filter people</label> '
        '<input id="filter" type="search" placeholder="name or id" autocomplete="off"> '
        '<span id="filter-count" aria-live="polite"></span></div>',
        "</header><main>",
        _chart(people, len(unknown), len(no_faces)),
        '<div class="people">',
    ]
    for person in people:
        parts.append(_person(person, faces.get(person["id"], []), thumbs, face_photos,
                             blurred))
    parts.append("</div>")
    parts.append(_unknown(unknown, list(unknown_faces), thumbs, face_photos, blurred))
    parts.append(_extra("no-faces", "Photos without faces", NO_FACES, no_faces,
                        "in which no face was found"))
    parts.append(_errors(report.get("errors", [])))
    parts += ["</main></div>", f"<script>{SCRIPT}</script>", "</body>", "</html>", ""]
    return "\n".join(p for p in parts if p)


def _summary(report: dict, unknown: int, no_faces: int, blurred: bool) -> str:
    s = report.get("summary", {})
    counts = [_count(s.get("photos", len(report.get("photos", []))), "photo"),
              _count(s.get("faces", 0), "face")]
    for n, what in [(unknown, "of unknown people only"), (no_faces, "without faces"),
                    (len(report.get("errors", [])), "skipped")]:
        if n:
            counts.append(f"{n:,} {what}")
    return (f'<p class="summary">{", ".join(counts)}. From <bdi>{_e(report.get("source", ""))}'
            "</bdi>." + (" Faces are blurred." if blurred else "") + "</p>")


def write_page(out: Path, html_text: str, state: State) -> Path:
    """Write OUT/index.html atomically (a browser never loads half a page), as photokosh's."""
    write(out, state, PAGE, html_text)
    return page_file(out)


def _person(person: dict, face_ids: list[int], thumbs, face_photos, blurred: bool) -> str:
    pid, folder = person["id"], person["folder"]
    label = person.get("name") or pid
    shown = [f for f in face_ids if f in thumbs][:FACES_PER_PERSON]
    meta = [_count(person["photo_count"], "photo"), _count(person["face_count"], "face")]
    if isinstance(person.get("cohesion"), int | float):
        meta.append(f'<span title="how alike this person\'s faces are (1 = identical)">'
                    f'cohesion {person["cohesion"]:.2f}</span>')
    if 0 < person.get("new_photos", 0) < person["photo_count"]:  # all new says nothing
        meta.append(f'{person["new_photos"]} new')
    search = " ".join(filter(None, [person.get("name"), pid, folder])).lower()
    aid = _e(f"p-{pid}")
    out = [f'<section class="person" id="{aid}" aria-labelledby="h-{aid}" '
           f'data-person="{_e(pid)}" data-photos="{int(person["photo_count"])}" '
           f'data-faces="{int(person["face_count"])}" data-search="{_e(search)}">',
           '<div class="head">']
    if shown:
        out.append(_img(shown[0], thumbs, face_photos, label, folder, AVATAR, "avatar",
                        blurred))
    else:
        out.append(f'<div class="avatar none" aria-hidden="true">{_e(label[:1].upper())}</div>')
    out.append(f'<div><h2 id="h-{aid}"><bdi>{_e(label)}</bdi></h2>')
    if person.get("name"):
        out.append(f'<p class="id">{_e(pid)}</p>')
    out.append(f'<p class="meta">{" · ".join(meta)}</p></div></div>')
    if person.get("doubtful"):
        out.append('<p class="flag" role="note">⚠ Check this folder: these faces are less '
                   "alike than usual, it may hold more than one person.</p>")
    if len(shown) > 1:
        out.append(f'<ul class="strip" aria-label="More faces of {_e(label)}">')
        out += [f"<li>{_img(f, thumbs, face_photos, label, folder, THUMB, '', blurred)}</li>"
                for f in shown[1:]]
        out.append("</ul>")
    out.append(f'<p><a class="folder" href="{_url(folder)}/">Open folder '
               f"<bdi>{_e(folder)}</bdi>/</a></p>")
    out.append(_photo_list(folder, person.get("photos", [])))
    out.append("</section>")
    return "\n".join(out)


def _img(face: int, thumbs, face_photos, label: str, folder: str | None, size: int,
         cls: str, blurred: bool) -> str:
    photo = face_photos.get(face)
    what = "Blurred face" if blurred else "Face"
    alt = f"{what} of {label}" + (f" in {photo}" if photo else "")
    img = (f'<img src="{_url(thumbs[face])}" loading="lazy" decoding="async" width="{size}" '
           f'height="{size}" alt="{_e(alt)}"' + (f' class="{cls}"' if cls else "") + ">")
    if photo is None or folder is None:
        return img
    return f'<a href="{_photo_href(folder, photo)}">{img}</a>'


def _photo_href(folder: str, photo: str) -> str:
    return f"{_url(folder)}/{_url(photo)}"


def _photo_list(folder: str, paths: list[str]) -> str:
    if not paths:
        return ""
    items = "\n".join(f'<li><a href="{_photo_href(folder, p)}">{_e(p)}</a></li>'
                      for p in paths)
    return (f"<details><summary>{_count(len(paths), 'photo')}</summary>"
            f'<ol class="photos">\n{items}\n</ol></details>')


def _unknown(paths: list[str], faces: list[int], thumbs, face_photos, blurred) -> str:
    shown = [f for f in faces if f in thumbs]
    if not paths and not shown:
        return ""
    unknown_set = set(paths)
    out = ['<section class="extra" id="unknown" aria-labelledby="h-unknown">',
           '<h2 id="h-unknown">Unknown faces</h2>',
           f'<p>{_count(len(shown), "face")} that match nobody; '
           f'{_count(len(paths), "photo")} holding only such faces are in '
           f'<a href="{UNKNOWN}/">{UNKNOWN}/</a>.</p>']
    if shown:
        out.append('<ul class="strip" aria-label="Unknown faces">')
        for f in shown[:UNKNOWN_THUMBS]:
            folder = UNKNOWN if face_photos.get(f) in unknown_set else None
            img = _img(f, thumbs, face_photos, "someone unknown", folder, THUMB, "", blurred)
            out.append(f"<li>{img}</li>")
        out.append("</ul>")
        if len(shown) > UNKNOWN_THUMBS:
            out.append(f"<p>and {len(shown) - UNKNOWN_THUMBS} more.</p>")
    out += [_photo_list(UNKNOWN, paths), "</section>"]
    return "\n".join(out)


def _extra(anchor: str, heading: str, folder: str, paths: list[str], what: str) -> str:
    if not paths:
        return ""
    return (f'<section class="extra" id="{anchor}" aria-labelledby="h-{anchor}">'
            f'<h2 id="h-{anchor}">{heading}</h2><p>{_count(len(paths), "photo")} {what}: '
            f'<a href="{folder}/">{folder}/</a>.</p>{_photo_list(folder, paths)}'
            "</section>")


def _errors(errors: list[dict]) -> str:
    if not errors:
        return ""
    rows = "\n".join(f"<tr><td><bdi>{_e(e['path'])}</bdi></td><td>{_e(e['reason'])}</td></tr>"
                     for e in errors)
    opened = " open" if len(errors) <= 10 else ""
    return ('<section class="extra" id="errors" aria-labelledby="h-errors">'
            f'<h2 id="h-errors">Skipped files</h2><details{opened}><summary>'
            f"{_count(len(errors), 'file')} could not be used</summary><table>"
            f"<thead><tr><th>Path</th><th>Reason</th></tr></thead><tbody>\n{rows}\n"
            "</tbody></table></details></section>")


def _chart(people: list[dict], unknown: int, no_faces: int) -> str:
    rows = [(p.get("name") or p["id"], p["photo_count"], f"#p-{p['id']}", "bar")
            for p in people[:CHART_ROWS]]
    if unknown:
        rows.append(("unknown", unknown, "#unknown", "rest"))
    if no_faces:
        rows.append(("no faces", no_faces, "#no-faces", "rest"))
    rest = people[CHART_ROWS:]
    if rest:  # a text line, not a bar: a sum of many people would dwarf every real bar
        total = sum(p["photo_count"] for p in rest)
        rows.append((f"{len(rest)} more people", total, None, ""))
    if not rows:
        return ""
    top = max((count for _, count, _, cls in rows if cls), default=1) or 1
    label_w, bar_w, row_h = 190, 420, 24
    width, height = label_w + bar_w + 60, row_h * len(rows) + 8
    out = ['<section class="chart" aria-labelledby="h-chart">',
           '<h2 id="h-chart">Photos per person</h2>',
           f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}">']
    for i, (label, count, href, cls) in enumerate(rows):
        y = 4 + i * row_h
        short = label if len(label) <= 26 else label[:25] + "…"
        length = max(2, round(bar_w * count / top)) if cls else 0
        # FSI ... PDI keeps a right-to-left name from reordering the text around it
        bar = (f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">'
               f"\u2068{_e(short)}\u2069</text>"
               + (f'<rect class="{cls}" x="{label_w}" y="{y + 3}" rx="3" '
                  f'height="{row_h - 6}" width="{length}"></rect>' if cls else "")
               + f'<text x="{label_w + length + 6}" y="{y + 16}">{count:,}</text>')
        out.append(f'<a href="{_url(href, safe="#")}">{bar}</a>' if href else bar)
    out.append("</svg></section>")
    return "\n".join(out)


def _name(report: dict) -> str:
    return Path(report.get("source", "")).name or "photos"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _visible(text: str) -> str:
    """Control characters (newlines, tabs, escapes in file names) shown as \\xNN."""
    text = str(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c
                   for c in text)


def _e(text) -> str:
    """Escaped for text and for quoted attribute values alike."""
    return html.escape(_visible(text), quote=True)


def _url(path: str, safe: str = "/") -> str:
    """A relative URL: every character that could end the path or start a scheme is quoted.
    Bytes of a file name that are not UTF-8 (surrogate escapes) are quoted as themselves."""
    raw = str(path).encode("utf-8", "surrogateescape")
    return html.escape(quote(raw, safe=safe), quote=True)


CSS = """
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#1d2330;--muted:#505b6b;
--line:#d9dee5;--accent:#2a59c7;--rest:#8a94a3;--warn-bg:#fff1c2;--warn-fg:#5c3b00}
@media (prefers-color-scheme:dark){:root{--bg:#13161b;--card:#1d222a;--fg:#e9ecf1;
--muted:#aab3c0;--line:#313846;--accent:#86a8ff;--rest:#6f7886;--warn-bg:#3f3210;
--warn-fg:#ffdc8a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
.wrap{max-width:1240px;margin:0 auto;padding:0 20px 32px}
h1{font-size:1.55rem;margin:26px 0 4px}
.summary,.meta,.id{color:var(--muted)}
.summary{margin:0 0 12px}
.filter input{font:inherit;padding:6px 10px;border:1px solid var(--muted);border-radius:8px;
min-width:16rem;background:var(--card);color:var(--fg)}
.chart{margin-bottom:18px}
.chart h2,.extra h2{font-size:1.15rem;margin:18px 0 8px}
.chart svg{display:block;max-width:100%;height:auto;background:var(--card);
border:1px solid var(--line);border-radius:12px;padding:8px}
.chart text{fill:var(--fg);font-size:12px}
.chart .bar{fill:var(--accent)}.chart .rest{fill:var(--rest)}
.chart a:hover text,.chart a:focus text{text-decoration:underline}
.people{display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:14px;
align-items:start}
.person{background:var(--card);border:1px solid var(--line);border-radius:14px;
padding:14px;content-visibility:auto;contain-intrinsic-size:auto 230px}
.person[hidden]{display:none}
.head{display:flex;gap:12px;align-items:center}
.avatar{border-radius:50%;flex:none;background:var(--line);display:block}
.avatar.none{width:72px;height:72px;display:grid;place-items:center;font-size:1.8rem;
color:var(--muted)}
.person h2{font-size:1.1rem;margin:0;overflow-wrap:anywhere}
.id,.meta{margin:2px 0 0;font-size:.88rem}
.flag{background:var(--warn-bg);color:var(--warn-fg);border-radius:8px;padding:5px 9px;
margin:10px 0 0;font-weight:600;font-size:.9rem}
.strip{list-style:none;display:flex;flex-wrap:wrap;gap:6px;padding:0;margin:10px 0 4px}
.strip img{border-radius:50%;display:block;background:var(--line)}
a{color:var(--accent)}
a:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.person p{margin:8px 0 0}
summary{cursor:pointer;color:var(--muted);margin-top:4px}
.photos{margin:6px 0 0;padding-left:2.6em;max-height:22rem;overflow:auto;font-size:.85rem;
overflow-wrap:anywhere}
.photos a{unicode-bidi:isolate}
.extra{background:var(--card);border:1px solid var(--line);border-radius:14px;
padding:2px 18px 14px;margin-top:16px}
table{border-collapse:collapse;font-size:.88rem;margin-top:6px}
th,td{text-align:left;vertical-align:top;padding:4px 10px;border-bottom:1px solid var(--line);
overflow-wrap:anywhere}
"""

# Defence in depth: even a name that slipped past escaping could load nothing from a
# network and run no script but the filter.
CSP = ("default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'; "
       "script-src 'sha256-{}'; base-uri 'none'; form-action 'none'")

# The only script: optional, the page is complete without it (the box stays hidden then).
SCRIPT = """(function(){var wrap=document.getElementById('filter-wrap'),
box=document.getElementById('filter'),count=document.getElementById('filter-count'),
cards=Array.prototype.slice.call(document.querySelectorAll('section.person'));
if(!cards.length)return;wrap.hidden=false;
box.addEventListener('input',function(){var q=box.value.trim().toLowerCase(),n=0;
cards.forEach(function(c){var hit=!q||c.getAttribute('data-search').indexOf(q)>=0;
c.hidden=!hit;if(hit)n++;});
count.textContent=q?n+' of '+cards.length+' people':'';});})();"""
CSP = CSP.format(base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode())
