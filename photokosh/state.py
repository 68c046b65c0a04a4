"""The run state: one SQLite database per output folder (OUT/.photokosh/state.db).

It remembers what every source photo held (by content hash and analysis settings: moved and
duplicate photos cost nothing), who every face belongs to, the people, their names and the
user's corrections, and every file photokosh created in OUT (only those are ever removed)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path

import numpy as np

from . import fsutil, layout
from .errors import NoState, StateError
from .faces import Face, box_iou
from .journal import Journal
from .ledger import Ledger, from_blob, to_blob
from .lock import run_lock
from .records import Analysed, Person, PhotoRow, StoredFace
from .regiontable import REGIONS_SCHEMA, RegionTable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS photos (
    path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, hash TEXT, error TEXT,
    added_run INTEGER);
CREATE INDEX IF NOT EXISTS photos_hash ON photos(hash);
CREATE TABLE IF NOT EXISTS analyses (
    hash TEXT, key TEXT, width INTEGER, height INTEGER, error TEXT, PRIMARY KEY (hash, key));
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY, hash TEXT, key TEXT, idx INTEGER,
    left INTEGER, top INTEGER, right INTEGER, bottom INTEGER, score REAL,
    embedding BLOB, person TEXT, forgotten INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS faces_hash ON faces(hash, key);
CREATE INDEX IF NOT EXISTS faces_person ON faces(person);
CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY, num INTEGER UNIQUE, name TEXT, merged_into TEXT,
    forgotten INTEGER NOT NULL DEFAULT 0, created_run INTEGER);
CREATE TABLE IF NOT EXISTS outputs (
    path BLOB PRIMARY KEY, source BLOB, kind TEXT, hash TEXT, size INTEGER,
    mtime_ns INTEGER, ino INTEGER, done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refs (name TEXT, hash TEXT, PRIMARY KEY (name, hash));
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started REAL, finished REAL);
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, face INTEGER, person TEXT, how TEXT,
    made REAL, undone INTEGER NOT NULL DEFAULT 0, value TEXT);
""" + REGIONS_SCHEMA


_FACE_COLUMNS = "id, hash, idx, left, top, right, bottom, score, embedding, person, forgotten"


@contextmanager
def open_state(out: Path, *, lock: bool = True, create: bool = False) -> Iterator[State]:
    """The state of OUT, open for the block (under the run lock with `lock`): the one way
    every command that works on an output folder gets at it."""
    if not create and fsutil.entry(out, layout.STATE_DB_PATH) is None:
        raise NoState(out)  # before the lock: nothing is made in a folder that is no OUT
    with run_lock(out) if lock else nullcontext():
        with closing(State(out, create=create)) as state:
            yield state


class State(Ledger, Journal, RegionTable):
    """A connection to one output folder's state database."""

    def __init__(self, out: Path, *, create: bool = True, readonly: bool = False):
        self.path = layout.state_db(out)
        if create or fsutil.entry(out, layout.STATE_DIR) is not None:
            fsutil.private_folder(out, layout.STATE_DIR)  # refuses a link there
        found = fsutil.entry(out, layout.STATE_DB_PATH)
        if found is not None and (not stat.S_ISREG(found.st_mode) or found.st_nlink != 1):
            raise StateError(fsutil.not_ours(out, layout.STATE_DB_PATH))
        if found is None:
            if not create:
                raise NoState(out)
            with fsutil.folder(out, layout.STATE_DIR) as folder:
                os.close(os.open(layout.STATE_DB, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW,
                                 0o600, dir_fd=folder))
            log.info("created the state %s", self.path)
        uri = f"file:{self.path}?mode=ro" if readonly else f"file:{self.path}"
        self.db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout=30000")
        # Deleted rows (a forgotten person's embeddings) are overwritten, not left in free
        # pages: upstream SQLite's default is off (Debian's build has it on).
        self.db.execute("PRAGMA secure_delete=ON")
        if not readonly:
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process (only a power loss can drop the last commits).
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self._add_columns()
            self._check_version()

    @classmethod
    def snapshot(cls, out: Path) -> State:
        """An in-memory copy of the state (empty if there is none): a dry run works on it and
        leaves every byte on disk as it was."""
        self = cls.__new__(cls)
        self.path = layout.state_db(out)
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        if self.path.exists():
            with closing(_read_only(self.path)) as source:
                source.backup(self.db)
        self.db.executescript(_SCHEMA)
        self._add_columns()
        self._check_version()
        return self

    @classmethod
    def reader(cls, out: Path) -> State | None:
        """The state opened read-only without the lock, writing no byte (not even SQLite's
        side files): a look before a run. None if OUT has no state."""
        if fsutil.entry(out, layout.STATE_DB_PATH) is None:
            return None
        self = cls.__new__(cls)
        self.path, self.db = layout.state_db(out), _read_only(layout.state_db(out))
        if "missing_since" in {r[1] for r in self.db.execute("PRAGMA table_info(photos)")}:
            return self
        self.close()  # an OUT from before the grace period: its columns added in memory
        return cls.snapshot(out)

    def _add_columns(self) -> None:
        # added after schema 1 was released: an older photokosh ignores the column
        if "missing_since" not in {r[1] for r in self.db.execute("PRAGMA table_info(photos)")}:
            self.db.execute("ALTER TABLE photos ADD COLUMN missing_since REAL")

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        else:
            (version,) = row
            if int(version) > SCHEMA_VERSION:
                raise StateError(f"{self.path} was written by a newer photokosh: upgrade it")
        log.debug("opened the state %s (schema %d)", self.path, SCHEMA_VERSION)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default  # row: (value,)

    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def begin_run(self, started: float) -> int:
        return self.db.execute("INSERT INTO runs(started) VALUES (?)", (started,)).lastrowid

    def finish_run(self, run: int, finished: float) -> None:
        self.db.execute("UPDATE runs SET finished=? WHERE id=?", (finished, run))

    # -- photos ----------------------------------------------------------------------------
    def photo_rows(self, *, missing: bool = False) -> dict[str, PhotoRow]:
        """Source photos by relative path (with `missing`, also those kept in grace)."""
        where = "" if missing else " WHERE missing_since IS NULL"
        rows = self.db.execute("SELECT path, size, mtime_ns, hash, error, added_run, "
                               "missing_since FROM photos" + where)
        return {from_blob(p): PhotoRow(*rest) for p, *rest in rows}

    def set_missing(self, gone: Iterable[str], back: Iterable[str], when: float) -> None:
        """Photos `gone` are missing since `when` (or since earlier); `back` are found again."""
        self.db.executemany("UPDATE photos SET missing_since=COALESCE(missing_since, ?) "
                            "WHERE path=?", [(when, to_blob(r)) for r in gone])
        self.db.executemany("UPDATE photos SET missing_since=NULL WHERE path=?",
                            [(to_blob(r),) for r in back])

    def expired(self, before: float | None) -> list[str]:
        """Photos missing since before `before`, but none showing a named person (None: all)."""
        rows = self.db.execute(
            "SELECT path FROM photos WHERE missing_since < ? AND (? OR hash IS NULL OR hash "
            "NOT IN (SELECT f.hash FROM faces f JOIN people p ON f.person = p.id "
            "WHERE p.name IS NOT NULL AND p.forgotten = 0))",
            (float("inf") if before is None else before, before is None))
        return [from_blob(p) for (p,) in rows]

    def analysed(self, key: str) -> dict[str, Analysed]:
        """Every content analysed under `key`, by hash."""
        sql = "SELECT hash, width, height, error FROM analyses WHERE key=?"
        return {h: Analysed(*rest) for h, *rest in self.db.execute(sql, (key,))}

    def put_photo(self, rel: str, size: int, mtime_ns: int, hash_: str | None,
                  error: str | None, added_run: int) -> None:
        self.db.execute(
            "INSERT INTO photos VALUES (?,?,?,?,?,?,NULL) ON CONFLICT(path) DO UPDATE SET "
            "size=excluded.size, mtime_ns=excluded.mtime_ns, hash=excluded.hash, "
            "error=excluded.error, missing_since=NULL",
            (to_blob(rel), size, mtime_ns, hash_, error, added_run))

    def drop_photos(self, rels: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM photos WHERE path=?", [(to_blob(r),) for r in rels])

    def put_analysis(self, hash_: str, key: str, width: int, height: int,
                     faces: list[Face], error: str | None) -> None:
        """Store what one content holds under `key`, carrying people and erasures over from
        an analysis of the same content under other settings (matched by box overlap)."""
        old = self.faces_of(hash_, other_than=key)
        self.db.execute("DELETE FROM faces WHERE hash=?", (hash_,))
        taken: set[int] = set()
        for idx, face in enumerate(faces):
            # a face found again keeps its id, so corrections made to it (by id) still hold
            match = _inherit(face.box, [f for f in old if f.id not in taken])
            fid = match.id if match else self._next_face_id()
            taken.add(fid)
            forgotten = bool(match and match.forgotten)
            self.db.execute(
                "INSERT INTO faces(id,hash,key,idx,left,top,right,bottom,score,embedding,"
                "person,forgotten) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (fid, hash_, key, idx, *face.box, face.score,
                 None if forgotten else face.embedding.astype(np.float32).tobytes(),
                 match.person if match else None, int(forgotten)),
            )
        self.db.execute("DELETE FROM analyses WHERE hash=? AND key<>?", (hash_, key))
        self.db.execute("INSERT OR REPLACE INTO analyses VALUES (?,?,?,?,?)",
                        (hash_, key, width, height, error))

    def _next_face_id(self) -> int:
        # never reused (corrections name faces by id): MAX+1 would reuse a pruned face's
        fid = max(self.db.execute("SELECT IFNULL(MAX(id), 0) + 1 FROM faces").fetchone()[0],
                  int(self.get_meta("next_face", 1)))
        self.set_meta("next_face", fid + 1)
        return fid

    def faces_of(self, hash_: str, other_than: str = "") -> list[StoredFace]:
        """The faces of one content (but those analysed under `other_than`), in order."""
        return [_face(r) for r in self.db.execute(
            f"SELECT {_FACE_COLUMNS} FROM faces WHERE hash=? AND key<>? ORDER BY idx",
            (hash_, other_than))]

    def current_faces(self, key: str, *, missing: bool = False) -> list[StoredFace]:
        """Faces analysed under `key` of the photos now in the source (with `missing`, also of
        those kept in grace), in a stable order."""
        where = "" if missing else " WHERE missing_since IS NULL"
        rows = self.db.execute(
            f"SELECT {_FACE_COLUMNS} FROM faces WHERE key=? AND hash IN "
            f"(SELECT hash FROM photos{where}) ORDER BY hash, idx", (key,))
        return [_face(r) for r in rows]

    def set_persons(self, assignments: Iterable[tuple[int, str | None]]) -> None:
        self.db.executemany("UPDATE faces SET person=? WHERE id=?",
                            [(p, f) for f, p in assignments])

    def prune(self) -> None:
        """Forget contents no source photo has any more (their faces and embeddings)."""
        kept = ("(SELECT hash FROM photos WHERE hash IS NOT NULL "
                "UNION SELECT hash FROM refs)")
        self.db.execute(f"DELETE FROM faces WHERE hash NOT IN {kept}")
        self.db.execute(f"DELETE FROM analyses WHERE hash NOT IN {kept}")
        self.db.execute(f"DELETE FROM regions WHERE hash NOT IN {kept}")

    def add_reference(self, name: str, hash_: str) -> None:
        """`--known`: the content `hash_` shows `name` (its faces are kept while it does)."""
        self.db.execute("INSERT OR IGNORE INTO refs VALUES (?, ?)", (name, hash_))

    def clear_references(self) -> None:
        self.db.execute("DELETE FROM refs")

    # -- people ----------------------------------------------------------------------------
    def people(self) -> list[Person]:
        """The people now: not merged into another, not forgotten; in the order of their ids."""
        rows = self.db.execute("SELECT id, num, name FROM people WHERE merged_into IS NULL "
                               "AND forgotten=0 ORDER BY num")
        return [Person(*row) for row in rows]

    def shared_photos(self, a: str, b: str) -> int:
        """How many contents show both person `a` and person `b`."""
        return self.db.execute(
            "SELECT COUNT(*) FROM (SELECT hash FROM faces WHERE person=? INTERSECT "
            "SELECT hash FROM faces WHERE person=?)", (a, b)).fetchone()[0]

    def next_person_number(self) -> int:
        # ids are never reused, even after the people that had them were removed by hand
        number = self.db.execute("SELECT IFNULL(MAX(num), 0) + 1 FROM people").fetchone()[0]
        return max(number, int(self.get_meta("next_person", 1)))

    def add_person(self, num: int, run: int) -> str:
        pid = layout.person_id(num)
        self.db.execute("INSERT INTO people(id, num, created_run) VALUES (?,?,?)", (pid, num, run))
        self.set_meta("next_person", num + 1)
        return pid

    def set_name(self, pid: str, name: str | None) -> None:
        self.db.execute("UPDATE people SET name=? WHERE id=?", (name, pid))

    def forget(self, pid: str) -> list[tuple[str, tuple[int, int, int, int]]]:
        """Erase a person's embeddings; their faces stay as boxes marked forgotten so the same
        photos never bring them back. Returns (content hash, box) of the erased faces."""
        erased = [(hash_, tuple(box)) for hash_, *box in self.db.execute(
            "SELECT hash, left, top, right, bottom FROM faces WHERE person=?", (pid,))]
        self.db.execute("UPDATE faces SET embedding=NULL, forgotten=1, person=NULL "
                        "WHERE person=?", (pid,))
        self.db.execute("UPDATE people SET forgotten=1, name=NULL WHERE id=?", (pid,))
        return erased

    def scrub(self) -> None:
        """Empty the write-ahead log into the database: no old copy of an erased page stays."""
        if self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:  # busy: a reader
            log.warning("the state's log is being read: SQLite empties it when the reader ends")

def _read_only(path: Path) -> sqlite3.Connection:
    # Without a write-ahead log on disk the file is complete: open it immutable, so that not
    # even SQLite's shared-memory files are created. With one (a run was killed, or one is
    # working), read-only mode reads the log too; its side files exist already.
    wal = path.with_name(path.name + "-wal").exists()
    mode = "mode=ro" if wal else "immutable=1"
    return sqlite3.connect(f"file:{path}?{mode}", uri=True, isolation_level=None)


def _face(row) -> StoredFace:
    fid, hash_, idx, left, top, right, bottom, score, emb, person, forgotten = row  # _FACE_COLUMNS
    embedding = None if emb is None else np.frombuffer(emb, dtype=np.float32)
    return StoredFace(fid, hash_, idx, (left, top, right, bottom), score, embedding, person,
                      bool(forgotten))


def _inherit(box, old: list[StoredFace]) -> StoredFace | None:
    best, best_iou = None, 0.5
    for face in old:
        iou = box_iou(box, face.box)
        if iou >= best_iou:
            best, best_iou = face, iou
    return best
