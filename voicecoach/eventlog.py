"""`voicecoach start --events FILE`: what the live loop did, one JSON object per line.

For whoever watches a session from outside (the room tests, bench/live.py): what the coach said
and when its sound started and ended, each stretch of speech heard and whether it was accepted,
each intent dispatched and the state it moved the session to, and the session's own events. Each
line has `t`, the monotonic clock's seconds (CLOCK_MONOTONIC: the same clock in every process on
the machine, so a test can compare it with its own `time.monotonic()`), and `kind`. Lines are
written and flushed as things happen, from any thread.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.listener import Heard
from voicecoach.messages import (
    Cue,
    IntentHeard,
    SessionEvent,
    SessionInput,
    SpeechFinished,
    SpeechStarted,
)

_LOGGER = logging.getLogger(__name__)

KINDS = (
    "app",  # data: {"what": "starting" | "listening" | "device_lost" | "signal" | "exit", ...}
    "cue",  # the coach chose words: {"key", "text"}
    "speech_started",  # its first sample reached the output: {"key"}
    "speech_finished",  # its last sample, or where it was cut: {"key", "interrupted",
    #   "still_speaking": whether more of what the coach had to say was still queued}
    "heard",  # one stretch of speech: {"start", "end", "text", "intent", "accepted", "reason"}
    "intent",  # an intent dispatched to the session: {"name", "slots", "before", "after"}
    "session",  # a SessionEvent: {"event", "at", "routine", "exercise", "side", "data"}
    "duck",  # the person began to speak over the coach (its voice lowered), or that speech
    #   ended without cutting it short (back to full): {"ducked"}
    "gain",  # a change of the coach's volume reached the output device: {"at", "gain"}
)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy (dataclasses as dicts, anything else unknown as its str)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class EventLog:
    """Appends JSON lines to a file; every method is safe to call from any thread.

    `speaking`, when set, tells whether the coach still has words to say: each speech_finished
    carries it, so a reader knows when the coach has fallen silent (one cue's end is not that:
    several cues may be queued, and a barge-in drops the queued ones unspoken).
    """

    speaking: Callable[[], bool] | None = None

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out: IO[str] | None = path.open("a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise VoicecoachError(f"cannot write the events log {path}: {exc.strerror}") from exc
        self.path = path
        self._lock = threading.Lock()

    def write(self, kind: str, **data: Any) -> None:
        line = json.dumps({"t": time.monotonic(), "kind": kind, **_plain(data)})
        with self._lock:
            if self._out is None:
                return
            try:
                self._out.write(line + "\n")
            except OSError as exc:  # a full disk must not stop the session
                _LOGGER.warning("events log: %s; no longer writing it", exc)
                self._out = None

    def app(self, what: str, **data: Any) -> None:
        self.write("app", what=what, **data)

    # Loop's Observer

    def on_cue(self, cue: Cue, text: str, now: float) -> None:
        self.write("cue", key=cue.prompt_key, text=text, at=now)

    def on_input(self, event: SessionInput, before: str, after: str, cues: list[Cue]) -> None:
        key = getattr(getattr(event, "cue", None), "prompt_key", None)
        if isinstance(event, SpeechStarted):
            self.write("speech_started", key=key, at=event.now)
        elif isinstance(event, SpeechFinished):
            self.write(
                "speech_finished",
                key=key,
                at=event.now,
                interrupted=event.interrupted,
                still_speaking=self.speaking() if self.speaking is not None else None,
            )
        elif isinstance(event, IntentHeard):
            self.write(
                "intent",
                name=event.intent.name,
                slots=event.intent.slots,
                at=event.now,
                before=before,
                after=after,
                text=event.utterance.text if event.utterance else None,
            )

    # the listener's on_heard

    def on_heard(self, heard: Heard) -> None:
        u = heard.utterance
        self.write(
            "heard",
            start=heard.segment.start,
            end=heard.segment.end,
            text=u.text if u else None,
            intent=u.intent.name if u and u.intent else None,
            confidence=u.confidence if u else None,
            accepted=heard.decision.accept,
            reason=heard.decision.reason,
        )

    # the session's on_event

    def on_session_event(self, event: SessionEvent) -> None:
        self.write(
            "session",
            event=event.kind,
            at=event.at,
            routine=event.routine,
            exercise=event.exercise,
            side=event.side,
            data=event.data,
        )

    def close(self) -> None:
        with self._lock:
            out, self._out = self._out, None
        if out is not None:
            out.close()


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete line of an events log (a line being written is left for the next read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines(keepends=True):
        if line.endswith("\n"):
            out.append(json.loads(line))
    return out
