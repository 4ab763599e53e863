"""Checking a routine file's data into typed routines, with errors that name the file, the field
and what was expected."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from voicecoach.errors import VoicecoachError
from voicecoach.routines.model import SIDES, Exercise, Hold, Include, PacePhase, Reps, Routine
from voicecoach.routines.reader import (
    MAX_PACE_FACTOR,
    MAX_REPS,
    MAX_SECONDS,
    MIN_SECONDS,
    brief,
    read_routine_data,
)
from voicecoach.shown import unsafe_characters


class _Checker:
    """Reads one routine file's data, raising errors that name the file, the field, and what was
    expected."""

    def __init__(self, source: Path | str) -> None:
        self.source = source

    def fail(self, where: str, expected: str, got: object = ..., *, missing: bool = False) -> None:
        if missing:
            message = f"{self.source}: {where}: missing; expected {expected}"
        else:
            message = f"{self.source}: {where}: expected {expected}, got {brief(got)}"
        raise VoicecoachError(message)

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, "a mapping of fields", value)
        assert isinstance(value, Mapping)
        for key in value:
            if not isinstance(key, str):
                self.fail(where, "field names that are words", key)
        return value

    def get(self, data: Mapping[str, Any], key: str, where: str, default: Any = ...) -> Any:
        if key not in data or data[key] is None:
            if default is ...:
                self.fail(
                    f"{where}.{key}" if where else key, _EXPECT.get(key, "a value"), missing=True
                )
            return default
        return data[key]

    def text(self, value: object, where: str) -> str:
        """A non-empty string, its whitespace runs made single spaces; no control or format
        characters (YAML's "\\e" or "\\u202e" escapes): each text is said and printed."""
        if not isinstance(value, str) or not value.strip():
            self.fail(where, "a non-empty string", value)
        assert isinstance(value, str)
        text = " ".join(value.split())
        if unsafe_characters(text):
            self.fail(where, "text without control characters", value)
        return text

    def texts(
        self, value: object, where: str, *, allow_empty: bool = False, single: bool = True
    ) -> tuple[str, ...]:
        """A list of texts; with `single`, one bare string is a list of one."""
        if isinstance(value, str) and single:
            value = [value]
        if not isinstance(value, list) or (not value and not allow_empty):
            self.fail(where, "a non-empty list of strings", value)
        assert isinstance(value, list)
        return tuple(self.text(item, f"{where}[{i}]") for i, item in enumerate(value))

    def number(self, value: object, where: str, *, positive: bool = True) -> float:
        """Seconds from MIN_SECONDS (or 0 when not `positive`) to MAX_SECONDS, finite."""
        low = MIN_SECONDS if positive else 0.0
        expected = f"a number of seconds from {low:g} to {MAX_SECONDS:g}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, expected, value)
        assert isinstance(value, int | float)
        # Compared before float(): a 400-digit int does not fit in a float.
        if not (isinstance(value, int) or math.isfinite(value)) or not low <= value <= MAX_SECONDS:
            self.fail(where, expected, value)
        return float(value)

    def factor(self, value: object, where: str) -> float:
        """A pace factor: more than 0, at most MAX_PACE_FACTOR, finite."""
        expected = f"a number more than 0 and at most {MAX_PACE_FACTOR:g}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(where, expected, value)
        assert isinstance(value, int | float)
        if not (isinstance(value, int) or math.isfinite(value)) or not 0 < value <= MAX_PACE_FACTOR:
            self.fail(where, expected, value)
        return float(value)

    def count(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPS:
            self.fail(where, f"a whole number from 1 to {MAX_REPS}", value)
        assert isinstance(value, int)
        return value

    def ident(self, value: object, where: str) -> str:
        text = self.text(value, where)
        if not all(c.isalnum() or c in "_-" for c in text):
            self.fail(where, "an id of letters, digits, '_' or '-'", value)
        return text

    def unknown(self, data: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        extra = sorted(set(data) - set(allowed))
        if extra:
            self.fail(
                f"{where}.{extra[0]}" if where else extra[0],
                f"one of the known fields ({', '.join(sorted(allowed))})",
                "unknown field",
            )


_EXPECT = {
    "id": "an id such as 'hip'",
    "names": "a list of spoken names",
    "exercises": "a non-empty list of exercises",
    "why": "a short 'why it works'",
    "setup": "a list of setup instructions",
    "seconds": "a number of seconds",
    "count": "a positive whole number",
    "phases": "a list of pace phases",
    "say": "a list of pace words",
    "routine": "a routine id",
    "max_seconds": "a number of seconds",
}

_ROUTINE_FIELDS = ("id", "names", "description", "info", "advised_per_day", "exercises")
_EXERCISE_FIELDS = (
    "id",
    "names",
    "why",
    "setup",
    "sides",
    "side_names",
    "switch",
    "hold",
    "reps",
    "info",
    "settle_seconds",
    "position",
    "reposition_seconds",
    "optional",
)
_HOLD_FIELDS = (
    "seconds",
    "min_seconds",
    "max_seconds",
    "extend_seconds",
    "halfway",
    "countdown",
    "reminder_every",
    "reminders",
    "source_range",
    "begin",
    "coach_choice",
)
_REPS_FIELDS = (
    "count",
    "max_count",
    "extend_count",
    "phases",
    "pace_step",
    "slowest",
    "fastest",
    "coach_choice",
)


MIN_REMINDER_SECONDS = 10.0
"""Shortest interval between reminders in a hold: a reminder takes seconds to say, and the
built-in 30-second stretch reminds every 10."""
_PLACEHOLDER_NAMES = frozenset({"none", "null", "nil", "nan", "inf", "true", "false", "n/a"})
"""Words a file holds where its author meant "nothing": never an exercise's name."""


def _exercise_names(c: _Checker, raw: object, where: str) -> tuple[str, ...]:
    """Spoken names: a list (a bare string is the mistake of leaving the brackets out), each
    with a letter in it, of letters, digits, spaces, hyphens and apostrophes, and not a word
    that stands for nothing ("none", "null", ".nan")."""
    names = c.texts(raw, where, single=False)
    for i, name in enumerate(names):
        words_only = all(ch.isalnum() or ch in " -'\u2019" for ch in name)
        has_letter = any(ch.isalpha() for ch in name)
        if not words_only or not has_letter or name.lower() in _PLACEHOLDER_NAMES:
            c.fail(f"{where}[{i}]", "a name in words (letters, digits, spaces, - or ')", name)
    return names


def _parse_hold(c: _Checker, raw: object, where: str) -> Hold:
    data = c.mapping(raw, where)
    c.unknown(data, _HOLD_FIELDS, where)
    seconds = c.number(c.get(data, "seconds", where), f"{where}.seconds")
    min_s = c.number(c.get(data, "min_seconds", where, seconds), f"{where}.min_seconds")
    max_s = c.number(c.get(data, "max_seconds", where, seconds), f"{where}.max_seconds")
    if min_s > seconds:
        c.fail(f"{where}.min_seconds", f"at most seconds ({seconds:g})", min_s)
    if max_s < seconds:
        c.fail(f"{where}.max_seconds", f"at least seconds ({seconds:g})", max_s)
    extend = c.number(c.get(data, "extend_seconds", where, 10), f"{where}.extend_seconds")
    if extend > max_s:  # such a step could never be added: "add time" stops at max_seconds
        c.fail(f"{where}.extend_seconds", f"at most max_seconds ({max_s:g})", extend)
    halfway = c.get(data, "halfway", where, False)
    if not isinstance(halfway, bool):
        c.fail(f"{where}.halfway", "true or false", halfway)
    countdown = c.number(c.get(data, "countdown", where, 10), f"{where}.countdown", positive=False)
    if countdown and not MIN_SECONDS <= countdown < seconds:
        # 1e-07 said "zero seconds left" at the very end; 1000 on a 30 s hold, at its start.
        c.fail(
            f"{where}.countdown",
            f"0 (none) or from {MIN_SECONDS:g} to less than seconds ({seconds:g})",
            countdown,
        )
    every_raw = c.get(data, "reminder_every", where, None)
    every = None if every_raw is None else c.number(every_raw, f"{where}.reminder_every")
    if every is not None and not MIN_REMINDER_SECONDS <= every <= max_s:
        # Every 3 s is one reminder on top of the last; longer than the hold, never one.
        c.fail(
            f"{where}.reminder_every",
            f"from {MIN_REMINDER_SECONDS:g} to max_seconds ({max_s:g})",
            every,
        )
    reminders = c.texts(c.get(data, "reminders", where, []), f"{where}.reminders", allow_empty=True)
    if every is not None and not reminders:
        c.fail(f"{where}.reminders", "at least one reminder when reminder_every is set", [])
    range_raw = c.get(data, "source_range", where, None)
    source_range = None
    if range_raw is not None:
        if not isinstance(range_raw, list) or len(range_raw) != 2:
            c.fail(f"{where}.source_range", "two numbers of seconds [low, high]", range_raw)
        low = c.number(range_raw[0], f"{where}.source_range[0]")
        high = c.number(range_raw[1], f"{where}.source_range[1]")
        if high < low:
            c.fail(f"{where}.source_range[1]", f"at least {low:g}", high)
        source_range = (low, high)
    begin_raw = c.get(data, "begin", where, None)
    choice_raw = c.get(data, "coach_choice", where, None)
    return Hold(
        seconds,
        min_s,
        max_s,
        extend,
        halfway,
        countdown,
        every,
        reminders,
        source_range=source_range,
        begin=None if begin_raw is None else c.text(begin_raw, f"{where}.begin"),
        coach_choice=None if choice_raw is None else c.text(choice_raw, f"{where}.coach_choice"),
    )


def _parse_reps(c: _Checker, raw: object, where: str) -> Reps:
    data = c.mapping(raw, where)
    c.unknown(data, _REPS_FIELDS, where)
    count = c.count(c.get(data, "count", where), f"{where}.count")
    max_count = c.count(c.get(data, "max_count", where, count), f"{where}.max_count")
    if max_count < count:
        c.fail(f"{where}.max_count", f"at least count ({count})", max_count)
    extend = c.count(c.get(data, "extend_count", where, 1), f"{where}.extend_count")
    phases_raw = c.get(data, "phases", where)
    if not isinstance(phases_raw, list) or not phases_raw:
        c.fail(f"{where}.phases", "a non-empty list of pace phases", phases_raw)
    phases = []
    for i, item in enumerate(phases_raw):
        pw = f"{where}.phases[{i}]"
        pdata = c.mapping(item, pw)
        c.unknown(pdata, ("seconds", "say"), pw)
        phases.append(
            PacePhase(
                c.number(c.get(pdata, "seconds", pw), f"{pw}.seconds"),
                c.texts(c.get(pdata, "say", pw), f"{pw}.say"),
            )
        )
    step = c.factor(c.get(data, "pace_step", where, 0.25), f"{where}.pace_step")
    slowest = c.factor(c.get(data, "slowest", where, 1.0), f"{where}.slowest")
    fastest = c.factor(c.get(data, "fastest", where, 1.0), f"{where}.fastest")
    if slowest < 1.0:
        c.fail(f"{where}.slowest", "1 or more (a multiple of the phase lengths)", slowest)
    if fastest > 1.0:
        c.fail(f"{where}.fastest", "more than 0 and at most 1", fastest)
    choice_raw = c.get(data, "coach_choice", where, None)
    return Reps(
        count,
        max_count,
        extend,
        tuple(phases),
        pace_step=step,
        slowest=slowest,
        fastest=fastest,
        coach_choice=None if choice_raw is None else c.text(choice_raw, f"{where}.coach_choice"),
    )


def _parse_exercise(c: _Checker, raw: object, where: str) -> Exercise | Include:
    data = c.mapping(raw, where)
    if "routine" in data:
        c.unknown(data, ("routine",), where)
        return Include(c.ident(data["routine"], f"{where}.routine"))
    c.unknown(data, _EXERCISE_FIELDS, where)
    ex_id = c.ident(c.get(data, "id", where), f"{where}.id")
    names = _exercise_names(c, c.get(data, "names", where), f"{where}.names")
    why = c.text(c.get(data, "why", where), f"{where}.why")
    setup = c.texts(c.get(data, "setup", where), f"{where}.setup")
    sides_raw = c.get(data, "sides", where, "none")
    if sides_raw == "none" or sides_raw == []:
        sides: tuple[str, ...] = ()
    elif sides_raw == "both":
        sides = SIDES
    else:
        if not isinstance(sides_raw, list):
            c.fail(f"{where}.sides", "'both', 'none' or a list of 'left'/'right'", sides_raw)
        for i, side in enumerate(sides_raw):
            if side not in SIDES:
                c.fail(f"{where}.sides[{i}]", "'left' or 'right'", side)
        if len(set(sides_raw)) != len(sides_raw):
            c.fail(f"{where}.sides", "each side at most once", sides_raw)
        sides = tuple(sides_raw)
    side_names_raw = c.mapping(c.get(data, "side_names", where, {}), f"{where}.side_names")
    side_names = {}
    for key, value in side_names_raw.items():
        if key not in SIDES:
            c.fail(f"{where}.side_names.{key}", "'left' or 'right'", key)
        side_names[key] = c.text(value, f"{where}.side_names.{key}")
    hold = reps = None
    if data.get("hold") is not None and data.get("reps") is not None:
        c.fail(where, "either hold or reps, not both", "both")
    if data.get("hold") is not None:
        hold = _parse_hold(c, data["hold"], f"{where}.hold")
    elif data.get("reps") is not None:
        reps = _parse_reps(c, data["reps"], f"{where}.reps")
    else:
        c.fail(f"{where}.hold", "a hold (seconds) or reps (count and phases)", missing=True)
    switch_raw = c.get(data, "switch", where, None)
    info_raw = c.get(data, "info", where, None)
    settle_raw = c.get(data, "settle_seconds", where, None)
    position_raw = c.get(data, "position", where, None)
    reposition_raw = c.get(data, "reposition_seconds", where, None)
    optional_raw = c.get(data, "optional", where, None)
    return Exercise(
        id=ex_id,
        names=names,
        why=why,
        setup=setup,
        sides=sides,
        hold=hold,
        reps=reps,
        side_names=side_names,
        switch=None if switch_raw is None else c.text(switch_raw, f"{where}.switch"),
        info=None if info_raw is None else c.text(info_raw, f"{where}.info"),
        settle_seconds=None
        if settle_raw is None
        else c.number(settle_raw, f"{where}.settle_seconds", positive=False),
        position=None if position_raw is None else c.ident(position_raw, f"{where}.position"),
        reposition_seconds=None
        if reposition_raw is None
        else c.number(reposition_raw, f"{where}.reposition_seconds", positive=False),
        optional=None if optional_raw is None else c.text(optional_raw, f"{where}.optional"),
    )


def parse_routine(data: object, source: Path | str, *, builtin: bool = False) -> Routine:
    """Validate one routine's data (already parsed from YAML) and build the typed Routine."""
    c = _Checker(source)
    root = c.mapping(data, "routine")
    c.unknown(root, _ROUTINE_FIELDS, "")
    routine_id = c.ident(c.get(root, "id", ""), "id")
    names = c.texts(c.get(root, "names", ""), "names", single=False)
    items_raw = c.get(root, "exercises", "")
    if not isinstance(items_raw, list) or not items_raw:
        c.fail("exercises", "a non-empty list of exercises", items_raw)
    items = tuple(_parse_exercise(c, item, f"exercises[{i}]") for i, item in enumerate(items_raw))
    ids = [item.id for item in items if isinstance(item, Exercise)]
    for i, ex_id in enumerate(ids):
        if ex_id in ids[:i]:
            c.fail("exercises", "unique exercise ids", ex_id)
    desc = c.get(root, "description", "", "")
    info = c.get(root, "info", "", None)
    advised = c.get(root, "advised_per_day", "", None)
    return Routine(
        id=routine_id,
        names=names,
        items=items,
        description=c.text(desc, "description") if desc else "",
        info=None if info is None else c.text(info, "info"),
        advised_per_day=None if advised is None else c.text(advised, "advised_per_day"),
        source=Path(source) if isinstance(source, Path) else None,
        builtin=builtin,
    )


def load_routine_file(path: Path, *, builtin: bool = False) -> Routine:
    """Read and validate one routine file; raise VoicecoachError naming the file and field."""
    data = read_routine_data(path)
    if data is None:
        raise VoicecoachError(f"{path}: file: expected a routine (id, names, exercises), got empty")
    return parse_routine(data, path, builtin=builtin)
