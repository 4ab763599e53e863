"""The summary is a pure function of the events: the numbers, and the same result from the same
events however often it is computed (the history store relies on that)."""

from __future__ import annotations

from voicecoach.messages import Progress, SessionEvent
from voicecoach.summary import SideResult, summarize


def ev(kind: str, at: float, exercise: str | None = "stretch", side: str | None = "left",
       **data: object) -> SessionEvent:  # fmt: skip
    return SessionEvent(kind, at, routine="hip", exercise=exercise, side=side, data=data)


EVENTS = [
    ev("session_started", 0.0, None, None, steps=4),
    ev("rating", 2.0, None, None, phase="before", value=7),
    ev("step_started", 3.0, step=0),
    ev("hold_started", 10.0, target_s=30.0),
    ev("paused", 15.0),
    ev("resumed", 45.0),
    ev("extended", 46.0, seconds=10, capped=False),
    ev("hold_ended", 80.0, achieved_s=40.0),
    ev("step_started", 80.0, side="right", step=1),
    ev("skipped", 85.0, side="right", step=1),
    ev("step_started", 85.0, "slide", "left", step=2),
    ev("hold_started", 90.0, "slide", "left"),
    ev("pain", 100.0, "slide", "left", during="hold", ended_hold=True),
    ev("hold_ended", 100.0, "slide", "left", achieved_s=10.0, reps=0),
    ev("hold_started", 110.0, "slide", "left"),
    ev("stopped", 120.0, "slide", "left"),
    ev("hold_ended", 120.0, "slide", "left", achieved_s=10.0, reps=0),
    ev("resumed_after_stop", 130.0, "slide", "left"),
    ev("hold_started", 130.0, "slide", "left", continued=True),
    ev("hold_ended", 150.0, "slide", "left", achieved_s=20.0, reps=2),
    ev("rating", 155.0, None, None, phase="after", value=4),
    ev("finished", 160.0, "slide", "left", completed=True),
]


def test_summary_numbers() -> None:
    s = summarize(EVENTS, Progress(sessions_today=3, streak_days=2))
    assert s.routine == "hip"
    assert s.total_s == 160.0
    assert s.results == (
        SideResult("stretch", "left", 40.0),
        SideResult("stretch", "right", 0.0, skipped=True),
        SideResult("slide", "left", 40.0, reps=2),
    )
    assert s.hold_s == 80.0
    assert s.completed
    assert (s.steps_skipped, s.added_s, s.pauses, s.paused_s) == (1, 10.0, 1, 30.0)
    assert (s.pain_events, s.stops) == (1, 1)
    assert (s.stiffness_before, s.stiffness_after) == (7, 4)
    assert (s.sessions_today, s.streak_days) == (3, 2)


def test_summary_is_pure_and_repeatable() -> None:
    before = list(EVENTS)
    assert summarize(EVENTS) == summarize(list(EVENTS))
    assert before == EVENTS
    assert summarize(EVENTS).sessions_today is None


def test_empty_and_unfinished_sessions() -> None:
    empty = summarize([])
    assert (empty.routine, empty.total_s, empty.results, empty.completed) == (None, 0.0, (), False)
    part = summarize(EVENTS[:8])
    assert not part.completed and part.hold_s == 40.0


def test_a_pause_left_open_by_a_skip_ends_with_the_skip() -> None:
    events = [
        ev("session_started", 0.0, None, None),
        ev("hold_started", 1.0),
        ev("paused", 5.0),
        ev("hold_ended", 20.0, achieved_s=4.0),
        ev("skipped", 20.0),
        ev("finished", 21.0, completed=False),
    ]
    s = summarize(events)
    assert s.paused_s == 15.0 and s.pauses == 1 and s.hold_s == 4.0


def test_bad_ratings_are_ignored() -> None:
    events = [ev("rating", 1.0, None, None, phase="before", value=12),
              ev("rating", 2.0, None, None, phase="after", value="x")]  # fmt: skip
    s = summarize(events)
    assert (s.stiffness_before, s.stiffness_after) == (None, None)


def test_a_side_restarted_after_pain_reports_its_completed_hold_and_the_stops() -> None:
    """12 s, pain; 2 s, pain; then the full 30 s: the side held 30 s (not 44 s, more than the
    source's most) and pain stopped two attempts. A stop and "resume" continue one hold."""
    events = [
        ev("session_started", 0.0, None, None, steps=2),
        ev("step_started", 1.0, step=0),
        ev("hold_started", 2.0),
        ev("hold_ended", 14.0, achieved_s=12.0, ended="pain"),
        ev("pain", 14.0, during="hold", ended_hold=True),
        ev("hold_started", 20.0),
        ev("hold_ended", 22.0, achieved_s=2.0, ended="pain"),
        ev("pain", 22.0, during="hold", ended_hold=True),
        ev("hold_started", 30.0),
        ev("hold_ended", 40.0, achieved_s=10.0, ended="stop"),
        ev("stopped", 40.0),
        ev("resumed_after_stop", 45.0),
        ev("hold_started", 45.0, continued=True),
        ev("hold_ended", 65.0, achieved_s=20.0, ended="done"),
        ev("finished", 66.0, None, None, completed=True),
    ]
    s = summarize(events)
    (left,) = s.results
    assert (left.achieved_s, left.completed, left.stopped, left.stopped_s) == (30.0, True, 2, 14.0)
    assert s.hold_s == 44.0  # the time actually spent holding, for the history
    assert (s.pain_events, s.stops) == (2, 1)


def test_declining_an_optional_exercise_is_not_a_skipped_step() -> None:
    events = [
        ev("session_started", 0.0, None, None, steps=2),
        ev("step_started", 1.0, step=0),
        ev("hold_started", 2.0),
        ev("hold_ended", 32.0, achieved_s=30.0, ended="done"),
        ev("step_started", 32.0, "deeper", "left", step=1),
        ev("declined", 40.0, "deeper", "left", step=1),
        ev("finished", 41.0, None, None, completed=True, counts_for="hip"),
    ]
    s = summarize(events, Progress(3, 2, 2))
    assert (s.steps_skipped, s.declined, s.completed) == (0, 1, True)
    assert not any(r.skipped for r in s.results)
    assert (s.counts_for, s.advised_today) == ("hip", 2)
