"""The demo's virtual edges: a scheduler over a virtual clock, the waiter that jumps it to the
next thing due, and the output that plays the coach into a timeline written as session.wav."""

from __future__ import annotations

import heapq
import itertools
import queue
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voicecoach.clock import FakeClock
from voicecoach.errors import VoicecoachError
from voicecoach.hearing.audio import SAMPLE_RATE
from voicecoach.loop import Loop
from voicecoach.messages import (
    SessionInput,
    Tick,
)

MAX_GAP_S = 1.5
"""Silences longer than this are shortened in session.wav (the session itself is 20+ minutes)."""


class Scheduler:
    """Things due at virtual times, run in time order (ties in the order they were added)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cancelled: set[int] = set()

    def at(self, t: float, fn: Callable[[], None]) -> int:
        seq = next(self._seq)
        heapq.heappush(self._heap, (t, seq, fn))
        return seq

    def cancel(self, seq: int) -> None:
        self._cancelled.add(seq)

    def peek(self) -> float | None:
        while self._heap and self._heap[0][1] in self._cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> int:
        ran = 0
        while (t := self.peek()) is not None and t <= now:
            _, _, fn = heapq.heappop(self._heap)
            fn()
            ran += 1
        return ran


class VirtualWaiter:
    """The loop's waiter on virtual time: queued inputs first, then jump to what comes next."""

    def __init__(
        self,
        events: queue.Queue[SessionInput],
        clock: FakeClock,
        scheduler: Scheduler,
        speed: float,
    ) -> None:
        self._events = events
        self._clock = clock
        self._scheduler = scheduler
        self._speed = speed
        self.idle = False
        """Nothing queued, scheduled or due: the session cannot go on by itself."""
        self.interrupted: Callable[[], bool] = lambda: False
        """True once a signal asks the demo to end: the pacing stops waiting at once."""

    def _jump(self, t: float) -> None:
        now = self._clock.now()
        if t > now:
            if self._speed > 0:
                # In slices: a SIGTERM during a long wait ends the demo within 0.1 s.
                until = time.monotonic() + min(5.0, (t - now) / self._speed)
                while (left := until - time.monotonic()) > 0 and not self.interrupted():
                    time.sleep(min(0.1, left))
            self._clock.set(t)

    def next_event(self, deadline: float | None) -> SessionInput | None:
        try:
            return self._events.get_nowait()
        except queue.Empty:
            pass
        t_next = self._scheduler.peek()
        if t_next is not None and (deadline is None or t_next <= deadline):
            self._jump(t_next)
            self._scheduler.run_due(self._clock.now())
            return None
        if deadline is not None:
            self._jump(deadline)
            return Tick(now=self._clock.now())
        self.idle = True
        return None

    def drain(self, loop: Loop, until: Callable[[], bool]) -> None:
        """Keep time moving (speech ending, queued events) until `until()`."""
        while not until():
            event = self.next_event(None)
            if event is not None:
                loop.dispatch(event)
            elif self._scheduler.peek() is None and self._events.empty():
                return


@dataclass
class Segment:
    who: str
    start: float
    samples: np.ndarray
    end: float | None = None
    """Set when cut short."""


@dataclass
class Timeline:
    """Everything audible, placed in session time: written to session.wav at the end."""

    segments: list[Segment] = field(default_factory=list)

    def add(self, who: str, start: float, samples: np.ndarray) -> Segment:
        seg = Segment(who, start, samples)
        self.segments.append(seg)
        return seg

    def write(self, path: Path, max_gap_s: float = MAX_GAP_S) -> float:
        """Mix into a 16 kHz WAV, shortening long silences; returns its duration in seconds."""
        placed: list[tuple[int, np.ndarray]] = []
        offset = 0.0  # output time minus session time
        covered_until: float | None = None
        for seg in sorted(self.segments, key=lambda s: s.start):
            samples = seg.samples
            if seg.end is not None:
                samples = samples[: max(0, round((seg.end - seg.start) * SAMPLE_RATE))]
            if covered_until is None:
                offset = -seg.start + 0.3
            elif seg.start > covered_until:
                gap = seg.start - covered_until
                offset -= max(0.0, gap - max_gap_s)
            end = seg.start + len(samples) / SAMPLE_RATE
            covered_until = end if covered_until is None else max(covered_until, end)
            placed.append((max(0, round((seg.start + offset) * SAMPLE_RATE)), samples))
        total = max((a + len(s) for a, s in placed), default=0) + round(0.3 * SAMPLE_RATE)
        mix = np.zeros(total, dtype=np.int32)
        for a, s in placed:
            mix[a : a + len(s)] += s.astype(np.int32)
        out = np.clip(mix, -32768, 32767).astype("<i2")
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(out.tobytes())
        return total / SAMPLE_RATE


class VirtualOutput:
    """The speaker's sound card in the demo: a sentence "plays" on the timeline in session time."""

    def __init__(self, clock: FakeClock, scheduler: Scheduler, timeline: Timeline) -> None:
        self._clock = clock
        self._scheduler = scheduler
        self._timeline = timeline
        self._current: tuple[int, Segment, Callable[[float, bool], None]] | None = None

    def play(
        self, samples: np.ndarray, sample_rate: int, on_done: Callable[[float, bool], None]
    ) -> float:
        if sample_rate != SAMPLE_RATE:
            raise VoicecoachError(f"demo timeline is {SAMPLE_RATE} Hz, got {sample_rate}")
        start = self._clock.now()
        seg = self._timeline.add("coach", start, samples)
        end = start + len(samples) / sample_rate

        def finish() -> None:
            self._current = None
            on_done(end, False)

        self._current = (self._scheduler.at(end, finish), seg, on_done)
        return start

    def cut(self) -> None:
        if self._current is None:
            return
        seq, seg, on_done = self._current
        self._current = None
        self._scheduler.cancel(seq)
        seg.end = self._clock.now()
        on_done(seg.end, True)

    def close(self) -> None:
        pass
