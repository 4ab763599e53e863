"""The history's SQLite schema and connection: migrations from version to version, opening a
connection, the integrity check and rolling back a failed write."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.errors import VoicecoachError

if TYPE_CHECKING:
    pass

from voicecoach.history.files import _write_error, disk_full

_LOGGER = logging.getLogger(__name__)

# MIGRATIONS[i] takes a database from schema version i to i + 1. Never edit a released entry:
# append a new one. Version 1 is the first schema; files made by it must keep opening.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,
            routine TEXT,
            status TEXT NOT NULL
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            at REAL NOT NULL,
            wall TEXT NOT NULL,
            routine TEXT,
            exercise TEXT,
            side TEXT,
            data TEXT NOT NULL DEFAULT '{}'
        )""",
    ),
    (
        # v2: a resumed session points at the interrupted one it continues.
        "ALTER TABLE sessions ADD COLUMN resumes INTEGER REFERENCES sessions(id)",
        "CREATE INDEX events_by_session ON events(session_id, id)",
        "CREATE INDEX sessions_by_start ON sessions(started)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_S = 5.0
"""How long opening waits for another program's lock on the file before giving up."""


def is_healthy(path: Path) -> bool:
    """False when the file is not a SQLite database or fails its integrity check.

    A file that cannot be checked right now (locked by another program, unreadable) is not
    known to be damaged: that is a VoicecoachError, so a healthy history is never set aside.
    """
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise VoicecoachError(f"cannot open the history file {path}: {exc}") from None
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        return rows == [("ok",)]
    except sqlite3.OperationalError as exc:
        # Busy, locked, cannot open, I/O error: SQLite's verdict on damage is DatabaseError.
        if disk_full(path, exc):
            raise _write_error(path, exc, "cannot open") from None
        raise VoicecoachError(f"cannot open the history file {path}: {exc}") from None
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def connect(path: Path) -> sqlite3.Connection:
    # Autocommit: each event is its own transaction, committed before record() returns.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the file to SCHEMA_VERSION, one migration per transaction; a migration that cannot
    be written (a full disk) leaves the file at the version before it, and says why."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise _write_error(path, exc, "cannot open") from None
    if version > SCHEMA_VERSION:
        raise _too_new(path, version)
    while version < SCHEMA_VERSION:
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException as exc:
            rollback(conn)
            if isinstance(exc, sqlite3.Error):
                raise _write_error(path, exc, "cannot set up") from None
            raise
        _LOGGER.info("history: schema upgraded to version %d", version + 1)
        version += 1
    return version


def rollback(conn: sqlite3.Connection) -> None:
    """Undo an open transaction, if SQLite has not already (it rolls back by itself on a full
    disk, and a ROLLBACK then fails with "no transaction is active", hiding the cause)."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        _LOGGER.warning("history: rollback failed too: %s", exc)


def _too_new(path: Path, version: int) -> VoicecoachError:
    return VoicecoachError(
        f"history file {path} has schema version {version}, newer than this voicecoach "
        f"({SCHEMA_VERSION}); update voicecoach"
    )
