"""Opening the history: a damaged file set aside, a locked one refused without harm, one writer
at a time, private files."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.history.helpers import FakeWall, record_all, whole_session
from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    RUNNING,
    HistoryStore,
    lock_path,
)
from voicecoach.history import schema as history_schema


def test_corrupt_file_is_moved_aside_and_a_fresh_one_works(
    db: Path, wall: FakeWall, caplog: pytest.LogCaptureFixture
) -> None:
    db.parent.mkdir(parents=True)
    garbage = b"this is not a database, it is a shopping list\n" * 100
    db.write_bytes(garbage)
    with HistoryStore.open(db, wall=wall) as store:
        assert store.set_aside is not None
        assert store.set_aside.name == "history.sqlite3.corrupt-20261120T080000"
        assert store.set_aside.read_bytes() == garbage
        record_all(store, whole_session())
        assert len(store.sessions()) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "damaged" in warnings[0] and "corrupt-20261120T080000" in warnings[0]


def test_malformed_sqlite_file_is_moved_aside(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        for _ in range(30):
            record_all(store, whole_session())
    size = db.stat().st_size
    assert size > 8192
    data = bytearray(db.read_bytes())
    # Overwrite the middle pages (keep the valid header): the b-trees no longer add up.
    data[4096 : size - 4096] = b"\xa5" * (size - 8192)
    db.write_bytes(bytes(data))
    with HistoryStore.open(db, wall=wall) as store:
        assert store.set_aside is not None and store.set_aside.exists()
        assert store.sessions() == []
        record_all(store, whole_session())
        assert len(store.sessions()) == 1


def test_a_locked_history_is_a_clear_error_not_set_aside(
    db: Path, wall: FakeWall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A healthy file that cannot be checked right now (another program holds an exclusive
    SQLite lock on it, e.g. a DB browser) is not damaged: it must stay where it is."""
    monkeypatch.setattr(history_schema, "BUSY_TIMEOUT_S", 0.2)
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session())
    other = sqlite3.connect(db, timeout=0.1)
    try:
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(VoicecoachError, match="locked") as info:
            HistoryStore.open(db, wall=wall)
        assert "\n" not in str(info.value)
    finally:
        other.rollback()
        other.close()
    assert list(db.parent.glob("*.corrupt-*")) == []
    with HistoryStore.open(db, wall=wall) as store:
        assert store.set_aside is None
        assert len(store.sessions()) == 1


def test_a_locked_history_read_only_is_not_called_damaged(
    db: Path, wall: FakeWall, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_schema, "BUSY_TIMEOUT_S", 0.2)
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session())
    other = sqlite3.connect(db, timeout=0.1)
    try:
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(VoicecoachError, match=r"cannot read .* locked") as info:
            HistoryStore.open(db, read_only=True)
        assert "damaged" not in str(info.value)
    finally:
        other.rollback()
        other.close()


def test_damaged_file_read_only_is_a_clear_error(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"not sqlite at all" * 64)
    with pytest.raises(VoicecoachError, match="damaged"):
        HistoryStore.open(db, read_only=True)
    assert db.exists()


def test_second_instance_is_refused_and_nothing_is_written_twice(db: Path, wall: FakeWall) -> None:
    events = whole_session()
    with HistoryStore.open(db, wall=wall) as first:
        record_all(first, events[:5])
        with pytest.raises(VoicecoachError) as caught:
            HistoryStore.open(db, wall=wall)
        message = str(caught.value)
        assert message == f"another voicecoach session is running (pid {os.getpid()})"
        # Reading works while the session runs, and shows it as running.
        with HistoryStore.open(db, read_only=True) as reader:
            assert [r.status for r in reader.sessions()] == [RUNNING]
            assert reader.events(reader.sessions()[0].id) == events[:5]
        record_all(first, events[5:])
    with HistoryStore.open(db, read_only=True) as reader:
        [record] = reader.sessions()
        assert reader.events(record.id) == events
    # After the first closes, a new writer may open.
    HistoryStore.open(db, wall=wall).close()


def test_file_and_directory_are_private(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session()[:3])
        sidecars = (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
        for path in (db, *sidecars, lock_path(db)):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_existing_lax_file_is_tightened(db: Path, wall: FakeWall) -> None:
    HistoryStore.open(db, wall=wall).close()
    os.chmod(db, 0o644)
    HistoryStore.open(db, wall=wall).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# The first schema, copied here so that an edit to the released migration fails a test.
