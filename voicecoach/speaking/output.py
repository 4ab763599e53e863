"""Playing one sentence at a time through sounddevice, interruptibly, with the time its first
sample reaches the device.

Played this way (not through pyttsx3's own `aplay`), a sentence can be cut within about 0.1 s,
its start and end are known to the millisecond, and what was played can be kept as the echo
reference.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

from voicecoach.clock import Clock
from voicecoach.speaking.render import TtsError

_LOGGER = logging.getLogger(__name__)

OUTPUT_LATENCY_S = 0.4
"""The output stream's buffer. It must outlast the longest stretch the callback can be kept
from running: a PocketSphinx decode is one C call that holds the GIL for 150 to 300 ms, and
with 0.1 s every barge-in decoded over the coach underran ("underrun occurred" from ALSA, 12 in
8 barge-ins in the room). Each gap shifted the coach's voice against its echo reference, and
the canceller left a 60 to 200 ms burst that was decoded as "quit" (once taken for "stop").
With 0.4 s: no underrun and no burst in 16 barge-ins. A cut still silences the coach within
about 0.1 s (the stream is aborted, its buffer dropped), and the first sample still plays
within about 50 ms of the play call."""


GIL_FREE_OUTPUT_LATENCY_S = 0.15
"""The output buffer when nothing in the process holds the GIL for long (the listener's engine
decodes without it: Whisper on CTranslate2, PocketSphinx in its own process). A shorter buffer
is what lets the coach's voice dip soon after the person starts talking over it (`DUCK_GAIN`):
a change of gain reaches the room one buffer later."""


class AudioOutput(Protocol):
    """Plays one sentence at a time without blocking.

    `play` returns the clock time of the first sample; `on_done(end_time, interrupted)` is called
    once, from any thread, when it ends or is cut.
    """

    def play(
        self, samples: np.ndarray, sample_rate: int, on_done: Callable[[float, bool], None]
    ) -> float: ...

    def cut(self) -> None: ...

    def close(self) -> None: ...


class _Playback:
    """One sentence's stream: cut on request, and ended (stopped, closed, reported) exactly once."""

    def __init__(self) -> None:
        self.cut = threading.Event()
        self.abandoned = threading.Event()
        """Not ours to report any more (play() raised, or the watchdog took it down)."""
        self.ending = threading.Lock()
        """Taken by whoever ends the stream; the others leave it alone."""
        self.ended = threading.Event()
        """Set once the stream is closed (and its end reported): no PortAudio call of its own is
        left running on any thread."""
        self.take_down: Callable[[], None] = self.ended.set
        """Abort and close the stream now, reporting its end (what the watchdog does)."""


class SoundDeviceOutput:
    """Plays through a sounddevice OutputStream; its callback reports the DAC time of sample one.

    How a stream is ended matters to the whole process. PortAudio's ALSA host calls the
    finished callback on its own thread, and a stream whose callback has returned is not yet
    "stopped": Pa_AbortStream, and Pa_CloseStream on such a stream, pthread_cancel that thread,
    which may still be running Python (the finished callback, or waiting for the GIL). So a
    sentence that ends is stopped (Pa_StopStream: PortAudio joins its thread, it never cancels
    it) and then closed, on a thread of ours; only a stream that never started or that stalled
    (its device gone) is aborted. `close` waits until the last stream is closed: sounddevice's
    atexit handler calls Pa_Terminate, which closes whatever is still open, and when the process
    exited just after a sentence was cut (SIGTERM mid-sentence) that raced our own close of the
    same stream: two threads stopping and freeing one stream, which hung the exit in Pa_Terminate
    (joining a thread already joined) or aborted it (SIGABRT: libpulse's "Assertion
    'pthread_mutex_destroy(&m->mutex) == 0' failed ... pa_mutex_free()"); bench/output_exit.py
    measures it.
    """

    def __init__(
        self,
        clock: Clock,
        device: int | str | None = None,
        *,
        start_timeout_s: float = 1.0,
        stall_margin_s: float = 2.0,
        close_timeout_s: float = 3.0,
        latency_s: float = OUTPUT_LATENCY_S,
    ) -> None:
        self._clock = clock
        self._device = device
        self.latency_s = latency_s
        """The output stream's buffer (OUTPUT_LATENCY_S, or GIL_FREE_OUTPUT_LATENCY_S)."""
        self._gain = 1.0
        self._reported_gain = 1.0
        """The gain `_gain_applied` was last told of: what the device plays at."""
        self._gain_applied: Callable[[float, float], None] | None = None
        self._lock = threading.Lock()
        self._current: _Playback | None = None
        self._closed = False
        self.start_timeout_s = start_timeout_s
        """How long a stream may take to ask for its first buffer before it counts as failed."""
        self.stall_margin_s = stall_margin_s
        """How long past its length a sentence may go unfinished before its stream counts as
        stalled (a device gone mid-sentence) and is closed, so the next sentence can play."""
        self.close_timeout_s = close_timeout_s
        """How long `close` waits for a cut sentence's stream to end before taking it down."""

    def play(
        self, samples: np.ndarray, sample_rate: int, on_done: Callable[[float, bool], None]
    ) -> float:
        import sounddevice as sd

        pb = _Playback()
        with self._lock:
            if self._closed:
                raise TtsError("the audio output is closed")
            self._current = pb
        position = 0
        first_sample_at: list[float] = []
        started = threading.Event()
        data = samples.astype(np.int16)

        def callback(outdata: np.ndarray, frames: int, t: object, _status: object) -> None:
            nonlocal position
            if pb.abandoned.is_set():
                outdata.fill(0)
                raise sd.CallbackAbort
            gain = self._gain
            if not first_sample_at or gain != self._reported_gain:
                # DAC time of this buffer, mapped from the stream's clock onto ours.
                lead = t.outputBufferDacTime - t.currentTime  # type: ignore[attr-defined]
                dac_at = self._clock.now() + max(0.0, lead)
                if not first_sample_at:
                    first_sample_at.append(dac_at)
                    started.set()
                if gain != self._reported_gain:
                    # Reported by whichever stream plays first at the new gain: a change asked
                    # for as a sentence is cut (a barge-in) is heard from the next one's start.
                    self._reported_gain = gain
                    applied = self._gain_applied
                    if applied is not None:
                        applied(dac_at, gain)
            if pb.cut.is_set():
                outdata.fill(0)
                raise sd.CallbackAbort
            chunk = data[position : position + frames]
            if gain != 1.0:
                chunk = (chunk * gain).astype(np.int16)
            outdata[: len(chunk), 0] = chunk
            outdata[len(chunk) :, 0] = 0
            position += frames
            if position >= len(data):
                raise sd.CallbackStop

        def end(how: str, at: float | None, report: bool) -> None:
            """Stop ("stop") or abort ("abort") and close the stream, then report its end."""
            if not pb.ending.acquire(blocking=False):
                return  # someone else is ending it
            try:
                watchdog.cancel()
                try:
                    if how == "stop":
                        stream.stop()  # joins PortAudio's thread; never cancels it
                    else:
                        stream.abort()
                    stream.close()
                except Exception as exc:
                    _LOGGER.info("closing output stream: %s", exc)
                if report:
                    on_done(self._clock.now() if at is None else at, pb.cut.is_set())
            finally:
                pb.ended.set()

        def finished() -> None:
            # PortAudio calls this on its own thread, where the stream may not be stopped or
            # closed (that would join this very thread).
            if pb.abandoned.is_set():
                return  # play() raised, or the watchdog ended it: not ours to report
            threading.Thread(
                target=end, args=("stop", self._clock.now(), True), name="output-end", daemon=True
            ).start()

        def take_down() -> None:
            pb.abandoned.set()
            end("abort", None, True)

        def stalled() -> None:
            if pb.ending.locked():
                return
            _LOGGER.warning(
                "output stream stalled %.1f s past the end of its %.1f s sentence; closing it",
                self.stall_margin_s,
                len(data) / sample_rate,
            )
            take_down()

        watchdog = threading.Timer(len(data) / sample_rate + self.stall_margin_s, stalled)
        watchdog.daemon = True

        try:
            stream = sd.OutputStream(
                samplerate=sample_rate,
                channels=1,
                dtype="int16",
                device=self._device,
                callback=callback,
                finished_callback=finished,
                latency=self.latency_s,
            )
        except BaseException:
            pb.ended.set()
            raise
        pb.take_down = take_down
        try:
            stream.start()
            watchdog.start()
            if not started.wait(timeout=self.start_timeout_s):
                raise TtsError(
                    f"the output device did not start playing within {self.start_timeout_s:g} s"
                )
        except BaseException:
            # Without this the speaker would wait forever for a sentence that never ends (and
            # the session with it), and the stream would stay open.
            pb.abandoned.set()
            end("abort", None, False)
            raise
        return first_sample_at[0]

    def cut(self) -> None:
        with self._lock:
            current = self._current
        if current is not None:
            current.cut.set()

    def set_gain(self, gain: float, applied: Callable[[float, float], None] | None = None) -> None:
        """Play at `gain` (1: as rendered) from the next buffer on, this sentence and the next
        ones; `applied(at, gain)` is told the clock time its first sample at that gain reaches
        the device (from the output's own thread)."""
        self._gain_applied = applied
        self._gain = float(gain)

    def close(self) -> None:
        """Cut what is playing and return once its stream is closed and its end reported (or
        after `close_timeout_s`, having aborted it); no sentence plays after this."""
        with self._lock:
            self._closed = True
            current = self._current
        if current is None:
            return
        current.cut.set()
        if current.ended.wait(self.close_timeout_s):
            return
        _LOGGER.warning(
            "output stream did not end within %.1f s of being cut; aborting it",
            self.close_timeout_s,
        )
        current.take_down()
        if not current.ended.wait(self.close_timeout_s):
            _LOGGER.warning("output stream still not closed; leaving it to PortAudio's exit")
