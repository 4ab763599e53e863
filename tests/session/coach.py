"""A session on a fake clock for the session tests: what it says, and the helpers that reach a
state or walk through the hip routine."""

from __future__ import annotations

from pathlib import Path

from voicecoach.clock import FakeClock
from voicecoach.dialog import Dialog
from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    ResumePoint,
    SessionEvent,
    Tick,
)
from voicecoach.routines import RoutineLibrary
from voicecoach.session import Session

LIB = RoutineLibrary.load(user_dir=Path("/nonexistent-voicecoach-test"))
DIALOG = Dialog(seed=7)

SLOTS: dict[str, dict[str, str | int]] = {
    "start_routine": {"routine": "hip"},
    "extend": {"seconds": 20},
    "rating": {"value": 4},
}


class Coach:
    """A session driven by a fake clock, collecting everything it says."""

    def __init__(self, start: float = 1000.0, **kwargs: object) -> None:
        self.clock = FakeClock(start)
        self.session = Session(LIB, **kwargs)  # type: ignore[arg-type]
        self.cues: list[Cue] = []
        self.texts: list[str] = []

    @property
    def now(self) -> float:
        return self.clock.now()

    def _take(self, cues: list[Cue]) -> list[Cue]:
        self.cues.extend(cues)
        self.texts.extend(DIALOG.render(c) for c in cues)
        return cues

    def greet(self) -> list[Cue]:
        return self._take(self.session.greet(self.now))

    def say(self, name: str, **slots: str | int) -> list[Cue]:
        return self._take(self.session.handle(IntentHeard(Intent(name, slots), self.now)))

    def wait(self, seconds: float) -> list[Cue]:
        """Let `seconds` pass, ticking exactly at every deadline on the way, like the live loop."""
        end = self.now + seconds
        out: list[Cue] = []
        for _ in range(10_000):
            deadline = self.session.next_deadline()
            if deadline is None or deadline > end:
                break
            self.clock.set(max(self.now, deadline))
            out += self.session.handle(Tick(self.now))
        self.clock.set(end)
        out += self.session.handle(Tick(end))
        return self._take(out)

    def run_out(self, limit: float = 36_000) -> None:
        """Wait until nothing more is scheduled (or the limit)."""
        start = self.now
        while self.session.next_deadline() is not None and self.now - start < limit:
            self.wait(self.session.next_deadline() - self.now)  # type: ignore[operator]

    def events(self, kind: str) -> list[SessionEvent]:
        return [e for e in self.session.events if e.kind == kind]


def keys(cues: list[Cue]) -> list[str]:
    return [c.prompt_key for c in cues]


def hold_every_hip_side(coach: Coach) -> None:
    """From the hip routine's first setup: both sides of the kneeling stretch, then "ready" to
    the deeper variation when it is offered (its instructions follow) and both of its sides."""
    for _ in range(2):
        coach.say("ready")
        coach.wait(30.0)
    assert keys(coach.cues[-1:]) == ["offer"]
    coach.say("ready")
    for _ in range(2):
        coach.say("ready")
        coach.wait(30.0)


def reach(state: str) -> Coach:
    """A coach in `state` (with check-ins on so those states can be reached)."""
    coach = Coach(checkins=True, resumable=ResumePoint("hip", 1, "kneeling psoas stretch", "right"))
    coach.greet()
    if state == "idle":
        return coach
    coach.say("start_routine", routine="hip")
    if state == "checkin_before":
        return coach
    coach.say("skip")
    if state == "setup":
        return coach
    if state == "hold":
        coach.say("ready")
        coach.wait(3.0)
        return coach
    if state == "paused":
        coach.say("ready")
        coach.say("pause")
        return coach
    if state == "stopped":
        coach.say("stop")
        return coach
    if state == "side_switch":
        coach.say("ready")
        coach.wait(30.0)
        return coach
    hold_every_hip_side(coach)
    if state == "checkin_after":
        return coach
    coach.say("skip")
    assert state == "summary"
    return coach


def kneeling_hold(wait: float = 5.0) -> Coach:
    coach = Coach(checkins=False)
    coach.say("start_routine", routine="hip")
    coach.say("ready")
    coach.wait(wait)
    return coach
