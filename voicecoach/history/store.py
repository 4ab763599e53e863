"""The session history: every SessionEvent committed to a SQLite file as it happens (adapter).

One writer at a time, guarded by an OS lock; readers (`voicecoach history`) open read-only and
need no lock. Wall-clock time is taken here, at the edge, through an injected `wall` function.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.messages import Progress, ResumePoint, SessionEvent

if TYPE_CHECKING:
    from voicecoach.summary import SessionSummary

_LOGGER = logging.getLogger(__name__)

DB_NAME = "history.sqlite3"
Wall = Callable[[], datetime]

# Session statuses.
RUNNING = "running"
COMPLETED = "completed"
STOPPED = "stopped"
INTERRUPTED = "interrupted"
SKIPPED = "skipped"
"""Ran to its end with every exercise skipped: neither completed (it held nothing) nor stopped."""

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
MAX_EVENT_AT = 1e10
"""Largest session-clock time (seconds) a stored event may carry; beyond it the row was not
written by voicecoach (a monotonic clock reaches it after three centuries)."""
_DATA_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("hold_ended", "achieved_s"): (0.0, 86400.0),
    ("extended", "seconds"): (0.0, 86400.0),
    ("rating", "value"): (0, 10),
}
"""The numbers the history adds up, and the range the session writes them in (a hold or an
extension within a day, a stiffness rating 0 to 10); outside it, the event is not ours."""
_BUSY_TIMEOUT_S = 5.0
"""How long opening waits for another program's lock on the file before giving up."""


class NoHistoryYet(VoicecoachError):
    """There is no history file, or it holds no sessions table yet (e.g. zero bytes)."""


class HistoryWriteError(VoicecoachError):
    """The history could not be written (a full disk, an I/O error). The transaction that failed
    left nothing behind, and what was committed before it is kept."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


DISK_NEARLY_FULL_BYTES = 1 << 20
"""Free space under which an I/O error while writing the history is taken for a full disk:
SQLite reports a full disk as "database or disk is full" while appending to its log, but as
"disk I/O error" when it cannot grow its 32 kB shared-memory file (tmpfs, measured)."""


def default_wall() -> datetime:
    """The local wall-clock time, with its UTC offset."""
    return datetime.now().astimezone()


def default_path() -> Path:
    """Where the history lives: `history.sqlite3` in the user's data directory."""
    return paths.data_dir() / DB_NAME


@dataclass(frozen=True)
class SessionRecord:
    """One session as the history table shows it, computed from its stored events."""

    id: int
    started: datetime
    """Wall-clock time of the session's first event (local time with offset)."""
    routine: str | None
    status: str
    """running, completed, stopped, interrupted, or skipped (ran to its end with every exercise
    skipped)."""
    duration_s: float
    """Session-clock seconds from its first to its last event (pauses included)."""
    holds: dict[str, int] = field(default_factory=dict)
    """Exercise sides held, per side (left/right/none first; exercises without a side count
    under "none"), as the spoken summary counts them: a hold done, or held in part before a
    skip or a stop. A try that pain stopped is in `pain_stopped`, not here, and a retry of the
    same side is the same side."""
    held_s: dict[str, float] = field(default_factory=dict)
    """Seconds held per side, as the spoken summary gives them: each side's hold done (or what
    was held of it), not the tries pain stopped. Pauses are not in it."""
    pain_stopped: int = 0
    """Holds that pain stopped ("Pain stopped two holds")."""
    skips: int = 0
    seconds_added: int = 0
    """Sum of the seconds added by "extend"."""
    stiffness_before: int | None = None
    stiffness_after: int | None = None
    resumes: int | None = None
    """Id of the interrupted session this one continues, if any."""
    events: int = 0
    """Number of stored events."""
    counts_for: str | None = None
    """The routine whose source advises a daily count, when this session held its exercises
    (the kneeling stretch): only such sessions count towards "2 to 3 times daily"."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (started as ISO 8601)."""
        return {
            "id": self.id,
            "started": self.started.isoformat(),
            "routine": self.routine,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "holds": dict(self.holds),
            "held_s": {side: round(s, 3) for side, s in self.held_s.items()},
            "pain_stopped": self.pain_stopped,
            "skips": self.skips,
            "seconds_added": self.seconds_added,
            "stiffness_before": self.stiffness_before,
            "stiffness_after": self.stiffness_after,
            "resumes": self.resumes,
            "events": self.events,
            "counts_for": self.counts_for,
        }


def streak_ending(days: Iterable[date], end: date) -> int:
    """How many consecutive days, ending with `end`, are in `days` (0 if `end` is not)."""
    have = set(days)
    count = 0
    day = end
    while day in have:
        count += 1
        day -= timedelta(days=1)
    return count


def first_day(days: int | None, today: date) -> date | None:
    """The first day of "the last `days` days" (today counting as the first); None for all of
    them, also when `days` reaches back past year 1."""
    if days is None:
        return None
    try:
        return today - timedelta(days=days - 1)
    except OverflowError:
        return None


def record_from_events(
    session_id: int,
    started: datetime,
    status: str,
    events: Sequence[SessionEvent],
    resumes: int | None = None,
) -> SessionRecord:
    """Summarize one session's events into a table row. What was held comes from
    `voicecoach.summary.summarize`, the spoken summary's own reckoning, so the two agree (retries
    after pain were added up here as holds of their own)."""
    from voicecoach.summary import summarize

    holds: dict[str, int] = {}
    held: dict[str, float] = {}
    summary = summarize(events)
    for result in summary.results:
        if result.achieved_s > 1e-9:
            side = result.side or "none"
            holds[side] = holds.get(side, 0) + 1
            held[side] = held.get(side, 0.0) + result.achieved_s
    skips = 0
    added = 0
    before: int | None = None
    after: int | None = None
    routine: str | None = None
    counts_for: str | None = None
    for event in events:
        routine = routine or event.routine
        if event.kind == "finished" and isinstance(event.data.get("counts_for"), str):
            counts_for = str(event.data["counts_for"])
        if event.kind == "skipped":
            skips += 1
        elif event.kind == "extended":
            added += int(_number(event.data.get("seconds")))
        elif event.kind == "rating":
            value = event.data.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                if event.data.get("phase") == "after":
                    after = value
                else:
                    before = value
    if status == STOPPED and _all_skipped(events):
        status = SKIPPED  # written as "stopped" by versions that had no status for it
    duration = events[-1].at - events[0].at if events else 0.0
    order = {"left": 0, "right": 1, "none": 2}
    holds = dict(sorted(holds.items(), key=lambda item: (order.get(item[0], 3), item[0])))
    held = {side: held[side] for side in holds}
    return SessionRecord(
        id=session_id,
        started=started,
        routine=routine,
        status=status,
        duration_s=max(0.0, duration),
        holds=holds,
        held_s=held,
        pain_stopped=sum(r.stopped for r in summary.results),
        skips=skips,
        seconds_added=added,
        stiffness_before=before,
        stiffness_after=after,
        resumes=resumes,
        events=len(events),
        counts_for=counts_for,
    )


def _all_skipped(events: Sequence[SessionEvent]) -> bool:
    """Whether a session ran to its end holding nothing. Its finished event says so (all_skipped)
    since that flag exists; before it, such a session finished with completed=False and, unlike a
    stop that was not taken back, had no stopped event."""
    finished = [e for e in events if e.kind == "finished"]
    if not finished or finished[-1].data.get("completed", True):
        return False
    if finished[-1].data.get("all_skipped") is True:
        return True
    held = any(e.kind == "hold_ended" and _number(e.data.get("achieved_s")) > 1e-9 for e in events)
    return not held and not any(e.kind == "stopped" for e in events)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


class HistoryStore:
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
            if exists and not _is_healthy(path):
                set_aside = _move_aside(path, wall())
            _touch_private(path)
            try:
                conn = _connect(path)
            except sqlite3.Error as exc:
                raise _write_error(path, exc, "cannot open") from None
            try:
                version = _migrate(conn, path)
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
                timeout=_BUSY_TIMEOUT_S,
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

    # --- recording -----------------------------------------------------------------------------

    def recorder(
        self, on_failure: Callable[[HistoryWriteError], None] | None = None
    ) -> Callable[[SessionEvent], None]:
        """The session's `on_event`: commits each event (and its session row) as it happens.

        A session row ("running") opens with session_started, or with an event that arrives
        before it (session_started then joins that row, so the stored order is the order of
        arrival). finished → "completed", stopped → "stopped",
        resumed_after_stop → "running" again; finished with data completed=False (a stop that
        was not taken back) → "stopped", or, with all_skipped, → "skipped". session_started
        with data resumed_session_id links the session to the interrupted one it continues. A
        rating after finished stays with it; any other event after finished opens the next one.
        A database error is logged, never raised into the session. When the history cannot be
        written (a full disk), `on_failure` is told once, with the one-line reason, and nothing
        more is written (see `record`).
        """
        self._require_writable()

        def record(event: SessionEvent) -> None:
            try:
                self.record(event)
            except HistoryWriteError as exc:
                if self.unsaved_events == 1:  # the first: say it once
                    _LOGGER.error("history: %s", exc)
                    if on_failure is not None:
                        on_failure(exc)
            except (sqlite3.Error, TypeError, ValueError) as exc:
                _LOGGER.error("history: could not record %s event: %s", event.kind, exc)

        return record

    def record(self, event: SessionEvent) -> int:
        """Commit one event; returns the id of the session it was stored under.

        HistoryWriteError when it cannot be written (a full disk). From then on nothing more is
        written by this store (each later event is counted in `unsaved_events` and refused the
        same way): what is stored stays the true beginning of the session, never one with a
        hole in it, and the next start offers to resume it from its last stored step.
        """
        self._require_writable()
        wall = self._wall().isoformat()
        data = json.dumps(event.data, separators=(",", ":"))
        with self._mutex:
            if self.write_failure is not None:
                self.unsaved_events += 1
                raise self.write_failure
            conn = self._conn
            current = self._current
            has_start, finished, steps = (
                self._current_has_start,
                self._current_finished,
                self._current_steps,
            )
            new_session = self._starts_new_session(event)
            try:
                conn.execute("BEGIN IMMEDIATE")
                if new_session:
                    if current is not None:
                        # A new session began without the previous one finishing or stopping.
                        conn.execute(
                            "UPDATE sessions SET status = ? WHERE id = ? AND status = ?",
                            (INTERRUPTED, current, RUNNING),
                        )
                    cursor = conn.execute(
                        "INSERT INTO sessions (started, routine, status, resumes) "
                        "VALUES (?, ?, ?, ?)",
                        (wall, event.routine, RUNNING, self._pending_resume),
                    )
                    current = int(cursor.lastrowid or 0)
                    has_start, finished, steps = False, False, 0
                session_id = current
                assert session_id is not None
                conn.execute(
                    "INSERT INTO events (session_id, kind, at, wall, routine, exercise, side, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        event.kind,
                        float(event.at),
                        wall,
                        event.routine,
                        event.exercise,
                        event.side,
                        data,
                    ),
                )
                status = _status_after(event)
                if event.kind == "session_started":
                    has_start = True
                    resumes = event.data.get("resumed_session_id")
                    if not isinstance(resumes, int) or isinstance(resumes, bool):
                        resumes = None
                    conn.execute(
                        "UPDATE sessions SET routine = coalesce(?, routine), "
                        "resumes = coalesce(?, resumes) WHERE id = ?",
                        (event.routine, resumes, session_id),
                    )
                elif event.kind == "step_started":
                    steps += 1
                elif event.kind == "finished":
                    finished = True
                if status is not None:
                    conn.execute(
                        "UPDATE sessions SET status = ? WHERE id = ?", (status, session_id)
                    )
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    self.write_failure = _write_error(
                        self.path,
                        exc,
                        "cannot save this session in",
                        "what was saved before stays, and nothing more of this session is saved",
                    )
                    self.unsaved_events += 1
                    raise self.write_failure from None
                raise
            # Only what was committed moves the store on: a failed event leaves it as it was.
            if new_session:
                self._pending_resume = None
                self.last_saved_step = None
                self.saved_status = RUNNING
            if status is not None:
                self.saved_status = status
            self._current = current
            self._current_has_start, self._current_finished = has_start, finished
            self._current_steps = steps
            if event.kind == "step_started":
                self.last_saved_step = event
        return session_id

    def _starts_new_session(self, event: SessionEvent) -> bool:
        if self._current is None:
            return True
        if event.kind == "session_started":
            return self._current_has_start
        # After "finished" only a closing check-in still belongs to the session.
        closing = event.kind == "rating" and event.data.get("phase") == "after"
        return self._current_finished and not closing

    def mark_resumed(self, interrupted_id: int) -> None:
        """Link the session being recorded (or the next one) to the interrupted one it continues.

        Applies to the current session if it has not started a step yet, else to the next.
        """
        self._require_writable()
        with self._mutex:
            if self._current is not None and self._current_steps == 0:
                self._conn.execute(
                    "UPDATE sessions SET resumes = ? WHERE id = ?", (interrupted_id, self._current)
                )
            else:
                self._pending_resume = interrupted_id

    @property
    def current_session_id(self) -> int | None:
        """The id of the session this store is recording, if any."""
        return self._current

    # --- what the next session needs ----------------------------------------------------------

    def progress(self, today: date | None = None) -> Progress:
        """Counts for the spoken summary, as if the session about to start (or running) completes.

        sessions_today = sessions with status "completed" whose first event fell on `today`
        (local date of the wall clock when it started), plus one for the session about to start.
        streak_days = consecutive days ending today that have a completed session, counting
        today as one of them (so at least 1). Call it before the session starts (or while it
        runs): once a session has completed it counts as done, and the +1 is for the next one.
        """
        today = today or self._wall().date()
        days: dict[date, int] = {}
        rows = self._query("SELECT started FROM sessions WHERE status = ?", (COMPLETED,))
        for (started,) in rows:
            when = _parse_started(started)
            if when is None:
                continue  # a row voicecoach did not write: it counts for nothing
            day = when.date()
            days[day] = days.get(day, 0) + 1
        sessions_today = days.get(today, 0) + 1
        streak = streak_ending(set(days) | {today}, today)
        # advised_today: only sessions that held the exercises a source advises a daily count
        # for (their finished event says so), plus one for this session, if it is one.
        counted = self._query(
            "SELECT s.started FROM sessions s JOIN events e ON e.session_id = s.id "
            "WHERE s.status = ? AND e.kind = 'finished' AND e.data LIKE '%\"counts_for\"%'",
            (COMPLETED,),
        )
        advised = sum(
            1
            for (started,) in counted
            if (when := _parse_started(started)) and when.date() == today
        )
        return Progress(
            sessions_today=sessions_today, streak_days=streak, advised_today=advised + 1
        )

    def interrupted(self, names: Mapping[str, str] | None = None) -> ResumePoint | None:
        """Where the newest session stopped if a crash or kill cut it short, else None.

        Sessions left "running" by an earlier process (this store holds the writer lock, so their
        process is gone) are marked "interrupted". The newest session is offered if it is
        interrupted and got as far as a step; once a later session starts (in this process or
        another), it is no longer offered. Read-only stores do not mark anything.
        Events record exercise ids; `names` (exercise id → spoken name) turns the ResumePoint's
        exercise into the spoken name, else it is the recorded id.
        """
        with self._mutex:
            if not self.read_only and self.write_failure is None:
                try:
                    self._conn.execute(
                        "UPDATE sessions SET status = ? WHERE status = ? AND id IS NOT ?",
                        (INTERRUPTED, RUNNING, self._current),
                    )
                except sqlite3.Error as exc:
                    # A full disk: a "running" row whose process is gone reads as interrupted
                    # all the same (_shown_status), so the offer below stands.
                    _LOGGER.warning("history: could not mark old sessions interrupted: %s", exc)
            row = self._conn.execute(
                "SELECT id, status, routine FROM sessions ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if (
            row is None
            or row[0] == self._current
            or self._shown_status(int(row[0]), row[1]) != INTERRUPTED
        ):
            return None
        session_id = int(row[0])
        steps = self._query(
            "SELECT data, exercise, side, routine FROM events "
            "WHERE session_id = ? AND kind = 'step_started' ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
        if not steps:
            return None
        step = steps[0]
        data = _json_object(step[0])
        index = None if data is None else data.get("step")
        routine = step[3] or row[2]
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(routine, str):
            return None  # not a step voicecoach recorded: nothing to offer
        if not isinstance(step[1], str | None) or not isinstance(step[2], str | None):
            return None
        return ResumePoint(
            routine=routine,
            step_index=index,
            exercise=(names or {}).get(step[1], step[1]) if step[1] else "",
            side=step[2],
            session_id=session_id,
        )

    # --- reading -------------------------------------------------------------------------------

    def events(self, session_id: int) -> list[SessionEvent]:
        """The session's events, rebuilt exactly as they were recorded, in order."""
        rows = self._query(
            "SELECT id, kind, at, routine, exercise, side, data FROM events "
            "WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
        return [event for row in rows if (event := self._event(row, session_id)) is not None]

    def summary(self, session_id: int, progress: Progress | None = None) -> SessionSummary:
        """The session's summary, computed by `voicecoach.summary.summarize` from stored events."""
        from voicecoach.summary import summarize

        if not self._session_exists(session_id):
            raise VoicecoachError(f"no session {session_id} in the history")
        return summarize(self.events(session_id), progress)

    def sessions(self, days: int | None = None, today: date | None = None) -> list[SessionRecord]:
        """Sessions, oldest first; with `days`, only those started in the last `days` days
        (today counting as the first)."""
        resumes = "resumes" if self._version >= 2 else "NULL"
        rows = self._query(
            f"SELECT id, started, routine, status, {resumes} FROM sessions ORDER BY id"
        )
        since = first_day(days, today or self._wall().date())
        events_by_session = self._all_events() if rows else {}
        records = []
        for session_id, started_text, routine, status, resumed in rows:
            started = _parse_started(started_text)
            if started is None:
                self._warn(
                    f"skipped session {session_id}: its start time {_brief(started_text)}"
                    " is not a date and time"
                )
                continue
            if not isinstance(resumed, int):
                resumed = None
            if not isinstance(routine, str):
                routine = None
            if not isinstance(status, str):
                status = INTERRUPTED
            if since is not None and started.date() < since:
                continue
            events = events_by_session.get(session_id, [])
            status = self._shown_status(session_id, status)
            record = record_from_events(session_id, started, status, events, resumed)
            if record.routine is None and routine is not None:
                record = _with_routine(record, routine)
            records.append(record)
        return records

    def writer_active(self) -> bool:
        """Whether some process holds the writer lock (a session is being recorded)."""
        if self._lock_fd is not None:
            return True
        return _lock_held_elsewhere(lock_path(self.path))

    def forget(self) -> int:
        """Delete every session and event, and wipe the freed pages; returns sessions deleted."""
        self._require_writable()
        with self._mutex:
            count = int(self._conn.execute("SELECT count(*) FROM sessions").fetchone()[0])
            try:
                self._conn.execute("PRAGMA secure_delete = ON")
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute("DELETE FROM events")
                self._conn.execute("DELETE FROM sessions")
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(self._conn)
                raise _write_error(
                    self.path, exc, "cannot forget the sessions in", "nothing was deleted"
                ) from None
            self._current = None
            self._current_has_start = False
            self._pending_resume = None
            try:
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                raise _write_error(
                    self.path,
                    exc,
                    "deleted every session, but cannot wipe their old pages in",
                    "run it again once there is space",
                ) from None
        _LOGGER.info("history: forgot %d sessions in %s", count, self.path)
        return count

    # --- internals -----------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._mutex:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                raise VoicecoachError(f"cannot read the history file {self.path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                # Damage past the first page only shows when its rows are read.
                raise _damaged(self.path, exc) from None

    def _all_events(self) -> dict[int, list[SessionEvent]]:
        by_session: dict[int, list[SessionEvent]] = {}
        rows = self._query(
            "SELECT session_id, id, kind, at, routine, exercise, side, data FROM events ORDER BY id"
        )
        for row in rows:
            event = self._event(row[1:], row[0])
            if event is not None:
                by_session.setdefault(row[0], []).append(event)
        return by_session

    def _event(self, row: Sequence[Any], session_id: object) -> SessionEvent | None:
        """The stored event, or None (and a warning) for a row voicecoach could not have written:
        data that is not a JSON object, a time that is not a finite number, a number out of
        range."""
        event_id, kind, at, routine, exercise, side, data = row
        problem = None
        parsed = _json_object(data)
        if parsed is None:
            problem = f"its data {_brief(data)} is not a JSON object"
        elif not _finite_numbers(parsed):
            problem = f"its data {_brief(data)} holds a number out of range"
        elif isinstance(at, bool) or not isinstance(at, int | float) or not abs(at) <= MAX_EVENT_AT:
            problem = f"its time {_brief(at)} is not a number of seconds"
        elif not isinstance(kind, str) or not all(
            v is None or isinstance(v, str) for v in (routine, exercise, side)
        ):
            problem = "its kind, routine, exercise or side is not text"
        else:
            for (bounded_kind, name), (low, high) in _DATA_BOUNDS.items():
                value = parsed.get(name) if kind == bounded_kind else None
                if value is not None and (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not low <= value <= high
                ):
                    problem = f"its {name} {_brief(value)} is not from {low:g} to {high:g}"
        if problem is not None:
            self._warn(f"skipped event {event_id} of session {session_id}: {problem}")
            return None
        assert parsed is not None
        return SessionEvent(
            kind=kind, at=float(at), routine=routine, exercise=exercise, side=side, data=parsed
        )

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            _LOGGER.info("history %s: %s", self.path, message)

    def _shown_status(self, session_id: int, status: str) -> str:
        # "running" is only true of the session some live process is recording.
        if status != RUNNING or session_id == self._current:
            return status
        if self.read_only and self.writer_active():
            return status
        return INTERRUPTED

    def _session_exists(self, session_id: int) -> bool:
        return bool(self._query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)))

    def _require_writable(self) -> None:
        if self.read_only:
            raise VoicecoachError("the history was opened read-only")
        if self._closed:
            raise VoicecoachError("the history is closed")


def lock_path(db_path: Path) -> Path:
    """The writer lock file that goes with a history database."""
    return db_path.with_name(db_path.name + ".lock")


def set_aside_copies(db_path: Path) -> list[Path]:
    """Damaged databases that were moved aside next to `db_path` (with their -wal/-shm files)."""
    return sorted(db_path.parent.glob(db_path.name + ".corrupt-*"))


def _status_after(event: SessionEvent) -> str | None:
    """The session status an event sets, if it sets one."""
    if event.kind == "finished":
        # The session finishes with completed=False when a "stop" was not taken back, or when
        # it ran to its end with every exercise skipped (all_skipped).
        if event.data.get("completed", True):
            return COMPLETED
        return SKIPPED if event.data.get("all_skipped") is True else STOPPED
    return {"stopped": STOPPED, "resumed_after_stop": RUNNING}.get(event.kind)


def _parse_started(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str | bytes):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _finite_numbers(value: object, depth: int = 0) -> bool:
    """No inf or nan (json reads 1e999 as inf) anywhere in a stored event's data."""
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 20:
        return False
    if isinstance(value, dict):
        return all(_finite_numbers(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_finite_numbers(v, depth + 1) for v in value)
    return True


def _brief(value: object, limit: int = 40) -> str:
    shown = " ".join(repr(value).split())
    return shown if len(shown) <= limit else f"{shown[: limit - 3]}..."


def _with_routine(record: SessionRecord, routine: str) -> SessionRecord:
    return replace(record, routine=routine)


def _damaged(path: Path, exc: sqlite3.DatabaseError) -> VoicecoachError:
    return VoicecoachError(
        f"history file {path} is damaged ({exc}); the next session sets it aside and "
        "starts a fresh one"
    )


def _too_new(path: Path, version: int) -> VoicecoachError:
    return VoicecoachError(
        f"history file {path} has schema version {version}, newer than this voicecoach "
        f"({SCHEMA_VERSION}); update voicecoach"
    )


def _ensure_private_dir(directory: Path, *, tighten: bool = False) -> None:
    """Create the history's directory as 0700; with `tighten` (the user's own data directory)
    an existing one that others may read is made 0700 too."""
    try:
        info = directory.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise VoicecoachError(
            f"cannot open the history directory {directory}: {exc.strerror or exc}"
        ) from None
    if info is not None:
        if tighten and info.st_mode & 0o077 and info.st_uid == os.getuid():
            try:
                os.chmod(directory, 0o700)
                _LOGGER.info("history: made %s private (was %o)", directory, info.st_mode & 0o777)
            except OSError as exc:
                _LOGGER.warning("history: could not make %s private: %s", directory, exc)
        return
    try:
        directory.mkdir(parents=True, mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise VoicecoachError(f"cannot create the history directory {directory}: {exc}") from None


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_access(path: Path, *, write: bool) -> bool:
    """Whether the history file exists; VoicecoachError (one line naming the file and the
    permission) when it, or its directory, cannot be opened as needed. Such a file is healthy
    as far as anyone knows and is never set aside."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise VoicecoachError(
            f"cannot open the history file {path}: {exc.strerror or exc} (on its directory "
            f"{path.parent}); nothing was changed"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise VoicecoachError(f"history file {path} is not a file; move it away")
    try:
        fd = os.open(path, os.O_RDWR if write else os.O_RDONLY)
        os.close(fd)
    except OSError as exc:
        need = "read and write" if write else "read"
        raise VoicecoachError(
            f"cannot open the history file {path}: {exc.strerror or exc} (mode "
            f"{stat.S_IMODE(info.st_mode):03o}, owner uid {info.st_uid}; voicecoach needs to "
            f"{need} it); nothing was changed"
        ) from None
    return True


def _touch_private(path: Path) -> None:
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise _write_error(path, exc, "cannot write") from None


def _private_sidecars(path: Path) -> None:
    # SQLite gives -wal/-shm the main file's mode; this only tightens older, laxer files.
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        with contextlib.suppress(OSError):
            if sidecar.exists():
                os.chmod(sidecar, 0o600)


def _acquire_lock(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise VoicecoachError(f"cannot open the history lock {path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f"pid {holder}" if holder else "pid unknown"
        raise VoicecoachError(f"another voicecoach session is running ({who})") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:  # a full disk: the lock holds all the same, only unnamed
        _LOGGER.info("history: could not write the pid into %s: %s", path, exc)
    return fd


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def _release_lock(fd: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def _lock_held_elsewhere(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _is_healthy(path: Path) -> bool:
    """False when the file is not a SQLite database or fails its integrity check.

    A file that cannot be checked right now (locked by another program, unreadable) is not
    known to be damaged: that is a VoicecoachError, so a healthy history is never set aside.
    """
    try:
        conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_S)
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


def _move_aside(path: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        os.replace(path, target)
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                os.replace(sidecar, target.with_name(target.name + suffix))
    except OSError as exc:
        raise VoicecoachError(
            f"history file {path} is damaged and cannot be moved aside: {exc}"
        ) from None
    _LOGGER.warning(
        "history file %s was damaged; moved it to %s and started a fresh history", path, target
    )
    return target


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit: each event is its own transaction, committed before record() returns.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> int:
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
            _rollback(conn)
            if isinstance(exc, sqlite3.Error):
                raise _write_error(path, exc, "cannot set up") from None
            raise
        _LOGGER.info("history: schema upgraded to version %d", version + 1)
        version += 1
    return version


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo an open transaction, if SQLite has not already (it rolls back by itself on a full
    disk, and a ROLLBACK then fails with "no transaction is active", hiding the cause)."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        _LOGGER.warning("history: rollback failed too: %s", exc)


def disk_full(path: Path, exc: BaseException) -> bool:
    """Whether a failed write to `path` failed because its disk is full (or nearly: see
    DISK_NEARLY_FULL_BYTES)."""
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
    elif isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL":
            return True
        if not name.startswith("SQLITE_IOERR"):
            return False
    else:
        return False
    free = free_bytes(path)
    return free is not None and free < DISK_NEARLY_FULL_BYTES


def free_bytes(path: Path) -> int | None:
    """Bytes free (to this user) on the filesystem holding `path` or its nearest parent."""
    for candidate in (path, *path.parents):
        try:
            info = os.statvfs(candidate)
        except OSError:
            continue
        return info.f_bavail * info.f_frsize
    return None


def _write_error(
    path: Path,
    exc: BaseException,
    doing: str,
    then: str = "free some space and start again (nothing saved in it is lost)",
) -> HistoryWriteError:
    """One line naming the file and the cause: a full disk is called that, whatever SQLite's
    words for it were."""
    if disk_full(path, exc):
        free = free_bytes(path)
        left = f" ({free // 1024} kB free)" if free is not None else ""
        return HistoryWriteError(
            f"{doing} the history file {path}: the disk is full{left}; {then}", disk_full=True
        )
    cause = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return HistoryWriteError(f"{doing} the history file {path}: {cause}; {then}")
