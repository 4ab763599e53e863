"""Writing the history: every SessionEvent committed as it happens, under the session it belongs
to, and `forget`; a full disk stops the writing and says so once."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.errors import VoicecoachError
from voicecoach.messages import SessionEvent

if TYPE_CHECKING:
    pass

from voicecoach.history.files import HistoryWriteError, _write_error
from voicecoach.history.reading import StoreReading
from voicecoach.history.records import INTERRUPTED, RUNNING, _status_after
from voicecoach.history.schema import rollback

_LOGGER = logging.getLogger(__name__)


class StoreRecording(StoreReading):
    """Writing the history: each event committed as it happens, resumes linked, and forgetting
    it all. See `HistoryStore`."""

    _current_has_start: bool
    _current_finished: bool
    _current_steps: int
    _pending_resume: int | None
    _closed: bool
    write_failure: HistoryWriteError | None
    unsaved_events: int
    last_saved_step: SessionEvent | None
    saved_status: str | None

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
                rollback(conn)
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
                rollback(self._conn)
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

    def _require_writable(self) -> None:
        if self.read_only:
            raise VoicecoachError("the history was opened read-only")
        if self._closed:
            raise VoicecoachError("the history is closed")
