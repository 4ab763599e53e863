"""Reading: progress for the summary, where an interrupted session resumes, the sessions listed
and a session whose every exercise was skipped."""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.history.helpers import TZ, FakeWall, record_all, whole_session
from voicecoach import history
from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    COMPLETED,
    INTERRUPTED,
    STOPPED,
    HistoryStore,
)
from voicecoach.messages import Progress, ResumePoint, SessionEvent


def test_progress_counts_today_and_the_streak(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        assert store.progress() == Progress(sessions_today=1, streak_days=1, advised_today=1)
        # Three days in a row with a completed session, then a gap, then today.
        for day_offset in (-5, -3, -2, -1):
            wall.now = datetime(2026, 11, 20, 9, 0, tzinfo=TZ) + timedelta(days=day_offset)
            record_all(store, whole_session())
        wall.now = datetime(2026, 11, 20, 7, 0, tzinfo=TZ)
        assert store.progress() == Progress(sessions_today=1, streak_days=4, advised_today=1)
        record_all(store, whole_session()[:6])
        # While a session runs it is "the one about to complete": counted once.
        assert store.progress() == Progress(sessions_today=1, streak_days=4, advised_today=1)
        record_all(store, whole_session()[6:])
        # Once it has completed, the +1 is for the next session.
        assert store.progress() == Progress(sessions_today=2, streak_days=4, advised_today=1)
        # A stopped session does not count; the next day continues the streak.
        record_all(store, [*whole_session()[:4], SessionEvent("stopped", 200.0)])
        assert store.progress() == Progress(sessions_today=2, streak_days=4, advised_today=1)
        assert store.progress(today=date(2026, 11, 21)) == Progress(1, 5, 1)
        assert store.progress(today=date(2026, 11, 22)) == Progress(1, 1, 1)


def test_only_sessions_that_held_the_kneeling_stretch_count_towards_the_advice(
    db: Path, wall: FakeWall
) -> None:
    """ "Repeat 2 - 3 times daily" is the kneeling stretch's advice: a session counts for it when
    its finished event says so (the session decides), and a release-only session does not."""
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session())  # finished without counts_for: a release session
        done = {"completed": True, "counts_for": "hip"}
        hip = [*whole_session()[:-1], SessionEvent("finished", 300.0, routine="hip", data=done)]
        record_all(store, hip)
        assert store.progress().advised_today == 2
        assert store.sessions()[-1].counts_for == "hip"
        assert store.sessions()[0].counts_for is None


def test_interrupted_session_offers_resume_at_its_step(db: Path, wall: FakeWall) -> None:
    events = whole_session()
    cut = events[:10]  # killed during the right-side hold
    # Simulate the crash: record without closing the store cleanly (the lock goes with the fd).
    store = HistoryStore.open(db, wall=wall)
    record_all(store, cut)
    sid = store.current_session_id
    store._conn.close()  # no close(): status stays "running", as after kill -9
    os.close(store._lock_fd)  # type: ignore[arg-type]

    with HistoryStore.open(db, wall=wall) as store2:
        point = store2.interrupted()
        assert point == ResumePoint(
            routine="release",
            step_index=1,
            exercise="kneeling hip flexor stretch",
            side="right",
            session_id=sid,
        )
        assert [r.status for r in store2.sessions()] == [INTERRUPTED]
        # Asking again (or in the next process) gives the same answer until a new session starts.
        assert store2.interrupted() == point
    with HistoryStore.open(db, wall=wall) as store3:
        assert store3.interrupted() == point
        store3.mark_resumed(sid)  # type: ignore[arg-type]
        on_event = store3.recorder()
        on_event(SessionEvent("session_started", 0.0, routine="release"))
        on_event(SessionEvent("step_started", 0.1, "release", point.exercise, "right", {"step": 1}))
        assert store3.interrupted() is None  # the one being recorded is not offered
        resumed = store3.sessions()[-1]
        assert resumed.resumes == sid
        for event in events[10:]:
            on_event(event)
    with HistoryStore.open(db, wall=wall) as store4:
        assert store4.interrupted() is None
        assert [r.status for r in store4.sessions()] == [INTERRUPTED, COMPLETED]


def test_no_resume_for_a_session_without_a_step_or_a_finished_one(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        assert store.interrupted() is None
        record_all(store, whole_session())
        assert store.interrupted() is None
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session()[:2])  # started, no step yet
    with HistoryStore.open(db, wall=wall) as store:
        assert store.interrupted() is None


def test_sessions_days_filter(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        for days_ago in (10, 2, 0):
            wall.now = datetime(2026, 11, 20, 12, tzinfo=TZ) - timedelta(days=days_ago)
            record_all(store, whole_session())
        assert len(store.sessions()) == 3
        assert len(store.sessions(days=3)) == 2
        assert len(store.sessions(days=1)) == 1
        assert len(store.sessions(days=10**9)) == 3  # reaches past year 1: everything


def test_no_history_read_only(db: Path) -> None:
    with pytest.raises(VoicecoachError, match="no history yet"):
        HistoryStore.open(db, read_only=True)


def _all_skipped_events() -> list[SessionEvent]:
    """What the real session records when every exercise is skipped, to its end."""
    from voicecoach.messages import Intent, IntentHeard
    from voicecoach.routines import RoutineLibrary
    from voicecoach.session import Session

    session = Session(RoutineLibrary.load(), checkins=False)
    now = 1000.0
    session.handle(IntentHeard(Intent("start_routine", {"routine": "hip"}), now))
    while not session.finished:
        now += 1.0
        session.handle(IntentHeard(Intent("skip"), now))
    return list(session.events)


def test_a_session_whose_every_exercise_was_skipped_is_shown_as_skipped(
    db: Path, wall: FakeWall
) -> None:
    """Not "stopped": nobody stopped it, it ran to its end. Not "completed" either (it held
    nothing: no streak, no daily count)."""
    events = _all_skipped_events()
    assert events[-1].kind == "finished" and events[-1].data.get("all_skipped") is True
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, events)
        [record] = store.sessions()
    assert record.status == history.SKIPPED
    assert record.skips >= 2 and record.holds == {}
    with HistoryStore.open(db, read_only=True) as reader:
        # Only the session about to start counts: the skipped one did not complete.
        assert reader.progress(today=wall.now.date()).sessions_today == 1


def test_an_old_history_that_stored_an_all_skipped_session_as_stopped_reads_it_as_skipped(
    db: Path, wall: FakeWall
) -> None:
    """Earlier versions stored such a session as "stopped", some even without the all_skipped
    flag: it is shown as skipped, the file is left as it is, and a real stop stays a stop."""
    flagged = _all_skipped_events()
    unflagged = [
        *flagged[:-1],
        SessionEvent("finished", flagged[-1].at, flagged[-1].routine, data={"completed": False}),
    ]
    stopped = [
        *whole_session()[:4],
        SessionEvent("stopped", 130.0, "release"),
        SessionEvent("finished", 160.0, "release", data={"completed": False}),
    ]
    with HistoryStore.open(db, wall=wall) as store:
        for events in (flagged, unflagged, stopped):
            record_all(store, events)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE sessions SET status = 'stopped' WHERE id IN (1, 2)")  # as it was stored
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with HistoryStore.open(db, read_only=True) as reader:
        statuses = [r.status for r in reader.sessions()]
    assert statuses == [history.SKIPPED, history.SKIPPED, STOPPED]
    assert db.read_bytes() == before
