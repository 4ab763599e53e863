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
    """The hold (or repetition) time of the side: its completed hold when it has one (a stop
    and "resume" continue the same hold), else what the attempts not stopped for pain held.
    Pauses are excluded."""
    reps: int | None = None
    """Completed repetitions, for paced exercises (counted like achieved_s)."""
    skipped: bool = False
    """The step was skipped at least once and never held."""
    stopped: int = 0
    """Attempts stopped by pain; their time is in stopped_s, not achieved_s."""
    stopped_s: float = 0.0
    completed: bool = False
    """The hold ran to its end."""


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
    counts_for: str | None = None
    """The routine whose source advises a daily count, if this session held its exercises."""
    advised_today: int | None = None
    """Such sessions today, this one included (None when it is not one)."""
    declined: int = 0
    """Optional exercises left out (not skipped steps)."""
    all_skipped: bool = False
    """The routine ran to its end with every step skipped: not a completed session."""


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
    all_skipped = False
    counts_for: str | None = None
    # Per side: the running attempt, the completed hold, what pain stopped, in seconds and reps.
    attempt: dict[tuple[str, str | None], float] = {}
    attempt_reps: dict[tuple[str, str | None], int] = {}
    done: dict[tuple[str, str | None], tuple[float, int | None]] = {}
    partial: dict[tuple[str, str | None], float] = {}
    partial_reps: dict[tuple[str, str | None], int] = {}
    stopped: dict[tuple[str, str | None], int] = {}
    stopped_s: dict[tuple[str, str | None], float] = {}
    paced: set[tuple[str, str | None]] = set()
    skipped: set[tuple[str, str | None]] = set()
    order: list[tuple[str, str | None]] = []
    hold_s = 0.0
    steps_skipped = pauses = pain = stops = declined = 0
    added = paused_s = 0.0
    paused_at: float | None = None
    before: int | None = None
    after: int | None = None

    def touch(event: SessionEvent) -> tuple[str, str | None] | None:
        if event.exercise is None:
            return None
        key = (event.exercise, event.side)
        if key not in attempt:
            attempt[key] = 0.0
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
            seconds = _num(event.data.get("achieved_s"))
            hold_s += seconds
            if key is None:
                continue
            attempt[key] += seconds
            if "reps" in event.data:
                paced.add(key)
                attempt_reps[key] = attempt_reps.get(key, 0) + int(_num(event.data["reps"]))
            why = event.data.get("ended")
            if why == "stop":
                continue  # "resume" carries on with the same hold
            held, held_reps = attempt[key], attempt_reps.get(key)
            attempt[key], attempt_reps[key] = 0.0, 0
            if why == "pain":
                stopped[key] = stopped.get(key, 0) + 1
                stopped_s[key] = stopped_s.get(key, 0.0) + held
            elif why == "done":
                done[key] = (held, held_reps)
            else:  # skip, back, or an older record that did not say
                partial[key] = partial.get(key, 0.0) + held
                if held_reps is not None:
                    partial_reps[key] = partial_reps.get(key, 0) + held_reps
        elif kind == "skipped":
            steps_skipped += 1
            key = touch(event)
            if key is not None:
                skipped.add(key)
        elif kind == "declined":
            declined += 1
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
            all_skipped = bool(event.data.get("all_skipped", False))
            counts = event.data.get("counts_for")
            counts_for = counts if isinstance(counts, str) else None

    def result(key: tuple[str, str | None]) -> SideResult:
        if key in done:
            seconds, reps = done[key]
        else:
            seconds = partial.get(key, 0.0) + attempt[key]  # a stopped session's open hold
            reps = partial_reps.get(key, 0) + attempt_reps.get(key, 0) if key in paced else None
        return SideResult(
            exercise=key[0],
            side=key[1],
            achieved_s=seconds,
            reps=reps if key in paced else None,
            skipped=key in skipped and seconds == 0.0,
            stopped=stopped.get(key, 0),
            stopped_s=stopped_s.get(key, 0.0),
            completed=key in done,
        )

    advised_today = None
    if counts_for is not None and progress is not None:
        advised_today = progress.advised_today
    return SessionSummary(
        routine=routine,
        total_s=(ended - started) if started is not None and ended is not None else 0.0,
        hold_s=hold_s,
        results=tuple(result(key) for key in order),
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
        counts_for=counts_for,
        advised_today=advised_today,
        declined=declined,
        all_skipped=all_skipped,
    )
