"""Reading a routine file safely: a small UTF-8 YAML text with bounded nesting and size, no
duplicate keys; and the limits every routine is checked against."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml

from voicecoach.errors import VoicecoachError

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
            f"{path}: {_line(exc.mark)}: expected each field once, got {brief(exc.key)} twice"
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
            f"{path}: file: expected valid YAML values, got {brief(str(exc))}"
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


# --- quoting a wrong value in an error --------------------------------------------------------


BRIEF_CHARS = 60
"""How much of a wrong value an error quotes: enough to recognize it, never a whole file."""


def brief(value: object) -> str:
    shown = " ".join(repr(value).split())
    if len(shown) <= BRIEF_CHARS:
        return shown
    return f"{shown[: BRIEF_CHARS - 3]}... ({type(value).__name__})"
