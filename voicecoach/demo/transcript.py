"""The demo's transcript: who said what at which session time, as transcript.txt and on the
terminal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

from voicecoach.clock import FakeClock
from voicecoach.errors import VoicecoachError
from voicecoach.shown import escape

_LOGGER = logging.getLogger(__name__)


def stamp(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class Transcript:
    """Timestamped lines, flushed one by one (a test may watch the file and act on a line).

    A line that cannot be written (a full disk) is one VoicecoachError naming the file; the
    transcript then writes nothing more, and closing it never raises."""

    def __init__(self, path: Path, clock: FakeClock, echo: TextIO | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: TextIO | None = path.open("w", encoding="utf-8", buffering=1)
        self._clock = clock
        self._echo = echo

    def _write(self, text: str) -> None:
        if self._file is None:
            return
        # One line: what the person says, or a routine's words, may reach a terminal.
        try:
            self._file.write(escape(text) + "\n")
            self._file.flush()
        except OSError as exc:
            self.close()
            raise output_error(self.path, exc) from None

    def line(self, text: str, at: float | None = None) -> None:
        entry = f"[{stamp(self._clock.now() if at is None else at)}] {text}"
        self._write(entry)
        if self._echo is not None:
            print(escape(entry), file=self._echo, flush=True)

    def note(self, text: str, *, echo: bool = True) -> None:
        self._write(f"# {text}")
        if echo and self._echo is not None:
            print(escape(text), file=self._echo, flush=True)

    def close(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except OSError as exc:  # its last lines could not be written; said by whoever wrote
            _LOGGER.info("closing %s: %s", self.path, exc)


def output_error(path: Path, exc: OSError) -> VoicecoachError:
    """A demo output file that cannot be written, in one line (a full disk named as such)."""
    from voicecoach.history import disk_full, free_bytes

    if disk_full(path, exc):
        free = free_bytes(path)
        left = f" ({free // 1024} kB free)" if free is not None else ""
        return VoicecoachError(f"cannot write {path}: the disk is full{left}; free some space")
    return VoicecoachError(f"cannot write {path}: {exc.strerror or exc}")
