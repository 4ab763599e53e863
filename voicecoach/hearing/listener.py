"""Listening: audio frames in, IntentHeard out, without the coach ever hearing itself.

`Listener` streams the speech frames (with a short pre-roll) into the speech engine, flushes it
at each end of speech (`endpoint.EndpointDetector`), gates the result (`gate.gate`) and posts
IntentHeard. A partial result is used for one thing only: when the words so far are not yet a
whole command ("add five"), a pause of up to 0.6 s does not end the utterance; a whole command
is acted on at once. An engine that decodes at the end (PocketSphinx) is asked to decode at the
person's first pause, so its decode overlaps the hangover instead of following it.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voicecoach.hearing.audio import SAMPLE_RATE
from voicecoach.hearing.echo import EchoCanceller
from voicecoach.hearing.endpoint import EndpointDetector, SpeechSegment
from voicecoach.hearing.gate import GateDecision, GatePolicy, gate
from voicecoach.messages import IntentHeard, SessionInput, Utterance

_LOGGER = logging.getLogger(__name__)

HEARD_KEPT = 50
"""How many recent utterances `Listener.heard` keeps, for the display and tests."""


class Recognizer(Protocol):
    """The part of an engine (voicecoach.hearing.asr.base.CommandEngine) the listener uses.

    An engine that decodes a whole utterance at once (PocketSphinx) may also have
    `prepare(quiet_s)`: decode what it was fed so far and `quiet_s` of quiet after it."""

    def accept(self, chunk: bytes) -> Utterance | None: ...

    def flush(self) -> Utterance | None: ...

    def reset(self) -> None: ...

    def partial(self) -> str: ...


class Reference(Protocol):
    """The part of voicecoach.speaking.echo_reference.EchoReference the listener uses."""

    def window(self, t0: float, t1: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray: ...

    def speaking_at(self, t: float, tail_s: float = 0.0) -> bool: ...

    def said_between(self, t0: float, t1: float, tail_s: float = 0.0) -> list[str]: ...


def coach_active(reference: Reference | None, seg: SpeechSegment, tail_s: float) -> bool:
    """Whether the coach made sound during `seg`, or stopped less than `tail_s` before either
    of its ends: what `gate` calls `coach_active`. Ask once the segment is over, so a cue that
    began while the person was still speaking counts."""
    if reference is None:
        return False
    if reference.speaking_at(seg.start, tail_s) or reference.speaking_at(seg.end, tail_s):
        return True
    # Did the coach speak at any point inside the segment?
    ref = reference.window(seg.start, seg.end)
    return bool(ref.size and np.any(ref != 0))


@dataclass
class Heard:
    """What the listener made of one stretch of speech, for the display and the transcript."""

    segment: SpeechSegment
    utterance: Utterance | None
    decision: GateDecision


@dataclass
class Listener:
    """Streams frames into the recognizer and posts gated IntentHeard events.

    `feed(frame, t_end)` is synchronous and returns what it posted, so the demo and the tests can
    drive it frame by frame; `run(frames, clock)` is the live thread's loop.
    """

    recognizer: Recognizer
    post: Callable[[SessionInput], None]
    reference: Reference | None = None
    policy: GatePolicy = field(default_factory=GatePolicy)
    detector: EndpointDetector = field(default_factory=EndpointDetector)
    preroll_s: float = 0.3
    echo_lag_s: float = 0.1
    """How late the coach's echo may reach the microphone."""
    echo_lead_s: float = 0.04
    """How early it may seem to: the coach's sentences and the microphone's frames are stamped
    by different streams' callbacks, and in the room a sentence's echo was found up to 30 ms
    before its stamp said it started. Only the canceller searches this far ahead."""
    on_heard: Callable[[Heard], None] | None = None
    echo: EchoCanceller | None = field(default_factory=EchoCanceller)
    """Subtracts the coach's echo from what the recognizer hears (None: hears the raw mix).
    A grammar search forces the mix of coach and person onto some phrase ("pause" over the
    coach was heard as "let's do all of"); the detector still judges the raw frame."""
    on_voice_over_coach: Callable[[bool], None] | None = None
    """Told True when the person starts to speak while the coach is sounding (the coach's
    voice is lowered), and False when that speech is over and did not cut the coach short (it
    comes back). After a barge-in the coach's cut does that."""
    complete: Callable[[str], bool] | None = None
    """Whether a partial result is already a whole command. When given, an end of speech after
    an incomplete phrase waits up to `max_pause_s` for the rest before deciding."""
    max_pause_s: float = 0.6
    prepare_after_s: float = 0.06
    """When the person has been quiet this long, an engine that decodes at the end (PocketSphinx)
    is asked to decode already, and the quiet frames that follow are held back from it: if the
    speech goes on they are fed after all, and if it ends the decode is the result, ready when
    the end of speech is (`hangover_s` later) instead of a decode after it."""
    prepare_within_s: float = 3.0
    """Only for speech this short: commands are, and a long stretch of talk would pay a whole
    decode at each of its pauses."""
    heard: collections.deque[Heard] = field(
        default_factory=lambda: collections.deque(maxlen=HEARD_KEPT)
    )
    """The latest utterances (bounded: a session of chatter must not grow it for hours)."""
    _preroll: collections.deque[np.ndarray] = field(default_factory=collections.deque)
    _fed: bool = False
    _fed_until: float = float("-inf")
    """Clock time of the last audio given to the recognizer."""
    _seg_start: float | None = None
    _waiting_since: float | None = None
    _ended_at: float = 0.0
    _prepared: bool = False
    """The engine was asked to prepare; the quiet frames since are in `_held`."""
    _held: list[tuple[np.ndarray, float]] = field(default_factory=list)
    _over_coach: bool = False
    """The speech under way began over the coach (`on_voice_over_coach` was told True)."""

    def _conclude(self, utterance: Utterance | None, seg: SpeechSegment) -> IntentHeard | None:
        # The coach counts over all the audio the recognizer decoded, which runs past the end
        # of the words by the hangover (or the allowed pause): a cue starting in that stretch
        # put its echo into what was decoded.
        decoded = SpeechSegment(seg.start, max(seg.end, self._fed_until))
        active = coach_active(self.reference, decoded, self.policy.echo_tail_s)
        said = (
            self.reference.said_between(decoded.start, decoded.end, self.policy.echo_tail_s)
            if active and self.reference is not None
            else []
        )
        decision = gate(
            utterance,
            coach_active=active,
            policy=self.policy,
            coach_said=said,
            duration_s=seg.end - seg.start,
        )
        heard = Heard(seg, utterance, decision)
        self.heard.append(heard)
        if self.on_heard is not None:
            self.on_heard(heard)
        if utterance is not None:
            _LOGGER.info(
                "heard %r (conf %.2f) -> %s", utterance.text, utterance.confidence, decision.reason
            )
        if not decision.accept or utterance is None or utterance.intent is None:
            return None
        event = IntentHeard(
            intent=utterance.intent,
            now=seg.end,
            utterance=utterance,
            after_speech=decision.after_speech,
        )
        self.post(event)
        return event

    def feed(self, frame: np.ndarray, t_end: float) -> list[IntentHeard]:
        """One frame of 16 kHz int16 audio whose last sample is at clock time `t_end`."""
        posted: list[IntentHeard] = []
        t_start = t_end - frame.size / SAMPLE_RATE
        # What the coach played from `echo_lag_s` before this frame: its echo reaches the
        # microphone late (device buffers, the room), and a misjudged lag must not look like
        # the person starting to speak as each of its sentences ends.
        lead = round(self.echo_lead_s * SAMPLE_RATE)
        ahead = (
            self.reference.window(t_start - self.echo_lag_s, t_end + lead / SAMPLE_RATE)
            if self.reference is not None
            else None
        )
        ref = ahead[: ahead.size - lead] if ahead is not None and lead else ahead
        if self.echo is not None:
            frame = self.echo.process(frame, ahead)
        what = self.detector.push(frame, t_end, ref)
        if what == "start":
            if self._waiting_since is not None:
                # Speech again within the allowed pause: the same command goes on.
                self._waiting_since = None
            else:
                # The words began a little before the detector was sure: feed the pre-roll first.
                self._seg_start = self.detector.started_at
                if self.reference is not None and self.reference.speaking_at(t_end):
                    self._voice_over_coach(True)
                for old in self._preroll:
                    self._accept(old, posted, t_end)
                self._fed = True
            self._preroll.clear()
        if self.detector.active or what == "end" or self._waiting_since is not None:
            if self._prepared and (not self.detector.active or self.detector.quiet_s > 0):
                self._held.append((frame, t_end))  # quiet after the prepared decode
            else:
                self._resume(posted)
                self._accept(frame, posted, t_end)
                self._maybe_prepare(t_end)
        else:
            self._preroll.append(frame)
            while sum(f.size for f in self._preroll) > self.preroll_s * SAMPLE_RATE:
                self._preroll.popleft()
        if what == "end" and self._fed:
            if self.complete is not None and not self.complete(self._partial()):
                # "add five" and a breath: wait a little longer for "minutes".
                self._waiting_since = t_end
                self._ended_at = self.detector.speech_ended_at
            else:
                self._finish(posted, self.detector.speech_ended_at)
        elif (
            self._waiting_since is not None
            and not self.detector.active
            and t_end - self._waiting_since >= self.max_pause_s - self.detector.hangover_s - 1e-9
        ):
            self._finish(posted, self._ended_at)
        return posted

    def _maybe_prepare(self, t_end: float) -> None:
        prepare = getattr(self.recognizer, "prepare", None)
        if (
            prepare is None
            or self._prepared
            or not self.detector.active
            or self.detector.quiet_s < self.prepare_after_s - 1e-9
            or self._seg_start is None
            or t_end - self._seg_start > self.prepare_within_s
            # Not over the coach, for an engine whose decode is one C call holding the GIL
            # (PocketSphinx, 150 to 300 ms): with the output buffer at 0.1 s that ran the
            # coach's playback dry (ALSA underruns in the room test) and pushed its voice later
            # than its echo reference said; output.OUTPUT_LATENCY_S (0.4 s) now outlasts it, and
            # this rule is kept from then, not measured again without it. An engine that
            # decodes without the GIL (Whisper on CTranslate2) leaves the output callback free.
            or (
                not getattr(self.recognizer, "decodes_without_gil", False)
                and self.reference is not None
                and self.reference.speaking_at(t_end)
            )
        ):
            return
        # The rest of the hangover as quiet: the utterance decoded is as long as it would be.
        prepare(max(0.0, self.detector.hangover_s - self.detector.quiet_s))
        self._prepared = True

    def _resume(self, posted: list[IntentHeard]) -> None:
        """The person went on after a prepared pause: the held quiet frames are theirs too."""
        self._prepared = False
        held, self._held = self._held, []
        for old, t in held:
            self._accept(old, posted, t)

    def _partial(self) -> str:
        partial = getattr(self.recognizer, "partial", None)
        return str(partial()) if partial is not None else ""

    def _finish(self, posted: list[IntentHeard], ended_at: float) -> None:
        self._fed = False
        self._waiting_since = None
        self._prepared = False
        self._held = []
        start = self._seg_start if self._seg_start is not None else ended_at
        event = self._conclude(self.recognizer.flush(), SpeechSegment(start, ended_at))
        if event is not None:
            posted.append(event)
        self._utterance_over(event)
        self.recognizer.reset()
        self._seg_start = None

    def _utterance_over(self, event: IntentHeard | None) -> None:
        """The coach's voice comes back, unless what was said cuts it short (it comes back at
        full voice after the cut)."""
        if event is None or event.after_speech or event.intent.name not in self.policy.barge_in:
            self._voice_over_coach(False)
        else:
            self._over_coach = False

    def _voice_over_coach(self, speaking: bool) -> None:
        if speaking == self._over_coach:
            return
        self._over_coach = speaking
        if self.on_voice_over_coach is not None:
            self.on_voice_over_coach(speaking)

    def _accept(self, frame: np.ndarray, posted: list[IntentHeard], t_end: float) -> None:
        self._fed_until = max(self._fed_until, t_end)
        utterance = self.recognizer.accept(frame.astype("<i2", copy=False).tobytes())
        if utterance is not None:
            # Vosk ended an utterance by its own rules (a long one): act on it now.
            start = self._seg_start if self._seg_start is not None else t_end
            event = self._conclude(utterance, SpeechSegment(start, t_end))
            if event is not None:
                posted.append(event)
            self._utterance_over(event)

    def run(self, frames: Iterable[tuple[np.ndarray, float]], stop: threading.Event) -> None:
        """The live thread: frames stamped with the clock time of their last sample.

        A frame that fails (the decoder, or a display fed from `on_heard`) costs that utterance,
        not the thread: an uncaught exception here would leave the session running deaf, with
        only a traceback on the person's terminal to say so.
        """
        failures = 0
        for frame, t_end in frames:
            if stop.is_set():
                return
            if not frame.size:
                continue
            try:
                self.feed(frame, t_end)
            except Exception:
                failures += 1
                # Log the first one in full, then a count (a broken decoder fails every frame).
                _LOGGER.warning(
                    "listener failed on a frame (%d so far); dropping the utterance",
                    failures,
                    exc_info=failures == 1,
                )
                self._drop_utterance()

    def _drop_utterance(self) -> None:
        """Forget the utterance under way, so the next one starts clean."""
        self._fed = False
        self._waiting_since = None
        self._prepared = False
        self._held = []
        self._seg_start = None
        self._preroll.clear()
        self.detector.reset()
        self._voice_over_coach(False)
        try:
            self.recognizer.reset()
        except Exception as exc:
            _LOGGER.warning("recognizer reset failed: %s", exc)
