"""The session's one waiting deadline outside a hold: the settle time, a check-in's answer, the
stop window or an unanswered "The hip routine?"."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.session.hold import EPS


@dataclass
class Wait:
    """A deadline, and the length it restarts with when the coach finishes speaking."""

    deadline: float | None = None
    """Absolute time at which the wait runs out; None for no wait."""
    length: float | None = None
    """What the wait restarts at after speech; None when speech does not move it."""
    nudged: bool = False
    """"Starts on its own in a few seconds" has been said for this wait."""

    def start(self, now: float, seconds: float) -> None:
        """Wait `seconds` from `now`, again from the end of any speech."""
        self.length = seconds
        self.deadline = now + seconds

    def clear(self) -> None:
        self.deadline = None
        self.length = None

    def restart(self, now: float) -> None:
        """Count the wait's length again from `now`."""
        assert self.length is not None
        self.deadline = now + self.length

    def over(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline - EPS

    def left(self, now: float) -> float:
        return max(0.0, (self.deadline or now) - now)
