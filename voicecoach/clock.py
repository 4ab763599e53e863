"""Clocks the session is given; nothing in the core reads the time itself.

All times are monotonic seconds as floats. Deadlines are absolute, so a late tick never drifts.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of monotonic time."""

    def now(self) -> float: ...


class MonotonicClock:
    """The real clock."""

    def now(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to: tests run hours of session time in milliseconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        return self._now

    def set(self, now: float) -> None:
        if now < self._now:
            raise ValueError("a clock cannot go backwards")
        self._now = now


class AcceleratedClock:
    """Real time run `factor` times faster, for the demo: a 10-minute hold passes in seconds."""

    def __init__(self, factor: float, base: Clock | None = None) -> None:
        if factor <= 0:
            raise ValueError("factor must be positive")
        self._base = base or MonotonicClock()
        self._origin = self._base.now()
        self.factor = factor

    def now(self) -> float:
        return (self._base.now() - self._origin) * self.factor

    def real_seconds(self, session_seconds: float) -> float:
        """How long, in real seconds, `session_seconds` of this clock take."""
        return session_seconds / self.factor
