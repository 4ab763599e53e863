"""Whether a stretch of audio holds voiced speech at all: a pitch-strength check, pure numpy.

Every command has vowels, and vowels are voiced: periodic at the speaker's pitch. Noise the
microphone hears (a fan, a rustle, digital silence with a microphone's floor added) is not, yet a
grammar search maps it onto the shortest command it has ("ow", a pain word). A frame is voiced
when its normalized autocorrelation peaks at a lag between MIN_PITCH_HZ and MAX_PITCH_HZ above
VOICED_PEAK; a command needs at least MIN_VOICED_S of such frames. Whispered speech is not voiced
and is not heard as a command either.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.03
HOP_S = 0.01
MIN_PITCH_HZ = 60.0
MAX_PITCH_HZ = 400.0
VOICED_PEAK = 0.5
"""Normalized autocorrelation at the pitch lag: vowels in espeak-ng's voices and in recorded
speech sit well above it, white noise near 0.1."""
MIN_VOICED_S = 0.08
"""The shortest command ("ow", "stop") has a vowel of at least about this length."""


def voiced_seconds(pcm: np.ndarray, sample_rate: int) -> float:
    """How many seconds of `pcm` (mono) are voiced frames."""
    x = np.asarray(pcm, dtype=np.float64)
    frame, hop = round(FRAME_S * sample_rate), round(HOP_S * sample_rate)
    if x.size < frame:
        return 0.0
    n = 1 + (x.size - frame) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop][:n]
    frames = frames - frames.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * frame)))
    spectrum = np.fft.rfft(frames, size, axis=1)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size, axis=1)[:, :frame]
    energy = acf[:, 0]
    lo = int(sample_rate / MAX_PITCH_HZ)
    hi = min(frame - 1, int(sample_rate / MIN_PITCH_HZ))
    # Normalized by the energy of the overlapping part, so long lags are not penalized.
    overlap = (frame - np.arange(lo, hi + 1)) / frame
    with np.errstate(divide="ignore", invalid="ignore"):
        peak = np.max(acf[:, lo : hi + 1] / (energy[:, None] * overlap[None, :]), axis=1)
    voiced = np.where(energy > 0, peak, 0.0) >= VOICED_PEAK
    return float(np.count_nonzero(voiced) * HOP_S)


def has_voiced_speech(pcm: np.ndarray, sample_rate: int) -> bool:
    """Whether `pcm` holds at least MIN_VOICED_S of voiced frames."""
    return voiced_seconds(pcm, sample_rate) >= MIN_VOICED_S
