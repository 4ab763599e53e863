"""Listening: audio frames in, IntentHeard out, without the coach ever hearing itself.

Three parts, the first two pure so they are tested without a model or a microphone:
- `EndpointDetector`: energy voice-activity detection with a hangover, aware of the coach's own
  played signal (the echo reference): a frame only counts as the person speaking when it is
  louder than the coach's echo could make it. The end of speech is decided here, in 20 ms steps,
  instead of by Vosk's endpoint rules (the small model's conf/model.conf waits 0.5 s or more of
  trailing silence, which alone would miss the 300 ms budget).
- `gate`: which utterances may fire. While the coach speaks, and for a short tail after, a
  command must meet a stricter confidence and not be the coach's own words; the barge-in
  commands (stop, pause, skip, pain) then cut it short, the others are acted on once it has
  finished. A
  command heard in speech much longer than its words take is chatter the search fitted it to,
  and one heard in a burst shorter than any command is a scrap of echo. Pain has lower bars of
  its own on all of these (`GatePolicy.pain_*`): a wrong pain costs seconds, a lost one more.
- `Listener`: streams the speech frames (with a short pre-roll) into the speech engine,
  flushes it at each end of speech, gates the result and posts IntentHeard. A partial result is
  used for one thing only: when the words so far are not yet a whole command ("add five"), a
  pause of up to 0.6 s does not end the utterance; a whole command is acted on at once. An
  engine that decodes at the end (PocketSphinx) is asked to decode at the person's first pause,
  so its decode overlaps the hangover instead of following it.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voicecoach.audio import FRAME_S, SAMPLE_RATE
from voicecoach.echo import EchoCanceller
from voicecoach.grammar import normalize_utterance
from voicecoach.messages import IntentHeard, SessionInput, Utterance

_LOGGER = logging.getLogger(__name__)

HEARD_KEPT = 50
"""How many recent utterances `Listener.heard` keeps, for the display and tests."""

BARGE_IN = frozenset({"stop", "pause", "skip", "pain"})
"""Commands that may cut the coach short; everything else waits until it has finished."""


# --- gating (pure) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GatePolicy:
    min_confidence: float = 0.5
    """Lowest per-word confidence for any command while the coach is quiet."""
    barge_in_confidence: float = 0.8
    """Stricter bar for a command heard over (or just after) the coach's own voice."""
    echo_tail_s: float = 0.35
    """How long after the coach stops its voice may still be in the room (reverb, buffers)."""
    barge_in: frozenset[str] = BARGE_IN
    max_base_s: float = 0.8
    max_s_per_syllable: float = 0.4
    """A command is refused when the speech it was heard in lasted longer than `max_base_s`
    plus this per syllable of its words: then the search has laid the command over a longer
    stretch of talk. Chatter heard as commands in the live bench lasted 2.8 to 6.2 s ("do psoas
    release routine" over a 4.8 s sentence); 76 espeak-ng commands, rates 110 to 175 words a
    minute, took at most 0.81 of what this allows (the slowest, "give me twenty five more
    seconds please" at 110, 3.6 s)."""
    min_s: float = 0.16
    """A command is refused when the speech it was heard in lasted less than this: a burst of
    echo the canceller left as the person's words overlapped the coach's (60 to 140 ms in the
    room, heard as "quit", "five", and once taken for a barge-in "stop"). The shortest command
    espeak-ng says, "ow" at 220 words a minute, lasted 0.20 s. Never pain's: see below."""
    # Pain has bars of its own, all lower: a wrong pain (a cough or "no" taken for "ow") costs
    # a few seconds and a "say ready", a lost one can cost an injury. Every rule here leans
    # towards letting pain through, and these are where it does (issue 19). bench/pain_gate.py
    # (PocketSphinx, 88 pain lines in 4 voices, half 0.3 s into a coach sentence): with these
    # bars 77 are taken, as with no bars at all, against 75 with the other commands' bars; the
    # false pains ("no", "oh", "how" heard as "ow", at 0.84 to 0.94) pass either bar, and none
    # of the coach's 59 sentences of a whole session was heard as pain at any confidence.
    after_speech_confidence: float = 0.9
    """Lowest confidence for a command heard over the coach that does not cut it short: it is
    acted on once the coach has finished, so it is held to more than a barge-in. The coach's own
    voice decoded directly (tests/test_asr_speech.py) gave "let's go" at 0.81 for its "Not
    now"; the person's "longer" over a cue came at 0.85 to 0.92 in the demo."""
    pain_confidence: float = 0.3
    """Lowest confidence for pain while the coach is quiet."""
    pain_barge_in_confidence: float = 0.5
    """Lowest confidence for pain heard over (or just after) the coach: no more than any command
    needs in quiet. With PocketSphinx, "my lower back hurts" 0.3 s into a coach sentence came at
    0.76 to 0.78; with Whisper, "ouch" right after "ready", over the hold cue, at 0.65, and
    Whisper's pain is kept from 0.5 (its own bar)."""
    pain_min_s: float = 0.0
    """Pain in quiet is never refused for being short: "ow" said fast."""
    pain_min_over_coach_s: float = 0.09
    """Pain over the coach is refused only in the shortest bursts the detector can make (60 and
    80 ms: three and four frames): in the room such bursts of the coach's own echo were heard
    as "it hurts" and "it's aching", and one ended a hold a moment before the person's real
    "ow" (which then found no hold to end). "ouch" clipped where it overlapped the coach lasted
    0.12 s, and passes."""
    pain_max_base_s: float = 1.6
    """`max_base_s` for pain: "ow" may take 2.0 s (drawn out, or in a groan), still under the
    2.8 s of the shortest chatter the live bench heard as a command."""


def syllables(text: str) -> int:
    """About how many syllables `text` has: its vowel groups, a final silent e left out, at
    least one a word."""
    count = 0
    for word in normalize_utterance(text).split():
        stem = word[:-1] if word.endswith("e") and len(word) > 2 else word
        count += max(1, len(re.findall(r"[aeiouy]+", stem)))
    return count


@dataclass(frozen=True)
class GateDecision:
    accept: bool
    reason: str
    after_speech: bool = False
    """Accepted, to be acted on once the coach has finished speaking (not a barge-in)."""


def _words_inside(words: Sequence[str], text: str) -> bool:
    """Whether `words` stand, in order and side by side, in `text` (both as plain words)."""
    said = normalize_utterance(text).split()
    n = len(words)
    return n > 0 and any(said[i : i + n] == list(words) for i in range(len(said) - n + 1))


def gate(
    utterance: Utterance | None,
    *,
    coach_active: bool,
    policy: GatePolicy,
    coach_said: Sequence[str] = (),
    duration_s: float | None = None,
) -> GateDecision:
    """Whether an utterance may fire its intent.

    `coach_active`: the coach was speaking at some point during the utterance or within
    `policy.echo_tail_s` before its start. `coach_said`: the sentences it was playing then; a
    barge-in whose words are among them ("Or say skip.") is most likely its own echo, so it is
    refused even when the echo estimate let it through. The person can say it again once the
    coach is quiet. `duration_s`: how long the speech lasted (None: not known).
    """
    if utterance is None or utterance.intent is None:
        return GateDecision(False, "not a command")
    name = utterance.intent.name
    pain = name == "pain"
    if pain:
        min_s = policy.pain_min_over_coach_s if coach_active else policy.pain_min_s
    else:
        min_s = policy.min_s
    if duration_s is not None and duration_s < min_s:
        return GateDecision(
            False,
            f"{name!r} heard in {duration_s:.2f} s of sound, shorter than any command takes "
            f"(at least {min_s:.2f} s)",
        )
    if duration_s is not None:
        base = policy.pain_max_base_s if pain else policy.max_base_s
        allowed = base + policy.max_s_per_syllable * syllables(utterance.text)
        if duration_s > allowed:
            return GateDecision(
                False,
                f"{name!r} heard in {duration_s:.1f} s of speech, longer than the words take "
                f"(at most {allowed:.1f} s)",
            )
    if coach_active:
        # Over the coach every command meets the barge-in bars; one that does not cut the coach
        # short is acted on when it has finished, not dropped without an answer ("longer" said
        # over a cue). The coach's own echo is what the bars keep out.
        what = f"barge-in {name!r}" if name in policy.barge_in else f"{name!r} over the coach"
        bar = policy.pain_barge_in_confidence if pain else policy.barge_in_confidence
        if utterance.confidence < bar:
            return GateDecision(
                False, f"{what} at confidence {utterance.confidence:.2f} is too low"
            )
        words = normalize_utterance(utterance.text).split()
        for sentence in coach_said:
            # Kept for pain too: the coach says "pain" itself ("Don't push into pain"), and
            # its echo taken for pain would stop the hold again and again, each time the
            # coach answers it. The person's own words are rarely the coach's ("ouch", "my
            # knee hurts"), and they can say it again once the coach is quiet.
            if _words_inside(words, sentence):
                return GateDecision(False, f"{what} is the coach's own words ({sentence!r})")
        if name not in policy.barge_in:
            if utterance.confidence < policy.after_speech_confidence:
                return GateDecision(
                    False, f"{what} at confidence {utterance.confidence:.2f} is too low"
                )
            # Acted on later, so held to more: a word of four letters or more shared with what
            # the coach was saying marks its echo ("keep your glutes squeezed" decoded as "keep
            # going please"). Barge-ins keep the narrower rule: pain must not be lost to it.
            shared = sorted(
                {w for w in words if len(w) >= 4}
                & {w for sentence in coach_said for w in normalize_utterance(sentence).split()}
            )
            if shared:
                return GateDecision(
                    False, f"{what} shares {', '.join(shared)!r} with the coach's words: its echo"
                )
            return GateDecision(True, f"{what}: acted on once it has finished", after_speech=True)
        return GateDecision(True, what)
    bar = policy.pain_confidence if pain else policy.min_confidence
    if utterance.confidence < bar:
        return GateDecision(False, f"{name!r} at confidence {utterance.confidence:.2f} is too low")
    return GateDecision(True, name)


# --- end of speech (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class SpeechSegment:
    """One stretch the person spoke, in clock time."""

    start: float
    end: float


def _rms(frame: np.ndarray) -> float:
    if frame.size == 0:
        return 0.0
    x = frame.astype(np.float64)
    return float(np.sqrt(np.mean(x * x)))


def _peak_rms(signal: np.ndarray, size: int) -> float:
    """The loudest `size`-sample stretch of `signal` (the reference over the echo's lag range)."""
    if signal.size <= size or size <= 0:
        return _rms(signal)
    n = signal.size // size
    tail = signal[signal.size - n * size :].astype(np.float64).reshape(n, size)
    return float(np.sqrt((tail * tail).mean(axis=1)).max())


VOICE_ON = 0.5
"""A loud frame starts speech when the voice check's probability is at least this (Silero's
own default)."""
VOICE_OFF = 0.35
"""...and goes on being speech while it is at least this (Silero's usual negative threshold):
a word's quieter middle is not taken for its end."""


class VoiceCheck(Protocol):
    """The probability that the latest stretch fed is a voice (None while it cannot tell)."""

    def probability(self, frame: np.ndarray) -> float | None: ...

    def reset(self) -> None: ...


@dataclass
class EndpointDetector:
    """Energy VAD with hangover and an echo-aware threshold.

    `push(frame, t_end, reference)` returns "start", "end" or None. A frame is "loud" when its
    level is above both an absolute floor and `snr` times the tracked noise floor, and above
    `echo_margin` times the level the coach's own signal could produce (estimated echo gain times
    the reference's level in that frame). Speech starts after `min_start_s` of loud frames and
    ends after `hangover_s` of quiet ones.
    """

    frame_s: float = FRAME_S
    hangover_s: float = 0.2
    min_start_s: float = 0.06
    snr: float = 3.0
    abs_floor: float = 150.0
    echo_margin: float = 2.0
    echo_gain: float = 1.0
    """Initial guess of mic level / reference level; refined while only the coach sounds."""
    noise: float = 50.0
    voice: VoiceCheck | None = None
    """A second opinion on frames loud enough to be speech (Silero VAD): such a frame is speech
    only when it also sounds like a voice. Steady sound that starts louder than the noise floor
    (a fan switched on, white noise) was speech to the energy test for as long as it lasted, so
    no command ended in it; with Silero none of it was (bench/endpoint.py), and it is asked
    only about loud frames, so silence costs nothing. Not wired into the coach: in the room it
    lost a short "ow" said over the hold cue (Silero did not call the mix a voice), and pain
    must never be lost."""
    active: bool = False
    started_at: float | None = None
    _loud_s: float = 0.0
    _quiet_s: float = 0.0
    _last_loud_end: float = 0.0
    _e_ref: float = 0.0
    _e_mic: float = 0.0
    _voice_fed: bool = False

    def threshold(self, ref_level: float) -> float:
        return max(
            self.abs_floor, self.snr * self.noise, self.echo_margin * self.echo_gain * ref_level
        )

    def __post_init__(self) -> None:
        self.prime_echo_gain(self.echo_gain)

    def prime_echo_gain(self, gain: float) -> None:
        """Start from a known echo level (it is still refined while only the coach sounds)."""
        self.echo_gain = gain
        self._e_ref = 1000.0**2
        self._e_mic = (gain * 1000.0) ** 2

    def push(
        self, frame: np.ndarray, t_end: float, reference: np.ndarray | None = None
    ) -> str | None:
        """`reference`: what the coach played over this frame and the echo's lag range before
        it; the loudest frame-long stretch of it sets the bar for the person's voice."""
        level = _rms(frame)
        ref_level = _peak_rms(reference, frame.size) if reference is not None else 0.0
        loud = level > self.threshold(ref_level)
        if self.voice is not None:
            if loud or self.active:
                # Fed on through a word's quiet frames, so its state follows the speech.
                p = self.voice.probability(frame)
                self._voice_fed = True
                if loud and p is not None:
                    loud = p >= (VOICE_OFF if self.active else VOICE_ON)
            elif self._voice_fed:
                self.voice.reset()  # quiet between speech: the next loud stretch starts afresh
                self._voice_fed = False
        dur = frame.size / SAMPLE_RATE if frame.size else self.frame_s
        if not loud:
            if ref_level > self.abs_floor and not self.active:
                # Only the coach sounds: learn how loud its echo is here, as a ratio of long-term
                # energies (frame-by-frame ratios swing with the lag between echo and reference).
                assert reference is not None
                ref_ms = float(np.mean(reference.astype(np.float64) ** 2))
                self._e_mic = 0.95 * self._e_mic + 0.05 * level * level
                self._e_ref = 0.95 * self._e_ref + 0.05 * ref_ms
                self.echo_gain = min(4.0, float(np.sqrt(self._e_mic / self._e_ref)))
            elif ref_level <= self.abs_floor:
                # Track the noise floor: fall fast, rise slowly.
                rate = 0.3 if level < self.noise else 0.02
                self.noise += rate * (level - self.noise)
        if loud:
            self._loud_s += dur
            self._quiet_s = 0.0
            self._last_loud_end = t_end
            if not self.active and self._loud_s >= self.min_start_s - 1e-9:
                self.active = True
                self.started_at = t_end - self._loud_s
                return "start"
            return None
        self._quiet_s += dur
        if not self.active:
            self._loud_s = 0.0
            return None
        if self._quiet_s >= self.hangover_s - 1e-9:
            self.active = False
            self._loud_s = 0.0
            return "end"
        return None

    def reset(self) -> None:
        """Forget the speech under way (keeps the learned noise floor and echo gain)."""
        if self.voice is not None and self._voice_fed:
            self.voice.reset()
            self._voice_fed = False
        self.active = False
        self.started_at = None
        self._loud_s = 0.0
        self._quiet_s = 0.0

    @property
    def quiet_s(self) -> float:
        """How long the speech under way has been quiet (0 while the person is loud)."""
        return self._quiet_s if self.active else 0.0

    @property
    def speech_ended_at(self) -> float:
        """Clock time of the end of the last loud frame (the true end of speech)."""
        return self._last_loud_end


# --- the listener -----------------------------------------------------------------------------


class Recognizer(Protocol):
    """The part of an engine (voicecoach.asr.base.CommandEngine) the listener uses.

    An engine that decodes a whole utterance at once (PocketSphinx) may also have
    `prepare(quiet_s)`: decode what it was fed so far and `quiet_s` of quiet after it."""

    def accept(self, chunk: bytes) -> Utterance | None: ...

    def flush(self) -> Utterance | None: ...

    def reset(self) -> None: ...

    def partial(self) -> str: ...


class Reference(Protocol):
    """The part of voicecoach.tts.EchoReference the listener uses."""

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
            # than its echo reference said; tts.OUTPUT_LATENCY_S (0.4 s) now outlasts it, and
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
