"""The one interface every speech engine offers: a stream of 16 kHz mono int16 audio in,
`Utterance`s out.

The listener, the demo, `voicecoach recognize`, `start` and the benchmarks speak only to this
protocol; what is one engine's own (Vosk's phrase list and endpoint rules, PocketSphinx's
dictionary and grammar search) stays in that engine's module.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.messages import Utterance

FEED_SAMPLES = 4000
"""Samples fed per call when decoding a whole utterance (0.25 s), as a live stream would."""


@runtime_checkable
class CommandEngine(Protocol):
    """A grammar-restricted recognizer with rejection: what the coach listens with."""

    name: str
    """"vosk" or "pocketsphinx": said in logs, `recognize --json` and the transcript."""
    model_description: str
    """Which model it loaded, for the one line each listening command prints."""

    def accept(self, chunk: bytes) -> Utterance | None:
        """Feed 16 kHz mono int16 bytes; an Utterance when the engine itself ends one."""
        ...

    def partial(self) -> str:
        """Preliminary text of the utterance so far; never dispatched as an intent."""
        ...

    def flush(self) -> Utterance | None:
        """End the current utterance (the listener's end of speech, or the end of a file)."""
        ...

    def reset(self) -> None:
        """Forget any audio fed since the last utterance ended."""
        ...

    def decode(self, pcm: np.ndarray | bytes) -> Utterance:
        """Decode one whole utterance (e.g. a file), fed in live-sized chunks."""
        ...


def as_bytes(pcm: np.ndarray | bytes) -> bytes:
    """16-bit little-endian bytes of a sample array (or the bytes themselves)."""
    if isinstance(pcm, bytes | bytearray | memoryview):
        return bytes(pcm)
    array = np.asarray(pcm)
    if array.dtype != np.int16:
        raise VoicecoachError("audio for the recognizer must be 16-bit samples")
    return array.astype("<i2", copy=False).tobytes()


def decode_whole(engine: CommandEngine, pcm: np.ndarray | bytes, engine_name: str) -> Utterance:
    """`engine.decode` for engines that end utterances only when flushed: reset, feed `pcm` in
    live-sized chunks, flush; the decode time is the whole call's."""
    import dataclasses
    import time

    engine.reset()
    data = as_bytes(pcm)
    started = time.perf_counter()
    step = FEED_SAMPLES * 2
    for start in range(0, len(data), step):
        engine.accept(data[start : start + step])
    utterance = engine.flush()
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    if utterance is None:
        return Utterance("", None, 0.0, elapsed_ms, engine=engine_name)
    return dataclasses.replace(utterance, decode_ms=elapsed_ms)
