"""Turn a person's name into a folder name that cannot escape OUT or break a file system."""

from __future__ import annotations

import re
import unicodedata

from .layout import PERSON_ID, RESERVED

MAX_NAME_BYTES = 120
# Windows opens a device for these, with any extension; its ports take the superscript
# digits too (its own list: "Naming Files, Paths, and Namespaces").
_PORTS = [*"0123456789", "\u00b9", "\u00b2", "\u00b3"]
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                     *(f"{port}{n}" for port in ("COM", "LPT") for n in _PORTS)}


def clean_name(name: str) -> str:
    """The name as shown to people: NFC, no control characters, single spaces, bounded."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(" " if unicodedata.category(c).startswith("C") else c for c in name)
    name = " ".join(name.split())
    return _truncate(name, MAX_NAME_BYTES * 2)


def folder_name(name: str) -> str | None:
    """A safe single path component for `name`, or None when nothing usable is left.

    No separators, no leading dots (so no `.`, `..` or hidden folders), no characters Windows
    forbids, no reserved device names, at most MAX_NAME_BYTES bytes of UTF-8.
    """
    name = clean_name(name)
    if not re.sub(r'[/\\:*?"<>|. ]', "", name):
        return None  # only separators and the like ("///"): a typo, not a name to make up
    name = re.sub(r'[/\\:*?"<>|]', "_", name)
    name = name.strip(" .")
    name = _truncate(name, MAX_NAME_BYTES).strip(" .")
    if not name:
        return None
    stem, dot, rest = name.partition(".")
    if stem.strip().upper() in _WINDOWS_RESERVED:  # CON, and CON.txt too, are devices
        name = f"{stem}_{dot}{rest}"
    if name.lower() in RESERVED or PERSON_ID.fullmatch(name):  # photokosh's own names
        name = f"{name} (named)"
    return name


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def unique_folders(people: list[tuple[str, str | None]]) -> dict[str, str]:
    """person id -> folder, for (id, name) pairs in priority order: named people get their
    name's folder (a second "Alice" gets "Alice (2)"), the others their id."""
    taken: set[str] = set()
    folders: dict[str, str] = {}
    for pid, name in people:
        base = folder_name(name) if name else None
        candidate = base or pid
        n = 2
        while candidate.lower() in taken:
            candidate = f"{base or pid} ({n})"
            n += 1
        taken.add(candidate.lower())
        folders[pid] = candidate
    return folders
