"""Shared fixtures: real speech from espeak-ng, the real engines, the command recognizer, and a
PulseAudio room for the live coach.

`speech_engine` runs a test on each engine: Whisper and PocketSphinx (their models ship in their
wheels, so they are always there: tests marked `model`) and Vosk (marked `vosk`). In CI (CI=true)
a missing espeak-ng, PocketSphinx or Whisper model is a failure, never a skip; the one exception
is a Vosk model recorded as unavailable by scripts/fetch-model (models/UNAVAILABLE), which skips
with the recorded reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from voicecoach.errors import VoicecoachError
from voicecoach.paths import MODELS_DIR

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

Espeak = Callable[..., Path]


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def espeak(tmp_path_factory: pytest.TempPathFactory) -> Espeak:
    """espeak(text, voice="en-us", rate=160, pitch=50) -> Path of a WAV (22.05 kHz mono)."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        _missing("espeak-ng is not installed (scripts/setup installs it)")
    out_dir = tmp_path_factory.mktemp("espeak")

    def synthesize(text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50) -> Path:
        key = hashlib.sha1(f"{text}|{voice}|{rate}|{pitch}".encode()).hexdigest()[:16]
        path = out_dir / f"{key}.wav"
        if not path.exists():
            subprocess.run(
                [
                    binary,
                    "-v",
                    voice,
                    "-s",
                    str(rate),
                    "-p",
                    str(pitch),
                    "-w",
                    str(path),
                    "--",
                    text,
                ],
                check=True,
                capture_output=True,
            )
        return path

    return synthesize


@pytest.fixture(scope="session")
def vosk_model_dir() -> Path:
    """The model the recognizer uses (see voicecoach.hearing.asr.vosk.resolve_model_dir)."""
    from voicecoach.hearing.asr.vosk import resolve_model_dir

    try:
        return resolve_model_dir(None)
    except VoicecoachError as exc:
        unavailable = MODELS_DIR / "UNAVAILABLE"
        if unavailable.is_file() and not os.environ.get("VOICECOACH_MODEL"):
            first = unavailable.read_text(encoding="utf-8").splitlines()[:1] or ["(empty)"]
            pytest.skip(f"Vosk model unavailable: {first[0]}")
        _missing(f"no Vosk model: {exc}")
        raise  # unreachable: _missing always raises


@pytest.fixture(scope="session")
def vosk_model(vosk_model_dir: Path):  # -> vosk.Model
    from voicecoach.hearing.asr.vosk import load_model

    return load_model(vosk_model_dir)


@pytest.fixture(scope="session")
def grammar():
    from voicecoach.hearing.grammar import load_grammar

    return load_grammar()


@pytest.fixture(scope="session")
def command_recognizer(vosk_model, grammar):
    """The grammar-restricted recognizer over the real model (shared: reset between uses)."""
    from voicecoach.hearing.asr.vosk import VoskEngine

    return VoskEngine(vosk_model, grammar)


@pytest.fixture(scope="session")
def pocketsphinx_engine(grammar):
    """The PocketSphinx CommandEngine on the wheel's real model (shared: reset between uses)."""
    from voicecoach.hearing.asr.pocketsphinx import PocketSphinxEngine

    try:
        return PocketSphinxEngine(grammar)
    except VoicecoachError as exc:
        _missing(f"PocketSphinx cannot load: {exc}")
        raise  # unreachable: _missing always raises


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("whisper", marks=pytest.mark.model),
        pytest.param("pocketsphinx", marks=pytest.mark.model),
        pytest.param("vosk", marks=pytest.mark.vosk),
    ],
)
def speech_engine(request: pytest.FixtureRequest):
    """Each available engine in turn (Vosk's cases skip, saying why, without its model)."""
    if request.param == "vosk":
        return request.getfixturevalue("command_recognizer")
    if request.param == "whisper":
        return request.getfixturevalue("whisper_engine")
    return request.getfixturevalue("pocketsphinx_engine")


@pytest.fixture(scope="session")
def whisper_engine(grammar):
    """The neural engine as the coach opens it (Whisper tiny.en from its wheel, checksum checked,
    with PocketSphinx's hypothesis and Silero VAD): shared, reset between uses."""
    from voicecoach.hearing.asr import choose_engine, open_engine

    try:
        return open_engine(choose_engine("whisper"), grammar)
    except VoicecoachError as exc:
        _missing(f"the Whisper engine cannot load: {exc}")
        raise  # unreachable: _missing always raises


@pytest.fixture(scope="session")
def speech(espeak):
    """speech(text, voice, rate, pitch) -> 16 kHz int16 samples with 0.3 s of quiet room noise
    either side (a microphone's floor, about 40 dB under the voice), cached for the session."""
    import numpy as np

    from voicecoach.hearing.wavio import read_wav

    cache: dict[tuple[str, str, int, int], np.ndarray] = {}

    def make(text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50) -> np.ndarray:
        key = (text, voice, rate, pitch)
        if key not in cache:
            pcm = read_wav(espeak(text, voice, rate, pitch)).astype(np.float64)
            pad = np.zeros(4800)
            x = np.concatenate([pad, pcm, pad])
            seed = int(hashlib.sha1(repr(key).encode()).hexdigest()[:8], 16)
            x += np.random.default_rng(seed).normal(0, 30, x.size)
            cache[key] = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
        return cache[key]

    return make


@pytest.fixture
def room(tmp_path_factory: pytest.TempPathFactory):  # -> tests.room.Room
    """A PulseAudio room of its own (null sink `room`, microphone `room.monitor`), stopped by PID
    and removed afterwards. Hand `room.env()` to the process under test."""
    from room import Room, RoomError, available

    missing = available()
    if missing is not None:
        _missing(f"no room: {missing}")
    try:
        r = Room(tmp_path_factory.mktemp("room")).start()
    except RoomError as exc:
        _missing(f"the room did not start: {exc}")
        raise  # unreachable: _missing always raises
    try:
        yield r
    finally:
        r.stop()
        assert not r.running


def _room_servers(marker: str) -> list[int]:
    """PIDs of pulseaudio servers whose command line names `marker` (a room's directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"pulseaudio") and any(marker.encode() in a for a in argv):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="session", autouse=True)
def _no_room_left_running(tmp_path_factory: pytest.TempPathFactory):
    """After the whole run, no room's server is still alive (tests start and stop their own;
    nothing is started globally, and other programs' servers are not ours to look at)."""
    yield
    from room import Room

    left = sorted({pid for where in Room.started_dirs for pid in _room_servers(str(where))})
    assert not left, f"pulseaudio servers left running by the tests: {left}"


SOURCES_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "sources"
"""The two source texts the routines follow (../shared/sources beside the repository)."""
SOURCES_COPY = Path(__file__).resolve().parent / "data" / "sources"
"""Their copies in the repository, for a clone with nothing beside it (CI's);
test_the_source_copies_are_the_sources checks them against the originals wherever those are."""


@pytest.fixture(scope="session")
def source_text() -> Callable[[str], str]:
    """source_text("kneeling-psoas-stretch") -> that source's text (the original beside the
    repository, else the copy in tests/data/sources), for content tests that check a figure or
    an instruction against it."""

    def read(name: str) -> str:
        path = SOURCES_DIR / f"{name}.txt"
        if not path.is_file():
            path = SOURCES_COPY / f"{name}.txt"
        if not path.is_file():
            _missing(
                f"the source text {name}.txt is neither in {SOURCES_DIR} nor in {SOURCES_COPY}"
            )
        return " ".join(path.read_text(encoding="utf-8").split())

    return read
