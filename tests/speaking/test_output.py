"""Playback through sounddevice (a stand-in stream, and the room): a device that never starts or
stalls, a stream stopped then closed and never cancelled, a gain change reported where it is
heard, and close() waiting for the cut sentence."""

from __future__ import annotations

import threading
import typing
from pathlib import Path

import numpy as np
import pytest

from tests.speaking.test_speaker import _ToneRenderer
from voicecoach.clock import FakeClock
from voicecoach.messages import Cue, SpeechFinished, SpeechStarted
from voicecoach.speaking.output import GIL_FREE_OUTPUT_LATENCY_S
from voicecoach.speaking.render import TtsError
from voicecoach.speaking.speaker import DUCK_GAIN, Speaker


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
