"""What the history tests share: a wall clock moved by hand and a plausible session's events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from voicecoach.history import (
    HistoryStore,
)
from voicecoach.messages import SessionEvent

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


def record_all(store: HistoryStore, events: list[SessionEvent]) -> None:
    on_event: Callable[[SessionEvent], None] = store.recorder()
    for event in events:
        on_event(event)
