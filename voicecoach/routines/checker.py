"""Routines as data: typed exercises loaded and validated from YAML, and the library that flattens
them into steps (one exercise on one side) for the session.

Built-in routines ship in voicecoach/data/routines; the person's own live in
``paths.config_dir() / "routines"``. A broken user file is reported, never fatal.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.grammar import load_grammar, routine_name_stem
from voicecoach.shown import escape, unsafe_characters

_LOGGER = logging.getLogger(__name__)

BUILTIN_DIR = paths.PACKAGE_DATA / "routines"
SIDES = ("left", "right")
"""The sides an exercise can be done on; an exercise with no sides is done once."""


@dataclass(frozen=True)
class Hold:
    """A timed hold: how long, how far it can be stretched, and what to say during it."""

    seconds: float
    """Default length."""
    min_seconds: float
    """Shortest sensible length (the source's lower bound); informational."""
    max_seconds: float
    """Extensions stop here."""
    extend_seconds: float
    """What "extend" adds when no amount is said."""
    halfway: bool = False
    """Say "halfway" at the middle of the hold."""
    countdown: float = 10.0
    """Say how many seconds are left this many seconds before the end; 0 for never."""
    reminder_every: float | None = None
    """Seconds between calm reminders during the hold; None for none."""
    reminders: tuple[str, ...] = ()
    """Reminder wordings, used in turn."""
    source_range: tuple[float, float] | None = None
    """The range of seconds the source gives ("20 to 30 seconds"), said when the hold starts."""
    begin: str | None = None
    """Said at the start of every hold (the source's "breathing deeply")."""
    coach_choice: str | None = None
    """Set when the length is the coach's own choice, not the source's: says why (listed)."""


@dataclass(frozen=True)
class PacePhase:
    """One phase of a paced repetition, e.g. sliding the heel forward."""

    seconds: float
    """How long the phase lasts."""
    say: tuple[str, ...]
    """Pace words, used in turn from one repetition to the next."""


@dataclass(frozen=True)
class Reps:
    """Paced repetitions: a count of repetitions, each made of timed, spoken phases."""

    count: int
    """Default number of repetitions."""
    max_count: int
    """Extensions stop here."""
    extend_count: int
    """Repetitions that "extend" adds when no amount is said."""
    phases: tuple[PacePhase, ...]
    pace_step: float = 0.25
    """How much "slower" or "faster" stretches or shrinks every phase (0.25: a quarter)."""
    slowest: float = 1.0
    """Longest phases allowed, as a multiple of their length in the file (1: never slower)."""
    fastest: float = 1.0
    """Shortest phases allowed, as a multiple of their length (1: never faster)."""
    coach_choice: str | None = None
    """Set when the count is the coach's own choice, not the source's: says why (listed)."""

    @property
    def rep_seconds(self) -> float:
        """Length of one repetition."""
        return sum(phase.seconds for phase in self.phases)

    def reps_for(self, seconds: float) -> int:
        """Whole repetitions that fit into `seconds` (rounding up a near-complete one)."""
        return math.floor(seconds / self.rep_seconds + 1e-9)


@dataclass(frozen=True)
class Exercise:
    """One exercise: names people can say, why it works, how to set up, and its hold or reps."""

    id: str
    names: tuple[str, ...]
    """Spoken names; the first is the one the coach says."""
    why: str
    """A short, faithful "why it works"."""
    setup: tuple[str, ...]
    """Setup instructions, spoken in order."""
    sides: tuple[str, ...]
    """("left", "right") or () for an exercise done once."""
    hold: Hold | None = None
    reps: Reps | None = None
    side_names: dict[str, str] = field(default_factory=dict)
    """How to say each side for this exercise, e.g. {"left": "left leg"}."""
    switch: str | None = None
    """What to say when moving to the second side, e.g. "Slowly change legs"."""
    info: str | None = None
    """More about the exercise, said only when asked."""
    settle_seconds: float | None = None
    """Time to get into position after the instructions; None uses the session's default."""
    position: str | None = None
    """The body position it is done in ("lying", "kneeling"): a change of position gets more
    time to settle, and no "ease out" is said between steps that keep it."""
    reposition_seconds: float | None = None
    """Time to get into position when the step before was in another position (None: the
    settle time)."""
    optional: str | None = None
    """For an optional exercise, the question that offers it (said instead of "say ready");
    declining it is not a skipped step."""

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def target_seconds(self) -> float:
        """Default length of one side."""
        if self.hold is not None:
            return self.hold.seconds
        assert self.reps is not None
        return self.reps.count * self.reps.rep_seconds

    @property
    def max_seconds(self) -> float:
        if self.hold is not None:
            return self.hold.max_seconds
        assert self.reps is not None
        return self.reps.max_count * self.reps.rep_seconds

    def side_name(self, side: str | None) -> str | None:
        if side is None:
            return None
        return self.side_names.get(side, f"{side} side")


@dataclass(frozen=True)
class Include:
    """A reference to another routine, whose exercises run here in order."""

    routine: str


@dataclass(frozen=True)
class Routine:
    """A named sequence of exercises (and included routines)."""

    id: str
    names: tuple[str, ...]
    """Spoken names, e.g. ("hip", "hip routine"); the first is the one the coach says."""
    items: tuple[Exercise | Include, ...]
    description: str = ""
    info: str | None = None
    """More about the routine (how often, what pain means), said only when asked."""
    advised_per_day: str | None = None
    """How often its source advises doing it, in words ("two to three"), for the summary."""
    source: Path | None = None
    builtin: bool = False

    @property
    def name(self) -> str:
        """How the coach says it, without the "the"/"my" and "routine" that the sentences
        around it add ("my morning routine" -> "morning": "the morning routine")."""
        return routine_name_stem(self.names[0]) or self.names[0]


@dataclass(frozen=True)
class Step:
    """One exercise on one side: the unit the session walks through and resumes at."""

    index: int
    routine: str
    """The routine the session runs."""
    part: str
    """The routine the exercise is defined in (differs from `routine` for included routines)."""
    exercise: Exercise
    side: str | None

    @property
    def first_side(self) -> bool:
        return not self.exercise.sides or self.side == self.exercise.sides[0]

    @property
    def last_side(self) -> bool:
        return not self.exercise.sides or self.side == self.exercise.sides[-1]


# --- reading a routine file safely ------------------------------------------------------------

MAX_ROUTINE_BYTES = 64 * 1024
"""A routine file is a few kB (the built-in ones are under 4 kB); anything larger is refused
before it is parsed."""
MAX_NESTING = 32
"""Deepest nesting of lists and mappings a routine file may have (a routine needs about 8)."""
MAX_VALUES = 20_000
"""Most values (with aliases counted each time they are used) a routine file may hold."""
MIN_SECONDS = 1.0
"""Shortest hold, phase, extension or reminder interval."""
MAX_SECONDS = 3600.0
"""Longest hold, phase, extension or reminder interval: an hour."""
MAX_REPS = 100
"""Most repetitions of a paced exercise."""
MAX_PACE_FACTOR = 4.0
"""Slowest pace a paced exercise may reach, as a multiple of its phase lengths."""
MAX_STEPS = 500
"""Most steps (exercise sides) a routine may flatten to, included routines counted."""
MAX_INCLUDE_DEPTH = 8
"""Deepest chain of routines including routines."""

# YAML 1.1 reads `1e300` (no dot, unsigned exponent) as a string; people mean a number.
_FLOAT_WITHOUT_DOT = re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$")


class _RoutineYamlLoader(yaml.SafeLoader):
    """yaml.SafeLoader with a nesting bound, duplicate keys refused and `1e3` read as a number."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, _value in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` then a key of its own is an override, not a repeat
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # unhashable: the base class says so with its line
                if duplicate:
                    raise _DuplicateKey(key, key_node.start_mark)
        return super().construct_mapping(node, deep)


_RoutineYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _FLOAT_WITHOUT_DOT, list("-+0123456789")
)


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _DuplicateKey(Exception):
    def __init__(self, key: object, mark: Any) -> None:
        self.key = key
        self.mark = mark


def _line(mark: Any) -> str:
    return f"line {mark.line + 1}" if mark is not None else "file"


def _count_values(data: object, path: Path) -> None:
    """Refuse data with more than MAX_VALUES values, aliases expanded (a "billion laughs" file is
    small on disk and huge once walked)."""
    stack = [data]
    count = 0
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise VoicecoachError(
                f"{path}: file: expected at most {MAX_VALUES} values (aliases counted where "
                "they are used), got more"
            )
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set):
            stack.extend(item)


def _kind_of_file(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.0f} kB" if size >= 1024 else f"{size} bytes"


def read_routine_data(path: Path, what: str = "routine") -> object:
    """The parsed YAML of one routine file (or another small data file a person writes, such as
    a demo scenario: `what` names it), refusing with one line (a VoicecoachError naming the file)
    anything that is not a small UTF-8 YAML text: a directory, a device, a huge or binary file,
    deep nesting, duplicate keys."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise VoicecoachError(
            f"{path}: file: expected a {what} YAML file, got no such file"
        ) from None
    except OSError as exc:
        raise VoicecoachError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = _kind_of_file(info.st_mode)
        raise VoicecoachError(f"{path}: file: expected a {what} YAML file, got {kind}")
    if info.st_size > MAX_ROUTINE_BYTES:
        raise VoicecoachError(
            f"{path}: file: expected at most {_size_text(MAX_ROUTINE_BYTES)} (a {what} is a "
            f"few kB), got {_size_text(info.st_size)}"
        )
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_ROUTINE_BYTES + 1)
    except OSError as exc:
        raise VoicecoachError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_ROUTINE_BYTES:  # grew since stat
        raise VoicecoachError(
            f"{path}: file: expected at most {_size_text(MAX_ROUTINE_BYTES)}, got more"
        )
    text = _decode(raw, path)
    loader: _RoutineYamlLoader | None = None
    try:
        loader = _RoutineYamlLoader(text)  # checks for unprintable characters
        data = loader.get_single_data()
    except _TooDeep as exc:
        raise VoicecoachError(
            f"{path}: {_line(exc.mark)}: expected lists and mappings nested at most "
            f"{MAX_NESTING} deep, got deeper"
        ) from None
    except _DuplicateKey as exc:
        raise VoicecoachError(
            f"{path}: {_line(exc.mark)}: expected each field once, got {_brief(exc.key)} twice"
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(0, exc.position)) + 1
        raise VoicecoachError(
            f"{path}: line {line}: expected YAML text, got the control character "
            f"#x{exc.character:04x}"
            if isinstance(exc.character, int)
            else f"{path}: line {line}: expected YAML text, got {exc.reason}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise VoicecoachError(
            f"{path}: {_line(mark)}: expected valid YAML, got {' '.join(problem.split())}"
        ) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. a date that matches YAML's timestamp pattern but not the calendar (2024-13-45)
        raise VoicecoachError(
            f"{path}: file: expected valid YAML values, got {_brief(str(exc))}"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    _count_values(data, path)
    return data


def _decode(raw: bytes, path: Path) -> str:
    for bom, encoding in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32")):
        if raw.startswith(bom):
            raise VoicecoachError(
                f"{path}: file: expected UTF-8 text, got {encoding} (save the file as UTF-8)"
            )
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise VoicecoachError(
            f"{path}: file: expected UTF-8 text, got UTF-16 (save the file as UTF-8)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise VoicecoachError(
            f"{path}: line {line}: expected UTF-8 text, got the byte "
            f"0x{raw[exc.start]:02x} (a binary file, or another encoding: save it as UTF-8)"
        ) from None


# --- validation -----------------------------------------------------------------------------


_BRIEF_CHARS = 60
"""How much of a wrong value an error quotes: enough to recognize it, never a whole file."""


def _brief(value: object) -> str:
    shown = " ".join(repr(value).split())
    if len(shown) <= _BRIEF_CHARS:
        return shown
    return f"{shown[: _BRIEF_CHARS - 3]}... ({type(value).__name__})"


class _Checker:
    """Reads one routine file's data, raising errors that name the file, the field, and what was
    expected."""

    def __init__(self, source: Path | str) -> None:
        self.source = source

    def fail(self, where: str, expected: str, got: object = ..., *, missing: bool = False) -> None:
        if missing:
            message = f"{self.source}: {where}: missing; expected {expected}"
        else:
            message = f"{self.source}: {where}: expected {expected}, got {_brief(got)}"
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


# --- the library ----------------------------------------------------------------------------


@functools.cache
def _base_grammar() -> Any:
    """The command grammar without the person's routine names: what a new name must not be."""
    return load_grammar()


def _check_names(routine: Routine, taken: dict[str, str]) -> None:
    """Refuse a name of the person's routine that the recognizer cannot take, that is a command,
    or that another routine already answers to; `taken` (stem -> routine id) grows as routines
    pass. Built-in names are taken, never judged."""
    stems = [(i, name, routine_name_stem(name)) for i, name in enumerate(routine.names)]
    if routine.builtin:
        for _i, _name, stem in stems:
            if stem is not None:
                taken.setdefault(stem, routine.id)
        return
    where = routine.source or routine.id
    for i, name, stem in stems:
        if stem is None:
            raise VoicecoachError(
                f"{where}: names[{i}]: expected a name the recognizer can take (English "
                f"letters only, numbers written as words), got {_brief(name)}"
            )
        owner = taken.get(stem)
        if owner is None:
            for sentence in (stem, f"start {stem}", f"{stem} routine"):
                intent = _base_grammar().match(sentence)
                if intent is None:
                    continue
                if intent.name == "start_routine" and intent.slots.get("routine"):
                    owner = str(intent.slots["routine"])
                    break
                raise VoicecoachError(
                    f"{where}: names[{i}]: expected a name that is not a command, got "
                    f'{_brief(name)} ("{sentence}" means {intent.name})'
                )
        if owner is not None and owner != routine.id:
            raise VoicecoachError(
                f"{where}: names[{i}]: expected a name no other routine answers to, got "
                f"{_brief(name)} (routine {owner!r} is called that)"
            )
    for _i, _name, stem in stems:
        taken.setdefault(stem or "", routine.id)


@dataclass(frozen=True)
class BrokenRoutine:
    """A user routine file that failed to load, and why."""

    path: Path
    error: str


class RoutineLibrary:
    """All routines that loaded: built-in ones always, the person's own when they are valid."""

    def __init__(self, routines: Iterable[Routine], broken: Iterable[BrokenRoutine] = ()) -> None:
        self._routines: dict[str, Routine] = {}
        self.broken: list[BrokenRoutine] = list(broken)
        for routine in routines:
            self._add(routine)
        self._check_includes()

    def _add(self, routine: Routine) -> None:
        if routine.id in self._routines:
            where = routine.source or routine.id
            raise VoicecoachError(f"{where}: id: expected a new routine id, got {routine.id!r}")
        self._routines[routine.id] = routine

    def _check_includes(self) -> None:
        """Set aside the person's routines that cannot run: an include that is unknown, circular
        or too deep, too many steps, or a name that cannot be said. Every routine is judged
        against the same full set first, so two routines including each other both name the
        loop (instead of the second finding the first gone)."""
        while self._set_aside_unrunnable():
            pass  # what included a routine now set aside is broken too: judge again
        self._steps_cache: dict[str, list[Step]] = {}

    def _set_aside_unrunnable(self) -> bool:
        problems: dict[str, str] = {}
        taken: dict[str, str] = {}
        for routine in self._routines.values():
            try:
                steps = sum(len(ex.sides or (None,)) for _, ex in self._flatten(routine.id, ()))
                if steps > MAX_STEPS:
                    raise VoicecoachError(
                        f"{routine.source or routine.id}: exercises: expected at most {MAX_STEPS} "
                        f"steps with included routines, got {steps}"
                    )
                _check_names(routine, taken)
            except VoicecoachError as exc:
                if routine.builtin:
                    raise
                problems[routine.id] = str(exc)
        for routine_id, error in problems.items():
            routine = self._routines.pop(routine_id)
            self.broken.append(BrokenRoutine(routine.source or Path(routine_id), error))
        return bool(problems)

    @classmethod
    def load(
        cls, user_dir: Path | None = None, *, builtin_dir: Path = BUILTIN_DIR, warn: bool = True
    ) -> RoutineLibrary:
        """Load the built-in routines, then the person's (default: config_dir()/routines).

        Each broken file is in `broken` and, with `warn`, logged as a warning (one line each).
        """
        builtins = [load_routine_file(p, builtin=True) for p in sorted(builtin_dir.glob("*.yaml"))]
        if user_dir is None:
            user_dir = paths.config_dir() / "routines"
        lib = cls(builtins)
        if user_dir.is_dir():
            try:
                names = os.listdir(user_dir)  # glob would say nothing about a locked directory
            except OSError as exc:
                names = []
                error = f"{user_dir}: cannot read the directory: {exc.strerror or exc}"
                lib.broken.append(BrokenRoutine(user_dir, error))
            # Hidden names are editors' (".#mine.yaml" lock links), as `*.yaml` globbing skips.
            files = [
                user_dir / n
                for n in names
                if n.endswith((".yaml", ".yml")) and not n.startswith(".")
            ]
            for path in sorted(files):
                try:
                    lib._add(load_routine_file(path))
                except VoicecoachError as exc:
                    lib.broken.append(BrokenRoutine(path, str(exc)))
            lib._check_includes()
        for broken in lib.broken:
            _LOGGER.log(
                logging.WARNING if warn else logging.INFO, "skipping %s", escape(broken.error)
            )
        _LOGGER.info("loaded %d routines (%d broken files)", len(lib._routines), len(lib.broken))
        return lib

    def ids(self) -> list[str]:
        return list(self._routines)

    def routines(self) -> list[Routine]:
        return list(self._routines.values())

    def get(self, routine_id: str) -> Routine:
        try:
            return self._routines[routine_id]
        except KeyError:
            known = ", ".join(self._routines)
            raise VoicecoachError(f"no routine {routine_id!r}; known routines: {known}") from None

    def _flatten(
        self, routine_id: str, seen: tuple[str, ...], budget: list[int] | None = None
    ) -> list[tuple[str, Exercise]]:
        # `seen` is the chain of includes that led here; its first routine is the one judged.
        where = (self._routines[seen[0]].source or seen[0]) if seen else routine_id
        routine = self._routines.get(routine_id)
        if routine is None:
            raise VoicecoachError(
                f"{where}: exercises: expected a known routine, got {routine_id!r}"
            )
        if routine_id in seen:
            raise VoicecoachError(
                f"{where}: exercises: expected no circular includes, got the loop "
                f"{' -> '.join((*seen, routine_id))}"
            )
        if len(seen) > MAX_INCLUDE_DEPTH:
            raise VoicecoachError(
                f"{where}: exercises: expected includes at most {MAX_INCLUDE_DEPTH} deep, got "
                f"{' -> '.join((*seen, routine_id))}"
            )
        # Includes multiply (30 includes of 30 includes of ...): count exercises as they come.
        budget = budget if budget is not None else [MAX_STEPS]
        out: list[tuple[str, Exercise]] = []
        for item in routine.items:
            if isinstance(item, Include):
                out.extend(self._flatten(item.routine, (*seen, routine_id), budget))
            else:
                budget[0] -= 1
                if budget[0] < 0:
                    raise VoicecoachError(
                        f"{where}: exercises: expected at most {MAX_STEPS} exercises with "
                        "included routines, got more"
                    )
                out.append((routine_id, item))
        return out

    def exercises(self, routine_id: str) -> list[tuple[str, Exercise]]:
        """(defining routine id, exercise) pairs in order, with included routines expanded."""
        self.get(routine_id)
        return self._flatten(routine_id, ())

    def steps(self, routine_id: str) -> list[Step]:
        """The routine flattened: one step per exercise per side, indexed from 0."""
        if routine_id not in self._steps_cache:
            steps: list[Step] = []
            for part, exercise in self.exercises(routine_id):
                for side in exercise.sides or (None,):
                    steps.append(Step(len(steps), routine_id, part, exercise, side))
            self._steps_cache[routine_id] = steps
        return list(self._steps_cache[routine_id])

    def total_seconds(self, routine_id: str) -> float:
        """Default length of all holds and repetitions (setup time not counted)."""
        return sum(step.exercise.target_seconds for step in self.steps(routine_id))

    def spoken_names(self) -> dict[str, str]:
        """Spoken routine name -> routine id, for the grammar's routine slot list."""
        names: dict[str, str] = {}
        for routine in self._routines.values():
            for name in routine.names:
                names.setdefault(name.lower(), routine.id)
        return names

    def find(self, spoken: str) -> Routine | None:
        """The routine with this id or spoken name, if any."""
        key = " ".join(spoken.lower().split())
        if key in self._routines:
            return self._routines[key]
        routine_id = self.spoken_names().get(key)
        return None if routine_id is None else self._routines[routine_id]
