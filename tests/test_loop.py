"""The session's loop with a fake clock and fake adapters: one event at a time, ticks exactly at
the session's deadlines, barge-in cuts the coach, a command over the coach waits for it, session
time never runs backwards, and Ctrl-C cuts the session short (interrupted) and still summarizes
it."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import pytest

from voicecoach.app import summary_so_far
from voicecoach.clock import FakeClock, MonotonicClock
from voicecoach.dialog import Dialog
from voicecoach.loop import Loop, RealTimeWaiter, drive
from voicecoach.messages import (
    Cue,
    Intent,
    IntentHeard,
    SessionInput,
    SpeechAdjust,
    SpeechFinished,
    SpeechStarted,
    Tick,
)
from voicecoach.routines import RoutineLibrary
from voicecoach.session import Session
from voicecoach.speaking.render import VoiceSettings


class FakeSpeaker:
    """Speaks instantly: each sentence takes `seconds` of fake time, ended by the waiter."""

    def __init__(self, post, clock: FakeClock, seconds: float = 2.0) -> None:
        self.post = post
        self.clock = clock
        self.seconds = seconds
        self.said: list[tuple[float, str]] = []
        self.interrupts = 0
        self.settings = VoiceSettings()
        self.busy_until: float | None = None
        self.pending: list[Cue | None] = []

    @property
    def speaking(self) -> bool:
        return self.busy_until is not None

    def say(self, text: str, cue: Cue | None = None) -> None:
        self.said.append((self.clock.now(), text))
        self.post(SpeechStarted(now=self.clock.now(), cue=cue))
        self.pending.append(cue)
        self.busy_until = self.clock.now() + self.seconds

    def finish_due(self) -> bool:
        if self.busy_until is not None and self.clock.now() >= self.busy_until:
            for cue in self.pending:
                self.post(SpeechFinished(now=self.busy_until, cue=cue))
            self.pending = []
            self.busy_until = None
            return True
        return False

    def interrupt(self) -> bool:
        self.interrupts += 1
        was = self.speaking
        for cue in self.pending:
            self.post(SpeechFinished(now=self.clock.now(), cue=cue, interrupted=True))
        self.pending = []
        self.busy_until = None
        return was

    def adjust(self, adjust: SpeechAdjust) -> VoiceSettings:
        self.settings = self.settings.adjusted(adjust)
        return self.settings


class FakeWaiter:
    """Virtual time: queued events first; then the earlier of speech end, a scripted intent and
    the session's deadline; records every tick and the deadline it was for."""

    def __init__(self, events: queue.Queue, clock: FakeClock, speaker: FakeSpeaker) -> None:
        self.events = events
        self.clock = clock
        self.speaker = speaker
        self.script: list[tuple[float, Intent]] = []
        self.ticks: list[tuple[float, float]] = []
        self.interrupt_at: float | None = None

    def next_event(self, deadline: float | None) -> SessionInput | None:
        if not self.events.empty():
            return self.events.get_nowait()
        candidates = [t for t in (deadline, self.speaker.busy_until) if t is not None]
        if self.script:
            candidates.append(self.script[0][0])
        if self.interrupt_at is not None:
            candidates.append(self.interrupt_at)
        if not candidates:
            raise AssertionError("nothing can happen: the loop would wait forever")
        t = min(candidates)
        self.clock.set(max(self.clock.now(), t))
        if self.interrupt_at is not None and self.clock.now() >= self.interrupt_at:
            raise KeyboardInterrupt
        if self.speaker.finish_due():
            return None
        if self.script and self.script[0][0] <= self.clock.now():
            _t, intent = self.script.pop(0)
            return IntentHeard(intent=intent, now=self.clock.now())
        if deadline is not None and self.clock.now() >= deadline:
            self.ticks.append((self.clock.now(), deadline))
            return Tick(now=self.clock.now())
        return None


def make(tmp_path: Path, *, checkins: bool = False):
    clock = FakeClock(1000.0)
    events: queue.Queue = queue.Queue()
    speaker = FakeSpeaker(events.put, clock)
    waiter = FakeWaiter(events, clock, speaker)
    session = Session(RoutineLibrary.load(tmp_path / "none"), checkins=checkins, settle_s=5.0)
    handled: list[SessionInput] = []
    loop = Loop(session, Dialog(), speaker, waiter, clock)
    return clock, events, speaker, waiter, session, loop, handled


def test_loop_ticks_exactly_at_deadlines_and_runs_a_routine_to_its_summary(tmp_path: Path) -> None:
    _clock, _events, _speaker, waiter, session, loop, _ = make(tmp_path)
    waiter.script = [(1003.0, Intent("start_routine", {"routine": "hip"}))]
    loop.run()
    assert session.finished
    assert loop.summary_text and "hip" in loop.summary_text
    # Every tick came at the deadline the session asked for, never late or early.
    assert waiter.ticks
    assert all(at == deadline for at, deadline in waiter.ticks)
    # The holds lasted exactly their length on the session's clock.
    holds = [e for e in session.events if e.kind in ("hold_started", "hold_ended")]
    for start, end in zip(holds[::2], holds[1::2], strict=True):
        assert end.at - start.at == pytest.approx(30.0, abs=1e-9)
    # One event at a time: each handled input is a single value, in time order.
    times = [e.now for e in loop.handled]
    assert times == sorted(times)


def test_barge_in_cuts_the_coach_and_other_intents_do_not(tmp_path: Path) -> None:
    clock, events, speaker, _waiter, session, loop, _ = make(tmp_path)
    loop.dispatch(IntentHeard(Intent("start_routine", {"routine": "hip"}), now=clock.now()))
    assert speaker.speaking
    loop.dispatch(IntentHeard(Intent("time_left"), now=clock.now()))
    assert speaker.interrupts == 0
    loop.dispatch(IntentHeard(Intent("pause"), now=clock.now()))
    assert speaker.interrupts == 1
    assert session.state == "paused"
    # The cut is reported to the session through the same queue.
    assert any(isinstance(e, SpeechFinished) and e.interrupted for e in list(events.queue))


def test_a_command_heard_over_the_coach_is_acted_on_when_it_has_finished(tmp_path: Path) -> None:
    """Issue 19: "longer" said while the coach talked was dropped with no reply. It waits for the
    coach's last sentence to end, then the session answers it; a barge-in overtakes it."""
    clock, _events, speaker, _waiter, session, loop, _ = make(tmp_path)
    loop.dispatch(IntentHeard(Intent("start_routine", {"routine": "hip"}), now=clock.now()))
    loop.dispatch(IntentHeard(Intent("ready"), now=clock.now()))
    assert session.state == "hold" and speaker.speaking
    said = len(speaker.said)
    loop.dispatch(IntentHeard(Intent("time_left"), now=clock.now() + 0.5, after_speech=True))
    assert len(speaker.said) == said and speaker.interrupts == 0  # waits, cuts nothing
    clock.advance(3.0)
    assert speaker.finish_due()
    finished = SpeechFinished(now=clock.now(), cue=None)
    loop.dispatch(finished)
    assert len(speaker.said) == said + 1 and "left" in speaker.said[-1][1]
    assert [type(e).__name__ for e in loop.handled[-2:]] == ["SpeechFinished", "IntentHeard"]
    # Waiting again, then "ouch": the pain is acted on at once and the waiting one is dropped.
    loop.dispatch(IntentHeard(Intent("extend"), now=clock.now(), after_speech=True))
    loop.dispatch(IntentHeard(Intent("pain"), now=clock.now()))
    assert session.state == "setup"
    clock.advance(60.0)
    speaker.finish_due()
    loop.dispatch(SpeechFinished(now=clock.now(), cue=None))
    assert not any(e.kind == "extended" for e in session.events)


def test_voice_changes_are_applied_and_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicecoach.config import load_config, remember_voice

    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "cfg"))
    clock, _events, speaker, _waiter, _session, loop, _ = make(tmp_path)
    loop.on_voice_changed = lambda s: remember_voice(s.rate, s.volume)
    loop.dispatch(IntentHeard(Intent("slower"), now=clock.now()))
    loop.dispatch(IntentHeard(Intent("louder"), now=clock.now()))
    assert speaker.settings.rate < VoiceSettings().rate
    config = load_config()
    assert config.rate == speaker.settings.rate
    assert config.volume == pytest.approx(speaker.settings.volume)


def test_ctrl_c_cuts_the_session_short_without_stopping_it_and_summarizes_it(
    tmp_path: Path,
) -> None:
    """Ctrl-C (and SIGTERM, SIGHUP) is not the person saying "stop": the session is left
    unfinished, for the history to keep as interrupted and offer for resuming, and what was
    done so far is still summarized."""
    _clock, _events, speaker, waiter, session, loop, _ = make(tmp_path)
    waiter.script = [(1003.0, Intent("start_routine", {"routine": "hip"}))]
    waiter.interrupt_at = 1110.0  # inside the second hold (1102 to 1132)
    assert drive(loop) is False
    assert not session.finished
    kinds = [e.kind for e in session.events]
    assert "stopped" not in kinds and "finished" not in kinds
    assert kinds.count("hold_ended") == 1
    assert speaker.interrupts >= 1
    text = summary_so_far(session, Dialog(), RoutineLibrary.load(tmp_path / "none"))
    assert text is not None and text.startswith("Stopped after")
    assert "kneeling psoas stretch" in text.lower()


def test_real_time_waiter_ticks_on_absolute_deadlines_without_drift() -> None:
    clock = MonotonicClock()
    events: queue.Queue = queue.Queue()
    waiter = RealTimeWaiter(events, clock)
    t0 = clock.now() + 0.02
    deadlines = [t0 + 0.03 * k for k in range(20)]
    got = []
    for d in deadlines:
        while True:
            event = waiter.next_event(d)
            if isinstance(event, Tick):
                got.append(event.now)
                break
        time.sleep(0.004)  # work between ticks must not push later deadlines back
    errors = [g - d for g, d in zip(got, deadlines, strict=True)]
    assert min(errors) >= 0
    assert max(errors) < 0.02
    # No drift: the last error is not the sum of the earlier ones.
    assert errors[-1] < 0.02


def test_real_time_waiter_returns_queued_events_first() -> None:
    clock = MonotonicClock()
    events: queue.Queue = queue.Queue()
    waiter = RealTimeWaiter(events, clock)
    heard = IntentHeard(Intent("pause"), now=clock.now())
    events.put(heard)
    assert waiter.next_event(clock.now() + 10) is heard
    started = time.monotonic()
    assert waiter.next_event(None) is None  # nothing queued: returns to redraw the display
    assert time.monotonic() - started < 0.5


def test_session_time_never_runs_backwards(tmp_path: Path) -> None:
    clock, _events, _speaker, _waiter, session, loop, _ = make(tmp_path)
    loop.dispatch(IntentHeard(Intent("start_routine", {"routine": "hip"}), now=clock.now()))
    clock.advance(5.0)
    loop.dispatch(Tick(now=clock.now()))
    # Said just before that tick, detected just after it.
    loop.dispatch(IntentHeard(Intent("pause"), now=clock.now() - 0.15))
    assert loop.handled[-1].now == clock.now()
    assert session.events[-1].kind == "paused"
    assert session.events[-1].at == clock.now()


def test_a_tick_due_inside_the_output_latency_does_not_run_session_time_backwards(
    tmp_path: Path,
) -> None:
    """SoundDeviceOutput stamps a sentence's start with its DAC time, ahead of the clock."""
    clock, _events, _speaker, _waiter, _session, loop, _ = make(tmp_path)
    loop.dispatch(IntentHeard(Intent("start_routine", {"routine": "hip"}), now=clock.now()))
    clock.advance(1.0)
    loop.dispatch(SpeechStarted(now=clock.now() + 0.05))  # first sample 50 ms from now
    loop.dispatch(Tick(now=clock.now() + 0.01))  # a deadline 10 ms from now
    times = [e.now for e in loop.handled]
    assert times == sorted(times)
