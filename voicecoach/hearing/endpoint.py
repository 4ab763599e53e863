"""The end of speech (pure): energy voice-activity detection with a hangover, aware of the
coach's own played signal (the echo reference).

A frame only counts as the person speaking when it is louder than the coach's echo could make
it. The end of speech is decided here, in 20 ms steps, instead of by Vosk's endpoint rules (the
small model's conf/model.conf waits 0.5 s or more of trailing silence, which alone would miss
the 300 ms budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicecoach.hearing.audio import FRAME_S, SAMPLE_RATE


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
