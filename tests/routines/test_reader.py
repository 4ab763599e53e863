"""Reading a routine file safely: empty, not UTF-8, huge, deeply nested, aliased, duplicate keys,
odd YAML values, a pipe or a directory: one line each, never a hang or a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.routines.helpers import (
    BUILTIN_IDS,
    GOOD,
    NOT_UTF8,
    assert_one_line,
    run_cli,
    user_dir,
    write,
)
from voicecoach.errors import VoicecoachError
from voicecoach.routines import RoutineLibrary, load_routine_file


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "", "empty.yaml")
    with pytest.raises(VoicecoachError, match=r"empty\.yaml: file: expected a routine"):
        load_routine_file(path)


@pytest.mark.parametrize("case", sorted(NOT_UTF8))
def test_check_on_a_file_that_is_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    data, expected = NOT_UTF8[case]
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(err, f"{path}: ", expected)


def test_deep_nesting_is_one_line_and_stops_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routines = user_dir(tmp_path, monkeypatch)
    path = routines / "deep.yaml"
    path.write_text("[" * 5000)
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(err, f"{path}: line 1: expected lists and mappings nested at most 32 deep")
    path.write_text("a:\n" + "".join("  " * i + "- b:\n" for i in range(1, 200)))
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(err, "nested at most 32 deep")
    assert set(RoutineLibrary.load().ids()) >= BUILTIN_IDS
    code, out, err = run_cli(["routines"], capsys)
    assert code == 1 and "hip (built-in)" in out and err.count("\n") == 1


@pytest.mark.parametrize(
    ("target", "expected"), [("/dev/null", "got a device"), ("DIR", "got a directory")]
)
def test_check_says_what_a_non_file_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, expected: str
) -> None:
    target = str(tmp_path) if target == "DIR" else target
    code, _out, err = run_cli(["check", target], capsys)
    assert code == 1
    assert_one_line(err, f"{target}: file: expected a routine YAML file, {expected}")


def test_a_pipe_in_the_routine_directory_does_not_hang(tmp_path: Path) -> None:

    os.mkfifo(tmp_path / "pipe.yaml")
    lib = RoutineLibrary.load(user_dir=tmp_path)
    assert "got a pipe" in lib.broken[0].error and set(lib.ids()) >= BUILTIN_IDS


def test_a_huge_file_is_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MB (sparse: nothing to parse, nothing read)
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(err, "file: expected at most 64 kB (a routine is a few kB), got 50.0 MB")


def test_many_aliases_are_refused_not_walked(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(VoicecoachError, match="expected at most 20000 values"):
        load_routine_file(path)


def test_duplicate_keys_are_refused_with_the_key_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD.replace("    sides: none\n", "    sides: none\n    why: Again.\n"))
    code, _out, err = run_cli(["check", str(path)], capsys)
    assert code == 1
    assert_one_line(err, f"{path}: line 9: expected each field once, got 'why' twice")
    merged = "base: &b {seconds: 60}\n" + GOOD.replace(
        "hold: {seconds: 60,", "hold: {<<: *b, seconds: 90,"
    ).replace("id: morning\n", "")
    merge = write(tmp_path, "id: morning\n" + merged.replace("base:", "info:"))
    # A merge key overridden is no duplicate; the routine is refused for its own reason.
    with pytest.raises(VoicecoachError, match="info: expected a non-empty string"):
        load_routine_file(merge)


def test_odd_yaml_values_are_one_line(tmp_path: Path) -> None:
    for text, expected in (
        ("id: 2024-13-45\n", "expected valid YAML values, got 'month must be in 1..12'"),
        ("id: x\x00\n", "line 1: expected YAML text, got the control character #x0000"),
        ("{1: 2, id: x}\n", "routine: expected field names that are words, got 1"),
        ("? [a]\n: b\n", "expected valid YAML"),
        ("id: !!python/object:os.system x\n", "expected valid YAML"),
        ("a: &a [*a]\n", "expected at most 20000 values"),
    ):
        path = tmp_path / "odd.yaml"
        path.write_bytes(text.encode())
        with pytest.raises(VoicecoachError) as caught:
            load_routine_file(path)
        assert expected in str(caught.value) and "\n" not in str(caught.value)
