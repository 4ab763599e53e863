"""The session history: SessionEvents go in as they happen (`recording`) and are committed to a
SQLite file (`schema`, `files`: its lock, privacy and full-disk handling); out come the progress
the next summary says, where an interrupted session can resume, and the sessions
`voicecoach history` lists (`reading`, `records`), and the history as one picture (`plot`,
imported only by `voicecoach history --plot`). `store.HistoryStore` is the one object callers
open."""

from voicecoach.history.files import (
    DB_NAME,
    DISK_NEARLY_FULL_BYTES,
    HistoryWriteError,
    NoHistoryYet,
    Wall,
    default_path,
    default_wall,
    disk_full,
    free_bytes,
    lock_path,
    set_aside_copies,
)
from voicecoach.history.reading import MAX_EVENT_AT
from voicecoach.history.records import (
    COMPLETED,
    INTERRUPTED,
    RUNNING,
    SKIPPED,
    STOPPED,
    SessionRecord,
    first_day,
    record_from_events,
    streak_ending,
)
from voicecoach.history.schema import MIGRATIONS, SCHEMA_VERSION
from voicecoach.history.store import HistoryStore

__all__ = [
    "COMPLETED",
    "DB_NAME",
    "DISK_NEARLY_FULL_BYTES",
    "INTERRUPTED",
    "MAX_EVENT_AT",
    "MIGRATIONS",
    "RUNNING",
    "SCHEMA_VERSION",
    "SKIPPED",
    "STOPPED",
    "HistoryStore",
    "HistoryWriteError",
    "NoHistoryYet",
    "SessionRecord",
    "Wall",
    "default_path",
    "default_wall",
    "disk_full",
    "first_day",
    "free_bytes",
    "lock_path",
    "record_from_events",
    "set_aside_copies",
    "streak_ending",
]
