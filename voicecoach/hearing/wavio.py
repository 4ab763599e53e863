"""WAV files in, 16 kHz mono int16 out: what the recognizer takes, from any PCM WAV.

Standard library `wave` for the container, numpy for mixing and a windowed-sinc resampler.
"""

from __future__ import annotations

import logging
import math
import stat
import struct
import wave
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.errors import VoicecoachError

_LOGGER = logging.getLogger(__name__)

TARGET_RATE = 16000
"""Sample rate the Vosk models expect."""

_HALF_TAPS = 24
"""Zero crossings of the sinc kept on each side of a sample: more is sharper and slower."""
_KAISER_BETA = 8.0
"""Kaiser window shape: about 80 dB stop-band attenuation."""
_PASSBAND = 0.95
"""Cut-off as a fraction of the lower Nyquist frequency, leaving room for the transition band."""
_CHUNK = 16384
"""Most output samples computed per block."""
_CHUNK_TAPS = 1 << 20
"""Most taps (output samples times filter length) computed per block: bounds the memory of the
tap matrix. Downsampling 192 kHz to 16 kHz takes 606 taps per sample, and 16384 rows of them
were three arrays of 80 MB each."""
_MAX_PHASES = 4096
"""Largest number of distinct filter phases worth precomputing."""
_FORMAT_EXTENSIBLE = 0xFFFE
_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
"""KSDATAFORMAT_SUBTYPE_PCM as stored in an extensible format chunk."""


MIN_RATE = 8000
"""Lowest sample rate read: below it there is no speech to recognize (and a 1 Hz header would
ask for 16,000 output samples per input sample)."""
MAX_RATE = 192000
"""Highest sample rate read (studio recorders' highest)."""
MAX_SECONDS = 600.0
"""Longest file read: ten minutes, far more than any spoken command."""
_BLOCK_BYTES = 1 << 22
"""Bytes of frames read, mixed down and resampled at a time: memory stays bounded."""


SILENT_PEAK = 1.0
"""Samples within this many int16 steps of zero are silence (digital silence, at most dither)."""


def read_wav(
    path: Path | str,
    rate: int = TARGET_RATE,
    *,
    max_seconds: float = MAX_SECONDS,
    max_bytes: int | None = None,
    why: str = "",
) -> np.ndarray:
    """Read a PCM WAV of any rate, sample width and channel count as mono int16 at `rate`.

    Rates outside MIN_RATE to MAX_RATE, files longer than `max_seconds` and (with `max_bytes`)
    audio data larger than that are refused before any audio is read, `why` saying why that is
    enough; the frames are then read, mixed to mono and resampled block by block. A file that is
    silence from start to end (within SILENT_PEAK) is not resampled at all: it comes back as
    zeros of the length resampling would give.
    """
    path = Path(path)
    try:
        source = _open_pcm(path)
    except FileNotFoundError as exc:
        raise VoicecoachError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise VoicecoachError(f"{path}: is a directory, not a WAV file") from exc
    except PermissionError as exc:
        raise VoicecoachError(f"{path}: permission denied") from exc
    except RuntimeError:
        # wave's chunk reader, skipping a chunk that says it is larger than the file
        raise VoicecoachError(
            f"{path}: not a readable PCM WAV file (a chunk says it is larger than the file: "
            "cut off or damaged); convert it with `sox IN -b 16 OUT.wav`"
        ) from None
    except (wave.Error, EOFError, struct.error, ValueError) as exc:
        reason = str(exc) or "truncated file"
        raise VoicecoachError(
            f"{path}: not a readable PCM WAV file ({reason}); convert it with "
            "`sox IN -b 16 OUT.wav`"
        ) from exc
    except OSError as exc:
        raise VoicecoachError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with source:
        channels, width, source_rate = source.channels, source.width, source.rate
        if channels < 1 or source_rate < 1:
            raise VoicecoachError(
                f"{path}: WAV header says {channels} channel{'' if channels == 1 else 's'} "
                f"at {source_rate} Hz"
            )
        if not MIN_RATE <= source_rate <= MAX_RATE:
            raise VoicecoachError(
                f"{path}: sample rate {source_rate} Hz is outside {MIN_RATE} to {MAX_RATE} Hz; "
                f"convert it with `sox IN -r {TARGET_RATE} OUT.wav`"
            )
        seconds = source.frames / source_rate
        if seconds > max_seconds:
            raise VoicecoachError(
                f"{path}: {_duration(seconds)} of audio, more than the {_limit(max_seconds)} "
                f"voicecoach reads{why}; cut out the part with the command"
            )
        if width not in (1, 2, 3, 4):
            raise VoicecoachError(f"{path}: {8 * width}-bit samples are not supported")
        data_bytes = source.frames * channels * width
        if max_bytes is not None and data_bytes > max_bytes:
            raise VoicecoachError(
                f"{path}: {data_bytes / 1e6:.0f} MB of audio ({channels} channels of "
                f"{8 * width} bits at {source_rate} Hz), more than the {max_bytes / 1e6:.0f} MB "
                f"voicecoach reads{why}; cut out the command and mix it down with "
                f"`sox IN -r {TARGET_RATE} -c 1 -b 16 OUT.wav`"
            )
        resampler = Resampler(source_rate, rate)
        parts: list[np.ndarray] = []  # int16 at `rate`: a tenth of a 48 kHz stereo float copy
        silent: list[np.ndarray] | None = []  # the blocks held back while all is silence
        block = max(1, _BLOCK_BYTES // (channels * width))
        try:
            while frames := source.read(block):
                # A data chunk cut off inside its last frame: read up to that frame.
                frames = frames[: len(frames) - len(frames) % (channels * width)]
                if not frames:
                    break
                samples = _decode_pcm(frames, width, path)
                usable = len(samples) - len(samples) % channels
                mono = samples[:usable].reshape(-1, channels).mean(axis=1)
                if silent is not None:
                    silent.append(mono)
                    if not mono.size or np.max(np.abs(mono)) <= SILENT_PEAK:
                        continue
                    mono, silent = np.concatenate(silent), None
                parts.append(to_int16(resampler.feed(mono)))
        except (wave.Error, EOFError, OSError, RuntimeError) as exc:
            raise VoicecoachError(
                f"{path}: cannot read its audio ({exc or 'a chunk larger than the file'})"
            ) from None
        if silent is not None:
            received = sum(len(m) for m in silent)
            return np.zeros(_resampled_length(received, source_rate, rate), dtype=np.int16)
        parts.append(to_int16(resampler.finish()))
    out = np.concatenate(parts)
    _LOGGER.debug(
        "%s: %d Hz, %d ch, %d bit, %.2f s", path, source_rate, channels, 8 * width, len(out) / rate
    )
    return out


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds:.1f} seconds"


def _limit(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} seconds"


def _resampled_length(samples: int, source_rate: int, target_rate: int) -> int:
    """How many samples `resample` gives for `samples` input samples."""
    common = math.gcd(source_rate, target_rate)
    return samples * (target_rate // common) // (source_rate // common)


class _PcmSource:
    """The header values of a PCM WAV and its frames, read a block at a time."""

    def __init__(
        self, channels: int, width: int, rate: int, frames: int, read: Any, close: Any
    ) -> None:
        self.channels = channels
        self.width = width
        self.rate = rate
        self.frames = frames
        """Frames in the file: the header's count, but never more than the file can hold."""
        self.read = read
        self._close = close

    def __enter__(self) -> _PcmSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._close()


def _open_pcm(path: Path) -> _PcmSource:
    info = path.stat()
    # A pipe (`recognize <(sox in.mp3 -t wav -)`) has no size: its header alone says how long.
    size = info.st_size if stat.S_ISREG(info.st_mode) else None
    try:
        wav = wave.open(str(path), "rb")  # noqa: SIM115 - the returned source closes it
    except wave.Error as exc:
        # Python 3.11's wave reads format 1 only; sox, DAWs and recorders write 24-bit and
        # multichannel PCM as WAVE_FORMAT_EXTENSIBLE.
        if str(exc) != f"unknown format: {_FORMAT_EXTENSIBLE}":
            raise
        return _open_extensible(path, size)
    frame_bytes = max(1, wav.getnchannels() * wav.getsampwidth())
    return _PcmSource(
        wav.getnchannels(),
        wav.getsampwidth(),
        wav.getframerate(),
        wav.getnframes() if size is None else min(wav.getnframes(), size // frame_bytes),
        wav.readframes,
        wav.close,
    )


class _FrameReader:
    """Whole frames from an open file's data chunk, at most `frames` of them in all."""

    def __init__(self, file: Any, block_align: int, frames: int) -> None:
        self._file = file
        self._block_align = block_align
        self._left = frames

    def read(self, n: int) -> bytes:
        take = min(n, self._left)
        self._left -= take
        data = self._file.read(take * self._block_align)
        return data[: len(data) - len(data) % self._block_align]


def _skip(file: Any, count: int) -> None:
    """Move past `count` bytes, also in a pipe."""
    if file.seekable():
        file.seek(count, 1)
        return
    while count > 0 and (chunk := file.read(min(count, 1 << 20))):
        count -= len(chunk)


def _open_extensible(path: Path, size: int | None) -> _PcmSource:
    """A WAVE_FORMAT_EXTENSIBLE file whose sub-format is PCM (wave.Error if not)."""
    file = path.open("rb")
    try:
        _skip(file, 12)
        fmt: bytes | None = None
        while len(header := file.read(8)) == 8:
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"fmt ":
                fmt = file.read(min(chunk_size, 1024))
                _skip(file, chunk_size - len(fmt) + (chunk_size & 1))
                continue
            if chunk_id != b"data":
                _skip(file, chunk_size + (chunk_size & 1))  # chunks are padded to even sizes
                continue
            if fmt is None or len(fmt) < 40:
                raise wave.Error("extensible format chunk missing or too short")
            channels = int.from_bytes(fmt[2:4], "little")
            rate = int.from_bytes(fmt[4:8], "little")
            block_align = int.from_bytes(fmt[12:14], "little")
            if fmt[24:40] != _SUBTYPE_PCM:
                raise wave.Error(f"extensible sub-format {fmt[24:26].hex()} is not PCM")
            if channels < 1 or block_align < channels or block_align % channels:
                raise wave.Error(f"bad block size {block_align} for {channels} channels")
            # The container width: valid bits (e.g. 20 or 24 in 32) sit at its top end.
            width = block_align // channels
            frames = (chunk_size if size is None else min(chunk_size, size - file.tell())) // (
                block_align
            )
            reader = _FrameReader(file, block_align, frames)
            return _PcmSource(channels, width, rate, frames, reader.read, file.close)
        raise wave.Error("no data chunk")
    except BaseException:
        file.close()
        raise


def write_wav(path: Path | str, pcm: np.ndarray, rate: int = TARGET_RATE) -> Path:
    """Write mono int16 samples as a WAV file (tests and the benchmark use this)."""
    path = Path(path)
    data = to_int16(np.asarray(pcm, dtype=np.float64)) if pcm.dtype != np.int16 else pcm
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(data.astype("<i2").tobytes())
    return path


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Round and clip samples on the int16 scale."""
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling by a Kaiser-windowed sinc, for any ratio of rates.

    Each output sample is the windowed-sinc interpolation of the input around its exact
    position; when downsampling, the sinc is widened so that content above the new Nyquist
    frequency is filtered out instead of aliasing.
    """
    x = np.asarray(samples, dtype=np.float64)
    if source_rate == target_rate or len(x) == 0:
        return x.copy()
    resampler = Resampler(source_rate, target_rate)
    return np.concatenate([resampler.feed(x), resampler.finish()])


class Resampler:
    """`resample` a block at a time: feed input blocks, get the output they complete; the
    output is the same as resampling the whole signal at once, in bounded memory."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        # Rates are integers, so output positions k * source / target repeat their fractional
        # part every `up` samples: the tap weights for those phases are computed once.
        common = math.gcd(source_rate, target_rate)
        self.up, self.down = target_rate // common, source_rate // common
        self.cutoff = _PASSBAND * min(1.0, self.up / self.down)  # of the input's Nyquist
        self.half_width = int(np.ceil(_HALF_TAPS / self.cutoff))
        self.offsets = np.arange(-self.half_width + 1, self.half_width + 1)
        self.table: np.ndarray | None = None
        if self.up <= _MAX_PHASES:
            phase_frac = (np.arange(self.up) * self.down % self.up) / self.up
            self.table = _weights(
                phase_frac[:, None] - self.offsets[None, :], self.cutoff, self.half_width
            )
        self.same = source_rate == target_rate
        # Input kept from absolute index `start` on; before the signal, zeros.
        self.buffer = np.zeros(self.half_width)
        self.start = -self.half_width
        self.received = 0
        self.next_out = 0

    def feed(self, block: np.ndarray) -> np.ndarray:
        """The output samples whose taps the input so far covers."""
        block = np.asarray(block, dtype=np.float64)
        if self.same:
            self.received += len(block)
            return block.copy()
        self.buffer = np.concatenate([self.buffer, block])
        self.received += len(block)
        # Output k needs input up to k * down // up + half_width.
        last_in = self.start + len(self.buffer) - 1
        ready = max(0, ((last_in - self.half_width + 1) * self.up - 1) // self.down + 1)
        return self._emit(min(ready, self.received * self.up // self.down))

    def finish(self) -> np.ndarray:
        """The rest of the output, with zeros after the signal's end."""
        if self.same:
            return np.zeros(0)
        self.buffer = np.concatenate([self.buffer, np.zeros(self.half_width + 1)])
        return self._emit(self.received * self.up // self.down)

    def _emit(self, until: int) -> np.ndarray:
        up, down, half_width = self.up, self.down, self.half_width
        out = np.empty(max(0, until - self.next_out))
        rows = max(64, min(_CHUNK, _CHUNK_TAPS // len(self.offsets)))
        for first in range(self.next_out, until, rows):
            k = np.arange(first, min(first + rows, until), dtype=np.int64)
            base = k * down // up
            taps = base[:, None] + self.offsets[None, :] - self.start
            if self.table is not None:
                weights = self.table[k % up]
            else:
                frac = (k * down % up) / up
                weights = _weights(frac[:, None] - self.offsets[None, :], self.cutoff, half_width)
            out[first - self.next_out : first - self.next_out + len(k)] = np.einsum(
                "ij,ij->i", self.buffer[taps], weights
            )
        self.next_out = max(self.next_out, until)
        # Keep only what later output still needs.
        keep_from = self.next_out * down // up - half_width + 1
        if keep_from > self.start:
            self.buffer = self.buffer[keep_from - self.start :]
            self.start = keep_from
        return out


def _weights(dist: np.ndarray, cutoff: float, half_width: int) -> np.ndarray:
    """Kaiser-windowed sinc low-pass taps at distances `dist` (input samples) from a centre."""
    rel = np.clip(dist / half_width, -1.0, 1.0)
    window = np.i0(_KAISER_BETA * np.sqrt(1.0 - rel * rel)) / np.i0(_KAISER_BETA)
    return cutoff * np.sinc(cutoff * dist) * window


def _decode_pcm(frames: bytes, width: int, path: Path) -> np.ndarray:
    """Interleaved PCM bytes as float samples on the int16 scale."""
    if width == 1:  # unsigned 8-bit
        return (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(frames, dtype="<i2").astype(np.float64)
    if width == 3:
        raw = np.frombuffer(frames[: len(frames) - len(frames) % 3], dtype=np.uint8)
        raw = raw.reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(frames, dtype="<i4").astype(np.float64) / 65536.0
    raise VoicecoachError(f"{path}: {8 * width}-bit samples are not supported")
