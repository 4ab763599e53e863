"""WAV files in, 16 kHz mono int16 out: what the recognizer takes, from any PCM WAV.

Standard library `wave` for the container, numpy for mixing and a windowed-sinc resampler.
"""

from __future__ import annotations

import logging
import math
import wave
from pathlib import Path

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
"""Output samples computed per block (bounds the memory of the tap matrix)."""
_MAX_PHASES = 4096
"""Largest number of distinct filter phases worth precomputing."""
_FORMAT_EXTENSIBLE = 0xFFFE
_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
"""KSDATAFORMAT_SUBTYPE_PCM as stored in an extensible format chunk."""


def read_wav(path: Path | str, rate: int = TARGET_RATE) -> np.ndarray:
    """Read a PCM WAV of any rate, sample width and channel count as mono int16 at `rate`."""
    path = Path(path)
    try:
        channels, width, source_rate, frames = _read_frames(path)
    except FileNotFoundError as exc:
        raise VoicecoachError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise VoicecoachError(f"{path}: is a directory, not a WAV file") from exc
    except PermissionError as exc:
        raise VoicecoachError(f"{path}: permission denied") from exc
    except (wave.Error, EOFError) as exc:
        reason = str(exc) or "truncated file"
        raise VoicecoachError(
            f"{path}: not a readable PCM WAV file ({reason}); convert it with "
            "`sox IN -b 16 OUT.wav`"
        ) from exc
    except OSError as exc:
        raise VoicecoachError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if channels < 1 or source_rate < 1:
        raise VoicecoachError(f"{path}: WAV header says {channels} channels at {source_rate} Hz")
    samples = _decode_pcm(frames, width, path)
    usable = len(samples) - len(samples) % channels
    mono = samples[:usable].reshape(-1, channels).mean(axis=1)
    out = resample(mono, source_rate, rate)
    _LOGGER.debug(
        "%s: %d Hz, %d ch, %d bit, %.2f s", path, source_rate, channels, 8 * width, len(out) / rate
    )
    return to_int16(out)


def _read_frames(path: Path) -> tuple[int, int, int, bytes]:
    """Channels, sample width in bytes, rate and the raw interleaved frames of a PCM WAV."""
    try:
        with wave.open(str(path), "rb") as wav:
            return (
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getframerate(),
                wav.readframes(wav.getnframes()),
            )
    except wave.Error as exc:
        # Python 3.11's wave reads format 1 only; sox, DAWs and recorders write 24-bit and
        # multichannel PCM as WAVE_FORMAT_EXTENSIBLE.
        if str(exc) != f"unknown format: {_FORMAT_EXTENSIBLE}":
            raise
    return _read_extensible(path.read_bytes())


def _read_extensible(data: bytes) -> tuple[int, int, int, bytes]:
    """The frames of a WAVE_FORMAT_EXTENSIBLE file whose sub-format is PCM (wave.Error if not)."""
    fmt: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
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
            return channels, width, rate, body[: len(body) - len(body) % block_align]
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    raise wave.Error("no data chunk")


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
    # Rates are integers, so output positions k * source / target repeat their fractional part
    # every `up` samples: the tap weights for those phases are computed once.
    common = math.gcd(source_rate, target_rate)
    up, down = target_rate // common, source_rate // common
    cutoff = _PASSBAND * min(1.0, up / down)  # relative to the input's Nyquist frequency
    half_width = int(np.ceil(_HALF_TAPS / cutoff))
    offsets = np.arange(-half_width + 1, half_width + 1)
    n_out = len(x) * up // down
    padded = np.concatenate([np.zeros(half_width), x, np.zeros(half_width + 1)])
    table: np.ndarray | None = None
    if up <= _MAX_PHASES:
        phase_frac = (np.arange(up) * down % up) / up
        table = _weights(phase_frac[:, None] - offsets[None, :], cutoff, half_width)
    out = np.empty(n_out)
    for start in range(0, n_out, _CHUNK):
        k = np.arange(start, min(start + _CHUNK, n_out), dtype=np.int64)
        base = k * down // up
        taps = base[:, None] + offsets[None, :] + half_width
        if table is not None:
            weights = table[k % up]
        else:
            frac = (k * down % up) / up
            weights = _weights(frac[:, None] - offsets[None, :], cutoff, half_width)
        out[start : start + len(k)] = np.einsum("ij,ij->i", padded[taps], weights)
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
