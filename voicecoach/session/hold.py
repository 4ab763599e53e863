"""The hold clock: how much of a hold is done, when the next milestone falls, extensions and
pauses. It knows times and milestone keys, not intents or states."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

EPS = 1e-9

Milestones = Sequence[tuple[str, float]]
"""(key, achieved seconds) points of a hold, "end" among them."""


@dataclass(frozen=True)
class Due:
    """What a hold has reached at a given time."""

    ended_at: float | None
    """When the hold reached its end, if it has; then nothing else is said."""
    said: list[tuple[float, str]]
    """(achieved seconds, key) of the milestones now due, the latest of each kind, in order."""


@dataclass
class HoldClock:
    """One step's hold, counted in the routine file's seconds.

    Real time runs `scale()` times slower than the file's seconds (a paced exercise said
    "slower"). Deadlines are absolute: pausing ends the running segment, and an extension only
    moves the target."""

    scale: Callable[[], float]
    """Real seconds per file second for the current step."""
    target: float = 0.0
    """This step's hold length, extensions included."""
    done: float = 0.0
    """Hold time achieved on this step before the running segment."""
    span: float = 0.0
    """Real seconds held since the last start, before the running segment."""
    span_nominal: float = 0.0
    """Like `span`, in the file's (unscaled) seconds."""
    seg_start: float | None = None
    """When the running segment began; None while not running."""
    fired: set[str] = field(default_factory=set)
    """Milestone keys already said (or passed over)."""
    began: bool = False
    """This step's hold has started (maybe paused since)."""

    @property
    def running(self) -> bool:
        return self.seg_start is not None

    def reset(self, target: float) -> None:
        """A new step (or the same one from its setup again): nothing held yet."""
        self.target = target
        self.done = 0.0
        self.span = 0.0
        self.seg_start = None
        self.fired = set()
        self.began = False

    def achieved(self, now: float) -> float:
        running = (now - self.seg_start) if self.seg_start is not None else 0.0
        return self.done + max(0.0, running) / self.scale()

    def real(self, seconds: float) -> float:
        """File seconds of the current step as real seconds at the current pace."""
        return seconds * self.scale()

    def start(self, now: float) -> bool:
        """Start (or continue) the hold; True when this is its first start on this step."""
        self.seg_start = now
        self.span = 0.0
        self.span_nominal = 0.0
        first = not self.began
        self.began = True
        return first

    def end_segment(self, now: float) -> None:
        """Freeze the running segment (for pause, stop, pain, skip, back, a pace change)."""
        if self.seg_start is not None:
            run = max(0.0, now - self.seg_start)
            self.done += run / self.scale()
            self.span += run
            self.span_nominal += run / self.scale()
            self.seg_start = None

    def close_span(self, now: float) -> tuple[float, float]:
        """End the span begun at the last start: (real seconds, file seconds) held in it."""
        self.end_segment(now)
        held = (self.span, self.span_nominal)
        self.span = 0.0
        self.span_nominal = 0.0
        return held

    def next_deadline(self, points: Milestones) -> float | None:
        """When the next unsaid milestone falls, in real time; None when paused or all said."""
        if self.seg_start is None:
            return None
        pending = [t for key, t in points if key not in self.fired]
        if pending:
            return self.seg_start + (min(pending) - self.done) * self.scale()
        return None

    def take_due(self, now: float, points: Milestones) -> Due:
        """Mark what is due at `now` as said; a late tick gets only the latest of each kind."""
        achieved = self.achieved(now)
        due = sorted(
            ((t, key) for key, t in points if key not in self.fired), key=lambda item: item[0]
        )
        if any(key == "end" and t <= achieved + EPS for t, key in due):
            assert self.seg_start is not None
            end_at = self.seg_start + (self.target - self.done) * self.scale()
            self.fired.update(key for _, key in due)
            return Due(ended_at=end_at, said=[])
        latest: dict[str, tuple[float, str]] = {}
        for t, key in due:
            if t <= achieved + EPS:
                self.fired.add(key)
                latest[key.split(":")[0]] = (t, key)
        return Due(ended_at=None, said=sorted(latest.values()))

    def pass_over(self, now: float, points: Milestones) -> None:
        """After an extension: milestones the new length moves into the past are not said late."""
        if self.seg_start is not None or self.done > 0:
            achieved = self.achieved(now)
            self.fired.update(k for k, t in points if k != "end" and t <= achieved)
