"""The hold clock alone: achieved time across pauses and a slower pace, deadlines of the next
milestone, what a late tick says, and extensions that move milestones into the past."""

from __future__ import annotations

import pytest

from voicecoach.session.hold import HoldClock

POINTS = [("end", 60.0), ("halfway", 30.0), ("reminder:1", 20.0), ("reminder:2", 40.0)]


def test_pausing_freezes_the_hold_and_starting_again_continues_it() -> None:
    clock = HoldClock(scale=lambda: 1.0)
    clock.reset(60.0)
    assert clock.start(100.0) is True
    clock.end_segment(110.0)
    assert clock.achieved(500.0) == pytest.approx(10.0)  # paused: time does not count
    assert clock.start(500.0) is False  # the same hold, continued
    assert clock.achieved(505.0) == pytest.approx(15.0)
    assert clock.close_span(505.0) == (pytest.approx(5.0), pytest.approx(5.0))
    assert clock.achieved(900.0) == pytest.approx(15.0)


def test_a_slower_pace_counts_real_seconds_as_fewer_file_seconds() -> None:
    clock = HoldClock(scale=lambda: 2.0)
    clock.reset(30.0)
    clock.start(0.0)
    assert clock.achieved(20.0) == pytest.approx(10.0)
    assert clock.real(clock.target) == pytest.approx(60.0)
    assert clock.close_span(20.0) == (pytest.approx(20.0), pytest.approx(10.0))


def test_the_next_deadline_is_the_earliest_unsaid_milestone_in_real_time() -> None:
    clock = HoldClock(scale=lambda: 1.0)
    clock.reset(60.0)
    assert clock.next_deadline(POINTS) is None  # not running
    clock.start(1000.0)
    assert clock.next_deadline(POINTS) == pytest.approx(1020.0)
    clock.fired.add("reminder:1")
    assert clock.next_deadline(POINTS) == pytest.approx(1030.0)


def test_a_late_tick_says_only_the_latest_of_each_kind_and_the_end_says_nothing_else() -> None:
    clock = HoldClock(scale=lambda: 1.0)
    clock.reset(60.0)
    clock.start(0.0)
    due = clock.take_due(45.0, POINTS)
    assert due.ended_at is None
    assert due.said == [(30.0, "halfway"), (40.0, "reminder:2")]
    assert {"reminder:1", "reminder:2", "halfway"} <= clock.fired
    end = clock.take_due(75.0, POINTS)
    assert end.ended_at == pytest.approx(60.0)  # when the hold reached its end, not the tick
    assert end.said == []


def test_an_extension_does_not_say_late_what_it_moved_into_the_past() -> None:
    clock = HoldClock(scale=lambda: 1.0)
    clock.reset(60.0)
    clock.start(0.0)
    clock.target = 120.0
    clock.pass_over(50.0, [("end", 120.0), ("halfway", 60.0), ("reminder:1", 20.0)])
    assert clock.fired == {"reminder:1"}
