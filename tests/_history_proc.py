"""A real Session recorded by a real HistoryStore, driven by a scripted person on a FakeClock.

Imported by the history tests; run as a script it is the process the SIGKILL test kills:

    python tests/_history_proc.py DB_PATH HOLD_STEP

prints each event as a JSON line (after it is committed), then "HOLDING <step>" once the hold of
step HOLD_STEP has run for a while, and then blocks until it is killed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from voicecoach.clock import FakeClock
from voicecoach.messages import Intent, IntentHeard, SessionEvent, Tick
from voicecoach.routines import RoutineLibrary
from voicecoach.session import Session

ROUTINE = "release"


def library() -> RoutineLibrary:
    """The built-in routines only (no user routines from the machine running the tests)."""
    return RoutineLibrary.load(user_dir=Path("/nonexistent/voicecoach-test-routines"))


def say(session: Session, clock: FakeClock, name: str, **slots: object) -> None:
    session.handle(IntentHeard(Intent(name, dict(slots)), clock.now()))  # type: ignore[arg-type]


def tick_to_deadline(session: Session, clock: FakeClock) -> None:
    deadline = session.next_deadline()
    assert deadline is not None, f"nothing to wait for in state {session.state}"
    clock.set(max(clock.now(), deadline))
    session.handle(Tick(clock.now()))


def run_person(
    session: Session,
    clock: FakeClock,
    *,
    stop_in_hold_of: int | None = None,
    resume: bool = False,
) -> None:
    """A person doing the routine: check-ins, "ready" after a breath, an extend and a pause on the
    first hold, a skip of step 2. With `stop_in_hold_of`, returns 40 s into that step's hold."""
    if resume:
        say(session, clock, "resume")
    else:
        say(session, clock, "start_routine", routine=ROUTINE)
        clock.advance(4.0)
        say(session, clock, "rating", value=6)
    extended = paused = skipped = False
    while not session.finished:
        state = session.state
        view = session.view()
        if state in ("setup", "side_switch"):
            if view.step == 2 and not skipped:
                skipped = True
                clock.advance(3.0)
                say(session, clock, "skip")
                continue
            clock.advance(5.5)
            say(session, clock, "ready")
        elif state == "hold":
            if view.step == stop_in_hold_of:
                clock.advance(40.0)
                session.handle(Tick(clock.now()))
                return
            if not extended:
                extended = True
                clock.advance(30.0)
                session.handle(Tick(clock.now()))
                say(session, clock, "extend")
            elif not paused:
                paused = True
                clock.advance(12.25)
                session.handle(Tick(clock.now()))
                say(session, clock, "pause")
                clock.advance(20.0)
                say(session, clock, "resume")
            else:
                tick_to_deadline(session, clock)
        elif state == "checkin_after":
            clock.advance(3.0)
            say(session, clock, "rating", value=3)
        else:
            tick_to_deadline(session, clock)


def printing(record: Callable[[SessionEvent], None]) -> Callable[[SessionEvent], None]:
    """Record, then print the event as a JSON line: what is printed is already committed."""

    def on_event(event: SessionEvent) -> None:
        record(event)
        print(json.dumps(asdict(event)), flush=True)

    return on_event


def main(argv: list[str]) -> int:
    from voicecoach.history import HistoryStore

    db, step = Path(argv[0]), int(argv[1])
    store = HistoryStore.open(db)
    clock = FakeClock(1000.0)
    session = Session(library(), progress=store.progress(), on_event=printing(store.recorder()))
    session.greet(clock.now())
    run_person(session, clock, stop_in_hold_of=step)
    print(f"HOLDING {step}", flush=True)
    while True:  # mid-hold, the lock held, until SIGKILL
        time.sleep(60)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
