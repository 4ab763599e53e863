"""Recording: each event committed as it happens under its session, statuses, forgetting, and
real sessions (and processes killed mid-hold) stored as they ran."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.history.helpers import FakeWall, record_all, whole_session
from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    COMPLETED,
    INTERRUPTED,
    RUNNING,
    STOPPED,
    HistoryStore,
)
from voicecoach.messages import ResumePoint, SessionEvent


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
