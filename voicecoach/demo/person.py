"""The demo's person: speaks the scenario's lines (espeak-ng) at their moments, into the virtual
microphone for the real listener, or as text for the grammar when no model is installed."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.clock import FakeClock
from voicecoach.demo.scenario import Line
from voicecoach.demo.transcript import Transcript
from voicecoach.demo.virtual import Scheduler, Timeline
from voicecoach.errors import VoicecoachError
from voicecoach.hearing.audio import FRAME_S, SAMPLE_RATE
from voicecoach.hearing.endpoint import EndpointDetector, SpeechSegment
from voicecoach.hearing.gate import GatePolicy, gate
from voicecoach.hearing.listener import Listener, coach_active
from voicecoach.messages import (
    Cue,
    IntentHeard,
    SessionEvent,
    SessionInput,
    Utterance,
)

ECHO_GAIN = 0.3
"""How loud the coach's voice reaches the (virtual) microphone, relative to the person (who is
nearer to it)."""
PERSON_VOICE = ("en-us", 150, 60)
"""espeak-ng voice, words per minute and pitch for the person's lines."""
TEXT_MODE_NOTE = "(text, no speech model installed)"


def synthesize_person(text: str, workdir: Path) -> np.ndarray:
    """The person's line as 16 kHz int16 audio, spoken by espeak-ng."""
    from voicecoach.hearing.wavio import read_wav

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
