"""The end-of-session summary, computed purely from a session's events.

The session builds its spoken summary with `summarize`, and the history store recomputes it from
stored events with the same function, so both always agree.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from voicecoach.messages import Progress, SessionEvent

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class SideResult:
    """What was achieved on one side of one exercise (side None for one-sided exercises)."""

    exercise: str
    """Exercise id."""
    side: str | None
    achieved_s: float
    """Hold (or repetition) time actually spent, pauses excluded, summed over attempts."""
    reps: int | None = None
    """Completed repetitions, for paced exercises."""
    skipped: bool = False
    """The step was skipped at least once and never held."""


@dataclass(frozen=True)
class SessionSummary:
    """A session in numbers: what the coach says at the end and the history stores."""

    routine: str | None
    total_s: float
    """From session start to its end (stop windows and check-ins included)."""
    hold_s: float
    """All hold and repetition time actually spent."""
    results: tuple[SideResult, ...]
    """Per exercise per side, in the order first met."""
    completed: bool
    """The routine ran to its end (not stopped)."""
    steps_skipped: int
    added_s: float
    """Seconds added by "extend"."""
    pauses: int
    paused_s: float
    pain_events: int
    stops: int
    stiffness_before: int | None = None
    stiffness_after: int | None = None
    sessions_today: int | None = None
    streak_days: int | None = None


def _num(value: object, default: float = 0.0) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def summarize(events: Sequence[SessionEvent], progress: Progress | None = None) -> SessionSummary:
    """Build the summary of one session from its events (pure; order of events matters)."""
    routine: str | None = None
    started: float | None = None
    ended: float | None = None
    completed = False
    achieved: dict[tuple[str, str | None], float] = {}
    reps: dict[tuple[str, str | None], int] = {}
    skipped: set[tuple[str, str | None]] = set()
    order: list[tuple[str, str | None]] = []
    steps_skipped = pauses = pain = stops = 0
    added = paused_s = 0.0
    paused_at: float | None = None
    before: int | None = None
    after: int | None = None

    def touch(event: SessionEvent) -> tuple[str, str | None] | None:
        if event.exercise is None:
            return None
        key = (event.exercise, event.side)
        if key not in achieved:
            achieved[key] = 0.0
            order.append(key)
        return key

    for event in events:
        kind = event.kind
        if started is None:
            started = event.at
        ended = event.at
        if paused_at is not None and kind not in ("paused", "extended", "rating"):
            # Whatever happens next (resume, skip, back, pain, stop, finish) ends the pause.
            paused_s += event.at - paused_at
            paused_at = None
        if routine is None and event.routine is not None:
            routine = event.routine
        if kind == "step_started":
            touch(event)
        elif kind == "hold_ended":
            key = touch(event)
            if key is not None:
                achieved[key] += _num(event.data.get("achieved_s"))
                if "reps" in event.data:
                    reps[key] = reps.get(key, 0) + int(_num(event.data["reps"]))
        elif kind == "skipped":
            steps_skipped += 1
            key = touch(event)
            if key is not None:
                skipped.add(key)
        elif kind == "extended":
            added += _num(event.data.get("seconds"))
        elif kind == "paused":
            pauses += 1
            paused_at = event.at
        elif kind == "stopped":
            stops += 1
        elif kind == "pain":
            pain += 1
        elif kind == "rating":
            value = int(_num(event.data.get("value"), -1))
            if 0 <= value <= 10:
                if event.data.get("phase") == "after":
                    after = value
                else:
                    before = value
        elif kind == "finished":
            completed = bool(event.data.get("completed", False))
    results = tuple(
        SideResult(
            exercise=key[0],
            side=key[1],
            achieved_s=achieved[key],
            reps=reps.get(key),
            skipped=key in skipped and achieved[key] == 0.0,
        )
        for key in order
    )
    return SessionSummary(
        routine=routine,
        total_s=(ended - started) if started is not None and ended is not None else 0.0,
        hold_s=sum(achieved.values()),
        results=results,
        completed=completed,
        steps_skipped=steps_skipped,
        added_s=added,
        pauses=pauses,
        paused_s=paused_s,
        pain_events=pain,
        stops=stops,
        stiffness_before=before,
        stiffness_after=after,
        sessions_today=None if progress is None else progress.sessions_today,
        streak_days=None if progress is None else progress.streak_days,
    )
