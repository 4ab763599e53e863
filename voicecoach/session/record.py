"""What the session records as it goes: session events for the history and the summary, and
what a finished session counts for."""

from __future__ import annotations

import logging
from collections.abc import Callable

from voicecoach.messages import SessionEvent
from voicecoach.routines import RoutineLibrary, Step
from voicecoach.session.hold import EPS

_LOGGER = logging.getLogger(__name__)


def held_seconds(data: dict[str, object]) -> float:
    value = data.get("achieved_s")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


class Recorder:
    """The session's events in order, each also handed to `on_event` as it happens."""

    def __init__(self, on_event: Callable[[SessionEvent], None] | None) -> None:
        self._on_event = on_event
        self.events: list[SessionEvent] = []

    def emit(
        self, kind: str, at: float, routine: str | None, step: Step | None, data: dict[str, object]
    ) -> None:
        event = SessionEvent(
            kind=kind,
            at=at,
            routine=routine,
            exercise=step.exercise.id if step else None,
            side=step.side if step else None,
            data=dict(data),
        )
        self.events.append(event)
        _LOGGER.info("event %s at %.3f %s", kind, at, event.data)
        if self._on_event is not None:
            self._on_event(event)

    def held_any(self) -> bool:
        """Whether any hold of this session held for some time."""
        return any(e.kind == "hold_ended" and held_seconds(e.data) > EPS for e in self.events)

    def advised_part(self, steps: list[Step], library: RoutineLibrary) -> str | None:
        """The routine whose source advises a daily count ("Repeat 2 - 3 times daily") if this
        session held one of its exercises: only such sessions count towards that advice."""
        held = {
            e.exercise for e in self.events if e.kind == "hold_ended" and held_seconds(e.data) > EPS
        }
        for step in steps:
            if step.exercise.id in held and library.get(step.part).advised_per_day:
                return step.part
        return None
