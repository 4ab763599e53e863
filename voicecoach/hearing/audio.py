"""Microphone adapter: a sounddevice input stream delivering 16 kHz mono int16 frames.

The audio callback only copies bytes into a bounded queue (overflows are counted and logged, never
raised); resampling, when the device refuses 16 kHz, happens on the consumer's side.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from voicecoach.errors import VoicecoachError

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
"""What the recognizer wants, and what every audio path in voicecoach carries."""
FRAME_S = 0.02
"""20 ms blocks: small enough for a 300 ms end-of-speech budget."""

LOST_AFTER_S = 1.5
"""Silence from the input device this long (no callback at all, not quiet audio) means it is
gone: a running stream delivers a block every 20 ms."""

NO_INPUT_MESSAGE = (
    "no microphone found (this machine has no audio input device); "
    "run `voicecoach demo` to see a whole session without one"
)


class DeviceLost(VoicecoachError):
    """The input device stopped delivering audio mid-session (unplugged, sound server gone)."""


def _lowpass(src_rate: int, dst_rate: int) -> np.ndarray | None:
    """The anti-aliasing windowed-sinc kernel (65 taps) for going down to dst_rate, else None."""
    if dst_rate >= src_rate:
        return None
    cutoff = 0.45 * dst_rate / src_rate  # cycles per input sample, a little under Nyquist
    taps = np.arange(-32, 33, dtype=np.float32)
    kernel = 2 * cutoff * np.sinc(2 * cutoff * taps) * np.hanning(taps.size).astype(np.float32)
    return kernel / kernel.sum()


def _to_int16(y: np.ndarray) -> np.ndarray:
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample a whole int16 mono signal: windowed-sinc low-pass when going down, then
    interpolation. For a stream cut into blocks use StreamResampler."""
    if src_rate == dst_rate or samples.size == 0:
        return samples.astype(np.int16, copy=False)
    x = samples.astype(np.float32)
    kernel = _lowpass(src_rate, dst_rate)
    if kernel is not None:
        x = np.convolve(x, kernel, mode="same")
    n_out = round(samples.size * dst_rate / src_rate)
    positions = np.arange(n_out, dtype=np.float64) * (src_rate / dst_rate)
    y = np.interp(positions, np.arange(samples.size, dtype=np.float64), x)
    return _to_int16(y)


class StreamResampler:
    """Resamples a stream block by block as if it were one signal.

    `resample` on each 20 ms block on its own would filter every block's edges against zeros
    and restart the interpolation phase: a 50 Hz buzz (-30 dB at 6 kHz) in what the recognizer
    hears. Here the filter's context and the phase carry over from block to block; the price is
    a fixed delay of (half the filter + 1 - one output step) input samples, under a millisecond.
    Each block of N input samples gives N * dst / src output samples (on average, when that is
    not a whole number).
    """

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self._step = src_rate / dst_rate
        self._kernel = _lowpass(src_rate, dst_rate)
        self._half = 0 if self._kernel is None else self._kernel.size // 2
        # Leading zeros and a first output one step in: the filter and the interpolation have
        # the context they need, and a first block of N samples gives its full share of output.
        self._buf = np.zeros(2 * self._half + 1, dtype=np.float32)
        self._pos = self._half + self._step
        """Where the next output sample falls, in samples of `_buf`."""

    def __call__(self, block: np.ndarray) -> np.ndarray:
        self._buf = np.concatenate([self._buf, block.astype(np.float32)])
        if self._kernel is not None:
            # filtered[j] is the low-passed signal at _buf index j + half.
            filtered = np.convolve(self._buf, self._kernel, mode="valid")
        else:
            filtered = self._buf
        last = self._half + filtered.size - 1
        n = max(0, int(np.floor((last - self._pos) / self._step + 1e-9)) + 1)
        positions = self._pos + self._step * np.arange(n, dtype=np.float64)
        grid = np.arange(self._half, last + 1, dtype=np.float64)
        y = np.interp(positions, grid, filtered)
        self._pos += self._step * n
        # Keep what the next output samples still need: the filter's reach before them.
        drop = int(self._pos) - self._half
        self._buf = self._buf[drop:]
        self._pos -= drop
        return _to_int16(y)


@dataclass
class CaptureClock:
    """Stamps captured blocks by their sample count, so consecutive blocks are contiguous in time.

    A block's callback time is when it was handed over, which is its capture time plus a delay
    that jitters: through PulseAudio's ALSA plugin it crept up by 0.1 ms a block and fell back
    by up to 15 ms, so blocks stamped by their callbacks sat up to ±13 ms off a straight line,
    and the echo canceller, which matches each block against what the coach played at the
    block's stamp, saw the echo's delay change from block to block. Here block k ends at
    `base + samples_so_far / rate`, where `base` follows the lower envelope of
    `callback_time - samples_so_far / rate`: a callback is never early, so the least delay seen
    is the truest. `base` drops at once to a smaller delay and rises by at most `drift` seconds
    per second of audio, which follows a device clock running slow against the system's (the
    room's runs 0.05% slow) and a block lost in the device.
    """

    rate: int = SAMPLE_RATE
    drift: float = 1e-3
    samples: int = 0
    base: float | None = None

    def stamp(self, callback_time: float, frames: int) -> float:
        """The clock time of the last sample of a block of `frames` samples handed over at
        `callback_time` (already mapped from the device's ADC time where that is known)."""
        self.samples += frames
        seen = callback_time - self.samples / self.rate
        if self.base is None:
            self.base = seen
        else:
            self.base = min(seen, self.base + self.drift * frames / self.rate)
        return self.base + self.samples / self.rate


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    inputs: int
    outputs: int
    default_rate: float


def list_devices() -> list[Device]:
    """All audio devices PortAudio knows; empty when there are none (or no PortAudio)."""
    try:
        import sounddevice as sd

        raw: Any = sd.query_devices()
    except Exception as exc:  # no PortAudio library, or no devices at all
        _LOGGER.info("no audio devices: %s", exc)
        return []
    return [
        Device(
            index=i,
            name=str(d["name"]),
            inputs=int(d["max_input_channels"]),
            outputs=int(d["max_output_channels"]),
            default_rate=float(d["default_samplerate"]),
        )
        for i, d in enumerate(raw)
    ]


def format_devices(devices: list[Device] | None = None) -> str:
    devices = list_devices() if devices is None else devices
    if not devices:
        return "No audio devices found. `voicecoach demo` runs a whole session without any."
    lines = [f"{'#':>3}  {'in':>3} {'out':>3}  {'rate':>6}  name"]
    for d in devices:
        lines.append(
            f"{d.index:>3}  {d.inputs:>3} {d.outputs:>3}  {d.default_rate:>6.0f}  {d.name}"
        )
    return "\n".join(lines)


def choose_input(spec: str | int | None, devices: list[Device] | None = None) -> Device:
    """The input device named by `spec` (index or part of a name), or the first with inputs."""
    from voicecoach.shown import quoted

    devices = list_devices() if devices is None else devices
    inputs = [d for d in devices if d.inputs > 0]
    if not inputs:
        raise VoicecoachError(NO_INPUT_MESSAGE)
    if spec is None or spec == "":
        wanted = _default_input_index()
        return next((d for d in inputs if d.index == wanted), inputs[0])
    text = str(spec)
    if text.isdigit():
        for d in inputs:
            if d.index == int(text):
                return d
        raise VoicecoachError(
            f"input device {quoted(text)} not found; `voicecoach devices` lists them"
        )
    matches = [d for d in inputs if text.lower() in d.name.lower()]
    if not matches:
        raise VoicecoachError(
            f"no input device named like {quoted(text)}; `voicecoach devices` lists them"
        )
    return matches[0]


NO_OUTPUT_MESSAGE = (
    "no speakers found (this machine has no audio output device): the coach could not speak; "
    "run `voicecoach demo` to see a whole session without one"
)


def choose_output(spec: str | int | None, devices: list[Device] | None = None) -> Device:
    """The output device named by `spec` (index or part of a name), or the default output."""
    from voicecoach.shown import quoted

    devices = list_devices() if devices is None else devices
    outputs = [d for d in devices if d.outputs > 0]
    if not outputs:
        raise VoicecoachError(NO_OUTPUT_MESSAGE)
    if spec is None or spec == "":
        wanted = _default_index(1)
        return next((d for d in outputs if d.index == wanted), outputs[0])
    text = str(spec)
    if text.isdigit():
        for d in outputs:
            if d.index == int(text):
                return d
        raise VoicecoachError(
            f"output device {quoted(text)} not found; `voicecoach devices` lists them"
        )
    matches = [d for d in outputs if text.lower() in d.name.lower()]
    if not matches:
        raise VoicecoachError(
            f"no output device named like {quoted(text)}; `voicecoach devices` lists them"
        )
    return matches[0]


def check_output(spec: str | int | None, rate: int = SAMPLE_RATE) -> Device:
    """The output device the coach will speak through, checked to open at `rate` (mono int16),
    before a session starts: a coach that cannot speak is refused in one line."""
    device = choose_output(spec)
    try:
        import sounddevice as sd

        sd.check_output_settings(device=device.index, channels=1, dtype="int16", samplerate=rate)
    except Exception as exc:
        raise VoicecoachError(
            f"could not open output device {device.name!r} at {rate} Hz: {exc}; "
            "`voicecoach devices` lists the others"
        ) from None
    return device


def _default_input_index() -> int | None:
    return _default_index(0)


def _default_index(which: int) -> int | None:
    """sounddevice's default input (0) or output (1) device index, if it has one."""
    try:
        import sounddevice as sd

        index = sd.default.device[which]
    except Exception:
        return None
    return int(index) if index is not None and int(index) >= 0 else None


class Microphone:
    """Captures 16 kHz mono int16 frames; iterate `frames()` from the listener thread."""

    def __init__(
        self, device: Device, *, frame_s: float = FRAME_S, max_queued_s: float = 5.0
    ) -> None:
        self.device = device
        self.rate = SAMPLE_RATE
        self.overflows = 0
        self.dropped_blocks = 0
        self._stream: Any = None
        self._frame_s = frame_s
        self._queue: queue.Queue[tuple[bytes, float]] = queue.Queue(
            maxsize=max(4, round(max_queued_s / frame_s))
        )
        self._closed = threading.Event()
        self._stream_lock = threading.Lock()
        """Held while the stream is asked whether it is active (the listener's thread) and while
        it is closed (the main thread): PortAudio must not be asked about a stream it is freeing."""
        self._resampler: StreamResampler | None = None
        self._capture_clock = CaptureClock()
        self.lost_after_s = LOST_AFTER_S
        self._last_block = time.monotonic()

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # Runs on PortAudio's thread: copy and go, never block.
        now = time.monotonic()
        self._last_block = now
        if status and status.input_overflow:
            self.overflows += 1
        # Stamp the block with when its last sample was captured (the ADC time, mapped onto the
        # monotonic clock): the echo reference is stamped the same way on the output side.
        try:
            age = float(time_info.currentTime) - float(time_info.inputBufferAdcTime)
        except (AttributeError, TypeError, ValueError):
            age = -1.0
        t_end = now - age + frames / self.rate if 0.0 <= age < 1.0 else now
        # Never after now: PulseAudio's ALSA plugin reports the ADC time as the callback's own
        # time, which would stamp each block a whole block (20 ms) in the future.
        t_end = min(t_end, now)
        # Stamped by sample count (blocks lost from a full queue below still count).
        t_end = self._capture_clock.stamp(t_end, frames)
        try:
            self._queue.put_nowait((bytes(indata), t_end))
        except queue.Full:
            self.dropped_blocks += 1

    def start(self) -> None:
        import sounddevice as sd

        try:
            sd.check_input_settings(
                device=self.device.index, channels=1, dtype="int16", samplerate=SAMPLE_RATE
            )
            self.rate = SAMPLE_RATE
        except Exception:
            self.rate = round(self.device.default_rate)
            _LOGGER.info(
                "device %r refuses %d Hz; capturing at %d Hz and resampling",
                self.device.name,
                SAMPLE_RATE,
                self.rate,
            )
        try:
            self._capture_clock = CaptureClock(rate=self.rate)
            self._stream = sd.RawInputStream(
                samplerate=self.rate,
                blocksize=round(self.rate * self._frame_s),
                device=self.device.index,
                channels=1,
                dtype="int16",
                callback=self._callback,
            )
            self._stream.start()
            self._last_block = time.monotonic()
        except Exception as exc:
            raise VoicecoachError(
                f"could not open input device {self.device.name!r}: {exc}; "
                "`voicecoach devices` lists the others"
            ) from exc

    def frames(self, timeout: float = 0.5) -> Iterator[tuple[np.ndarray, float]]:
        """(16 kHz int16 frame, monotonic time of its last sample) until closed; an empty frame
        when nothing arrived in `timeout`. Raises DeviceLost once the stream has stopped
        delivering (its device or sound server is gone).

        What was captured before the first frame is asked for (while the speech model loads,
        which can take longer than the queue holds) is stale: it is dropped, and the blocks
        that found the queue full then are not reported as lost.
        """
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self.overflows = self.dropped_blocks = 0
        last_reported = 0
        while not self._closed.is_set():
            try:
                block, t_end = self._queue.get(timeout=timeout)
            except queue.Empty:
                self._check_alive()
                yield np.zeros(0, dtype=np.int16), time.monotonic()
                continue
            lost = self.overflows + self.dropped_blocks
            if lost > last_reported:
                _LOGGER.warning(
                    "microphone lost audio: %d overflows, %d blocks dropped (queue full)",
                    self.overflows,
                    self.dropped_blocks,
                )
                last_reported = lost
            samples = np.frombuffer(block, dtype=np.int16)
            if self.rate != SAMPLE_RATE:
                if self._resampler is None:
                    self._resampler = StreamResampler(self.rate, SAMPLE_RATE)
                samples = self._resampler(samples)
            yield samples, t_end

    def _check_alive(self) -> None:
        with self._stream_lock:
            stream = self._stream
            if stream is None or self._closed.is_set():
                return
            silent_s = time.monotonic() - self._last_block
            try:
                active = bool(stream.active)
            except Exception:
                active = False
        if not active or silent_s >= self.lost_after_s:
            _LOGGER.warning(
                "input %r delivered nothing for %.1f s (stream active: %s)",
                self.device.name,
                silent_s,
                active,
            )
            raise DeviceLost(
                f"the microphone ({self.device.name}) stopped delivering sound: "
                "its device or the sound server went away"
            )

    def close(self) -> None:
        """Stop and close the stream. Stopped first: Pa_StopStream joins PortAudio's thread,
        where closing a stream that is still running would cancel it mid-callback."""
        self._closed.set()
        with self._stream_lock:
            stream, self._stream = self._stream, None
            if stream is not None:
                try:
                    stream.stop()
                    stream.close()
                except Exception as exc:
                    _LOGGER.info("closing microphone: %s", exc)


def open_microphone(spec: str | int | None) -> Microphone:
    """Choose and start the input; no input device gives one clear VoicecoachError."""
    mic = Microphone(choose_input(spec))
    mic.start()
    return mic
