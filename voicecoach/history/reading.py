"""Reading the history: progress for the summary, where an interrupted session stopped, the
sessions and their events, and skipping (with a warning) rows voicecoach did not write."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.errors import VoicecoachError
from voicecoach.messages import Progress, ResumePoint, SessionEvent

if TYPE_CHECKING:
    from voicecoach.summary import SessionSummary

from voicecoach.history.files import Wall, _damaged, _lock_held_elsewhere, lock_path
from voicecoach.history.records import (
    COMPLETED,
    INTERRUPTED,
    RUNNING,
    SessionRecord,
    _brief,
    _finite_numbers,
    _json_object,
    _parse_started,
    _with_routine,
    first_day,
    record_from_events,
    streak_ending,
)

_LOGGER = logging.getLogger(__name__)

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


class StoreReading:
    """Reading the history: what the next session needs (progress, where to resume) and what
    `voicecoach history` shows (sessions, events, summaries). See `HistoryStore`."""

    _conn: sqlite3.Connection
    path: Path
    read_only: bool
    _lock_fd: int | None
    _mutex: threading.RLock
    _current: int | None
    _wall: Wall
    warnings: list[str]

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
