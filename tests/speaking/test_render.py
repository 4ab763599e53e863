"""Rendering: real pyttsx3/espeak-ng speech, rate and volume, voice settings within bounds, and
a hung or broken engine abandoned for a fresh one."""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from voicecoach.messages import SpeechAdjust
from voicecoach.speaking.render import Pyttsx3Renderer, TtsError, VoiceSettings

SENTENCE = "Lie on your back with your knees bent and your feet flat on the floor."


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def test_real_rendering_is_speech_of_plausible_length(renderer: Pyttsx3Renderer) -> None:
    speech = renderer.render(SENTENCE, VoiceSettings(rate=165))
    assert speech.sample_rate == 16_000
    assert speech.samples.dtype == np.int16
    # 14 words at 165 words per minute: about five seconds; espeak adds pauses, never halves it.
    assert 2.5 < speech.duration_s < 9.0
    assert _rms(speech.samples) > 500


def test_rate_and_volume_change_the_audio(renderer: Pyttsx3Renderer) -> None:
    slow = renderer.render(SENTENCE, VoiceSettings(rate=120, volume=1.0))
    fast = renderer.render(SENTENCE, VoiceSettings(rate=240, volume=1.0))
    quiet = renderer.render(SENTENCE, VoiceSettings(rate=240, volume=0.3))
    assert slow.duration_s > 1.5 * fast.duration_s
    assert _rms(quiet.samples) < 0.6 * _rms(fast.samples)
    # And back again: a setting is never lost between sentences.
    again = renderer.render(SENTENCE, VoiceSettings(rate=120, volume=1.0))
    assert abs(again.duration_s - slow.duration_s) < 0.05


def test_adjust_moves_rate_and_volume_within_bounds() -> None:
    s = VoiceSettings(rate=165, volume=0.9)
    assert s.adjusted(SpeechAdjust(rate_delta=-25)).rate == 140
    assert s.adjusted(SpeechAdjust(volume_delta=0.3)).volume == 1.0
    assert s.adjusted(SpeechAdjust(rate_delta=-1000)).rate == 90
    assert s.adjusted(SpeechAdjust(volume_delta=-5)).volume == pytest.approx(0.1)


class _HangingEngine:
    """Stands in for a pyttsx3 engine whose runAndWait never returns."""

    driver_name = "fake"

    def __init__(self, release: threading.Event) -> None:
        self._release = release

    def connect(self, _topic: str, _cb: Callable[..., None]) -> None:
        pass

    def setProperty(self, _name: str, _value: object) -> None:
        pass

    def save_to_file(self, _text: str, _path: str) -> None:
        pass

    def runAndWait(self) -> None:
        self._release.wait()


class _WorkingEngine(_HangingEngine):
    def __init__(self) -> None:
        self._cb: Callable[..., None] | None = None
        self._path = ""

    def connect(self, _topic: str, cb: Callable[..., None]) -> None:
        self._cb = cb

    def save_to_file(self, _text: str, path: str) -> None:
        self._path = path

    def runAndWait(self) -> None:
        with wave.open(self._path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes((np.sin(np.arange(22050) / 5) * 8000).astype("<i2").tobytes())
        assert self._cb is not None
        self._cb(name=None, completed=True)


def test_a_hung_engine_is_abandoned_and_a_fresh_one_takes_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    engines = iter([_HangingEngine(release), _WorkingEngine()])
    r = Pyttsx3Renderer(timeout_s=0.3)
    monkeypatch.setattr(r, "_new_engine", lambda: next(engines))
    with pytest.raises(TtsError, match="hung"):
        r.render("one", VoiceSettings())
    speech = r.render("two", VoiceSettings())
    assert r.restarts == 1
    assert speech.duration_s == pytest.approx(1.0, abs=0.01)
    release.set()
    r.close()


def test_close_stops_the_engine_thread_and_deletes_its_temp_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    r = Pyttsx3Renderer(timeout_s=2.0)
    monkeypatch.setattr(r, "_new_engine", _WorkingEngine)
    r.render("one", VoiceSettings())
    thread = r._thread
    workdir = Path(r._tmpdir.name)
    assert thread is not None and workdir.is_dir()
    r.close()
    assert not thread.is_alive()
    assert not workdir.exists()


def test_an_abandoned_hung_engine_exits_if_it_ever_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    r = Pyttsx3Renderer(timeout_s=0.2)
    engine_threads: list[threading.Thread] = []

    def new_engine() -> _HangingEngine:
        engine_threads.append(threading.current_thread())
        return _HangingEngine(release)

    monkeypatch.setattr(r, "_new_engine", new_engine)
    with pytest.raises(TtsError, match="hung"):
        r.render("one", VoiceSettings())
    [stuck] = engine_threads
    release.set()  # runAndWait comes back (too late); the thread must not linger on its queue
    stuck.join(timeout=2.0)
    assert not stuck.is_alive()
    r.close()


def test_an_unknown_voice_keeps_the_default_instead_of_silencing_the_coach(
    renderer: Pyttsx3Renderer,
) -> None:
    speech = renderer.render("Breathe out.", VoiceSettings(voice="no-such-voice-xyz"))
    assert speech.duration_s > 0.3
    assert _rms(speech.samples) > 300
