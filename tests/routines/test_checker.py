"""Checking a routine's fields: bounds named in one line, control characters refused, exercise
names in words, and malformed files fuzzed."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.routines.helpers import (
    BROKEN,
    GOOD,
    SECONDS,
    TEXT_FIELDS,
    UNSAFE,
    assert_one_line,
    run_cli,
    write,
)
from voicecoach import cli
from voicecoach.errors import VoicecoachError
from voicecoach.routines import load_routine_file


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_gives_one_clear_error(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    path = write(tmp_path, text, "broken.yaml")
    with pytest.raises(VoicecoachError) as info:
        load_routine_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_new_fields_are_checked(tmp_path: Path) -> None:
    cases = {
        "source_range: [30, 20]": r"hold.source_range\[1\]: expected at least 30",
        "source_range: 20": r"hold.source_range: expected two numbers",
        "begin: ''": r"hold.begin: expected a non-empty string",
    }
    for field, message in cases.items():
        bad = GOOD.replace("extend_seconds: 30}", f"extend_seconds: 30, {field}}}")
        with pytest.raises(VoicecoachError, match=message):
            load_routine_file(write(tmp_path, bad, "bad.yaml"))
    bad = GOOD.replace("sides: none", "sides: none\n    reposition_seconds: -1")
    with pytest.raises(
        VoicecoachError, match=r"reposition_seconds: expected a number of seconds from 0 to"
    ):
        load_routine_file(write(tmp_path, bad, "bad.yaml"))


def test_an_error_quotes_a_long_wrong_value_briefly_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text("just some notes\n" * 200)
    with pytest.raises(VoicecoachError) as caught:
        load_routine_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: routine: expected a mapping of fields, got 'just some")
    assert "\n" not in message
    assert len(message) < len(str(path)) + 120


def test_an_empty_reps_beside_a_hold_is_no_second_kind(tmp_path: Path) -> None:
    """`reps:` left empty (null) is no reps at all, as every other empty field is taken."""
    path = write(tmp_path, GOOD + "    reps:\n")
    assert load_routine_file(path).items[0].hold is not None  # type: ignore[union-attr]
    both = write(tmp_path, GOOD + "    reps: {count: 2, phases: [{seconds: 4, say: [Go.]}]}\n")
    with pytest.raises(VoicecoachError, match=r"exercises\[0\]: expected either hold or reps"):
        load_routine_file(both)


@pytest.mark.parametrize("value", sorted(SECONDS))
def test_hold_seconds_out_of_bounds_names_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    path = write(tmp_path, GOOD.replace("seconds: 60,", f"seconds: {value},"))
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(
        err,
        "exercises[0].hold.seconds: expected a number of seconds from 1 to 3600, " + SECONDS[value],
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("extend_seconds: 30", "extend_seconds: .nan", "hold.extend_seconds: expected a number"),
        ("max_seconds: 120", "max_seconds: .inf", "hold.max_seconds: expected a number of"),
        ("}", ", countdown: -1}", "hold.countdown: expected a number of seconds from 0 to 3600"),
        ("}", ", reminder_every: 0.01, reminders: [x]}", "hold.reminder_every: expected"),
    ],
)
def test_other_hold_numbers_are_bounded_too(
    tmp_path: Path, field: str, value: str, expected: str
) -> None:
    path = write(tmp_path, GOOD.replace(field, value))
    with pytest.raises(VoicecoachError, match=re.escape(expected)):
        load_routine_file(path)


def test_pace_phases_and_counts_are_bounded(tmp_path: Path) -> None:
    reps = "reps: {count: %s, phases: [{seconds: %s, say: [Go.]}]}"
    hold = "hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}"
    for count, seconds, expected in (
        ("2", ".nan", "phases[0].seconds: expected a number of seconds from 1 to 3600"),
        (
            "2",
            "1e9",
            "phases[0].seconds: expected a number of seconds from 1 to 3600, got 1000000000.0",
        ),
        ("100000", "4", "reps.count: expected a whole number from 1 to 100, got 100000"),
    ):
        path = write(tmp_path, GOOD.replace(hold, reps % (count, seconds)))
        with pytest.raises(VoicecoachError, match=re.escape(expected)):
            load_routine_file(path)


FUZZ_FILES = 240


def _random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.randint(-(10**30), 10**30)
    if kind == 1:
        return rng.choice([0.0, -1.5, 1e-9, 1e300, float("inf"), float("nan"), 3.25])
    if kind == 2:
        return "".join(rng.choice("ab é{}[]:#&*!|>'\"-\t") for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return rng.choice(["2024-13-45", "1e300", "0x1F", "~", ".inf", "<<"])
    if kind in (5, 6):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {
        rng.choice(["x", "colour", "1", "seconds", "exercise", "Name"]): _random_value(
            rng, depth + 1
        )
        for _ in range(rng.randrange(4))
    }


_WRONG = {
    "seconds: 60": [
        "seconds: sixty",
        "seconds: [60]",
        "seconds: {a: 1}",
        "seconds: true",
        "seconds: -60",
        "seconds: .nan",
        "seconds: .inf",
        "seconds: 1e999",
        "seconds: 0.0001",
        "seconds: 99999999999999999999",
        "seconds: ~",
    ],
    "names: [rest]": [
        "names: 5",
        "names: []",
        "names: [[]]",
        "names: {a: b}",
        "names: ~",
        # issue 20: a bare string, placeholders, control characters
        "names: rest",
        'names: ["\\0"]',
        "names: ['.nan']",
        "names: [none]",
        'names: ["rest\\e[2J"]',
    ],
    "why: It is restful.": [
        'why: "\\e]0;pwned\\a"',
        'why: "\\u202eevil"',
        'why: "bell\\a"',
        'why: "\\x9b31m red"',
        'why: "nul\\0"',
    ],
    # issue 20: each hold number bounded against the hold it belongs to
    "hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}": [
        "hold: {seconds: 60, max_seconds: 120, extend_seconds: 1000}",
        "hold: {seconds: 30, countdown: 1e-07}",
        "hold: {seconds: 30, countdown: 1000}",
        "hold: {seconds: 30, countdown: 30}",
        "hold: {seconds: 60, reminder_every: 3, reminders: [Breathe.]}",
        "hold: {seconds: 60, reminder_every: 600, reminders: [Breathe.]}",
        'hold: {seconds: 60, reminder_every: 20, reminders: ["\\e[31m"]}',
    ],
    "id: morning": ["id: [m]", "id: 'two words'", "id: ''", "id: {a: 1}", "id: 2024-01-01"],
    "sides: none": ["sides: 5", "sides: some", "sides: [up]", "sides: [left, left]"],
    "setup: [Lie down.]": [
        "setup: []",
        "setup: 3",
        "setup: {a: b}",
        "setup: [1, 2]",
        'setup: ["Lie \\a down."]',
    ],
    "names: [my morning routine, morning]": [
        "names: [ouch]",
        "names: [stop]",
        "names: [hip]",
        "names: ['{weird}']",
        "names: [étirement]",
    ],
}


def _malformed(rng: random.Random, n: int) -> bytes:
    """One routine file that must be refused; the kind cycles so every kind is well covered."""
    kind = n % 8
    if kind == 0:  # a random YAML structure: never a routine (no id/names/exercises)
        return yaml.safe_dump(_random_value(rng), allow_unicode=True).encode()
    if kind == 1:  # one field of a good file given a wrong type or an out-of-range value
        field = rng.choice(sorted(_WRONG))
        return GOOD.replace(field, rng.choice(_WRONG[field]), 1).encode()
    if kind == 2:  # another encoding, or bytes that are not UTF-8 at all
        encoding = rng.choice(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252", "bytes"])
        if encoding == "bytes":
            return bytes([0xFF]) + rng.randbytes(rng.randrange(1, 4000))
        if encoding == "utf-16-be":
            return b"\xfe\xff" + GOOD.encode(encoding)
        return GOOD.replace("restful", "très reposant").encode(encoding)
    if kind == 3:  # too big to be a routine
        size = rng.choice([65 * 1024, 200 * 1024, 2 * 1024 * 1024])
        return (GOOD + "# " + "x" * size + "\n").encode()
    if kind == 4:  # nested deeper than any routine
        depth = rng.randrange(33, 6000)
        opener, closer = rng.choice([("[", "]"), ("{a: ", "}"), ("- ", "")])
        if opener == "- ":
            return "".join("  " * i + "- \n" for i in range(min(depth, 400))).encode()
        return (opener * depth + closer * rng.randrange(depth)).encode()
    if kind == 5:  # cut off before its last closing brace
        cut = rng.randrange(1, GOOD.rindex("}"))
        return GOOD[:cut].encode()
    if kind == 6:  # a repeated field, or a control character
        if rng.random() < 0.5:
            return GOOD.replace("    sides: none\n", "    sides: none\n    sides: both\n").encode()
        pos = rng.randrange(len(GOOD))
        return (GOOD[:pos] + rng.choice("\x00\x01\x07\x1b\x7f") + GOOD[pos:]).encode()
    # random bytes flipped in a good file, then one that is never UTF-8 added
    data = bytearray(GOOD.encode())
    for _ in range(rng.randrange(1, 6)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    data[rng.randrange(len(data))] = 0xC0
    return bytes(data)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fuzz-routines")
    rng = random.Random(11)
    for n in range(FUZZ_FILES):
        (directory / f"fuzz{n:03d}.yaml").write_bytes(_malformed(rng, n))
    return directory


def test_fuzz_check_gives_one_line_and_exit_1_for_every_malformed_file(
    fuzz_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = sorted(fuzz_dir.glob("*.yaml"))
    assert len(files) == FUZZ_FILES
    for source in files:
        # Each in a directory of its own: `check` also reads the files beside the one it checks.
        path = tmp_path / source.stem / source.name
        path.parent.mkdir()
        path.write_bytes(source.read_bytes())
        code, out, err = run_cli(["check", str(path)], capsys)
        assert (code, out) == (1, ""), (path.read_bytes()[:200], out)
        assert err.count("\n") == 1 and err.startswith(f"voicecoach: {path}: "), err
        assert "Traceback" not in err and len(err) < len(str(path)) + 300, err


def test_fuzz_routine_directory_still_lists_the_builtins(fuzz_dir: Path, tmp_path: Path) -> None:
    """The real command line, as a person runs it, with every malformed file in their
    directory: no traceback, exit 1, one line per bad file, the built-in routines listed."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "routines").symlink_to(fuzz_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "routines"],
        env={**os.environ, "VOICECOACH_CONFIG_DIR": str(config)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    prefix = f"voicecoach: skipped {config / 'routines'}/"
    assert all(line.startswith(prefix) for line in lines), lines
    named = sorted(line[len(prefix) :].split(": ")[0] for line in lines)
    assert named == [f"fuzz{n:03d}.yaml" for n in range(FUZZ_FILES)]
    for builtin in ("hip (built-in)", "release (built-in)", "full (built-in)"):
        assert builtin in proc.stdout


@pytest.mark.parametrize("value", [".nan", ".inf", "0", "-1", "100"])
def test_pace_factors_are_bounded(tmp_path: Path, value: str) -> None:
    hold = "hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}"
    reps = f"reps: {{count: 2, phases: [{{seconds: 4, say: [Go.]}}], slowest: {value}}}"
    path = write(tmp_path, GOOD.replace(hold, reps))
    with pytest.raises(VoicecoachError, match=r"reps\.slowest: expected a number more than 0 and"):
        load_routine_file(path)


@pytest.mark.parametrize("char", UNSAFE)
@pytest.mark.parametrize("field", sorted(TEXT_FIELDS))
def test_a_control_character_in_any_text_field_is_refused_and_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, char: str
) -> None:
    """ESC, BEL, NUL and U+202E in a name, why, setup, switch or reminder: `check` said ok and
    `routines` printed them raw (setting the terminal's title, clearing or recolouring it)."""
    old, new = TEXT_FIELDS[field]
    assert old in GOOD
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD.replace(old, new.replace("{c}", char), 1), encoding="utf-8")
    assert cli.main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"voicecoach: {path}: {field}: expected "), line
    assert line.isprintable(), repr(line)
    # The routine directory sets it aside the same way, and the listing stays clean.
    user = tmp_path / "routines"
    user.mkdir()
    path.rename(user / "mine.yaml")
    assert cli.main(["routines", "--dir", str(user)]) == 1
    listed = capsys.readouterr()
    assert all(x.isprintable() for x in (listed.out + listed.err).splitlines())
    assert "morning" not in listed.out


@pytest.mark.parametrize(
    ("hold", "field", "expected"),
    [
        ("{seconds: 60, max_seconds: 120, extend_seconds: 1000}", "extend_seconds", "at most max"),
        ("{seconds: 30, extend_seconds: 31}", "extend_seconds", "at most max_seconds (30)"),
        ("{seconds: 30, countdown: 1e-07}", "countdown", "0 (none) or from 1 to less than"),
        ("{seconds: 30, countdown: 1000}", "countdown", "less than seconds (30)"),
        ("{seconds: 30, countdown: 30}", "countdown", "less than seconds (30)"),
        (
            "{seconds: 60, reminder_every: 3, reminders: [Breathe.]}",
            "reminder_every",
            "from 10 to max_seconds (60)",
        ),
        (
            "{seconds: 60, max_seconds: 90, reminder_every: 91, reminders: [Breathe.]}",
            "reminder_every",
            "from 10 to max_seconds (90)",
        ),
    ],
)
def test_hold_numbers_are_bounded_against_their_hold(
    tmp_path: Path, hold: str, field: str, expected: str
) -> None:
    text = GOOD.replace(
        "hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}", f"hold: {hold}"
    )
    path = write(tmp_path, text)
    with pytest.raises(VoicecoachError) as err:
        load_routine_file(path)
    assert f"exercises[0].hold.{field}: expected " in str(err.value)
    assert expected in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "hold",
    [
        "{seconds: 30, countdown: 0}",
        "{seconds: 30, countdown: 1}",
        "{seconds: 30, countdown: 29.5}",
        "{seconds: 30, max_seconds: 30, extend_seconds: 30}",
        "{seconds: 30, reminder_every: 10, reminders: [Breathe.]}",
        "{seconds: 30, max_seconds: 60, reminder_every: 60, reminders: [Breathe.]}",
    ],
)
def test_hold_numbers_at_their_bounds_are_accepted(tmp_path: Path, hold: str) -> None:
    text = GOOD.replace(
        "hold: {seconds: 60, max_seconds: 120, extend_seconds: 30}", f"hold: {hold}"
    )
    assert load_routine_file(write(tmp_path, text)).id == "morning"


@pytest.mark.parametrize(
    "names",
    ["rest", "'rest'", "[.nan]", "['.nan']", "[none]", "[Null]", '["\\0"]', "['-']", "['42']"],
)
def test_an_exercise_name_must_be_a_list_of_words(tmp_path: Path, names: str) -> None:
    path = write(tmp_path, GOOD.replace("    names: [rest]", f"    names: {names}"))
    with pytest.raises(VoicecoachError) as err:
        load_routine_file(path)
    assert "exercises[0].names" in str(err.value)
    assert str(err.value).isprintable()


@pytest.mark.parametrize("names", ["[rest, deep rest]", "[child's pose]", "[step 2, twenty-two]"])
def test_exercise_names_in_words_are_accepted(tmp_path: Path, names: str) -> None:
    path = write(tmp_path, GOOD.replace("    names: [rest]", f"    names: {names}"))
    assert load_routine_file(path).id == "morning"
