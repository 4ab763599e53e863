"""The demo's script: what the person says and when (after a prompt, a session event or at a
session time), read from a YAML scenario and checked field by field."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

from voicecoach.errors import VoicecoachError
from voicecoach.paths import PACKAGE_DATA
from voicecoach.routines import read_routine_data

MAX_SAMPLE_CHARS = 200
"""Longest line a scenario may say (as `recognize --sample`): espeak-ng would read a book."""


@dataclass(frozen=True)
class Line:
    """Something the person says: `delay` seconds after the coach finishes a cue with
    `after_cue`, after a session event `after_event` (optionally for `exercise`), or after the
    moment `at` of session time."""

    text: str
    delay: float
    after_cue: str | None = None
    after_event: str | None = None
    exercise: str | None = None
    over_coach: bool = False
    """Said even if the coach is speaking (a barge-in); other lines wait for it to finish."""
    at: float | None = None
    """Session seconds at which the line is due (once the lines before it are said)."""
    where: str = ""
    """Where the scenario file has it ("FILE: lines[3]"), for a line that is never said."""

    def waits_for(self) -> str:
        """What the line waits for, as the scenario says it."""
        if self.at is not None:
            return f"at {self.at:g} s"
        if self.after_cue is not None:
            return f"after {self.after_cue}"
        exercise = f" of {self.exercise}" if self.exercise else ""
        return f"after_event {self.after_event}{exercise}"


BUILTIN_SCENARIO = PACKAGE_DATA / "scenarios" / "demo.yaml"
_MOST_SECONDS = 86_400
"""A scenario's `at` and `wait` stay within a day of session time: no session runs longer."""

_LINE_FIELDS = ("say", "after", "after_event", "exercise", "at", "wait", "over_coach")
EVENT_KINDS = (
    "session_started", "step_started", "hold_started", "hold_ended", "skipped", "declined",
    "back", "extended", "paused", "resumed", "pain", "stopped", "resumed_after_stop", "finished",
    "rating", "pace",
)  # fmt: skip


def load_scenario(path: Path) -> tuple[Line, ...]:
    """Read a scenario file (see data/scenarios/demo.yaml); a mistake raises VoicecoachError
    naming the file, the line and what was expected."""
    from voicecoach.dialog import load_prompts

    def fail(where: str, expected: str, got: object) -> None:
        shown = " ".join(repr(got).split())[:60]
        raise VoicecoachError(f"{path}: {where}: expected {expected}, got {shown}")

    @functools.cache
    def exercise_ids() -> frozenset[str]:
        from voicecoach.routines import RoutineLibrary

        library = RoutineLibrary.load(warn=False)
        return frozenset(ex.id for rid in library.ids() for _, ex in library.exercises(rid))

    # The routine files' reader: size, encoding, nesting and duplicate keys are refused in one
    # line (a binary or deeply nested scenario was a traceback, a 60 MB one took 45 s).
    data = read_routine_data(path, "scenario")
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list) or not data["lines"]:
        fail("lines", "a mapping with a non-empty list 'lines'", data)
    prompt_keys = set(load_prompts()) - {"intent_phrases"}
    lines: list[Line] = []
    for i, raw in enumerate(data["lines"]):
        where = f"lines[{i}]"
        if not isinstance(raw, dict):
            fail(where, "a mapping with 'say' and one of after/after_event/at", raw)
        extra = sorted((str(k) for k in set(raw) - set(_LINE_FIELDS)), key=str)
        if extra:
            close = difflib.get_close_matches(extra[0], _LINE_FIELDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            fields = ", ".join(_LINE_FIELDS)
            raise VoicecoachError(
                f"{path}: {where}: expected the fields {fields}, got a field named "
                f"{extra[0]!r}{hint}"
            )
        text = raw.get("say")
        if isinstance(text, bool):
            # YAML reads a bare yes, no, on or off as true or false.
            fail(f"{where}.say", "what the person says, as text (quote yes, no, on and off)", text)
        if not isinstance(text, str) or not text.strip():
            fail(f"{where}.say", "what the person says, as text", text)
        if len(text) > MAX_SAMPLE_CHARS:  # as `recognize --sample`: a command is a few words
            fail(f"{where}.say", f"at most {MAX_SAMPLE_CHARS} characters", text)
        keyed = [k for k in ("after", "after_event", "at") if raw.get(k) is not None]
        if len(keyed) != 1:
            fail(where, "exactly one of after (a prompt key), after_event or at", keyed)
        after, event, at = raw.get("after"), raw.get("after_event"), raw.get("at")
        if after is not None and after not in prompt_keys:
            fail(f"{where}.after", "a prompt key from prompts.yaml, e.g. setup_end", after)
        if event is not None and event not in EVENT_KINDS:
            fail(f"{where}.after_event", f"one of {', '.join(EVENT_KINDS)}", event)
        for name in ("at", "wait"):
            value = raw.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= _MOST_SECONDS  # also false for NaN, which hung the demo
            ):
                fail(f"{where}.{name}", f"a number of seconds from 0 to {_MOST_SECONDS}", value)
        over = raw.get("over_coach", False)
        if not isinstance(over, bool):
            fail(f"{where}.over_coach", "true or false", over)
        exercise = raw.get("exercise")
        if exercise is not None and event is None:
            # The field, not the id, is the mistake: only a session event names an exercise.
            keyed_by = "after" if after is not None else "at"
            raise VoicecoachError(
                f"{path}: {where}.exercise: expected exercise only with after_event (the "
                f"exercise whose event the line waits for), got it with {keyed_by}"
            )
        if exercise is not None and not isinstance(exercise, str):
            fail(f"{where}.exercise", "an exercise id, as text", exercise)
        if exercise is not None and exercise not in exercise_ids():
            # Otherwise the line waits for an exercise that never comes and is never said.
            first = min(exercise_ids())
            fail(f"{where}.exercise", f"an exercise id of a routine, e.g. {first}", exercise)
        lines.append(
            Line(
                " ".join(str(text).split()),
                float(raw.get("wait", 1.0)),
                after_cue=after,
                after_event=event,
                exercise=exercise,
                over_coach=over,
                at=None if at is None else float(at),
                where=f"{path}: {where}",
            )
        )
    return tuple(lines)
