"""What the coach played and when: the reference the listener takes the coach's echo out with.

The speaker records each sentence as it starts and ends (and each change of the output's gain);
the listener reads back the signal of any stretch of time, and which sentences sounded in it.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, replace

import numpy as np

from voicecoach.hearing.audio import SAMPLE_RATE


@dataclass(frozen=True)
class PlayedSegment:
    """A stretch of coach audio as it was played."""

    start: float
    """Clock time of its first sample."""
    samples: np.ndarray
    sample_rate: int
    end: float | None = None
    """Clock time it stopped (None while playing)."""
    text: str = ""
    """The words it says: a barge-in made of these words is the coach's own echo."""


class EchoReference:
    """What the coach played and when: the listener's reference for not hearing itself."""

    def __init__(self, keep_s: float = 60.0) -> None:
        self._segments: collections.deque[PlayedSegment] = collections.deque()
        self._gains: collections.deque[tuple[float, float]] = collections.deque()
        """(clock time, gain) from which the output played at that gain (`gain_from`)."""
        self._lock = threading.Lock()
        self.keep_s = keep_s

    def gain_from(self, at: float, gain: float) -> None:
        """The output plays at `gain` from clock time `at` on (the coach ducked or restored):
        the reference is scaled alike, or the echo would be taken out four times over."""
        with self._lock:
            self._gains.append((at, gain))
            while len(self._gains) > 1 and self._gains[1][0] < at - self.keep_s:
                self._gains.popleft()

    def gain_at(self, t: float) -> float:
        """The output's gain at clock time `t` (1 before any change)."""
        with self._lock:
            gains = list(self._gains)
        gain = 1.0
        for at, g in gains:
            if at > t:
                break
            gain = g
        return gain

    def started(self, start: float, samples: np.ndarray, sample_rate: int, text: str = "") -> None:
        with self._lock:
            self._segments.append(PlayedSegment(start, samples, sample_rate, text=text))
            while self._segments and self._segments[0].start < start - self.keep_s:
                self._segments.popleft()

    def finished(self, end: float) -> None:
        with self._lock:
            if self._segments and self._segments[-1].end is None:
                self._segments[-1] = replace(self._segments[-1], end=end)

    def said_between(self, t0: float, t1: float, tail_s: float = 0.0) -> list[str]:
        """The texts of what the coach played between t0 and t1 (or stopped less than `tail_s`
        before t0)."""
        with self._lock:
            segments = list(self._segments)
        said = []
        for seg in segments:
            end = seg.end if seg.end is not None else seg.start + len(seg.samples) / seg.sample_rate
            if seg.start <= t1 and end + tail_s >= t0 and seg.text:
                said.append(seg.text)
        return said

    def speaking_at(self, t: float, tail_s: float = 0.0) -> bool:
        """Whether the coach was making sound at `t`, or stopped less than `tail_s` before it."""
        with self._lock:
            segments = list(self._segments)
        for seg in reversed(segments):
            end = seg.end if seg.end is not None else seg.start + len(seg.samples) / seg.sample_rate
            if seg.start <= t <= end + tail_s:
                return True
            if end + tail_s < t:
                return False
        return False

    def window(self, t0: float, t1: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """The reference signal between clock times t0 and t1 (zeros where nothing played)."""
        n = max(0, round((t1 - t0) * sample_rate))
        out = np.zeros(n, dtype=np.float32)
        with self._lock:
            segments = list(self._segments)
        for seg in segments:
            if seg.sample_rate != sample_rate:
                continue
            played = len(seg.samples)
            if seg.end is not None:
                played = min(played, max(0, round((seg.end - seg.start) * sample_rate)))
            a = round((seg.start - t0) * sample_rate)
            lo, hi = max(0, a), min(n, a + played)
            if lo < hi:
                out[lo:hi] += seg.samples[lo - a : hi - a]
        with self._lock:
            gains = list(self._gains)
        if gains and n:
            # The gain in force at t0, then each change within the window.
            envelope = np.full(n, self.gain_at(t0), dtype=np.float32)
            for at, g in gains:
                i = round((at - t0) * sample_rate)
                if 0 <= i < n:
                    envelope[i:] = g
            out *= envelope
        return out
