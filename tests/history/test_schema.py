"""The schema: the released first migration unchanged, an old file migrated, a newer one refused."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from tests.history.helpers import FakeWall, record_all, whole_session
from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    HistoryStore,
)

V1_DDL = (
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
)


def test_released_v1_migration_is_unchanged() -> None:
    assert MIGRATIONS[0] == V1_DDL


def make_v1_file(path: Path, wall: datetime) -> None:
    """A database exactly as the first schema made it, with one recorded session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for statement in V1_DDL:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO sessions (started, routine, status) VALUES (?, 'release', 'completed')",
        (wall.isoformat(),),
    )
    for event in whole_session():
        conn.execute(
            "INSERT INTO events (session_id, kind, at, wall, routine, exercise, side, data)"
            " VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.kind,
                event.at,
                wall.isoformat(),
                event.routine,
                event.exercise,
                event.side,
                json.dumps(event.data),
            ),
        )
    conn.commit()
    conn.close()


def test_v1_database_reads_and_migrates(db: Path, wall: FakeWall) -> None:
    make_v1_file(db, wall.now)
    # Read-only first (no upgrade possible), then writable (upgrades in place).
    with HistoryStore.open(db, read_only=True) as reader:
        [old] = reader.sessions()
        assert old.resumes is None and old.holds == {"left": 1, "right": 1}
    with HistoryStore.open(db, wall=wall) as store:
        [record] = store.sessions()
        assert record == old
        assert store.events(record.id) == whole_session()
        record_all(store, whole_session())
        assert len(store.sessions()) == 2
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = [row[1] for row in conn.execute("PRAGMA table_info(sessions)")]
    assert "resumes" in columns
    conn.close()


def test_newer_schema_is_refused(db: Path, wall: FakeWall) -> None:
    HistoryStore.open(db, wall=wall).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(VoicecoachError, match="newer than this voicecoach"):
        HistoryStore.open(db, wall=wall)
    with pytest.raises(VoicecoachError, match="newer than this voicecoach"):
        HistoryStore.open(db, read_only=True)
