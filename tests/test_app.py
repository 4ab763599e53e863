"""The live session's wiring with fake devices: microphone, listener, session, speaker and
history together, the display, and the --routine flag; no microphone is one clear line. The
loop itself: tests/test_loop.py."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from voicecoach import cli
from voicecoach.errors import VoicecoachError
from voicecoach.messages import (
    Intent,
    IntentHeard,
)


def test_no_input_device_is_one_clear_line_suggesting_the_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import voicecoach.hearing.audio as audio

    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path))
    monkeypatch.setattr(audio, "list_devices", lambda: [])
    with pytest.raises(VoicecoachError, match="voicecoach demo"):
        audio.open_microphone(None)
    assert cli.main(["start"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicecoach: no microphone found")
    assert "voicecoach demo" in err
    assert err.count("\n") == 1


def _status(**kw) -> object:
    from voicecoach.display import Status

    base = dict(
        routine="release",
        exercise="Constructive rest",
        side=None,
        state="hold",
        remaining_s=512.0,
        total_s=900.0,
        step=0,
        steps=7,
        allowed=("time_left", "extend", "pause", "stop"),
    )
    base.update(kw)
    return Status(**base)


def test_plain_display_when_not_a_terminal() -> None:
    import io

    from voicecoach.display import PlainDisplay, make_display
    from voicecoach.hearing.endpoint import SpeechSegment
    from voicecoach.hearing.gate import GateDecision
    from voicecoach.hearing.listener import Heard
    from voicecoach.messages import Utterance

    out = io.StringIO()
    display = make_display(out)
    assert isinstance(display, PlainDisplay)
    display.coach("Begin now, for ten minutes.")
    display.heard(
        Heard(
            SpeechSegment(1.0, 1.5),
            Utterance("repeat that", Intent("repeat"), 0.91),
            GateDecision(False, "'repeat' while the coach speaks (not a barge-in)"),
        )
    )
    display.acted(IntentHeard(Intent("pause"), now=2.0), "hold", "paused")
    display.status(_status(state="paused"))
    display.status(_status(state="paused", remaining_s=500.0))  # only the countdown moved
    lines = out.getvalue().splitlines()
    assert lines[0] == "coach: Begin now, for ten minutes."
    assert "not a barge-in" in lines[1]
    assert lines[2] == "did: pause (hold -> paused)"
    assert lines[3] == "[release | Constructive rest | paused | 08:32 left of 15:00]"
    assert len(lines) == 4


def test_rich_display_shows_the_countdown_and_what_can_be_said() -> None:
    import io

    from rich.console import Console

    from voicecoach.display import RichDisplay

    buffer = io.StringIO()
    display = RichDisplay(Console(file=buffer, force_terminal=True, width=100))
    display.status(_status())
    display.coach("Halfway.")
    display.acted(IntentHeard(Intent("time_left"), now=3.0), "hold", "hold")
    display.close()
    shown = buffer.getvalue()
    assert "Constructive rest" in shown
    assert "08:32 left of 15:00" in shown
    assert '"how long left"' in shown and '"pause"' in shown
    assert "time_left" in shown


@pytest.mark.parametrize("speech", ["works", "engine raises"])
def test_run_live_wires_microphone_listener_session_speaker_and_history(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    speech: str,
) -> None:
    """`voicecoach start --routine hip` end to end on the real clock, with only the devices and
    the decoder replaced: a microphone that says two commands, a decoder stand-in that hears
    "stop" in any stretch of speech, an output with no sound card. With a speech engine that
    raises, the session goes on the same, its words shown (once) instead of spoken."""
    import io
    import threading

    import numpy as np

    import voicecoach.app as app
    import voicecoach.hearing.asr as asr
    import voicecoach.hearing.audio as audio
    import voicecoach.speaking.output as playback
    import voicecoach.speaking.render as rendering
    from voicecoach.display import PlainDisplay
    from voicecoach.history import HistoryStore
    from voicecoach.messages import Utterance

    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))

    class Mic:
        def __init__(self) -> None:
            self.closed = threading.Event()

        def frames(self, timeout: float = 0.5):
            rng = np.random.default_rng(0)
            t = np.arange(320) / 16_000
            started = time.monotonic()
            for k in range(10_000):
                if self.closed.is_set():
                    return
                due = started + (k + 1) * 0.02
                time.sleep(max(0.0, due - time.monotonic()))
                s = k * 0.02
                loud = 0.6 <= s < 1.0 or 1.6 <= s < 2.0  # "stop", then "stop" again
                frame = rng.normal(0, 30, 320)
                if loud:
                    frame += 20_000 * np.sin(2 * np.pi * 180 * (t + s))
                yield frame.astype(np.int16), time.monotonic()

        def close(self) -> None:
            self.closed.set()

    class Decoder:
        name = "stand-in"

        def __init__(self, _model, _grammar) -> None:
            self.fed = 0

        def accept(self, chunk: bytes):
            self.fed += len(chunk)
            return None

        def flush(self):
            fed, self.fed = self.fed, 0
            return Utterance("stop", Intent("stop"), 0.95) if fed > 6400 else None

        def reset(self) -> None:
            self.fed = 0

    class ShortRenderer:
        def render(self, text: str, settings):
            if speech == "engine raises":
                raise rendering.TtsError("the speech engine failed to start")
            return rendering.RenderedSpeech(text, np.full(1600, 500, np.int16), 16_000)

        def close(self) -> None:
            pass

    latencies: list[float] = []

    class Output:
        def __init__(self, clock, _device=None, *, latency_s: float) -> None:
            self.clock = clock
            latencies.append(latency_s)

        def play(self, samples, rate, on_done):
            start = self.clock.now()
            threading.Timer(
                len(samples) / rate, on_done, (start + len(samples) / rate, False)
            ).start()
            return start

        def cut(self) -> None:
            pass

        def close(self) -> None:
            pass

    shown = io.StringIO()
    monkeypatch.setattr(audio, "open_microphone", lambda _spec: Mic())
    monkeypatch.setattr(audio, "check_output", lambda _spec: audio.Device(0, "out", 0, 2, 48_000))
    monkeypatch.setattr(
        asr, "choose_engine", lambda *a, **k: asr.EngineChoice("stub", tmp_path, "the test")
    )
    monkeypatch.setattr(asr, "open_engine", lambda _choice, _grammar, **_k: Decoder(None, None))
    monkeypatch.setattr(rendering, "Pyttsx3Renderer", ShortRenderer)
    monkeypatch.setattr(playback, "SoundDeviceOutput", Output)
    monkeypatch.setattr(app, "make_display", lambda: PlainDisplay(shown))

    started = time.monotonic()
    assert app.run_live(routine="hip") == 0
    assert time.monotonic() - started < 10
    # The listener thread was stopped and joined, not left decoding behind our back.
    assert not [t for t in threading.enumerate() if t.name == "listener" and t.is_alive()]
    out = capsys.readouterr().out
    assert out.startswith("Summary: Stopped after")
    display = shown.getvalue()
    assert (
        "did: stop (setup -> stopped)" in display
        or "did: stop (checkin_before -> stopped)" in display
    )
    assert "did: stop (stopped -> summary)" in display
    # The greeting is shown once, whole, whether or not it could be spoken; a failing engine
    # is told once, not with every sentence.
    assert display.count("coach: Hello.") == 1
    assert display.count("not spoken") == (1 if speech == "engine raises" else 0)
    with HistoryStore.open(tmp_path / "data" / "history.sqlite3", read_only=True) as history:
        sessions = history.sessions()
    assert [s.status for s in sessions] == ["stopped"]
    # The stand-in decoder does not say it decodes without the GIL: the long output buffer.
    assert latencies == [playback.OUTPUT_LATENCY_S]


def test_an_unknown_routine_flag_is_one_line_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path))
    assert cli.main(["start", "--routine", "yoga"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicecoach: no routine 'yoga'; known routines:")
    assert "hip" in err and err.count("\n") == 1


def test_run_live_lets_voicecoach_model_beat_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--model, then VOICECOACH_MODEL, then config.toml: the config's model is only a fallback."""
    import voicecoach.app as app
    import voicecoach.hearing.audio as audio
    from voicecoach.errors import VoicecoachError

    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.toml").write_text(f'model = "{tmp_path / "from-config"}"\n')
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_MODEL", str(tmp_path / "from-env"))

    class _Mic:
        def frames(self):  # pragma: no cover - never reached
            return iter(())

        def close(self) -> None:
            pass

    monkeypatch.setattr(audio, "open_microphone", lambda _device: _Mic())
    monkeypatch.setattr(audio, "check_output", lambda _spec: audio.Device(0, "out", 0, 2, 48_000))
    with pytest.raises(VoicecoachError, match=r"VOICECOACH_MODEL: model directory .*from-env"):
        app.run_live()


def test_a_long_hostile_routine_flag_is_echoed_cut_and_escaped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100,000-character --routine name was echoed in full."""
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path))
    assert cli.main(["start", "--routine", "\x1b[2J" + "y" * 100_000]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("voicecoach: no routine '\\x1b[2Jyyy")
    assert "... (100004 characters)'; known routines:" in line
    assert len(line) < 200 and line.isprintable()


@pytest.mark.parametrize("name", ["hips", "Hips", "somatic", "the full body routine"])
def test_the_routine_flag_takes_the_names_the_voice_does(
    name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: "start hips" worked by voice while `start --routine hips` was refused."""
    import voicecoach.hearing.audio as audio
    from voicecoach.errors import VoicecoachError

    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))

    def no_mic(_device: object) -> None:
        raise VoicecoachError("the routine was taken; no microphone here")

    monkeypatch.setattr(audio, "open_microphone", no_mic)
    assert cli.main(["start", "--routine", name]) == 1
    assert capsys.readouterr().err == "voicecoach: the routine was taken; no microphone here\n"
