"""What a stored session is: its status, its record as `voicecoach history` shows it (adding up
its events the way the spoken summary does), and the day counts for streaks."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from voicecoach.messages import SessionEvent

if TYPE_CHECKING:
    pass


# Session statuses.
RUNNING = "running"
COMPLETED = "completed"
STOPPED = "stopped"
INTERRUPTED = "interrupted"
SKIPPED = "skipped"
"""Ran to its end with every exercise skipped: neither completed (it held nothing) nor stopped."""


@dataclass(frozen=True)
class SessionRecord:
    """One session as the history table shows it, computed from its stored events."""

    id: int
    started: datetime
    """Wall-clock time of the session's first event (local time with offset)."""
    routine: str | None
    status: str
    """running, completed, stopped, interrupted, or skipped (ran to its end with every exercise
    skipped)."""
    duration_s: float
    """Session-clock seconds from its first to its last event (pauses included)."""
    holds: dict[str, int] = field(default_factory=dict)
    """Exercise sides held, per side (left/right/none first; exercises without a side count
    under "none"), as the spoken summary counts them: a hold done, or held in part before a
    skip or a stop. A try that pain stopped is in `pain_stopped`, not here, and a retry of the
    same side is the same side."""
    held_s: dict[str, float] = field(default_factory=dict)
    """Seconds held per side, as the spoken summary gives them: each side's hold done (or what
    was held of it), not the tries pain stopped. Pauses are not in it."""
    pain_stopped: int = 0
    """Holds that pain stopped ("Pain stopped two holds")."""
    skips: int = 0
    seconds_added: int = 0
    """Sum of the seconds added by "extend"."""
    stiffness_before: int | None = None
    stiffness_after: int | None = None
    resumes: int | None = None
    """Id of the interrupted session this one continues, if any."""
    events: int = 0
    """Number of stored events."""
    counts_for: str | None = None
    """The routine whose source advises a daily count, when this session held its exercises
    (the kneeling stretch): only such sessions count towards "2 to 3 times daily"."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (started as ISO 8601)."""
        return {
            "id": self.id,
            "started": self.started.isoformat(),
            "routine": self.routine,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "holds": dict(self.holds),
            "held_s": {side: round(s, 3) for side, s in self.held_s.items()},
            "pain_stopped": self.pain_stopped,
            "skips": self.skips,
            "seconds_added": self.seconds_added,
            "stiffness_before": self.stiffness_before,
            "stiffness_after": self.stiffness_after,
            "resumes": self.resumes,
            "events": self.events,
            "counts_for": self.counts_for,
        }


def streak_ending(days: Iterable[date], end: date) -> int:
    """How many consecutive days, ending with `end`, are in `days` (0 if `end` is not)."""
    have = set(days)
    count = 0
    day = end
    while day in have:
        count += 1
        day -= timedelta(days=1)
    return count


def first_day(days: int | None, today: date) -> date | None:
    """The first day of "the last `days` days" (today counting as the first); None for all of
    them, also when `days` reaches back past year 1."""
    if days is None:
        return None
    try:
        return today - timedelta(days=days - 1)
    except OverflowError:
        return None


def record_from_events(
    session_id: int,
    started: datetime,
    status: str,
    events: Sequence[SessionEvent],
    resumes: int | None = None,
) -> SessionRecord:
    """Summarize one session's events into a table row. What was held comes from
    `voicecoach.summary.summarize`, the spoken summary's own reckoning, so the two agree (retries
    after pain were added up here as holds of their own)."""
    from voicecoach.summary import summarize

    holds: dict[str, int] = {}
    held: dict[str, float] = {}
    summary = summarize(events)
    for result in summary.results:
        if result.achieved_s > 1e-9:
            side = result.side or "none"
            holds[side] = holds.get(side, 0) + 1
            held[side] = held.get(side, 0.0) + result.achieved_s
    skips = 0
    added = 0
    before: int | None = None
    after: int | None = None
    routine: str | None = None
    counts_for: str | None = None
    for event in events:
        routine = routine or event.routine
        if event.kind == "finished" and isinstance(event.data.get("counts_for"), str):
            counts_for = str(event.data["counts_for"])
        if event.kind == "skipped":
            skips += 1
        elif event.kind == "extended":
            added += int(_number(event.data.get("seconds")))
        elif event.kind == "rating":
            value = event.data.get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                if event.data.get("phase") == "after":
                    after = value
                else:
                    before = value
    if status == STOPPED and _all_skipped(events):
        status = SKIPPED  # written as "stopped" by versions that had no status for it
    duration = events[-1].at - events[0].at if events else 0.0
    order = {"left": 0, "right": 1, "none": 2}
    holds = dict(sorted(holds.items(), key=lambda item: (order.get(item[0], 3), item[0])))
    held = {side: held[side] for side in holds}
    return SessionRecord(
        id=session_id,
        started=started,
        routine=routine,
        status=status,
        duration_s=max(0.0, duration),
        holds=holds,
        held_s=held,
        pain_stopped=sum(r.stopped for r in summary.results),
        skips=skips,
        seconds_added=added,
        stiffness_before=before,
        stiffness_after=after,
        resumes=resumes,
        events=len(events),
        counts_for=counts_for,
    )


def _all_skipped(events: Sequence[SessionEvent]) -> bool:
    """Whether a session ran to its end holding nothing. Its finished event says so (all_skipped)
    since that flag exists; before it, such a session finished with completed=False and, unlike a
    stop that was not taken back, had no stopped event."""
    finished = [e for e in events if e.kind == "finished"]
    if not finished or finished[-1].data.get("completed", True):
        return False
    if finished[-1].data.get("all_skipped") is True:
        return True
    held = any(e.kind == "hold_ended" and _number(e.data.get("achieved_s")) > 1e-9 for e in events)
    return not held and not any(e.kind == "stopped" for e in events)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def _status_after(event: SessionEvent) -> str | None:
    """The session status an event sets, if it sets one."""
    if event.kind == "finished":
        # The session finishes with completed=False when a "stop" was not taken back, or when
        # it ran to its end with every exercise skipped (all_skipped).
        if event.data.get("completed", True):
            return COMPLETED
        return SKIPPED if event.data.get("all_skipped") is True else STOPPED
    return {"stopped": STOPPED, "resumed_after_stop": RUNNING}.get(event.kind)


def _parse_started(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str | bytes):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _finite_numbers(value: object, depth: int = 0) -> bool:
    """No inf or nan (json reads 1e999 as inf) anywhere in a stored event's data."""
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 20:
        return False
    if isinstance(value, dict):
        return all(_finite_numbers(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_finite_numbers(v, depth + 1) for v in value)
    return True


def _brief(value: object, limit: int = 40) -> str:
    shown = " ".join(repr(value).split())
    return shown if len(shown) <= limit else f"{shown[: limit - 3]}..."


def _with_routine(record: SessionRecord, routine: str) -> SessionRecord:
    return replace(record, routine=routine)
