"""The speaker: sentences played in order with exact start and finish events, its fallbacks when
speech fails, ducking under the person's voice. Rendering, playback and the echo reference have
their own tests beside this one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.speaking.test_render import SENTENCE
from voicecoach.clock import FakeClock
from voicecoach.messages import Cue, SpeechFinished, SpeechStarted
from voicecoach.speaking.render import Pyttsx3Renderer, RenderedSpeech, TtsError, VoiceSettings
from voicecoach.speaking.speaker import DUCK_GAIN, Speaker


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
