"""`voicecoach demo`: a whole session through the real code path, on a machine with no microphone
or speakers.

The real Session, Dialog, grammar, history store, Speaker and pyttsx3 renderer run unchanged; two
edges are replaced. The speaker plays into a virtual timeline instead of a sound card, and the
clock is virtual: when nothing is queued it jumps to the next deadline, the end of the sentence
being played or the person's next scripted line (paced at `speed` session seconds per real
second, so a 10-minute hold passes in seconds). The person's lines are synthesized with espeak-ng
at scripted moments; with a Vosk model they are mixed with the coach's voice and heard by the real
listener, without one they are matched as text by the real grammar (and the transcript says so).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import heapq
import itertools
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from voicecoach.app import Loop, _Ending, exercise_names, what_was_saved
from voicecoach.audio import FRAME_S, SAMPLE_RATE
from voicecoach.clock import FakeClock
from voicecoach.errors import VoicecoachError
from voicecoach.listener import (
    EndpointDetector,
    GatePolicy,
    Heard,
    Listener,
    SpeechSegment,
    coach_active,
    gate,
)
from voicecoach.messages import (
    Cue,
    IntentHeard,
    SessionEvent,
    SessionInput,
    SpeechFinished,
    Tick,
    Utterance,
)
from voicecoach.paths import PACKAGE_DATA
from voicecoach.routines import read_routine_data
from voicecoach.scratch import clean_stale, scratch_dir
from voicecoach.shown import escape

MAX_SAMPLE_CHARS = 200
"""Longest line a scenario may say (as `recognize --sample`): espeak-ng would read a book."""

_LOGGER = logging.getLogger(__name__)

DEFAULT_SPEED = 200.0
"""Session seconds per real second: the 10-minute constructive rest passes in three seconds."""
MAX_GAP_S = 1.5
"""Silences longer than this are shortened in session.wav (the session itself is 20+ minutes)."""
ECHO_GAIN = 0.3
"""How loud the coach's voice reaches the (virtual) microphone, relative to the person (who is
nearer to it)."""
PERSON_VOICE = ("en-us", 150, 60)
"""espeak-ng voice, words per minute and pitch for the person's lines."""
TEXT_MODE_NOTE = "(text, no speech model installed)"


# --- the script --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """Something the person says: `delay` seconds after the coach finishes a cue with
    `after_cue`, after a session event `after_event` (optionally for `exercise`), or after the
    moment `at` of session time."""

    text: str
    delay: float
    after_cue: str | None = None
    after_event: str | None = None
    exercise: str | None = None
    over_coach: bool = False
    """Said even if the coach is speaking (a barge-in); other lines wait for it to finish."""
    at: float | None = None
    """Session seconds at which the line is due (once the lines before it are said)."""
    where: str = ""
    """Where the scenario file has it ("FILE: lines[3]"), for a line that is never said."""

    def waits_for(self) -> str:
        """What the line waits for, as the scenario says it."""
        if self.at is not None:
            return f"at {self.at:g} s"
        if self.after_cue is not None:
            return f"after {self.after_cue}"
        exercise = f" of {self.exercise}" if self.exercise else ""
        return f"after_event {self.after_event}{exercise}"


BUILTIN_SCENARIO = PACKAGE_DATA / "scenarios" / "demo.yaml"
_MOST_SECONDS = 86_400
"""A scenario's `at` and `wait` stay within a day of session time: no session runs longer."""

_LINE_FIELDS = ("say", "after", "after_event", "exercise", "at", "wait", "over_coach")
EVENT_KINDS = (
    "session_started", "step_started", "hold_started", "hold_ended", "skipped", "declined",
    "back", "extended", "paused", "resumed", "pain", "stopped", "resumed_after_stop", "finished",
    "rating", "pace",
)  # fmt: skip


def load_scenario(path: Path) -> tuple[Line, ...]:
    """Read a scenario file (see data/scenarios/demo.yaml); a mistake raises VoicecoachError
    naming the file, the line and what was expected."""
    from voicecoach.dialog import load_prompts

    def fail(where: str, expected: str, got: object) -> None:
        shown = " ".join(repr(got).split())[:60]
        raise VoicecoachError(f"{path}: {where}: expected {expected}, got {shown}")

    @functools.cache
    def exercise_ids() -> frozenset[str]:
        from voicecoach.routines import RoutineLibrary

        library = RoutineLibrary.load(warn=False)
        return frozenset(ex.id for rid in library.ids() for _, ex in library.exercises(rid))

    # The routine files' reader: size, encoding, nesting and duplicate keys are refused in one
    # line (a binary or deeply nested scenario was a traceback, a 60 MB one took 45 s).
    data = read_routine_data(path, "scenario")
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list) or not data["lines"]:
        fail("lines", "a mapping with a non-empty list 'lines'", data)
    prompt_keys = set(load_prompts()) - {"intent_phrases"}
    lines: list[Line] = []
    for i, raw in enumerate(data["lines"]):
        where = f"lines[{i}]"
        if not isinstance(raw, dict):
            fail(where, "a mapping with 'say' and one of after/after_event/at", raw)
        extra = sorted((str(k) for k in set(raw) - set(_LINE_FIELDS)), key=str)
        if extra:
            close = difflib.get_close_matches(extra[0], _LINE_FIELDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            fields = ", ".join(_LINE_FIELDS)
            raise VoicecoachError(
                f"{path}: {where}: expected the fields {fields}, got a field named "
                f"{extra[0]!r}{hint}"
            )
        text = raw.get("say")
        if isinstance(text, bool):
            # YAML reads a bare yes, no, on or off as true or false.
            fail(f"{where}.say", "what the person says, as text (quote yes, no, on and off)", text)
        if not isinstance(text, str) or not text.strip():
            fail(f"{where}.say", "what the person says, as text", text)
        if len(text) > MAX_SAMPLE_CHARS:  # as `recognize --sample`: a command is a few words
            fail(f"{where}.say", f"at most {MAX_SAMPLE_CHARS} characters", text)
        keyed = [k for k in ("after", "after_event", "at") if raw.get(k) is not None]
        if len(keyed) != 1:
            fail(where, "exactly one of after (a prompt key), after_event or at", keyed)
        after, event, at = raw.get("after"), raw.get("after_event"), raw.get("at")
        if after is not None and after not in prompt_keys:
            fail(f"{where}.after", "a prompt key from prompts.yaml, e.g. setup_end", after)
        if event is not None and event not in EVENT_KINDS:
            fail(f"{where}.after_event", f"one of {', '.join(EVENT_KINDS)}", event)
        for name in ("at", "wait"):
            value = raw.get(name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value <= _MOST_SECONDS  # also false for NaN, which hung the demo
            ):
                fail(f"{where}.{name}", f"a number of seconds from 0 to {_MOST_SECONDS}", value)
        over = raw.get("over_coach", False)
        if not isinstance(over, bool):
            fail(f"{where}.over_coach", "true or false", over)
        exercise = raw.get("exercise")
        if exercise is not None and event is None:
            # The field, not the id, is the mistake: only a session event names an exercise.
            keyed_by = "after" if after is not None else "at"
            raise VoicecoachError(
                f"{path}: {where}.exercise: expected exercise only with after_event (the "
                f"exercise whose event the line waits for), got it with {keyed_by}"
            )
        if exercise is not None and not isinstance(exercise, str):
            fail(f"{where}.exercise", "an exercise id, as text", exercise)
        if exercise is not None and exercise not in exercise_ids():
            # Otherwise the line waits for an exercise that never comes and is never said.
            first = min(exercise_ids())
            fail(f"{where}.exercise", f"an exercise id of a routine, e.g. {first}", exercise)
        lines.append(
            Line(
                " ".join(str(text).split()),
                float(raw.get("wait", 1.0)),
                after_cue=after,
                after_event=event,
                exercise=exercise,
                over_coach=over,
                at=None if at is None else float(at),
                where=f"{path}: {where}",
            )
        )
    return tuple(lines)


# --- virtual time --------------------------------------------------------------------------------


class Scheduler:
    """Things due at virtual times, run in time order (ties in the order they were added)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()

    def at(self, t: float, fn: Callable[[], None]) -> int:
        seq = next(self._seq)
        heapq.heappush(self._heap, (t, seq, fn))
        return seq

    def cancel(self, seq: int) -> None:
        self._cancelled.add(seq)

    def peek(self) -> float | None:
        while self._heap and self._heap[0][1] in self._cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> int:
        ran = 0
        while (t := self.peek()) is not None and t <= now:
            _, _, fn = heapq.heappop(self._heap)
            fn()
            ran += 1
        return ran


class VirtualWaiter:
    """The loop's waiter on virtual time: queued inputs first, then jump to what comes next."""

    def __init__(
        self,
        events: queue.Queue[SessionInput],
        clock: FakeClock,
        scheduler: Scheduler,
        speed: float,
    ) -> None:
        self._events = events
        self._clock = clock
        self._scheduler = scheduler
        self._speed = speed
        self.idle = False
        """Nothing queued, scheduled or due: the session cannot go on by itself."""
        self.interrupted: Callable[[], bool] = lambda: False
        """True once a signal asks the demo to end: the pacing stops waiting at once."""

    def _jump(self, t: float) -> None:
        now = self._clock.now()
        if t > now:
            if self._speed > 0:
                # In slices: a SIGTERM during a long wait ends the demo within 0.1 s.
                until = time.monotonic() + min(5.0, (t - now) / self._speed)
                while (left := until - time.monotonic()) > 0 and not self.interrupted():
                    time.sleep(min(0.1, left))
            self._clock.set(t)

    def next_event(self, deadline: float | None) -> SessionInput | None:
        try:
            return self._events.get_nowait()
        except queue.Empty:
            pass
        t_next = self._scheduler.peek()
        if t_next is not None and (deadline is None or t_next <= deadline):
            self._jump(t_next)
            self._scheduler.run_due(self._clock.now())
            return None
        if deadline is not None:
            self._jump(deadline)
            return Tick(now=self._clock.now())
        self.idle = True
        return None

    def drain(self, loop: Loop, until: Callable[[], bool]) -> None:
        """Keep time moving (speech ending, queued events) until `until()`."""
        while not until():
            event = self.next_event(None)
            if event is not None:
                loop.dispatch(event)
            elif self._scheduler.peek() is None and self._events.empty():
                return


@dataclass
class Segment:
    who: str
    start: float
    samples: np.ndarray
    end: float | None = None
    """Set when cut short."""


@dataclass
class Timeline:
    """Everything audible, placed in session time: written to session.wav at the end."""

    segments: list[Segment] = field(default_factory=list)

    def add(self, who: str, start: float, samples: np.ndarray) -> Segment:
        seg = Segment(who, start, samples)
        self.segments.append(seg)
        return seg

    def write(self, path: Path, max_gap_s: float = MAX_GAP_S) -> float:
        """Mix into a 16 kHz WAV, shortening long silences; returns its duration in seconds."""
        placed: list[tuple[int, np.ndarray]] = []
        offset = 0.0  # output time minus session time
        covered_until: float | None = None
        for seg in sorted(self.segments, key=lambda s: s.start):
            samples = seg.samples
            if seg.end is not None:
                samples = samples[: max(0, round((seg.end - seg.start) * SAMPLE_RATE))]
            if covered_until is None:
                offset = -seg.start + 0.3
            elif seg.start > covered_until:
                gap = seg.start - covered_until
                offset -= max(0.0, gap - max_gap_s)
            end = seg.start + len(samples) / SAMPLE_RATE
            covered_until = end if covered_until is None else max(covered_until, end)
            placed.append((max(0, round((seg.start + offset) * SAMPLE_RATE)), samples))
        total = max((a + len(s) for a, s in placed), default=0) + round(0.3 * SAMPLE_RATE)
        mix = np.zeros(total, dtype=np.int32)
        for a, s in placed:
            mix[a : a + len(s)] += s.astype(np.int32)
        out = np.clip(mix, -32768, 32767).astype("<i2")
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(out.tobytes())
        return total / SAMPLE_RATE


class VirtualOutput:
    """The speaker's sound card in the demo: a sentence "plays" on the timeline in session time."""

    def __init__(self, clock: FakeClock, scheduler: Scheduler, timeline: Timeline) -> None:
        self._clock = clock
        self._scheduler = scheduler
        self._timeline = timeline
        self._current: tuple[int, Segment, Callable[[float, bool], None]] | None = None

    def play(
        self, samples: np.ndarray, sample_rate: int, on_done: Callable[[float, bool], None]
    ) -> float:
        if sample_rate != SAMPLE_RATE:
            raise VoicecoachError(f"demo timeline is {SAMPLE_RATE} Hz, got {sample_rate}")
        start = self._clock.now()
        seg = self._timeline.add("coach", start, samples)
        end = start + len(samples) / sample_rate

        def finish() -> None:
            self._current = None
            on_done(end, False)

        self._current = (self._scheduler.at(end, finish), seg, on_done)
        return start

    def cut(self) -> None:
        if self._current is None:
            return
        seq, seg, on_done = self._current
        self._current = None
        self._scheduler.cancel(seq)
        seg.end = self._clock.now()
        on_done(seg.end, True)

    def close(self) -> None:
        pass


# --- the transcript ---------------------------------------------------------------------------


def stamp(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class Transcript:
    """Timestamped lines, flushed one by one (a test may watch the file and act on a line).

    A line that cannot be written (a full disk) is one VoicecoachError naming the file; the
    transcript then writes nothing more, and closing it never raises."""

    def __init__(self, path: Path, clock: FakeClock, echo: TextIO | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: TextIO | None = path.open("w", encoding="utf-8", buffering=1)
        self._clock = clock
        self._echo = echo

    def _write(self, text: str) -> None:
        if self._file is None:
            return
        # One line: what the person says, or a routine's words, may reach a terminal.
        try:
            self._file.write(escape(text) + "\n")
            self._file.flush()
        except OSError as exc:
            self.close()
            raise output_error(self.path, exc) from None

    def line(self, text: str, at: float | None = None) -> None:
        entry = f"[{stamp(self._clock.now() if at is None else at)}] {text}"
        self._write(entry)
        if self._echo is not None:
            print(escape(entry), file=self._echo, flush=True)

    def note(self, text: str, *, echo: bool = True) -> None:
        self._write(f"# {text}")
        if echo and self._echo is not None:
            print(escape(text), file=self._echo, flush=True)

    def close(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except OSError as exc:  # its last lines could not be written; said by whoever wrote
            _LOGGER.info("closing %s: %s", self.path, exc)


def output_error(path: Path, exc: OSError) -> VoicecoachError:
    """A demo output file that cannot be written, in one line (a full disk named as such)."""
    from voicecoach.history import disk_full, free_bytes

    if disk_full(path, exc):
        free = free_bytes(path)
        left = f" ({free // 1024} kB free)" if free is not None else ""
        return VoicecoachError(f"cannot write {path}: the disk is full{left}; free some space")
    return VoicecoachError(f"cannot write {path}: {exc.strerror or exc}")


# --- the person ---------------------------------------------------------------------------------


def synthesize_person(text: str, workdir: Path) -> np.ndarray:
    """The person's line as 16 kHz int16 audio, spoken by espeak-ng."""
    from voicecoach.wavio import read_wav

    binary = shutil.which("espeak-ng")
    if binary is None:
        raise VoicecoachError("espeak-ng is not installed; run scripts/setup")
    voice, wpm, pitch = PERSON_VOICE
    path = workdir / f"person-{abs(hash(text))}.wav"
    try:
        # "--": a line that starts with "-" ("--help", "-w/PATH") is words to say, never an
        # option; no stdin: espeak-ng reads text from it when it has none, and the demo's own
        # stdin is not the person's.
        subprocess.run(
            [binary, "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", str(path), "--", text],
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.decode(errors="replace").strip() if getattr(exc, "stderr", None) else ""
        raise VoicecoachError(
            f"espeak-ng could not say the person's line {text!r}: {detail or exc}"
        ) from exc
    return read_wav(path)


@dataclass
class Person:
    """Says the script's lines at their moments; its words reach the session by ear or by text."""

    script: list[Line]
    clock: FakeClock
    scheduler: Scheduler
    timeline: Timeline
    post: Callable[[SessionInput], None]
    transcript: Transcript
    workdir: Path
    reference: Any
    listener: Listener | None = None
    grammar: Any = None
    coach_speaking: Callable[[], bool] = lambda: False
    policy: GatePolicy = field(default_factory=GatePolicy)
    said: list[str] = field(default_factory=list)
    _armed: bool = False
    _voices: list[tuple[float, np.ndarray]] = field(default_factory=list)
    """The person's recent lines on the microphone: (start, samples)."""
    _mic_next: float | None = None
    """End time of the next microphone frame to feed (None: not listening yet)."""
    _rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def _arm(self, at: float) -> None:
        line = self.script[0]
        self._armed = True
        self.scheduler.at(at + line.delay, self._speak)

    def arm_timed(self) -> None:
        """A line keyed to session time is due at its moment (or now, if that has passed)."""
        if self._armed or not self.script or self.script[0].at is None:
            return
        self._arm(max(self.clock.now(), self.script[0].at))

    def cue_finished(self, cue: Cue | None, at: float, interrupted: bool) -> None:
        if self._armed or not self.script or cue is None or interrupted:
            return
        from voicecoach.dialog import Dialog

        # A scenario names prompts.yaml's keys: the cue's own, or the variant it is worded with
        # ("pain_options_again"), which the transcript does not show.
        if self.script[0].after_cue in (cue.prompt_key, Dialog.key_for(cue)):
            self._arm(at)

    def session_event(self, event: SessionEvent) -> None:
        if self._armed or not self.script:
            return
        line = self.script[0]
        if line.after_event == event.kind and line.exercise in (None, event.exercise):
            self._arm(event.at)

    def _speak(self) -> None:
        line = self.script[0]
        now = self.clock.now()
        if not line.over_coach and self.coach_speaking():
            # People wait for the coach to finish (e.g. a greeting that goes on to mention the
            # session that was interrupted last time).
            self.scheduler.at(now + 0.5, self._speak)
            return
        self.script.pop(0)
        self._armed = False
        self.arm_timed()
        audio = synthesize_person(line.text, self.workdir)
        self.timeline.add("person", now, audio)
        self.said.append(line.text)
        self.transcript.line(f'person: "{line.text}"')
        if self.listener is not None:
            self._listen(audio, now)
        else:
            self._match_text(line.text, now, len(audio) / SAMPLE_RATE)

    def _match_text(self, text: str, start: float, duration: float) -> None:
        """No model: the real grammar matches the words, and the same gating rules apply."""
        end = start + duration
        # When the listener's end-of-speech detector would be sure, after its hangover; what
        # the coach played up to then is in what the decoder would have heard.
        decided = end + EndpointDetector.hangover_s
        intent = self.grammar.match(text)
        utterance = Utterance(text, intent, 1.0 if intent else 0.0)
        policy = self.policy

        def deliver() -> None:
            # Judged once the line is over, as the listener does: a cue that began while the
            # person was still speaking (or before the detector was sure) counts.
            coach = coach_active(self.reference, SpeechSegment(start, decided), policy.echo_tail_s)
            said = self.reference.said_between(start, decided, policy.echo_tail_s) if coach else []
            decision = gate(utterance, coach_active=coach, policy=policy, coach_said=said)
            what = f"{intent.name} {dict(intent.slots)}" if intent else "no command"
            # Stamped, like the listener's lines, with when the words ended: the moment the
            # session acts on them, ahead of the detector's hangover.
            if decision.accept and intent is not None:
                if decision.after_speech:
                    what += f" ({decision.reason})"
                self.transcript.line(f'heard: "{text}" -> {what} {TEXT_MODE_NOTE}', at=end)
                self.post(
                    IntentHeard(
                        intent=intent,
                        now=end,
                        utterance=utterance,
                        after_speech=decision.after_speech,
                    )
                )
            else:
                self.transcript.line(
                    f'heard: "{text}" -> ignored ({decision.reason}) {TEXT_MODE_NOTE}', at=end
                )

        self.scheduler.at(decided, deliver)

    def _listen(self, audio: np.ndarray, start: float) -> None:
        """With a model: the person's voice mixed with the coach's, frame by frame, in time.

        The microphone is one stream: each 20 ms frame is fed once, in time order, holding every
        line that sounds in it. (Each line fed its own padded stretch before, so a line said
        within a second of the last one had its frames interleaved with the last one's quiet
        tail: the detector saw loud and quiet frames alternate and heard "ouch" 0.3 s after
        "ready" not at all, or as 0.12 s of sound.)"""
        frame = round(FRAME_S * SAMPLE_RATE)
        self._voices = [(t, a) for t, a in self._voices if t + a.size / SAMPLE_RATE > start - 5.0]
        self._voices.append((start, audio))
        lead_s, tail_s = 1.0, 1.0
        until = start + audio.size / SAMPLE_RATE + tail_s
        if self._mic_next is None or self._mic_next < start - lead_s:
            self._mic_next = start - lead_s + frame / SAMPLE_RATE  # a new stretch of listening
        while self._mic_next <= until:
            t_end = self._mic_next
            self.scheduler.at(max(self.clock.now(), t_end), lambda t=t_end: self._feed_mic(t))
            self._mic_next = t_end + frame / SAMPLE_RATE

    def _feed_mic(self, t_end: float) -> None:
        """One microphone frame ending at `t_end`: the person's lines, the coach's echo, noise."""
        assert self.listener is not None
        frame = round(FRAME_S * SAMPLE_RATE)
        t0 = t_end - frame / SAMPLE_RATE
        mic = np.zeros(frame, np.float32)
        for start, audio in self._voices:
            a = round((t0 - start) * SAMPLE_RATE)
            lo, hi = max(0, a), min(audio.size, a + frame)
            if lo < hi:
                mic[lo - a : hi - a] += audio[lo:hi]
        coach = self.reference.window(t0, t_end)
        mic += ECHO_GAIN * coach + self._rng.normal(0, 30, frame)
        self.listener.feed(np.clip(mic, -32768, 32767).astype(np.int16), t_end)


# --- the demo ----------------------------------------------------------------------------------


class _Observer:
    """Writes what the loop does to the transcript and tells the person when the coach is done."""

    def __init__(self, transcript: Transcript, person: Person) -> None:
        self._t = transcript
        self._person = person

    def on_cue(self, cue: Cue, text: str, now: float) -> None:
        self._t.line(f"coach ({cue.prompt_key}): {text}")

    def on_input(self, event: SessionInput, before: str, after: str, cues: list[Cue]) -> None:
        # At the session time the input took effect, the time its session events carry (an
        # intent's is when its words ended, a moment before the detector was sure of it).
        if isinstance(event, IntentHeard):
            self._t.line(
                f"intent fired: {event.intent.name} {dict(event.intent.slots)}", at=event.now
            )
        if isinstance(event, SpeechFinished) and event.interrupted:
            self._t.line("coach cut off mid-sentence", at=event.now)
        if before != after:
            self._t.line(f"state: {before} -> {after}", at=event.now)
        if isinstance(event, SpeechFinished):
            self._person.cue_finished(event.cue, event.now, event.interrupted)

    def session_event(self, event: SessionEvent) -> None:
        parts = [f"event: {event.kind.replace('_', ' ')} ({event.kind})"]
        parts += [f"{k}={v}" for k, v in (("exercise", event.exercise), ("side", event.side)) if v]
        parts += [f"{k}={_short(v)}" for k, v in event.data.items()]
        self._t.line(" ".join(parts), at=event.at)
        self._person.session_event(event)


def _short(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def summary_dict(summary: Any) -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    data["results"] = [dict(r) for r in data["results"]]
    return data


def set_aside_previous(history_path: Path) -> Path | None:
    """Move the demo history of an earlier run (with its -wal and -shm) to
    `<name>.previous-<time>` beside it; None when there is none. A demo still running with the
    same DIR keeps its history, and this one is refused in one line."""
    from voicecoach.history.files import _lock_held_elsewhere, lock_path

    if not history_path.exists():
        return None
    if _lock_held_elsewhere(lock_path(history_path)):
        raise VoicecoachError(
            f"another voicecoach demo is running with --out {history_path.parent}; "
            "give another directory"
        )
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = history_path.with_name(f"{history_path.name}.previous-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = history_path.with_name(f"{history_path.name}.previous-{stamp}-{n}")
    try:
        # The log first: a copy of the main file without its log would lose the last events.
        for suffix in ("-wal", "-shm"):
            sidecar = history_path.with_name(history_path.name + suffix)
            if sidecar.exists():
                os.replace(sidecar, target.with_name(target.name + suffix))
        os.replace(history_path, target)
    except OSError as exc:
        raise VoicecoachError(
            f"cannot set the last demo's history {history_path} aside: {exc.strerror or exc}"
        ) from None
    return target


def _ended_by_signal(
    ending: Any,
    session: Any,
    library: Any,
    loop: Loop,
    transcript: Transcript,
    history_path: Path,
    saved: str | None,
    echo: TextIO | None,
) -> int:
    """What `start` does when a signal ends it: what was done so far, and where it is kept."""
    from voicecoach.app import summary_so_far

    why = f"ended by {ending.signal_name}"
    transcript.line(f"the session was {why}")
    so_far = summary_so_far(session, loop.dialog, library)
    if echo is not None:
        print(f"\nSummary so far: {so_far}" if so_far else "No session was started.", file=echo)
    kept = saved or f"the demo's session is saved as interrupted in {history_path}"
    print(f"voicecoach: {why}; {kept}", file=sys.stderr)
    return int(ending.exit_code)


def _try_engine(engine: str, model: Path | None, grammar: Any) -> tuple[Any, str]:
    """(the engine that hears the person, or None; what it is, or why there is none)."""
    from voicecoach.asr import AUTO, choose_engine, open_engine

    try:
        choice = choose_engine(engine, model)
        return open_engine(choice, grammar), choice.describe()
    except VoicecoachError as exc:
        if model is not None or engine != AUTO:
            raise
        return None, str(exc)


def run_demo(
    out_dir: Path = Path("out/demo"),
    model: Path | None = None,
    *,
    engine: str = "auto",
    speed: float = DEFAULT_SPEED,
    echo: TextIO | None = sys.stdout,
    script: tuple[Line, ...] | None = None,
) -> int:
    """Run the scripted session; write session.wav, transcript.txt and the demo's own
    history.sqlite3 into `out_dir`; print the summary."""
    from voicecoach.dialog import Dialog
    from voicecoach.grammar import load_grammar
    from voicecoach.history import HistoryStore
    from voicecoach.routines import RoutineLibrary
    from voicecoach.session import Session
    from voicecoach.tts import Pyttsx3Renderer, Speaker

    started = time.monotonic()
    clean_stale()  # what killed runs left in the temporary directory
    if script is None:
        script = load_scenario(BUILTIN_SCENARIO)
    clock = FakeClock(0.0)
    scheduler = Scheduler()
    timeline = Timeline()
    events: queue.Queue[SessionInput] = queue.Queue()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        transcript = Transcript(out_dir / "transcript.txt", clock, echo)
    except OSError as exc:
        raise VoicecoachError(
            f"cannot write the demo's output to {out_dir}: {exc.strerror}; pass --out DIR"
        ) from exc
    renderer: Pyttsx3Renderer | None = None
    try:
        library = RoutineLibrary.load()
        grammar = load_grammar(routine_names=library.spoken_names())
        recognizer, engine_line = _try_engine(engine, model, grammar)

        renderer = Pyttsx3Renderer()
        speaker = Speaker(
            renderer,
            VirtualOutput(clock, scheduler, timeline),
            events.put,
            clock,
            show_text=lambda text: transcript.line(
                f"coach (printed, speech engine failed): {text}"
            ),
        )
        listener: Listener | None = None
        transcript.note(
            "voicecoach demo: session time [mm:ss.mmm] on a virtual clock; "
            "who said what, the intents fired, state changes and session events. A command's lines "
            "carry when its words ended, the session time it takes effect; the coach answers once "
            "the end of speech is detected, a moment later"
        )
        if recognizer is not None:

            def heard(h: Heard) -> None:
                u = h.utterance
                text = f'"{u.text}" ({u.confidence:.2f})' if u else "(nothing recognized)"
                decision = h.decision
                verdict = (
                    "accepted" if decision.accept and not decision.after_speech else decision.reason
                )
                by = u.engine if u and u.engine else recognizer.name
                transcript.line(f"heard by {by}: {text} -> {verdict}", at=h.segment.end)

            listener = Listener(
                recognizer,
                events.put,
                reference=speaker.reference,
                on_heard=heard,
                complete=lambda text: grammar.match(text) is not None,
            )
            # The listener only hears the stretches around the person's lines; in a live session it
            # learns the room's echo level during the coach's first sentence. Give it that level.
            listener.detector.prime_echo_gain(ECHO_GAIN)
            transcript.note(f"{engine_line}; the person is heard by the real listener")
        else:
            transcript.note(
                "No speech engine could be loaded: the person's lines are matched as text by the "
                f"real grammar instead of being heard, and marked {TEXT_MODE_NOTE}."
            )
            transcript.note(f"why: {engine_line}", echo=False)

        # The demo's sessions are not the person's: they go to a history of their own in DIR,
        # a fresh one each run, so a demo killed last time neither offers itself for resuming
        # nor changes today's counts. The last run's is kept beside it.
        history_path = out_dir / "history.sqlite3"
        kept = set_aside_previous(history_path)
        if kept is not None:
            transcript.note(
                f"the demo starts from a fresh history; the last run's is kept as {kept.name}"
            )
        with (
            scratch_dir("demo") as tmp,
            HistoryStore.open(history_path) as history,
            _Ending() as ending,
        ):
            person = Person(
                list(script),
                clock,
                scheduler,
                timeline,
                events.put,
                transcript,
                Path(tmp),
                speaker.reference,
                listener=listener,
                grammar=grammar,
                coach_speaking=lambda: speaker.speaking,
            )
            person.arm_timed()
            observer = _Observer(transcript, person)

            def cannot_save(exc: VoicecoachError) -> None:
                transcript.line(f"history: {exc}")

            recorder = history.recorder(on_failure=cannot_save)

            def on_event(event: SessionEvent) -> None:
                recorder(event)
                observer.session_event(event)

            session = Session(
                library,
                progress=history.progress(),
                resumable=history.interrupted(exercise_names(library)),
                on_event=on_event,
            )
            waiter = VirtualWaiter(events, clock, scheduler, speed)
            waiter.interrupted = lambda: ending.signal_name is not None
            loop = Loop(session, Dialog(), speaker, waiter, clock, observer=observer)

            class _Stuck:
                def next_event(self, deadline: float | None) -> SessionInput | None:
                    event = waiter.next_event(deadline)
                    if waiter.idle:
                        loop.stop()
                    return event

            loop.waiter = _Stuck()
            ending.loop = loop  # SIGINT, SIGTERM, SIGHUP: cut short, saved as interrupted
            try:
                loop.run()
                # Let the summary be spoken to its end.
                if ending.signal_name is None:
                    waiter.drain(loop, until=lambda: not speaker.speaking)
            finally:
                ending.loop = None
            saved = what_was_saved(history, exercise_names(library))

        if ending.signal_name is not None and not session.finished:
            return _ended_by_signal(
                ending, session, library, loop, transcript, history_path, saved, echo
            )
        # A line whose moment never came is a scenario that did not run as written: each is
        # named, and the exit status says so (they were passed over in silence).
        unsaid = list(person.script)
        for line in unsaid:
            note = f"never said: {line.where}: {line.text!r}, {line.waits_for()}"
            transcript.note(note, echo=False)
        summary = session.summary
        if summary is None:
            transcript.line(f"the session did not finish (state {session.state})")
            raise VoicecoachError(
                f"demo session stuck in state {session.state!r}; see {out_dir / 'transcript.txt'}"
            )
        transcript.line(f"summary: {loop.summary_text}")
        transcript.line(f"summary data: {json.dumps(summary_dict(summary), sort_keys=True)}")
        try:
            wav_s = timeline.write(out_dir / "session.wav")
        except OSError as exc:
            raise output_error(out_dir / "session.wav", exc) from None
        transcript.note(
            f"session.wav: {wav_s:.1f} s (silences over {MAX_GAP_S} s shortened); "
            f"{clock.now() / 60:.1f} min of session time in {time.monotonic() - started:.1f} s"
        )
        if echo is not None:
            print(f"\nSummary: {loop.summary_text}", file=echo)
            print(f"Wrote {out_dir / 'session.wav'} and {out_dir / 'transcript.txt'}", file=echo)
        if saved is not None:
            transcript.note(f"history: {saved}", echo=False)
            print(f"voicecoach: {saved}", file=sys.stderr)
        for line in unsaid:
            print(
                f"voicecoach: {line.where or 'scenario'}: never said: {line.text!r} waited "
                f"{line.waits_for()}, which did not come before the session ended",
                file=sys.stderr,
            )
        return 1 if unsaid else 0
    finally:
        # Also when the session fails: the engine thread stops, its temp dir goes, and the
        # transcript keeps what happened up to the failure.
        if renderer is not None:
            renderer.close()
        transcript.close()
