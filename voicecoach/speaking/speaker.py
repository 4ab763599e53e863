"""Speech output adapter: renders sentences with pyttsx3 to audio and plays them interruptibly.

pyttsx3's espeak driver on Linux synthesizes a whole sentence and then shells out to `aplay`, which
cannot be interrupted and hides when sound actually plays. So each sentence is rendered to a WAV
with `save_to_file` on one thread that owns the engine (pyttsx3 is not thread-safe), and played
through an `AudioOutput` (sounddevice for real, a virtual timeline in the demo). Playback is then
interruptible, its start and end are known to the millisecond, and the played signal is kept as
the echo reference the listener uses to avoid hearing the coach.
"""

from __future__ import annotations

import collections
import logging
import queue
import re
import threading
import time
import wave
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from voicecoach.clock import Clock
from voicecoach.config import MIN_VOLUME
from voicecoach.errors import VoicecoachError
from voicecoach.hearing.audio import SAMPLE_RATE, resample
from voicecoach.messages import Cue, SessionInput, SpeechAdjust, SpeechFinished, SpeechStarted
from voicecoach.scratch import scratch_dir

_LOGGER = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 90, 320
MAX_FAILURES_IN_A_ROW = 3
"""Sentences that may fail to render or play in a row before the speaker stops trying."""
MAX_VOLUME = 1.0
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
DUCK_GAIN = 0.25
"""The coach's voice while the person talks over it (-12 dB): people expect a speaker to yield
as soon as they speak, and a quieter coach leaves less echo in what the engine hears. It comes
back to full when what they said does not cut the coach short."""


class TtsError(VoicecoachError):
    """The speech engine could not render a sentence."""


@dataclass(frozen=True)
class VoiceSettings:
    """How the coach speaks."""

    rate: int = 165
    """Words per minute."""
    volume: float = 0.9
    """0..1."""
    voice: str | None = None
    """pyttsx3 voice id (e.g. "gmw/en-us"); None keeps the engine's default."""

    def adjusted(self, adjust: SpeechAdjust) -> VoiceSettings:
        """These settings changed by slower/faster/louder/quieter, kept within usable bounds."""
        rate = min(MAX_RATE, max(MIN_RATE, self.rate + adjust.rate_delta))
        volume = min(MAX_VOLUME, max(MIN_VOLUME, round(self.volume + adjust.volume_delta, 3)))
        return replace(self, rate=rate, volume=volume)


@dataclass(frozen=True)
class RenderedSpeech:
    """One sentence as audio."""

    text: str
    samples: np.ndarray
    """int16 mono."""
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


class Renderer(Protocol):
    """Turns text into audio."""

    def render(self, text: str, settings: VoiceSettings) -> RenderedSpeech: ...


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        channels = wav.getnchannels()
        if wav.getsampwidth() != 2:
            raise TtsError(f"speech engine wrote {wav.getsampwidth() * 8}-bit audio; need 16-bit")
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return data.astype(np.int16), rate


class Pyttsx3Renderer:
    """Renders with pyttsx3 on one dedicated thread that owns the engine.

    runAndWait is known to hang when an engine is reused badly (pyttsx3 issues #126, #194; voicebox
    #8 for espeak). Each job waits with a timeout; on a hang the stuck thread is abandoned (it is a
    daemon) and a fresh thread with a fresh engine takes over, so one bad sentence costs one
    sentence, printed instead of spoken.
    """

    def __init__(
        self,
        *,
        output_rate: int = SAMPLE_RATE,
        timeout_s: float = 10.0,
        driver: str | None = None,
    ) -> None:
        self.output_rate = output_rate
        self.timeout_s = timeout_s
        self._driver = driver
        self._jobs: queue.Queue[tuple[str, VoiceSettings, Future[RenderedSpeech]] | None] = (
            queue.Queue()
        )
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self.restarts = 0
        self._tmpdir = scratch_dir("tts")  # named with our pid: a later start cleans it up

    # --- engine thread ---------------------------------------------------------------------

    def _ensure_thread(self) -> queue.Queue:
        """The running engine thread's job queue, starting a thread if there is none."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self._jobs
            self._generation += 1
            self._jobs = queue.Queue()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._jobs, self._generation),
                name=f"tts-engine-{self._generation}",
                daemon=True,
            )
            self._thread.start()
            return self._jobs

    def _new_engine(self) -> object:
        import pyttsx3
        import pyttsx3.drivers.espeak as espeak_driver

        # The espeak driver prints "Audio saved to ..." for every file; silence it in that module
        # only (redirecting sys.stdout would swallow other threads' output too).
        espeak_driver.print = lambda *_a, **_k: None  # type: ignore[attr-defined]
        # A new Engine rather than pyttsx3.init(), which would hand back a cached (possibly hung)
        # engine after a restart.
        return pyttsx3.Engine(self._driver)

    def _apply(self, engine: object, settings: VoiceSettings) -> None:
        props: dict[str, object] = {"rate": settings.rate, "volume": settings.volume}
        if settings.voice:
            props["voice"] = settings.voice
        if self._is_espeak(engine):
            # engine.setProperty queues the change until runAndWait, where the driver's stop()
            # sees espeak busy with it and Cancels it: the sentence comes out at the old rate
            # (seen here in about one render in five). Set it directly and let espeak drain.
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers.espeak import EspeakDriver

            for name, value in props.items():
                try:
                    EspeakDriver.setProperty(name, value)
                except ValueError as exc:  # e.g. a voice in config.toml this system lacks
                    _LOGGER.warning("speech setting %s=%r not applied: %s", name, value, exc)
            deadline = time.monotonic() + 2.0
            while _espeak.IsPlaying() and time.monotonic() < deadline:
                time.sleep(0.002)
        else:
            for name, value in props.items():
                engine.setProperty(name, value)  # type: ignore[attr-defined]

    @staticmethod
    def _is_espeak(engine: object) -> bool:
        return getattr(engine, "driver_name", None) == "espeak"

    def _run(self, jobs: queue.Queue, generation: int) -> None:
        try:
            engine = self._new_engine()
        except Exception as exc:
            _LOGGER.warning("speech engine failed to start: %s", exc)
            engine = None
        count = 0
        applied: VoiceSettings | None = None
        done = threading.Event()
        if engine is not None:
            engine.connect("finished-utterance", lambda **_kw: done.set())  # type: ignore[attr-defined]
        while True:
            job = jobs.get()
            if job is None:
                return
            text, settings, future = job
            if engine is None:
                future.set_exception(TtsError("the speech engine failed to start"))
                continue
            count += 1
            path = Path(self._tmpdir.name) / f"g{generation}-{count}.wav"
            try:
                if settings != applied:
                    self._apply(engine, settings)
                    applied = settings
                done.clear()
                engine.save_to_file(text, str(path))  # type: ignore[attr-defined]
                engine.runAndWait()  # type: ignore[attr-defined]
                # With espeak-ng in retrieval mode, Synth returns before the audio is complete and
                # runAndWait can return early: wait for the driver's own end-of-utterance notice,
                # sent after it has written the file.
                if not done.wait(self.timeout_s):
                    raise TtsError("the speech engine did not finish the sentence")
                samples, rate = _read_wav(path)
                future.set_result(RenderedSpeech(text, samples, rate))
            except Exception as exc:
                future.set_exception(exc)
            finally:
                path.unlink(missing_ok=True)

    # --- caller side ----------------------------------------------------------------------

    def render(self, text: str, settings: VoiceSettings) -> RenderedSpeech:
        """Render `text`; raises TtsError when the engine fails or hangs."""
        jobs = self._ensure_thread()
        future: Future[RenderedSpeech] = Future()
        started = time.monotonic()
        jobs.put((text, settings, future))
        try:
            speech = future.result(timeout=self.timeout_s)
        except TimeoutError:
            _LOGGER.warning(
                "speech engine hung for %.1f s on %r; restarting it", self.timeout_s, text
            )
            with self._lock:
                # Abandoned; the next render starts a fresh engine. Should the stuck one ever
                # come back, it finds the word to exit instead of waiting on its queue forever.
                jobs.put(None)
                self._thread = None
                self.restarts += 1
            raise TtsError("the speech engine hung") from None
        except TtsError:
            raise
        except Exception as exc:
            raise TtsError(f"the speech engine failed: {exc}") from exc
        if speech.samples.size == 0:
            raise TtsError(f"the speech engine produced no audio for {text!r}")
        samples = resample(speech.samples, speech.sample_rate, self.output_rate)
        _LOGGER.info(
            "rendered %d chars -> %.2f s of audio in %.0f ms",
            len(text),
            len(samples) / self.output_rate,
            (time.monotonic() - started) * 1000,
        )
        return RenderedSpeech(text, samples, self.output_rate)

    def close(self) -> None:
        """Stop the engine thread and delete the directory the sentences were rendered in."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._jobs.put(None)
        if thread is not None:
            # A healthy engine finishes its sentence and exits at once; a hung one is a daemon.
            thread.join(timeout=min(2.0, self.timeout_s))
        self._tmpdir.cleanup()


# --- echo reference ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayedSegment:
    """A stretch of coach audio as it was played."""

    start: float
    """Clock time of its first sample."""
    samples: np.ndarray
    sample_rate: int
    end: float | None = None
    """Clock time it stopped (None while playing)."""
    text: str = ""
    """The words it says: a barge-in made of these words is the coach's own echo."""


class EchoReference:
    """What the coach played and when: the listener's reference for not hearing itself."""

    def __init__(self, keep_s: float = 60.0) -> None:
        self._segments: collections.deque[PlayedSegment] = collections.deque()
        self._gains: collections.deque[tuple[float, float]] = collections.deque()
        """(clock time, gain) from which the output played at that gain (`gain_from`)."""
        self._lock = threading.Lock()
        self.keep_s = keep_s

    def gain_from(self, at: float, gain: float) -> None:
        """The output plays at `gain` from clock time `at` on (the coach ducked or restored):
        the reference is scaled alike, or the echo would be taken out four times over."""
        with self._lock:
            self._gains.append((at, gain))
            while len(self._gains) > 1 and self._gains[1][0] < at - self.keep_s:
                self._gains.popleft()

    def gain_at(self, t: float) -> float:
        """The output's gain at clock time `t` (1 before any change)."""
        with self._lock:
            gains = list(self._gains)
        gain = 1.0
        for at, g in gains:
            if at > t:
                break
            gain = g
        return gain

    def started(self, start: float, samples: np.ndarray, sample_rate: int, text: str = "") -> None:
        with self._lock:
            self._segments.append(PlayedSegment(start, samples, sample_rate, text=text))
            while self._segments and self._segments[0].start < start - self.keep_s:
                self._segments.popleft()

    def finished(self, end: float) -> None:
        with self._lock:
            if self._segments and self._segments[-1].end is None:
                self._segments[-1] = replace(self._segments[-1], end=end)

    def said_between(self, t0: float, t1: float, tail_s: float = 0.0) -> list[str]:
        """The texts of what the coach played between t0 and t1 (or stopped less than `tail_s`
        before t0)."""
        with self._lock:
            segments = list(self._segments)
        said = []
        for seg in segments:
            end = seg.end if seg.end is not None else seg.start + len(seg.samples) / seg.sample_rate
            if seg.start <= t1 and end + tail_s >= t0 and seg.text:
                said.append(seg.text)
        return said

    def speaking_at(self, t: float, tail_s: float = 0.0) -> bool:
        """Whether the coach was making sound at `t`, or stopped less than `tail_s` before it."""
        with self._lock:
            segments = list(self._segments)
        for seg in reversed(segments):
            end = seg.end if seg.end is not None else seg.start + len(seg.samples) / seg.sample_rate
            if seg.start <= t <= end + tail_s:
                return True
            if end + tail_s < t:
                return False
        return False

    def window(self, t0: float, t1: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
        """The reference signal between clock times t0 and t1 (zeros where nothing played)."""
        n = max(0, round((t1 - t0) * sample_rate))
        out = np.zeros(n, dtype=np.float32)
        with self._lock:
            segments = list(self._segments)
        for seg in segments:
            if seg.sample_rate != sample_rate:
                continue
            played = len(seg.samples)
            if seg.end is not None:
                played = min(played, max(0, round((seg.end - seg.start) * sample_rate)))
            a = round((seg.start - t0) * sample_rate)
            lo, hi = max(0, a), min(n, a + played)
            if lo < hi:
                out[lo:hi] += seg.samples[lo - a : hi - a]
        with self._lock:
            gains = list(self._gains)
        if gains and n:
            # The gain in force at t0, then each change within the window.
            envelope = np.full(n, self.gain_at(t0), dtype=np.float32)
            for at, g in gains:
                i = round((at - t0) * sample_rate)
                if 0 <= i < n:
                    envelope[i:] = g
            out *= envelope
        return out


# --- playback ----------------------------------------------------------------------------------


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


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=\S)")


def split_sentences(text: str) -> list[str]:
    """Sentences to render and play one by one: the first sample never waits for the last."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part] or [text]


@dataclass
class _Part:
    """One sentence of a cue's words."""

    cue: Cue | None
    text: str
    first: bool
    last: bool


class Speaker:
    """Says cues one after another through an AudioOutput; posts SpeechStarted/SpeechFinished.

    Speaking is driven by calls, not by a thread of its own: `say` renders and starts at once when
    idle, and the output's completion starts the next queued sentence. A cue's words are rendered
    sentence by sentence, so a long instruction starts as fast as a short one; the cue gets one
    SpeechStarted (its first sample) and one SpeechFinished (its last, or where it was cut).
    When rendering or playback fails the sentence is shown with `show_text` instead and the
    session goes on: the Started and Finished events are still posted, so a session waiting for
    the cue to end is not stuck.
    """

    def __init__(
        self,
        renderer: Renderer | None,
        output: AudioOutput | None,
        post: Callable[[SessionInput], None],
        clock: Clock,
        *,
        settings: VoiceSettings | None = None,
        show_text: Callable[[str], None] = print,
        reference: EchoReference | None = None,
    ) -> None:
        self._renderer = renderer
        self._output = output
        self._post = post
        self._clock = clock
        self.settings = settings or VoiceSettings()
        self._show_text = show_text
        self.reference = reference or EchoReference()
        self._pending: collections.deque[_Part] = collections.deque()
        self._playing: _Part | None = None
        self._lock = threading.RLock()
        self._closed = False
        self.failures = 0
        self._failed_in_a_row = 0
        self.last_cue_latency_ms: float | None = None
        """From `say` to the first sample of the latest cue that was played."""
        self.ducked = False
        """Whether the coach's voice is lowered under the person's (`duck`)."""
        self.on_gain: Callable[[float, float], None] | None = None
        """Told (clock time, gain) when a change of gain reaches the output device."""

    @property
    def speaking(self) -> bool:
        with self._lock:
            return self._playing is not None or bool(self._pending)

    def adjust(self, adjust: SpeechAdjust) -> VoiceSettings:
        with self._lock:
            self.settings = self.settings.adjusted(adjust)
            _LOGGER.info("voice now rate=%d volume=%.2f", self.settings.rate, self.settings.volume)
            return self.settings

    def say(self, text: str, cue: Cue | None = None) -> None:
        parts = split_sentences(text)
        with self._lock:
            for i, part in enumerate(parts):
                self._pending.append(_Part(cue, part, i == 0, i == len(parts) - 1))
            if self._playing is None:
                self._next()

    def interrupt(self) -> bool:
        """Cut the current sentence short and drop the queued ones; True if something was cut.
        What the coach says next is at full volume again."""
        with self._lock:
            self._pending.clear()
            playing = self._playing is not None
        if playing and self._output is not None:
            self._output.cut()
        self.duck(False)
        return playing

    def duck(self, ducked: bool) -> None:
        """Lower the coach's voice to DUCK_GAIN (the person is talking over it), or bring it
        back; the echo reference follows the output's gain. An output that cannot change its
        gain plays on as it was."""
        set_gain = getattr(self._output, "set_gain", None)
        with self._lock:
            if set_gain is None or ducked == self.ducked:
                return
            self.ducked = ducked
            set_gain(DUCK_GAIN if ducked else 1.0, self._gain_applied)
        _LOGGER.info("coach's voice %s", "lowered" if ducked else "back to full")

    def _gain_applied(self, at: float, gain: float) -> None:
        self.reference.gain_from(at, gain)
        if self.on_gain is not None:
            self.on_gain(at, gain)

    def _next(self) -> None:
        if self._closed:
            self._pending.clear()
            return
        while self._pending:
            part = self._pending.popleft()
            asked = self._clock.now()
            audio: RenderedSpeech | None = None
            if self._renderer is not None and self._output is not None and self.voiced:
                try:
                    audio = self._renderer.render(part.text, self.settings)
                except Exception as exc:
                    self._failed("speech", exc)
            if audio is not None:
                try:
                    self._playing = part
                    start = self._output.play(  # type: ignore[union-attr]
                        audio.samples,
                        audio.sample_rate,
                        lambda end, cut, p=part: self._done(end, cut, p),
                    )
                except Exception as exc:
                    self._playing = None
                    self._failed("playback", exc)
                else:
                    self._failed_in_a_row = 0
                    self.reference.started(start, audio.samples, audio.sample_rate, part.text)
                    if part.first:
                        self.last_cue_latency_ms = (start - asked) * 1000
                        self._post(SpeechStarted(now=start, cue=part.cue))
                    return
            # No audio: show the words and let the session carry on as if they were said.
            self._show_text(part.text)
            now = self._clock.now()
            if part.first:
                self._post(SpeechStarted(now=now, cue=part.cue))
            if part.last:
                self._post(SpeechFinished(now=now, cue=part.cue))

    @property
    def voiced(self) -> bool:
        """False once speech has failed MAX_FAILURES_IN_A_ROW times running: a hung engine costs
        its timeout on every sentence, and the session must not stall on each cue for it."""
        return self._failed_in_a_row < MAX_FAILURES_IN_A_ROW

    def _failed(self, what: str, exc: Exception) -> None:
        self.failures += 1
        self._failed_in_a_row += 1
        if not self.voiced:
            _LOGGER.warning(
                "%s failed %d times in a row (%s); showing the words only from now on",
                what,
                self._failed_in_a_row,
                exc,
            )
        elif self._failed_in_a_row == 1:
            _LOGGER.warning("%s failed, showing the words instead: %s", what, exc)
        else:
            _LOGGER.info("%s failed again (%d in a row): %s", what, self._failed_in_a_row, exc)

    def _done(self, end: float, interrupted: bool, part: _Part) -> None:
        with self._lock:
            self.reference.finished(end)
            self._playing = None
            if interrupted or part.last:
                self._post(SpeechFinished(now=end, cue=part.cue, interrupted=interrupted))
            self._next()
            if self._playing is None and not self._pending:
                self.duck(False)  # fallen silent: whatever it says next is at full voice

    def close(self) -> None:
        """Stop speaking for good: cut the sentence under way and wait for its stream to close
        (AudioOutput.close), then stop the renderer. Nothing is said after this."""
        with self._lock:
            self._closed = True
        self.interrupt()
        if self._output is not None:
            self._output.close()
        close = getattr(self._renderer, "close", None)
        if close is not None:
            close()
