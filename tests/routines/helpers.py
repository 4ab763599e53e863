"""What the routines tests share: good and broken routine texts, writing them, running the CLI,
and the bounds they are checked against."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from voicecoach import cli

GOOD = """\
id: morning
names: [my morning routine, morning]
exercises:
  - id: rest
    names: [rest]
    why: It is restful.
    setup: [Lie down.]
    sides: none
    hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}
"""


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BROKEN = {
    "missing field": (
        GOOD.replace("    why: It is restful.\n", ""),
        "exercises[0].why: missing",
    ),
    "wrong type": (
        GOOD.replace("seconds: 60,", "seconds: a minute,"),
        "exercises[0].hold.seconds: expected a number of seconds from 1 to 3600, got 'a minute'",
    ),
    "negative hold": (
        GOOD.replace("seconds: 60,", "seconds: -5,"),
        "exercises[0].hold.seconds: expected a number of seconds from 1 to 3600, got -5",
    ),
    "unknown side": (
        GOOD.replace("sides: none", "sides: [left, middle]"),
        "exercises[0].sides[1]: expected 'left' or 'right', got 'middle'",
    ),
    "empty steps": (
        GOOD.split("exercises:")[0] + "exercises: []\n",
        "exercises: expected a non-empty list of exercises, got []",
    ),
    "empty setup": (
        GOOD.replace("setup: [Lie down.]", "setup: []"),
        "exercises[0].setup: expected a non-empty list of strings, got []",
    ),
    "bad yaml": (
        GOOD.replace("names: [rest]", "names: [rest"),
        "expected valid YAML",
    ),
    "unknown field": (
        GOOD.replace("    sides: none\n", "    sides: none\n    colour: blue\n"),
        "exercises[0].colour: expected one of the known fields",
    ),
    "max below default": (
        GOOD.replace("max_seconds: 120", "max_seconds: 30"),
        "exercises[0].hold.max_seconds: expected at least seconds (60), got 30.0",
    ),
    "no hold or reps": (
        GOOD.replace("    hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}\n", ""),
        "exercises[0].hold: missing; expected a hold (seconds) or reps (count and phases)",
    ),
}


BUILTIN_IDS = {"hip", "release", "full"}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, *expected: str) -> None:
    assert err.count("\n") == 1 and err.startswith("voicecoach: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


def routine_text(routine_id: str, name: str, item: str | None = None) -> str:
    item = item or (
        "{id: rest, names: [rest], why: Restful., setup: [Lie down.], hold: {seconds: 60}}"
    )
    return f"id: {routine_id}\nnames: [{name}]\nexercises:\n  - {item}\n"


def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The person's routine directory, as `routines`, `start` and `demo` find it."""
    config = tmp_path / "config"
    (config / "routines").mkdir(parents=True)
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(config))
    return config / "routines"


NOT_UTF8 = {
    "binary junk": (bytes(range(256)) * 4, "line 2: expected UTF-8 text, got the byte 0x80"),
    "utf-16": (GOOD.encode("utf-16"), "expected UTF-8 text, got UTF-16"),
    "latin-1": (
        GOOD.replace("restful", "reposant, très").encode("latin-1"),
        "line 6: expected UTF-8 text, got the byte 0xe8",
    ),
}


SECONDS = {
    ".inf": "got inf",
    ".nan": "got nan",
    "-.inf": "got -inf",
    "0.0001": "got 0.0001",
    "0": "got 0",
    "99999999999999999999999999": "got 99999999999999999999999999",
    "1e300": "got 1e+300",  # YAML 1.1 reads this as a string; it is read as the number it is
    "3601": "got 3601",
}


NAMES = {
    "étirement du matin": "expected a name the recognizer can take (English letters only",
    "'{weird}'": "expected a name the recognizer can take",
    "ouch": "expected a name that is not a command, got 'ouch' (\"ouch\" means pain)",
    "stop": "expected a name that is not a command, got 'stop'",
    "add five minutes": "expected a name that is not a command, got 'add five minutes'",
    "hip routine": "expected a name no other routine answers to, got 'hip routine' (routine 'hip'",
}


UNSAFE = ["\\e", "\\a", "\\0", "\\u202e", "\\x9b", "\\x7f", "\\u200b"]
"""YAML double-quoted escapes for ESC, BEL, NUL, RIGHT-TO-LEFT OVERRIDE, a C1 CSI, DEL and a
zero-width space. (A line separator is whitespace: it becomes a space like a newline.)"""
TEXT_FIELDS = {
    "exercises[0].names[0]": ("    names: [rest]", '    names: ["re{c}st"]'),
    "exercises[0].why": ("    why: It is restful.", '    why: "It is {c}restful."'),
    "exercises[0].setup[0]": ("    setup: [Lie down.]", '    setup: ["Lie {c}down."]'),
    "exercises[0].switch": ("    sides: none", '    sides: both\n    switch: "Sw{c}itch."'),
    "exercises[0].info": ("    sides: none", '    sides: none\n    info: "More {c}."'),
    "exercises[0].optional": ("    sides: none", '    sides: none\n    optional: "Want {c}it?"'),
    "exercises[0].side_names.left": (
        "    sides: none",
        '    sides: both\n    side_names: {left: "left {c}leg"}',
    ),
    "exercises[0].hold.reminders[0]": (
        "extend_seconds: 30}",
        'extend_seconds: 30, reminder_every: 20, reminders: ["Bre{c}athe."]}',
    ),
    "exercises[0].hold.begin": ("extend_seconds: 30}", 'extend_seconds: 30, begin: "b{c}"}'),
    "description": ("exercises:", 'description: "Mine{c}."\nexercises:'),
    "info": ("exercises:", 'info: "About {c}it."\nexercises:'),
}
