"""The history store against a real SQLite file in a temporary directory."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach import history
from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    COMPLETED,
    INTERRUPTED,
    MIGRATIONS,
    RUNNING,
    SCHEMA_VERSION,
    STOPPED,
    HistoryStore,
    lock_path,
    streak_ending,
)
from voicecoach.history import schema as history_schema
from voicecoach.messages import Progress, ResumePoint, SessionEvent

TZ = timezone(timedelta(hours=2))


class FakeWall:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def whole_session(
    routine: str = "release", start: float = 100.0, counts_for: str | None = None
) -> list[SessionEvent]:
    """A plausible session: check-in, two sides with a skip, an extend, a pause, the check-out.
    `counts_for`: the session held the kneeling stretch, whose source advises a daily count."""
    t = start

    def ev(kind: str, dt: float = 0.0, **kw: object) -> SessionEvent:
        nonlocal t
        t += dt
        return SessionEvent(kind=kind, at=t, routine=routine, **kw)  # type: ignore[arg-type]

    kneel = "kneeling hip flexor stretch"
    return [
        ev("rating", data={"phase": "before", "value": 6}),
        ev("session_started", 1.5),
        ev("step_started", 0.5, exercise=kneel, side="left", data={"step": 0}),
        ev("hold_started", 3.0, exercise=kneel, side="left"),
        ev("extended", 10.0, exercise=kneel, side="left", data={"seconds": 15, "capped": False}),
        ev("paused", 5.0, exercise=kneel, side="left"),
        ev("resumed", 7.25, exercise=kneel, side="left"),
        ev("hold_ended", 30.0, exercise=kneel, side="left", data={"achieved_s": 45.0}),
        ev("step_started", 1.0, exercise=kneel, side="right", data={"step": 1}),
        ev("hold_started", 2.0, exercise=kneel, side="right"),
        ev("hold_ended", 30.125, exercise=kneel, side="right", data={"achieved_s": 30.125}),
        ev("step_started", 1.0, exercise="supine psoas release", data={"step": 2}),
        ev("skipped", 2.0, exercise="supine psoas release"),
        ev(
            "finished",
            0.5,
            data={"completed": True, **({"counts_for": counts_for} if counts_for else {})},
        ),
        ev("rating", 4.0, data={"phase": "after", "value": 3}),
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall(datetime(2026, 11, 20, 8, 0, tzinfo=TZ))


def record_all(store: HistoryStore, events: list[SessionEvent]) -> None:
    on_event: Callable[[SessionEvent], None] = store.recorder()
    for event in events:
        on_event(event)


def test_whole_session_round_trips(db: Path, wall: FakeWall) -> None:
    events = whole_session()
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, events)
        [record] = store.sessions()
        assert store.events(record.id) == events
    with HistoryStore.open(db, read_only=True) as reader:
        [record] = reader.sessions()
        assert reader.events(record.id) == events
    assert record.status == COMPLETED
    assert record.routine == "release"
    assert record.started == wall.now
    assert record.holds == {"left": 1, "right": 1}
    assert record.held_s == {"left": 45.0, "right": 30.125}
    assert record.skips == 1
    assert record.seconds_added == 15
    assert (record.stiffness_before, record.stiffness_after) == (6, 3)
    assert record.duration_s == pytest.approx(events[-1].at - events[0].at)
    assert record.events == len(events)


def test_each_event_is_committed_before_the_callback_returns(db: Path, wall: FakeWall) -> None:
    events = whole_session()
    with HistoryStore.open(db, wall=wall) as store:
        on_event = store.recorder()
        for n, event in enumerate(events, start=1):
            on_event(event)
            # A separate connection sees it at once: nothing waits in a buffer.
            other = sqlite3.connect(db)
            assert other.execute("SELECT count(*) FROM events").fetchone()[0] == n
            other.close()


def test_statuses_follow_the_events(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        on_event = store.recorder()
        on_event(SessionEvent("session_started", 0.0, routine="release"))
        sid = store.current_session_id
        assert sid is not None

        def status() -> str:
            return next(r.status for r in store.sessions() if r.id == sid)

        assert status() == RUNNING
        on_event(SessionEvent("stopped", 1.0, routine="release"))
        assert status() == STOPPED
        on_event(SessionEvent("resumed_after_stop", 2.0, routine="release"))
        assert status() == RUNNING
        on_event(SessionEvent("finished", 3.0, routine="release"))
        assert status() == COMPLETED
        # The next session_started opens a second row.
        on_event(SessionEvent("session_started", 4.0, routine="morning"))
        assert [r.routine for r in store.sessions()] == ["release", "morning"]


def test_running_session_is_interrupted_when_the_store_closes(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session()[:5])
    with HistoryStore.open(db, read_only=True) as reader:
        assert [r.status for r in reader.sessions()] == [INTERRUPTED]


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


def test_streak_ending() -> None:
    days = {date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 4)}
    assert streak_ending(days, date(2026, 1, 2)) == 2
    assert streak_ending(days, date(2026, 1, 3)) == 0
    assert streak_ending(days, date(2026, 1, 4)) == 1


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


def test_sessions_days_filter(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        for days_ago in (10, 2, 0):
            wall.now = datetime(2026, 11, 20, 12, tzinfo=TZ) - timedelta(days=days_ago)
            record_all(store, whole_session())
        assert len(store.sessions()) == 3
        assert len(store.sessions(days=3)) == 2
        assert len(store.sessions(days=1)) == 1
        assert len(store.sessions(days=10**9)) == 3  # reaches past year 1: everything


def test_forget_deletes_everything(db: Path, wall: FakeWall) -> None:
    with HistoryStore.open(db, wall=wall) as store:
        record_all(store, whole_session())
        record_all(store, whole_session())
        assert store.forget() == 2
        assert store.sessions() == []
    assert b"kneeling hip flexor" not in db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or b"kneeling hip flexor" not in wal.read_bytes()


def test_read_only_store_refuses_writes(db: Path, wall: FakeWall) -> None:
    HistoryStore.open(db, wall=wall).close()
    with HistoryStore.open(db, read_only=True) as reader, pytest.raises(VoicecoachError):
        reader.recorder()


def test_no_history_read_only(db: Path) -> None:
    with pytest.raises(VoicecoachError, match="no history yet"):
        HistoryStore.open(db, read_only=True)


# --- with the real Session --------------------------------------------------------------------


def test_real_session_round_trips_and_summary_matches_the_spoken_one(
    db: Path, wall: FakeWall
) -> None:
    from _history_proc import library, run_person

    from voicecoach.clock import FakeClock
    from voicecoach.session import Session
    from voicecoach.summary import summarize

    with HistoryStore.open(db, wall=wall) as store:
        progress = store.progress()
        session = Session(library(), progress=progress, on_event=store.recorder())
        clock = FakeClock(1000.0)
        session.greet(clock.now())
        run_person(session, clock)
        assert session.finished and session.summary is not None
        [record] = store.sessions()
        # Lossless: the same SessionEvent values, in the same order.
        assert store.events(record.id) == session.events
        # The summary recomputed from storage is the one the session spoke.
        assert store.summary(record.id, progress) == session.summary
        assert store.summary(record.id) == summarize(session.events)
    with HistoryStore.open(db, read_only=True) as reader:
        assert reader.summary(record.id, progress) == session.summary
    assert record.status == COMPLETED
    assert record.routine == "release"
    assert record.holds == {"none": 1, "left": 2, "right": 1}
    assert record.skips == 1
    assert record.seconds_added == 300
    assert (record.stiffness_before, record.stiffness_after) == (6, 3)
    assert record.duration_s == session.summary.total_s


def test_real_session_stop_not_taken_back_is_stored_as_stopped(db: Path, wall: FakeWall) -> None:
    from _history_proc import library, say, tick_to_deadline

    from voicecoach.clock import FakeClock
    from voicecoach.session import Session

    with HistoryStore.open(db, wall=wall) as store:
        session = Session(library(), checkins=False, on_event=store.recorder())
        clock = FakeClock(0.0)
        say(session, clock, "start_routine", routine="release")
        clock.advance(2.0)
        say(session, clock, "stop")
        assert [r.status for r in store.sessions()] == [STOPPED]
        clock.advance(1.0)
        say(session, clock, "resume")
        assert [r.status for r in store.sessions()] == [RUNNING]
        say(session, clock, "stop")
        tick_to_deadline(session, clock)  # the stop window runs out: finished, not completed
        assert session.finished
        assert [r.status for r in store.sessions()] == [STOPPED]
        assert store.progress().sessions_today == 1


def test_resuming_an_interrupted_real_session_links_and_continues_at_its_step(
    db: Path, wall: FakeWall
) -> None:
    from _history_proc import library, run_person

    from voicecoach.clock import FakeClock
    from voicecoach.session import Session

    lib = library()
    store = HistoryStore.open(db, wall=wall)
    session = Session(lib, on_event=store.recorder())
    clock = FakeClock(0.0)
    run_person(session, clock, stop_in_hold_of=3)
    first_id = store.current_session_id
    store._conn.close()  # the process dies: no close(), the session stays "running"
    os.close(store._lock_fd)  # type: ignore[arg-type]

    names = {ex.id: ex.name for rid in lib.ids() for _, ex in lib.exercises(rid)}
    with HistoryStore.open(db, wall=wall) as store:
        point = store.interrupted(names)
        assert point is not None
        assert (point.routine, point.step_index, point.side) == ("release", 3, "left")
        assert point.exercise == names["hip_stirring"] and point.session_id == first_id
        resumed = Session(lib, resumable=point, on_event=store.recorder())
        clock2 = FakeClock(0.0)
        run_person(resumed, clock2, resume=True)
        started = [e for e in resumed.events if e.kind == "step_started"]
        assert started[0].data["step"] == 3 and started[0].side == "left"
        records = store.sessions()
    assert [(r.status, r.resumes) for r in records] == [
        (INTERRUPTED, None),
        (COMPLETED, first_id),
    ]


def test_sigkill_mid_hold_leaves_an_interrupted_session_that_resumes(
    db: Path, wall: FakeWall
) -> None:
    """A real Session + HistoryStore in another process, killed with SIGKILL during a hold."""
    import signal
    import subprocess
    import sys
    import threading

    from _history_proc import library, run_person

    from voicecoach.clock import FakeClock
    from voicecoach.session import Session

    helper = Path(__file__).parents[1] / "_history_proc.py"
    proc = subprocess.Popen(
        [sys.executable, str(helper), str(db), "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(30.0, proc.kill)  # never hang the suite
    watchdog.start()
    printed: list[SessionEvent] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("HOLDING"):
                break
            printed.append(SessionEvent(**json.loads(line)))
        else:
            pytest.fail(f"helper ended early: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    assert printed[-1].kind == "hold_started" and printed[-1].side == "left"

    lib = library()
    names = {ex.id: ex.name for rid in lib.ids() for _, ex in lib.exercises(rid)}
    # The kernel dropped the dead process's lock: the next start can open the store.
    with HistoryStore.open(db, wall=wall) as store:
        [record] = store.sessions()
        assert record.status == INTERRUPTED
        # Every event the process had sent before the kill is there, exactly.
        assert store.events(record.id) == printed
        point = store.interrupted(names)
        assert point == ResumePoint(
            routine="release",
            step_index=3,
            exercise=names["hip_stirring"],
            side="left",
            session_id=record.id,
        )
        session = Session(lib, resumable=point, on_event=store.recorder())
        clock = FakeClock(0.0)
        session.greet(clock.now())
        run_person(session, clock, resume=True)
        steps = [e.data["step"] for e in session.events if e.kind == "step_started"]
        assert steps == [3, 4]
        records = store.sessions()
    assert [(r.status, r.resumes) for r in records] == [
        (INTERRUPTED, None),
        (COMPLETED, record.id),
    ]


def _parse_demo_event(line: str) -> tuple[float, str, dict[str, str]] | None:
    """`[mm:ss.mmm] event: hold started (hold_started) exercise=x k=v ...` → (at, kind, fields)."""
    import re

    match = re.match(r"\[(\d+):(\d\d\.\d{3})\] event: [a-z ]+ \((\w+)\)(.*)$", line.rstrip("\n"))
    if match is None:
        return None
    at = int(match[1]) * 60 + float(match[2])
    fields = dict(part.split("=", 1) for part in match[4].split())
    return at, match[3], fields


def _shown(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def test_sigkill_of_the_real_demo_mid_hold(tmp_path: Path, wall: FakeWall) -> None:
    """`voicecoach demo` (real Session, Loop, Speaker, grammar, store) killed during its first
    hold: the session is stored as interrupted with every event it had printed, and the next start
    offers to resume at that step."""
    import shutil
    import signal
    import subprocess
    import sys
    import threading

    from _history_proc import library, run_person

    from voicecoach.clock import FakeClock
    from voicecoach.session import Session

    if shutil.which("espeak-ng") is None and not os.environ.get("CI"):
        pytest.skip("espeak-ng is not installed (the demo synthesizes the person's lines)")
    data = tmp_path / "data"
    # SIGKILL leaves the demo's temporary files behind: keep them inside this test's directory.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        **os.environ,
        "VOICECOACH_DATA_DIR": str(data),
        "PYTHONUNBUFFERED": "1",
        "TMPDIR": str(scratch),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "demo", "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    watchdog = threading.Timer(60.0, proc.kill)  # never hang the suite
    watchdog.start()
    printed: list[tuple[float, str, dict[str, str]]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = _parse_demo_event(line)
            if event is None:
                continue
            printed.append(event)
            if event[1] == "hold_started":
                os.kill(proc.pid, signal.SIGKILL)  # mid-hold: the hold lasts 10+ minutes
                break
        else:
            pytest.fail(f"demo ended before a hold: {proc.wait()} {proc.stderr.read()}")  # type: ignore[union-attr]
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()

    lib = library()
    names = {ex.id: ex.name for rid in lib.ids() for _, ex in lib.exercises(rid)}
    assert not (data / "history.sqlite3").exists()  # the demo keeps its own history in --out
    with HistoryStore.open(tmp_path / "out" / "history.sqlite3", wall=wall) as store:
        [record] = store.sessions()
        assert record.status == INTERRUPTED
        stored = store.events(record.id)
        # Every event printed before the kill is stored, in order, with its time and data.
        assert len(stored) >= len(printed) >= 4
        for event, (at, kind, fields) in zip(stored, printed, strict=False):
            assert (event.kind, round(event.at, 3)) == (kind, round(at, 3))
            shown = {"exercise": event.exercise, "side": event.side, **event.data}
            assert {k: _shown(v) for k, v in shown.items() if v is not None and v != ""} == fields
        steps = [e for e in stored if e.kind == "step_started"]
        point = store.interrupted(names)
        assert point == ResumePoint(
            routine=record.routine or "",
            step_index=steps[-1].data["step"],  # type: ignore[arg-type]
            exercise=names[steps[-1].exercise or ""],
            side=steps[-1].side,
            session_id=record.id,
        )
        # The next start offers it, and "resume" continues at that step.
        session = Session(lib, resumable=point, on_event=store.recorder())
        clock = FakeClock(0.0)
        greeting = session.greet(clock.now())
        assert [c.prompt_key for c in greeting] == ["greeting", "greeting_resume"]
        assert greeting[1].data["exercise"] == point.exercise
        run_person(session, clock, resume=True)
        first_step = next(e for e in session.events if e.kind == "step_started")
        assert first_step.data["step"] == point.step_index
        assert first_step.exercise == steps[-1].exercise
        assert session.events[0].data["resumed_session_id"] == record.id
        records = store.sessions()
    assert [(r.status, r.resumes) for r in records] == [
        (INTERRUPTED, None),
        (COMPLETED, record.id),
    ]


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
