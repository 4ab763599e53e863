"""Property tests: random commands with random clock advances never break the session, its time
accounts match the time actually spent holding, pause never uses hold time, and stop always ends
in the summary."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.clock import FakeClock
from voicecoach.messages import (
    Intent,
    IntentHeard,
    SessionInput,
    SpeechFinished,
    SpeechStarted,
    Tick,
)
from voicecoach.routines import RoutineLibrary
from voicecoach.session import ALL_INTENTS, Session
from voicecoach.summary import summarize

LIB = RoutineLibrary.load(user_dir=Path("/nonexistent-voicecoach-test"))
STOP_WINDOW = 30.0


def intents() -> st.SearchStrategy[Intent]:
    plain = st.sampled_from([i for i in ALL_INTENTS if i not in ("start_routine", "extend",
                                                                    "rating")])  # fmt: skip
    return st.one_of(
        plain.map(Intent),
        st.sampled_from(["hip", "release", "full", "yoga"]).map(
            lambda r: Intent("start_routine", {"routine": r})
        ),
        st.just(Intent("start_routine")),
        st.integers(0, 1200).map(lambda s: Intent("extend", {"seconds": s})),
        st.just(Intent("extend")),
        st.integers(-2, 12).map(lambda v: Intent("rating", {"value": v})),
    )


actions = st.lists(
    st.one_of(
        st.tuples(st.just("say"), intents()),
        st.tuples(st.just("wait"), st.floats(0.0, 700.0, allow_nan=False)),
        st.tuples(st.just("speech"), st.booleans()),
    ),
    max_size=40,
)


class Driver:
    """Feeds a session like the live loop does (ticking at every deadline), measuring the time
    the session really spends in its hold state."""

    def __init__(self, checkins: bool, settle: float) -> None:
        self.clock = FakeClock(100.0)
        self.session = Session(LIB, checkins=checkins, settle_s=settle,
                               stop_window_s=STOP_WINDOW)  # fmt: skip
        self.in_hold = 0.0
        self.started = False

    def feed(self, event: SessionInput) -> None:
        was = self.session.state
        cues = self.session.handle(event)
        if was == "summary" and self.session.state != "summary":
            self.in_hold = 0.0  # a new session began in the same object; its events start afresh
        if isinstance(event, IntentHeard):
            assert cues, f"{event.intent} in {self.session.state} said nothing"
        if self.session.state != "idle":
            self.started = True

    def advance_to(self, t: float) -> None:
        if self.session.state == "hold":
            self.in_hold += t - self.clock.now()
        self.clock.set(t)

    def wait(self, seconds: float) -> None:
        end = self.clock.now() + seconds
        for _ in range(100_000):
            deadline = self.session.next_deadline()
            if deadline is None or deadline > end:
                break
            self.advance_to(max(self.clock.now(), deadline))
            self.feed(Tick(self.clock.now()))
        else:  # pragma: no cover - a runaway schedule is a bug
            raise AssertionError("deadlines never stop")
        self.advance_to(end)
        self.feed(Tick(end))

    def run(self, script: list[tuple[str, object]]) -> None:
        for kind, arg in script:
            if kind == "say":
                assert isinstance(arg, Intent)
                self.feed(IntentHeard(arg, self.clock.now()))
            elif kind == "wait":
                assert isinstance(arg, float)
                paused = self.session.state == "paused"
                remaining = self.session.view().remaining_s
                self.wait(arg)
                if paused and self.session.state == "paused":
                    assert self.session.view().remaining_s == remaining  # frozen
            else:
                now = self.clock.now()
                self.feed(SpeechStarted(now) if arg else SpeechFinished(now))


@settings(max_examples=300, deadline=None)
@given(script=actions, checkins=st.booleans(), settle=st.sampled_from([0.0, 5.0, 15.0]))
def test_random_commands_never_break_and_time_accounts_match(
    script: list[tuple[str, object]], checkins: bool, settle: float
) -> None:
    driver = Driver(checkins, settle)
    driver.run(script)
    session = driver.session
    # stop always reaches the summary: at once when said twice, or when the window runs out
    if session.state == "stopped":
        driver.feed(IntentHeard(Intent("stop"), driver.clock.now()))
        assert session.finished
    elif session.state not in ("idle", "summary"):
        driver.feed(IntentHeard(Intent("stop"), driver.clock.now()))
        assert session.state == "stopped"
        driver.wait(STOP_WINDOW)
        assert session.finished
    if not driver.started:
        assert session.events == [] and session.summary is None
        return
    assert session.summary is not None
    assert session.summary == summarize(session.events)
    # the summary's hold time is the time actually spent in the hold state
    assert abs(session.summary.hold_s - driver.in_hold) < 1e-6
    for result in session.summary.results:
        assert result.achieved_s >= 0.0


@settings(max_examples=200, deadline=None)
@given(script=actions)
def test_pause_never_consumes_hold_time(script: list[tuple[str, object]]) -> None:
    driver = Driver(checkins=False, settle=5.0)
    driver.run(script)
    session = driver.session
    # From the events alone: each hold span is its wall time minus the pauses inside it.
    open_at: float | None = None
    paused_at: float | None = None
    paused_total = 0.0
    for event in session.events:
        if event.kind == "hold_started":
            open_at, paused_total, paused_at = event.at, 0.0, None
        elif event.kind == "paused" and open_at is not None:
            paused_at = event.at
        elif event.kind == "resumed" and paused_at is not None:
            paused_total += event.at - paused_at
            paused_at = None
        elif event.kind == "hold_ended":
            assert open_at is not None
            end_running = paused_at if paused_at is not None else event.at
            expected = end_running - open_at - paused_total
            assert abs(float(event.data["achieved_s"]) - expected) < 1e-6  # type: ignore[arg-type]
            open_at = paused_at = None


@settings(max_examples=200, deadline=None)
@given(
    script=st.lists(
        st.one_of(
            st.tuples(st.just("say"), intents()),
            st.tuples(st.just("late"), st.floats(0.0, 2000.0, allow_nan=False)),
        ),
        max_size=40,
    )
)
def test_late_and_missing_ticks_never_raise(script: list[tuple[str, object]]) -> None:
    """A loop that ticks late (or not at all) still gets sensible, exception-free behaviour."""
    clock = FakeClock(0.0)
    session = Session(LIB)
    for kind, arg in script:
        if kind == "say":
            assert isinstance(arg, Intent)
            assert session.handle(IntentHeard(arg, clock.now()))
        else:
            assert isinstance(arg, float)
            clock.advance(arg)
            session.handle(Tick(clock.now()))
        deadline = session.next_deadline()
        assert deadline is None or deadline == deadline  # never NaN
        session.view()
    if session.summary is not None:
        assert session.summary == summarize(session.events)
