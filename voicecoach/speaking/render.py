"""Sentences rendered to audio with pyttsx3, on one thread that owns the engine.

pyttsx3's espeak driver on Linux synthesizes a whole sentence and then shells out to `aplay`, which
cannot be interrupted and hides when sound actually plays. So each sentence is rendered to a WAV
with `save_to_file` (pyttsx3 is not thread-safe), read back, and handed to the speaker to play
through an output (voicecoach.speaking.output) it can cut.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import wave
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from voicecoach.config import MIN_VOLUME
from voicecoach.errors import VoicecoachError
from voicecoach.hearing.audio import SAMPLE_RATE, resample
from voicecoach.messages import SpeechAdjust
from voicecoach.scratch import scratch_dir

_LOGGER = logging.getLogger(__name__)

MIN_RATE, MAX_RATE = 90, 320
MAX_VOLUME = 1.0


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
