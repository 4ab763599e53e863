"""Taking the coach's own voice out of the microphone signal before the recognizer hears it.

Pure numpy, no devices. Where the coach's played signal reaches the microphone as a delayed,
scaled copy (the demo's mix, the PulseAudio test room, a speaker beside the microphone), the
echo is one delay and one gain, and subtracting it leaves the person and the room noise.

The delay is found again in every frame, not averaged over many: in the room it is not one
number. Each sentence is its own output stream, stamped by its first callback, so the delay
jumps by up to ±20 ms from one sentence to the next; and the monitor's clock runs about 0.05%
slow against the system's, so within a sentence it creeps by a sample every few frames. A fit
averaged over 200 ms of frames lagged behind both and, once behind, saw every frame as the
person talking and stopped learning: measured on a recording of the room, it took out nothing
(-0.3 dB). Found per frame, the delay is exact and the echo goes down by about 40 dB.

A frame is matched against the reference at every candidate delay, from `lead` samples ahead of
the frame (the reference's stamps can be a little late against the microphone's) to `lag`
behind. Where one delay explains nearly all of the frame, the coach alone is sounding: the delay
is taken from that frame and the gain is refined. Otherwise the person is talking over it, and
their voice could pull a full search to a wrong delay (a pitch period of the coach's voice
matched against theirs), so only the few delays beside the last one are tried, and the gain is
held. Just after the coach starts a sentence the delay may have jumped, so a weaker match is
enough to move it.

The gain is the room's, so one frame's fit that is far from it is not believed. In the room,
frames at a sentence's start where the microphone was still nearly silent while the reference
already sounded were "explained" by a near-silent stretch of the reference, at gains of -8 to
0.1 against a learned 1.0. The gain then took about 100 ms to come back, and meanwhile the
coach's voice was left in (or doubled): 60 to 140 ms bursts that started "the person's"
utterances at the coach's sentence starts, merged with a pain word said just after, or were
heard as words themselves (bench/echo_onsets.py). A fit more than `gain_band` times away from
the learned gain, or of the other sign, moves neither the delay nor the gain, unless strong fits
say so for `relearn_frames` frames in a row (the speaker's volume was changed). And a frame is
never made louder: where subtracting the echo at the delay held would add energy, that echo is
not in the frame (the sentence's echo has not arrived yet), and the frame is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class EchoCanceller:
    """Delay-and-gain echo subtraction, the delay found frame by frame.

    `process(mic, ref)`: `mic` is one frame; `ref` is what the coach played from `lag` samples
    before the frame to `lead` samples after it (`len(ref) == lag + len(mic) + lead`); only the
    sum matters here, the delays are counted from the reference's start.
    """

    min_ref_rms: float = 20.0
    """Below this the coach is silent: nothing to subtract (the fit keeps what it learned)."""
    relock: float = 0.8
    """Share of the frame's energy one delay must explain for a full search to move to it."""
    fresh_relock: float = 0.5
    """The same share just after the coach starts sounding (its delay may have jumped)."""
    fresh_frames: int = 15
    """How many frames after the coach starts sounding count as "just after" (300 ms)."""
    local: int = 1
    """How far, in samples, the delay may move in a frame where the person may be talking."""
    gain_memory: float = 0.7
    """Weight of the past gain in each update (the gain is a property of the room, slow)."""
    offset: int | None = None
    """Where in the reference the echo of the frame starts (None: not found yet)."""
    gain: float = 0.0
    """Current estimate of the echo's gain (microphone level per reference level)."""
    gain_band: float = 3.0
    """A frame's fit more than this factor from the learned gain (or below zero) is not believed."""
    relearn_frames: int = 10
    """...unless this many strong fits in a row (200 ms of the coach alone) say the gain changed."""
    _since_onset: int = 1 << 30
    _doubted: int = 0

    def process(self, mic: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
        """The frame with the coach's echo subtracted, as int16."""
        if ref is None or mic.size == 0:
            return mic
        n = mic.size
        span = ref.size - n
        if span < 0:
            return mic
        r = ref.astype(np.float64)
        if float(np.sqrt(np.mean(r * r))) < self.min_ref_rms:
            self._since_onset = 0
            return mic
        self._since_onset += 1
        x = mic.astype(np.float64)
        # corr[s] = sum_i r[s + i] x[i]: the frame against the reference starting at s.
        corr = np.correlate(r, x, mode="valid")
        sq = np.concatenate([[0.0], np.cumsum(r * r)])
        energy = sq[n : n + span + 1] - sq[: span + 1]
        # How much of the frame's energy the reference at each offset explains (least squares).
        explained = np.where(energy > 0, corr**2 / np.maximum(energy, 1e-9), 0.0)
        frame_energy = float(x @ x)
        best = int(np.argmax(explained))
        share = float(explained[best]) / frame_energy if frame_energy > 0 else 0.0
        fresh = self._since_onset <= self.fresh_frames
        g = float(corr[best] / energy[best]) if energy[best] > 0 else 0.0
        believed = self._believed(g, share)
        if (
            self.offset is None
            or self.offset > span
            or (believed and (share >= self.relock or (fresh and share >= self.fresh_relock)))
        ):
            self.offset = best
            if believed and (share >= self.fresh_relock or self.gain == 0.0):
                m = self.gain_memory if self.gain != 0.0 else 0.0
                self.gain = m * self.gain + (1 - m) * g
        else:
            lo = max(0, self.offset - self.local)
            hi = min(span, self.offset + self.local)
            self.offset = lo + int(np.argmax(explained[lo : hi + 1]))
        s = self.offset
        cleaned = x - self.gain * r[s : s + n]
        if float(cleaned @ cleaned) > frame_energy:
            # The echo at this delay is not in the frame (a sentence whose echo has not arrived
            # yet, its delay not found): subtracting it would put the coach's voice in.
            return mic
        return np.clip(np.rint(cleaned), -32768, 32767).astype(np.int16)

    def _believed(self, g: float, share: float) -> bool:
        """Whether a frame's fitted gain `g` (of its best delay, explaining `share` of the
        frame) may move the delay and the gain."""
        if self.gain == 0.0:
            return True  # nothing learned yet
        if 1.0 / self.gain_band <= g / self.gain <= self.gain_band:
            self._doubted = 0
            return True
        if share < self.relock:
            return False
        self._doubted += 1
        if self._doubted < self.relearn_frames:
            return False
        self._doubted = 0
        self.gain = 0.0  # learned afresh from this fit
        return True
