"""The session history: every SessionEvent committed to a SQLite file as it happens (adapter).

One writer at a time, guarded by an OS lock; readers (`voicecoach history`) open read-only and
need no lock. Wall-clock time is taken here, at the edge, through an injected `wall` function.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.messages import SessionEvent

if TYPE_CHECKING:
    pass

from voicecoach.history import schema
from voicecoach.history.files import (
    HistoryWriteError,
    NoHistoryYet,
    Wall,
    _acquire_lock,
    _check_access,
    _damaged,
    _ensure_private_dir,
    _lock_held_elsewhere,
    _move_aside,
    _private_sidecars,
    _release_lock,
    _same_dir,
    _touch_private,
    _write_error,
    default_path,
    default_wall,
    disk_full,
    lock_path,
)
from voicecoach.history.recording import StoreRecording
from voicecoach.history.records import INTERRUPTED, RUNNING
from voicecoach.history.schema import SCHEMA_VERSION, _too_new


class HistoryStore(StoreRecording):
    """The history database. Open with `HistoryStore.open()`; use as a context manager.

    A writable store holds an exclusive lock on `<db>.lock` for as long as it is open, so a second
    voicecoach session is refused instead of interleaving its writes.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        wall: Wall,
        read_only: bool,
        lock_fd: int | None,
        version: int,
        set_aside: Path | None = None,
    ) -> None:
        self._conn = conn
        self.path = path
        self._wall = wall
        self.read_only = read_only
        self._lock_fd = lock_fd
        self._version = version
        self.set_aside = set_aside
        """Where a damaged database was moved on open, if one was."""
        self._mutex = threading.RLock()  # one connection, shared by the session thread
        self._current: int | None = None
        self._current_has_start = False
        self._current_finished = False
        self._current_steps = 0
        self._pending_resume: int | None = None
        self._closed = False
        self.warnings: list[str] = []
        """Rows voicecoach did not write, skipped while reading (one line each, deduplicated)."""
        self.write_failure: HistoryWriteError | None = None
        """Why the last write failed (a full disk); once set, nothing more is written."""
        self.unsaved_events = 0
        """Events that reached `record` after the history stopped being written."""
        self.last_saved_step: SessionEvent | None = None
        """The current session's newest committed step_started: where a resume would pick up."""
        self.saved_status: str | None = None
        """The current session's status as committed (None before its row is)."""

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        wall: Wall = default_wall,
        read_only: bool = False,
    ) -> HistoryStore:
        """Open (creating or upgrading) the history at `path` (default: the user's data dir).

        Writable: takes the single-writer lock (VoicecoachError if another session holds it),
        sets a damaged file aside as `<name>.corrupt-<timestamp>` and starts a fresh one.
        Read-only: never writes or locks; VoicecoachError if there is no readable history.
        """
        path = Path(path) if path is not None else default_path()
        if read_only:
            return cls._open_read_only(path, wall)
        # The person's own data directory is theirs alone; a demo's --out DIR is left as it is.
        _ensure_private_dir(path.parent, tighten=_same_dir(path.parent, paths.data_dir()))
        exists = _check_access(path, write=True)  # unreadable is not damaged: never set aside
        lock_fd = _acquire_lock(lock_path(path))
        try:
            set_aside = None
            if exists and not schema.is_healthy(path):
                set_aside = _move_aside(path, wall())
            _touch_private(path)
            try:
                conn = schema.connect(path)
            except sqlite3.Error as exc:
                raise _write_error(path, exc, "cannot open") from None
            try:
                version = schema.migrate(conn, path)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            _release_lock(lock_fd)
            raise
        _private_sidecars(path)
        return cls(
            conn,
            path,
            wall=wall,
            read_only=False,
            lock_fd=lock_fd,
            version=version,
            set_aside=set_aside,
        )

    @classmethod
    def _open_read_only(cls, path: Path, wall: Wall) -> HistoryStore:
        if not _check_access(path, write=False) or path.stat().st_size == 0:
            raise NoHistoryYet(f"no history yet (no sessions recorded in {path})")
        # With no session recording and no write-ahead log left over, the file alone is the
        # whole history: open it immutable, which creates no -wal/-shm beside it and works in a
        # read-only directory or mount. Otherwise the log must be read with the writer's.
        wal = path.with_name(path.name + "-wal")
        quiet = not wal.exists() and not _lock_held_elsewhere(lock_path(path))
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if quiet else ''}",
                uri=True,
                check_same_thread=False,
                timeout=schema.BUSY_TIMEOUT_S,
            )
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable: not damage
                if disk_full(path, exc):  # reading a log needs room for its shared memory
                    raise _write_error(path, exc, "cannot read", "free some space") from None
                raise VoicecoachError(f"cannot read the history file {path}: {exc}") from None
            raise _damaged(path, exc) from None
        if version == 0:
            conn.close()
            raise NoHistoryYet(f"no history yet (no sessions recorded in {path})")
        if version > SCHEMA_VERSION:
            conn.close()
            raise _too_new(path, version)
        return cls(conn, path, wall=wall, read_only=True, lock_fd=None, version=version)

    def close(self) -> None:
        """Close the database and release the lock. A session still running is interrupted."""
        if self._closed:
            return
        with self._mutex:
            if self._current is not None and not self.read_only:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute(
                        "UPDATE sessions SET status = ? WHERE id = ? AND status = ?",
                        (INTERRUPTED, self._current, RUNNING),
                    )
            self._conn.close()
            self._closed = True
            if self._lock_fd is not None:
                _release_lock(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
