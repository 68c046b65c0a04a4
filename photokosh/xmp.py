"""XMP face regions: the names other tools put on faces, and photokosh's own as sidecars.

Two schemas: the Metadata Working Group's (mwg-rs:Regions: digiKam, Lightroom, Picasa,
exiftool's MWG tags) and Microsoft's (MP:RegionInfo: Windows Photo Gallery). Both are read
and written through exiv2 (pyexiv2), never parsed or printed here; the one piece of XML is
the empty skeleton below, because exiv2's API can fill a Bag but not create one (without it,
RegionList would be written as a Seq, where MWG says Bag). docs/xmp.md has the why of each
choice: sidecar name, areas in the displayed (EXIF-oriented) image, which source wins.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyexiv2

from .records import Region

log = logging.getLogger(__name__)

pyexiv2.set_log_level(3)  # exiv2's warnings about a stranger's odd metadata are not ours

_RS = "Xmp.mwg-rs.Regions/"
_LIST = _RS + "mwg-rs:RegionList"
_MP = "Xmp.MP.RegionInfo/MPRI:Regions"
_SKELETON = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:MP="http://ns.microsoft.com/photo/1.2/" '
    'xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#">'
    '<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag/></mwg-rs:RegionList>'
    '</mwg-rs:Regions><MP:RegionInfo rdf:parseType="Resource"><MPRI:Regions><rdf:Bag/>'
    '</MPRI:Regions></MP:RegionInfo></rdf:Description></rdf:RDF></x:xmpmeta>'
    '<?xpacket end="w"?>').encode("utf-8")
# Bytes that any XMP packet with regions holds, so that a photo without them (nearly all)
# costs a substring search, not a parse by exiv2.
_MARKERS = (b"mwg-rs", b"MPRI")


def sidecar(width: int, height: int, faces: list[Region]) -> bytes:
    """An XMP sidecar naming `faces` (boxes in the displayed image, width x height pixels)
    in both schemas: MWG areas are centre and size, Microsoft's rectangles the top-left
    corner and size, each as a share of the image's width and height."""
    tags = {_RS + "mwg-rs:AppliedToDimensions/stDim:w": str(width),
            _RS + "mwg-rs:AppliedToDimensions/stDim:h": str(height),
            _RS + "mwg-rs:AppliedToDimensions/stDim:unit": "pixel"}
    for i, (name, (left, top, right, bottom)) in enumerate(faces, 1):
        x, y = left / width, top / height
        w, h = (right - left) / width, (bottom - top) / height
        item = f"{_LIST}[{i}]/mwg-rs:"
        tags.update({item + "Name": name, item + "Type": "Face",
                     item + "Area/stArea:x": _num(x + w / 2),
                     item + "Area/stArea:y": _num(y + h / 2),
                     item + "Area/stArea:w": _num(w), item + "Area/stArea:h": _num(h),
                     item + "Area/stArea:unit": "normalized",
                     f"{_MP}[{i}]/MPReg:PersonDisplayName": name,
                     f"{_MP}[{i}]/MPReg:Rectangle": ", ".join(map(_num, (x, y, w, h)))})
    image = pyexiv2.ImageData(_SKELETON)
    try:
        image.modify_xmp(tags)
        return image.get_bytes()
    finally:
        image.close()


def _num(value: float) -> str:
    return f"{min(max(value, 0.0), 1.0):.6f}".rstrip("0").rstrip(".") or "0"


def sidecars_of(photo: Path) -> list[Path]:
    """Where other tools keep a photo's sidecar, first the one that wins: `photo.jpg.xmp`
    (digiKam's, darktable's), then `photo.xmp` (Lightroom's, for raw files)."""
    return [photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")]


def regions_of(photo: Path, data: bytes, width: int, height: int) -> list[Region]:
    """The named face regions of a photo (its bytes `data`, displayed width x height): from
    its first sidecar that names faces, else from the XMP in the file. Nothing is written,
    and a sidecar or packet that cannot be read counts as none."""
    for path in sidecars_of(photo):
        try:
            found = read_regions(path.read_bytes(), width, height) if path.is_file() else []
        except OSError:
            found = []
        if found:
            return found
    return read_regions(data, width, height)


def read_regions(data: bytes, width: int, height: int) -> list[Region]:
    """Named face regions in an image or sidecar: MWG's if it has any, else Microsoft's."""
    if not any(marker in data for marker in _MARKERS):
        return []
    try:
        image = pyexiv2.ImageData(data)
        try:
            tags = image.read_xmp()
        finally:
            image.close()
    except (RuntimeError, ValueError, UnicodeError) as exc:  # exiv2 could not read it
        log.debug("XMP not read: %s", exc)
        return []
    return _mwg(tags, width, height) or _microsoft(tags, width, height)


def _mwg(tags: dict, width: int, height: int) -> list[Region]:
    found = []
    for i in range(1, 10_000):
        item = f"{_LIST}[{i}]/mwg-rs:"
        if f"{_LIST}[{i}]" not in tags and item + "Name" not in tags:
            break
        name = _text(tags.get(item + "Name"))
        kind = _text(tags.get(item + "Type")) or "Face"
        area = [_float(tags.get(item + f"Area/stArea:{k}")) for k in "xywh"]
        unit = _text(tags.get(item + "Area/stArea:unit")) or "normalized"
        if not name or kind != "Face" or None in area or unit != "normalized":
            continue
        x, y, w, h = area
        found.append(_region(name, x - w / 2, y - h / 2, w, h, width, height))
    return found


def _microsoft(tags: dict, width: int, height: int) -> list[Region]:
    found = []
    for i in range(1, 10_000):
        if f"{_MP}[{i}]" not in tags and f"{_MP}[{i}]/MPReg:Rectangle" not in tags:
            break
        name = _text(tags.get(f"{_MP}[{i}]/MPReg:PersonDisplayName"))
        parts = (_text(tags.get(f"{_MP}[{i}]/MPReg:Rectangle")) or "").split(",")
        rect = [_float(p) for p in parts] if len(parts) == 4 else [None]
        if name and None not in rect:
            found.append(_region(name, *rect, width, height))
    return found


def _region(name: str, x: float, y: float, w: float, h: float, width: int,
            height: int) -> Region:
    box = (round(x * width), round(y * height), round((x + w) * width), round((y + h) * height))
    return Region(name.strip(), box)


def _text(value) -> str | None:
    if isinstance(value, dict):  # a language alternative: its default
        value = next(iter(value.values()), None)
    return value.strip() if isinstance(value, str) else None


def _float(value) -> float | None:
    try:
        return float(_text(value) or "")
    except ValueError:
        return None
