"""The command line's contract: help without a command, one-line errors, no tracebacks."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from voicecoach import cli
from voicecoach.errors import VoicecoachError


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: voicecoach" in capsys.readouterr().out


def test_voicecoach_error_becomes_one_line_and_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing(_args: argparse.Namespace) -> int:
        raise VoicecoachError("the thing is missing; run scripts/setup", exit_code=3)

    real_build = cli.build_parser

    def build_with_failing_command() -> argparse.ArgumentParser:
        parser = real_build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.add_parser("explode").set_defaults(func=failing)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_with_failing_command)
    assert cli.main(["explode"]) == 3
    err = capsys.readouterr().err
    assert err == "voicecoach: the thing is missing; run scripts/setup\n"


def test_python_dash_m_runs_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voicecoach", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "usage: voicecoach" in result.stdout
    assert "Traceback" not in result.stderr
