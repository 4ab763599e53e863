"""Taking the coach's own voice out of the microphone signal before the recognizer hears it.

Pure numpy, no devices. Where the coach's played signal reaches the microphone as a delayed,
scaled copy (the demo's mix, the PulseAudio test room, a speaker beside the microphone), the
echo is estimated as one delay and one gain, fitted by least squares over the last few hundred
milliseconds of microphone and reference, and subtracted. The person's voice is uncorrelated
with the reference, so it does not pull the fit; what is left is the person and the room noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EchoCanceller:
    """Delay-and-gain echo subtraction, fitted frame by frame.

    `process(mic, ref)`: `mic` is one frame; `ref` is what the coach played over that frame
    and the `lag` samples before it (`len(ref) == len(mic) + lag`). The fit is an exponentially
    weighted least-squares estimate over all candidate delays 0..lag; the best one explains the
    most microphone energy.
    """

    memory: float = 0.9
    """Weight of the past per frame (0.9 at 20 ms frames: about 200 ms of memory)."""
    min_ref_rms: float = 20.0
    """Below this the coach is silent: nothing to subtract (the fit keeps what it learned)."""
    double_talk: float = 4.0
    """A frame with more than this times the predicted echo energy does not update the fit."""
    _corr: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    delay: int = 0
    """Current estimate of the echo's delay, in samples."""
    gain: float = 0.0
    """Current estimate of the echo's gain (microphone level per reference level)."""

    def process(self, mic: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        """The frame with the coach's echo subtracted, as int16."""
        if ref is None or mic.size == 0:
            return mic
        n = mic.size
        lag = ref.size - n
        if lag < 0:
            return mic
        r = ref.astype(np.float64)
        if float(np.sqrt(np.mean(r * r))) < self.min_ref_rms:
            return mic
        x = mic.astype(np.float64)
        # corr[k] = sum_i r[k + i] x[i]: the reference delayed by d = lag - k against the frame.
        corr = np.correlate(r, x, mode="valid")[::-1]
        sq = np.concatenate([[0.0], np.cumsum(r * r)])
        energy = (sq[n : n + lag + 1] - sq[: lag + 1])[::-1]
        if self._corr.size != corr.size:
            self._corr = np.zeros_like(corr)
            self._energy = np.zeros_like(energy)
            self.gain = 0.0
        # Double talk: when the frame is much louder than the echo the fit predicts, the person
        # is speaking; their voice would only jitter the fit, so it is kept as it was.
        predicted = self.gain * self.gain * float(energy[self.delay])
        if self.gain == 0.0 or float(x @ x) < self.double_talk * predicted:
            self._corr = self.memory * self._corr + corr
            self._energy = self.memory * self._energy + energy
        explained = np.where(self._energy > 0, self._corr**2 / np.maximum(self._energy, 1e-9), 0)
        self.delay = int(np.argmax(explained))
        e = self._energy[self.delay]
        self.gain = float(self._corr[self.delay] / e) if e > 0 else 0.0
        start = lag - self.delay
        cleaned = x - self.gain * r[start : start + n]
        return np.clip(np.rint(cleaned), -32768, 32767).astype(np.int16)
