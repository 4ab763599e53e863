"""The day counts behind streaks."""

from __future__ import annotations

from datetime import date

from voicecoach.history import (
    streak_ending,
)


def test_streak_ending() -> None:
    days = {date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 4)}
    assert streak_ending(days, date(2026, 1, 2)) == 2
    assert streak_ending(days, date(2026, 1, 3)) == 0
    assert streak_ending(days, date(2026, 1, 4)) == 1
