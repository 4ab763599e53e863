"""Whisper's front end in numpy: the log-mel features its encoder takes, computed as Whisper's
own code does (Slaney mel filters, a centred 400-sample STFT, log10 floored 80 dB under the
peak), for the short windows the neural engine (voicecoach.hearing.asr.whisper) decodes in.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np

from voicecoach.hearing.wavio import TARGET_RATE

N_FFT = 400
HOP = 160
N_MELS = 80


def mel_filters(n_mels: int = N_MELS, sample_rate: int = TARGET_RATE, n_fft: int = N_FFT) -> Any:
    """Slaney-style mel filter bank (as librosa's default, which Whisper was trained with):
    triangles on the Slaney mel scale (linear below 1 kHz, logarithmic above), each normalized
    to unit area. Shape (n_mels, n_fft // 2 + 1)."""
    return _mel_filters(n_mels, sample_rate, n_fft)


@cache
def _mel_filters(n_mels: int, sample_rate: int, n_fft: int) -> Any:
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0

    def hz_to_mel(hz: float) -> float:
        if hz < min_log_hz:
            return hz / f_sp
        return min_log_mel + math.log(hz / min_log_hz) / logstep

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2)
    hz = np.where(
        mels < min_log_mel, mels * f_sp, min_log_hz * np.exp(logstep * (mels - min_log_mel))
    )
    fft_freqs = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    widths = np.diff(hz)
    ramps = hz[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz[2 : n_mels + 2] - hz[:n_mels]))[:, None]
    return weights.astype(np.float32)


def log_mel(audio: np.ndarray, n_mels: int = N_MELS) -> np.ndarray:
    """Whisper's features for float audio in [-1, 1] at 16 kHz: a centred STFT (400-sample Hann
    window, 160-sample hop, reflect padding, last frame dropped), power through the mel filters,
    log10, floored 8 (80 dB) under the peak, scaled to about [-1, 1]. Shape (n_mels, frames),
    frames = len(audio) // 160."""
    samples = np.asarray(audio, dtype=np.float32)
    padded = np.pad(samples, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = mel_filters(n_mels) @ power[:-1].T.astype(np.float32)
    logs = np.log10(np.maximum(mel, 1e-10))
    logs = np.maximum(logs, logs.max() - 8.0)
    return ((logs + 4.0) / 4.0).astype(np.float32)
