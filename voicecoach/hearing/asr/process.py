"""An engine decoding in a child process: its decode can neither hold this process's GIL nor
wait for it.

PocketSphinx's decode is one C call holding the GIL for 100 to 300 ms; in the coach's process
that stalls the speaker's output callback and every other thread. The fused engine asks it for
its hypothesis here instead: `submit` hands the audio over and returns at once, Whisper encodes
and transcribes meanwhile (on the other core), and `result` collects the hypothesis when the
candidates are scored.

The child is `python -m voicecoach.hearing.asr.process`, a fresh interpreter fed length-prefixed
pickles on its stdin and answering on its stdout (not multiprocessing: its spawn re-runs the
parent's main script, and a script without a main guard would start itself again and again). It
loads its engine while the parent loads Whisper, and it ends when its stdin closes, so it never
outlives the coach.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.messages import Intent, Utterance

STARTUP_TIMEOUT_S = 60.0
"""How long the child may take to load its engine (a second or so; a slow CI machine, more)."""
DECODE_TIMEOUT_S = 20.0
"""How long one decode may take before the child is taken for dead (a 6 s command decodes in
well under a second)."""
_HEADER = struct.Struct("<I")


def _write(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(fd: int, n: int, timeout_s: float | None) -> bytes:
    chunks: list[bytes] = []
    while n > 0:
        if timeout_s is not None and not select.select([fd], [], [], timeout_s)[0]:
            raise TimeoutError
        chunk = os.read(fd, n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read(fd: int, timeout_s: float | None = None) -> Any:
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, timeout_s))
    return pickle.loads(_read_exactly(fd, size, timeout_s))


def _serve() -> int:
    """The child: build the engine from the factory on stdin, then decode what arrives."""
    incoming = sys.stdin.buffer.fileno()
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers goes down the pipe
    try:
        factory = _read(incoming)
        engine = factory()
    except EOFError:
        return 0
    except Exception as exc:  # reported to the parent as one line, never a child traceback
        _write(out, ("error", f"{type(exc).__name__}: {exc}"))
        return 1
    _write(out, ("ready", engine.name))
    while True:
        try:
            pcm = _read(incoming)
        except EOFError:
            return 0
        utterance = engine.decode(np.frombuffer(pcm, dtype="<i2"))
        intent = utterance.intent
        _write(
            out,
            (
                utterance.text,
                (intent.name, dict(intent.slots)) if intent else None,
                utterance.confidence,
                utterance.decode_ms,
                utterance.rejected,
            ),
        )


class EngineProcess:
    """A CommandEngine's `decode`, in a child process: `submit(samples)` then `result()`.

    `factory` builds the engine in the child; it must be picklable (a class, a module-level
    function, or a functools.partial of one with picklable arguments).
    """

    decodes_without_gil = True

    def __init__(self, factory: Callable[[], Any]) -> None:
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "voicecoach.hearing.asr.process"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
            )
        except OSError as exc:
            raise VoicecoachError(f"cannot start the engine process: {exc}") from exc
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to_child = self._process.stdin
        self._from_child = self._process.stdout.fileno()
        self._lock = threading.Lock()
        self._pending = False
        self.name = ""
        self._send(factory)

    def wait_ready(self) -> None:
        """Block until the child has loaded its engine; a one-line error if it could not."""
        if self.name:
            return
        reply = self._receive(STARTUP_TIMEOUT_S, "load its engine")
        if reply[0] != "ready":
            self.close()
            raise VoicecoachError(f"the engine process could not start: {reply[1]}")
        self.name = str(reply[1])

    def submit(self, samples: np.ndarray) -> None:
        """Start decoding `samples` (16 kHz int16) in the child; returns at once."""
        self.wait_ready()
        with self._lock:
            if self._pending:  # a result nobody collected: drop it
                self._receive(DECODE_TIMEOUT_S, "decode")
            self._send(np.asarray(samples, dtype="<i2").tobytes())
            self._pending = True

    def result(self) -> Utterance:
        """The child's Utterance for the audio last submitted."""
        with self._lock:
            if not self._pending:
                raise VoicecoachError("no audio was submitted to the engine process")
            self._pending = False
            text, intent, confidence, decode_ms, rejected = self._receive(
                DECODE_TIMEOUT_S, "decode"
            )
        return Utterance(
            text,
            Intent(intent[0], intent[1]) if intent else None,
            confidence,
            decode_ms,
            engine=self.name,
            rejected=rejected,
        )

    def __call__(self, samples: np.ndarray) -> Utterance:
        self.submit(samples)
        return self.result()

    def _send(self, message: Any) -> None:
        try:
            _write(self._to_child, message)  # type: ignore[arg-type]
        except (BrokenPipeError, OSError) as exc:
            raise VoicecoachError(
                f"the engine process ended (exit status {self._process.poll()})"
            ) from exc

    def _receive(self, timeout_s: float, what: str) -> Any:
        try:
            return _read(self._from_child, timeout_s)
        except TimeoutError as exc:
            raise VoicecoachError(
                f"the engine process did not {what} in {timeout_s:.0f} s"
            ) from exc
        except (EOFError, OSError) as exc:
            raise VoicecoachError(
                f"the engine process ended (exit status {self._process.poll()}) before it "
                f"could {what}"
            ) from exc

    def close(self) -> None:
        """End the child: its stdin closes, it returns; killed if it does not within 2 s."""
        with contextlib.suppress(OSError):
            self._to_child.close()
        try:
            self._process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=2.0)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __del__(self) -> None:
        if getattr(self, "_process", None) is not None and self._process.poll() is None:
            # At interpreter exit, anything may already be gone.
            with contextlib.suppress(Exception):
                self.close()


if __name__ == "__main__":
    sys.exit(_serve())
