"""Speech output: real pyttsx3/espeak-ng rendering, the speaker's timing events, its fallbacks."""

from __future__ import annotations

import threading
import typing
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from voicecoach.clock import FakeClock
from voicecoach.messages import Cue, SpeechAdjust, SpeechFinished, SpeechStarted
from voicecoach.speaking.echo_reference import EchoReference
from voicecoach.speaking.output import GIL_FREE_OUTPUT_LATENCY_S
from voicecoach.speaking.render import Pyttsx3Renderer, RenderedSpeech, TtsError, VoiceSettings
from voicecoach.speaking.speaker import DUCK_GAIN, Speaker

SENTENCE = "Lie on your back with your knees bent and your feet flat on the floor."


@pytest.fixture(scope="module")
def renderer() -> Pyttsx3Renderer:
    r = Pyttsx3Renderer()
    yield r
    r.close()


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
    from pathlib import Path

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


class _FakeOutput:
    """Plays nothing; the test decides when a sentence ends."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.played: list[np.ndarray] = []
        self.on_done: Callable[[float, bool], None] | None = None
        self.cuts = 0

    def play(
        self, samples: np.ndarray, _rate: int, on_done: Callable[[float, bool], None]
    ) -> float:
        self.played.append(samples)
        self.on_done = on_done
        return self.clock.now() + 0.01

    def finish(self) -> None:
        done, self.on_done = self.on_done, None
        assert done is not None
        done(self.clock.now(), False)

    def cut(self) -> None:
        self.cuts += 1
        done, self.on_done = self.on_done, None
        if done is not None:
            done(self.clock.now(), True)

    def close(self) -> None:
        pass


class _ToneRenderer:
    def render(self, text: str, settings: VoiceSettings) -> RenderedSpeech:
        n = 160 * len(text)
        return RenderedSpeech(text, (np.ones(n) * 1000).astype(np.int16), 16_000)


class _BrokenRenderer:
    def render(self, text: str, settings: VoiceSettings) -> RenderedSpeech:
        raise RuntimeError("espeak exploded")


def test_speaker_plays_in_order_and_reports_exact_times() -> None:
    clock = FakeClock(100.0)
    out = _FakeOutput(clock)
    events: list[object] = []
    speaker = Speaker(_ToneRenderer(), out, events.append, clock)
    a, b = Cue("first"), Cue("second")
    speaker.say("first sentence", a)
    speaker.say("second sentence is longer", b)
    assert events == [SpeechStarted(now=100.01, cue=a)]
    assert speaker.speaking
    clock.advance(2.0)
    out.finish()
    assert events[1:] == [SpeechFinished(now=102.0, cue=a), SpeechStarted(now=102.01, cue=b)]
    assert speaker.reference.speaking_at(101.0)
    assert not speaker.reference.speaking_at(99.0)
    clock.advance(0.2)
    assert speaker.interrupt()
    assert events[-1] == SpeechFinished(now=102.2, cue=b, interrupted=True)
    assert not speaker.speaking
    # The echo reference holds what was played, cut where it was cut.
    ref = speaker.reference.window(102.01, 102.5)
    assert np.all(ref[: int(0.19 * 16_000)] == 1000)
    assert np.all(ref[int(0.2 * 16_000) :] == 0)


def test_engine_that_raises_prints_the_text_and_the_session_goes_on() -> None:
    clock = FakeClock(5.0)
    shown: list[str] = []
    events: list[object] = []
    cue = Cue("welcome")
    speaker = Speaker(
        _BrokenRenderer(), _FakeOutput(clock), events.append, clock, show_text=shown.append
    )
    speaker.say("Welcome to your session.", cue)
    assert shown == ["Welcome to your session."]
    assert events == [SpeechStarted(now=5.0, cue=cue), SpeechFinished(now=5.0, cue=cue)]
    assert speaker.failures == 1
    assert not speaker.speaking


def test_a_speech_engine_that_keeps_failing_is_given_up_on_not_waited_for_every_sentence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hung engine costs its timeout (10 s) per sentence; the session must not stall on each."""

    class Hanging:
        calls = 0

        def render(self, text: str, settings: VoiceSettings) -> RenderedSpeech:
            Hanging.calls += 1
            raise TtsError("the speech engine hung")

    clock = FakeClock()
    shown: list[str] = []
    speaker = Speaker(Hanging(), _FakeOutput(clock), lambda _e: None, clock, show_text=shown.append)
    with caplog.at_level("INFO", logger="voicecoach.speaking.speaker"):
        for i in range(6):
            speaker.say(f"Sentence {i}.")
    assert shown == [f"Sentence {i}." for i in range(6)]
    assert Hanging.calls == 3
    assert not speaker.voiced
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # the first failure, and giving up; not one per sentence


def test_real_engine_failure_inside_pyttsx3_falls_back_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    r = Pyttsx3Renderer(timeout_s=2.0)

    def broken_engine() -> object:
        raise OSError("libespeak-ng.so.1: cannot open shared object file")

    monkeypatch.setattr(r, "_new_engine", broken_engine)
    clock = FakeClock()
    events: list[object] = []
    speaker = Speaker(r, _FakeOutput(clock), events.append, clock)
    speaker.say("Breathe out slowly.")
    assert "Breathe out slowly." in capsys.readouterr().out
    assert [type(e) for e in events] == [SpeechStarted, SpeechFinished]
    r.close()


def test_echo_reference_tail() -> None:
    ref = EchoReference()
    ref.started(10.0, np.ones(16_000, dtype=np.int16), 16_000)
    ref.finished(11.0)
    assert ref.speaking_at(11.2, tail_s=0.3)
    assert not ref.speaking_at(11.4, tail_s=0.3)


def test_the_echo_reference_follows_the_outputs_gain() -> None:
    """Ducked from 10.5 s and back at 10.75 s: the reference is scaled alike, or the canceller
    would take out four times the echo there is."""
    ref = EchoReference()
    ref.started(10.0, np.full(16_000, 1000, dtype=np.int16), 16_000)
    ref.gain_from(10.5, DUCK_GAIN)
    ref.gain_from(10.75, 1.0)
    window = ref.window(10.25, 11.0)
    quarter = 16_000 // 4
    assert np.all(window[:quarter] == 1000)
    assert np.all(window[quarter : 2 * quarter] == 1000 * DUCK_GAIN)
    assert np.all(window[2 * quarter :] == 1000)
    assert ref.window(10.55, 10.6)[0] == 1000 * DUCK_GAIN  # a change before the window counts
    assert ref.gain_at(10.6) == DUCK_GAIN and ref.gain_at(10.0) == 1.0


class _DuckingOutput(_FakeOutput):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.gains: list[float] = []

    def set_gain(self, gain: float, applied: Callable[[float, float], None] | None) -> None:
        self.gains.append(gain)
        if applied is not None:
            applied(self.clock.now() + 0.15, gain)


def test_the_speaker_ducks_and_comes_back_when_cut_or_silent() -> None:
    clock = FakeClock(100.0)
    out = _DuckingOutput(clock)
    speaker = Speaker(_ToneRenderer(), out, lambda _e: None, clock)
    speaker.say("a first sentence. And a second one.")
    speaker.duck(True)
    speaker.duck(True)  # told twice: one change
    assert out.gains == [DUCK_GAIN] and speaker.ducked
    assert speaker.reference.gain_at(100.15) == DUCK_GAIN
    speaker.duck(False)
    assert out.gains == [DUCK_GAIN, 1.0]
    speaker.duck(True)
    speaker.interrupt()  # cut short: what it says next is at full voice
    assert out.gains == [DUCK_GAIN, 1.0, DUCK_GAIN, 1.0] and not speaker.ducked
    speaker.say("one more sentence")
    speaker.duck(True)
    out.finish()  # the coach fell silent with the person still talking
    assert out.gains[-1] == 1.0 and not speaker.ducked
    # An output that cannot change its gain is left alone.
    plain = Speaker(_ToneRenderer(), _FakeOutput(clock), lambda _e: None, clock)
    plain.duck(True)
    assert not plain.ducked


def test_a_cue_is_played_sentence_by_sentence_with_one_start_and_one_finish() -> None:
    clock = FakeClock(0.0)
    out = _FakeOutput(clock)
    events: list[object] = []
    speaker = Speaker(_ToneRenderer(), out, events.append, clock)
    cue = Cue("setup")
    speaker.say("Lie on your back. Bend your knees! Then do nothing.", cue)
    assert len(out.played) == 1  # only the first sentence had to be rendered to start
    assert events == [SpeechStarted(now=0.01, cue=cue)]
    clock.advance(1.0)
    out.finish()
    clock.advance(1.0)
    out.finish()
    assert len(out.played) == 3
    assert events == [SpeechStarted(now=0.01, cue=cue)]
    clock.advance(1.0)
    out.finish()
    assert events == [SpeechStarted(now=0.01, cue=cue), SpeechFinished(now=3.0, cue=cue)]
    # Cut inside the first sentence: one Finished, marked interrupted; the rest is never played.
    events.clear()
    speaker.say("One. Two. Three.", cue)
    clock.advance(0.1)
    speaker.interrupt()
    assert events == [SpeechStarted(now=3.01, cue=cue), SpeechFinished(3.1, cue, True)]
    assert len(out.played) == 4
    assert not speaker.speaking


def test_long_instructions_start_as_fast_as_short_ones(renderer: Pyttsx3Renderer) -> None:
    from voicecoach.clock import MonotonicClock

    long_text = " ".join([SENTENCE] * 12)
    latencies = {}
    for label, text in (("short", "Breathe."), ("long", long_text)):
        clock = MonotonicClock()
        speaker = Speaker(renderer, _FakeOutput(clock), lambda _e: None, clock)  # type: ignore[arg-type]
        speaker.say(text)
        latencies[label] = speaker.last_cue_latency_ms
    assert latencies["long"] is not None and latencies["long"] < 150
    assert latencies["long"] < 5 * max(latencies["short"] or 0, 10)


def test_an_unknown_voice_keeps_the_default_instead_of_silencing_the_coach(
    renderer: Pyttsx3Renderer,
) -> None:
    speech = renderer.render("Breathe out.", VoiceSettings(voice="no-such-voice-xyz"))
    assert speech.duration_s > 0.3
    assert _rms(speech.samples) > 300


def test_an_output_device_that_never_starts_playing_fails_the_sentence_not_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stalled device (a suspended sound server, a headset gone): its stream opens but never
    asks for audio. The sentence is shown instead and the session hears it finish."""
    import sys
    import types

    from voicecoach.speaking.output import SoundDeviceOutput

    closed: list[str] = []

    class StalledStream:
        def __init__(self, **_kw: object) -> None:
            pass

        def start(self) -> None:
            pass  # never calls the callback

        def abort(self) -> None:
            closed.append("abort")

        def close(self) -> None:
            closed.append("close")

    fake_sd = types.SimpleNamespace(
        OutputStream=StalledStream, CallbackAbort=Exception, CallbackStop=Exception
    )
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sd)
    clock = FakeClock(1.0)
    events: list[object] = []
    shown: list[str] = []
    speaker = Speaker(
        _ToneRenderer(),
        SoundDeviceOutput(clock, start_timeout_s=0.05),
        events.append,
        clock,
        show_text=shown.append,
    )
    cue = Cue("hold_start")
    speaker.say("Begin now.", cue)
    assert shown == ["Begin now."]
    assert events == [SpeechStarted(now=1.0, cue=cue), SpeechFinished(now=1.0, cue=cue)]
    assert not speaker.speaking
    assert closed == ["abort", "close"]


def test_a_stream_that_stalls_mid_sentence_is_closed_and_the_cue_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The device goes away mid-sentence: the stream asked for one buffer, then nothing, and
    never finishes. Without a watchdog the coach would stay silent for the rest of the session."""
    import sys
    import time
    import types

    from voicecoach.speaking.output import SoundDeviceOutput

    closed: list[str] = []

    class StallingStream:
        def __init__(self, *, callback, **_kw: object) -> None:
            self._callback = callback

        def start(self) -> None:
            t = types.SimpleNamespace(outputBufferDacTime=0.0, currentTime=0.0)
            self._callback(np.zeros((320, 1), np.int16), 320, t, None)  # then never again

        def abort(self) -> None:
            closed.append("abort")

        def close(self) -> None:
            closed.append("close")

    fake_sd = types.SimpleNamespace(
        OutputStream=StallingStream, CallbackAbort=Exception, CallbackStop=Exception
    )
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sd)
    clock = FakeClock(1.0)
    events: list[object] = []
    speaker = Speaker(
        _ToneRenderer(),  # 10 ms of tone per character
        SoundDeviceOutput(clock, stall_margin_s=0.05),
        events.append,
        clock,
    )
    cue = Cue("hold_start")
    speaker.say("Begin. Now.", cue)
    deadline = time.monotonic() + 5.0
    while speaker.speaking and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not speaker.speaking
    assert events == [SpeechStarted(now=1.0, cue=cue), SpeechFinished(now=1.0, cue=cue)]
    assert closed == ["abort", "close"] * 2  # both sentences' streams


class _ThreadedStream:
    """An OutputStream as PortAudio's ALSA host runs one: a thread of its own calls the callback
    block by block, and the finished callback on that same thread once the callback stops.
    Its stop() joins that thread, as Pa_StopStream does; abort() and a close() of a stream that
    was never stopped are what cancel the thread in PortAudio, so they are recorded as such."""

    made: typing.ClassVar[list[_ThreadedStream]] = []

    def __init__(self, *, callback, finished_callback, samplerate, **_kw: object) -> None:
        self._callback = callback
        self._finished = finished_callback
        self._block = round(samplerate * 0.02)
        self.calls: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stopped = threading.Event()
        _ThreadedStream.made.append(self)

    def _run(self) -> None:
        import time
        import types

        t = types.SimpleNamespace(outputBufferDacTime=0.0, currentTime=0.0)
        while not self._stopped.is_set():
            try:
                self._callback(np.zeros((self._block, 1), np.int16), self._block, t, None)
            except Exception:  # CallbackStop or CallbackAbort
                break
            time.sleep(0.02)
        self._finished()

    def start(self) -> None:
        self.calls.append("start")
        self._thread.start()

    def stop(self) -> None:
        self.calls.append("stop")
        self._stopped.set()
        self._thread.join()

    def abort(self) -> None:
        self.calls.append("abort (cancels its thread)")

    def close(self) -> None:
        stopped = "stop" in self.calls or any(c.startswith("abort") for c in self.calls)
        self.calls.append("close" if stopped else "close before stop (cancels its thread)")


@pytest.fixture
def threaded_sd(monkeypatch: pytest.MonkeyPatch) -> type[_ThreadedStream]:
    import sys
    import types

    class Stop(Exception):
        pass

    class Abort(Exception):
        pass

    _ThreadedStream.made = []
    fake_sd = types.SimpleNamespace(
        OutputStream=_ThreadedStream, CallbackAbort=Abort, CallbackStop=Stop
    )
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sd)
    return _ThreadedStream


def test_a_sentence_that_ends_has_its_stream_stopped_then_closed_never_cancelled(
    threaded_sd: type[_ThreadedStream],
) -> None:
    """PortAudio's ALSA host cancels (pthread_cancel) a stream's thread when the stream is
    closed before being stopped, and that thread may still be running Python (the finished
    callback): a sentence's stream is stopped (joined) first, whether it ended or was cut."""
    from voicecoach.clock import MonotonicClock
    from voicecoach.speaking.output import SoundDeviceOutput

    out = SoundDeviceOutput(MonotonicClock())
    for cut in (False, True):
        ended: list[bool] = []
        done = threading.Event()
        out.play(
            np.ones(1600 if not cut else 160_000, np.int16),
            16_000,
            lambda _end, was_cut, e=ended, d=done: (e.append(was_cut), d.set()),
        )
        if cut:
            out.cut()
        assert done.wait(10.0)
        assert ended == [cut]
    assert [s.calls for s in threaded_sd.made] == [["start", "stop", "close"]] * 2


def test_a_gain_asked_for_as_a_sentence_is_cut_is_reported_from_the_next_ones_start(
    threaded_sd: type[_ThreadedStream],
) -> None:
    """A barge-in: the coach is lowered, cut, and set back to full before its stream plays
    again. The change back must still reach the echo reference (from the next sentence's first
    sample), or the reference would stay at a quarter of what plays and the echo leak through."""
    from voicecoach.clock import MonotonicClock
    from voicecoach.speaking.output import SoundDeviceOutput

    out = SoundDeviceOutput(MonotonicClock())
    applied: list[float] = []
    lowered = threading.Event()
    ended = threading.Event()
    out.play(np.ones(160_000, np.int16), 16_000, lambda _end, _cut: ended.set())
    out.set_gain(DUCK_GAIN, lambda _at, gain: (applied.append(gain), lowered.set()))
    assert lowered.wait(5.0)
    out.cut()
    assert ended.wait(5.0)
    out.set_gain(1.0, lambda _at, gain: applied.append(gain))
    assert applied == [DUCK_GAIN]  # nothing plays: nothing changed yet
    done = threading.Event()
    out.play(np.ones(1600, np.int16), 16_000, lambda _end, _cut: done.set())
    assert done.wait(5.0)
    assert applied == [DUCK_GAIN, 1.0]


def test_closing_the_output_waits_until_the_cut_sentence_is_closed_and_reported(
    threaded_sd: type[_ThreadedStream],
) -> None:
    """The coach ends (SIGTERM mid-sentence): once the output is closed no stream of it may still
    be closing on another thread, or the interpreter's exit (sounddevice's atexit Pa_Terminate,
    which closes what is open) races that close: the process hung, or died of SIGABRT."""
    from voicecoach.clock import MonotonicClock
    from voicecoach.speaking.output import SoundDeviceOutput

    out = SoundDeviceOutput(MonotonicClock())
    ended: list[bool] = []
    out.play(np.ones(160_000, np.int16), 16_000, lambda _end, cut: ended.append(cut))
    out.close()
    assert ended == [True]  # reported before close() returned, as cut
    assert threaded_sd.made[0].calls == ["start", "stop", "close"]
    with pytest.raises(TtsError, match="closed"):
        out.play(np.ones(1600, np.int16), 16_000, lambda _end, _cut: None)
    assert len(threaded_sd.made) == 1  # no stream was opened after close


def _run_in_the_room(room, script: Path, source: str):  # -> subprocess.CompletedProcess[str]
    """`source` run as a script of its own, its sound in the room."""
    import subprocess
    import sys

    script.write_text(source)
    return subprocess.run(
        [sys.executable, str(script)], env=room.env(), capture_output=True, text=True, timeout=60
    )


_PLAY_CUT_CLOSE = """
import sys, time
import numpy as np
from voicecoach.clock import MonotonicClock
from voicecoach.speaking.output import SoundDeviceOutput

tone = (3000 * np.sin(np.arange(16_000) * 2 * np.pi * 440 / 16_000)).astype(np.int16)
for wait_s in (0.0, 0.05, 0.2):
    out = SoundDeviceOutput(MonotonicClock())
    ended = []
    out.play(tone, 16_000, lambda _end, cut: ended.append(cut))
    time.sleep(wait_s)
    out.close()
    print(ended)
# and the interpreter exits at once, tearing PortAudio down (sounddevice's atexit)
"""


@pytest.mark.room
def test_a_sentence_cut_by_closing_the_real_output_ends_before_the_process_exits(
    room, tmp_path
) -> None:
    """Through PortAudio into the room: a sentence cut by close() has been reported when close()
    returns, and the process exits at once after it, cleanly (this exit hung, or aborted, when a
    stream of ours was still closing as PortAudio was torn down)."""
    done = _run_in_the_room(room, tmp_path / "play_cut_close.py", _PLAY_CUT_CLOSE)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["[True]"] * 3


_PLAY_AND_DUCK = """
import sys, threading, time
import numpy as np
from voicecoach.clock import MonotonicClock
from voicecoach.speaking.output import GIL_FREE_OUTPUT_LATENCY_S, SoundDeviceOutput

clock = MonotonicClock()
tone = (6000 * np.sin(np.arange(3 * 16_000) * 2 * np.pi * 440 / 16_000)).astype(np.int16)
out = SoundDeviceOutput(clock, latency_s=GIL_FREE_OUTPUT_LATENCY_S)
done = threading.Event()
applied = []
start = out.play(tone, 16_000, lambda _end, _cut: done.set())
time.sleep(max(0.0, start + 1.0 - clock.now()))
asked = clock.now()
out.set_gain(0.25, lambda at, gain: applied.append((at, gain)))
done.wait(10)
out.close()
print(asked - start, applied[0][0] - start, applied[0][1])
"""


@pytest.mark.room
def test_the_coach_ducks_in_the_room_when_and_as_much_as_it_says(room, tmp_path) -> None:
    """Through PortAudio into the room: a lower gain asked for mid-sentence is heard in the
    room at the moment the output reports (the echo reference scales from that moment), one
    short buffer after it was asked for, and by as much as asked."""
    from room import read_wav

    recording = tmp_path / "room.wav"
    with room.recording(recording):
        done = _run_in_the_room(room, tmp_path / "play_and_duck.py", _PLAY_AND_DUCK)
    assert done.returncode == 0, done.stderr[-2000:]
    asked, applied, gain = map(float, done.stdout.split())
    assert gain == 0.25
    assert asked < applied <= asked + GIL_FREE_OUTPUT_LATENCY_S + 0.1
    x = read_wav(recording).astype(np.float64)
    level = np.sqrt(np.convolve(x * x, np.ones(160) / 160, "valid"))[::160]  # 10 ms steps
    onset = int(np.argmax(level > 1000))
    loud = float(np.median(level[onset + 20 : onset + 80]))
    step = onset + 50 + int(np.argmax(level[onset + 50 :] < loud * 0.5))
    assert abs((step - onset) / 100 - applied) <= 0.04, (step - onset) / 100
    assert float(np.median(level[step + 5 : step + 50])) / loud == pytest.approx(0.25, abs=0.03)
