"""WAV reading and resampling: any rate, width and channel count in, 16 kHz mono int16 out."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.wavio import TARGET_RATE, read_wav, resample, write_wav


def _write(path: Path, samples: np.ndarray, rate: int, width: int) -> Path:
    """samples: float array (frames, channels) on a -1..1 scale."""
    _frames, channels = samples.shape
    if width == 1:
        data = np.clip(np.rint(samples * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    elif width == 2:
        data = np.rint(samples * 32767).astype("<i2").tobytes()
    elif width == 3:
        ints = np.rint(samples * (2**23 - 1)).astype(np.int32).reshape(-1)
        raw = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
        data = raw.tobytes()
    else:
        data = np.rint(samples * (2**31 - 1)).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(data)
    return path


def _tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def _dominant_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_tones_keep_pitch_length_and_level(tmp_path: Path, rate: int, width: int) -> None:
    path = _write(tmp_path / "t.wav", _tone(440.0, rate, 1.0)[:, None], rate, width)
    pcm = read_wav(path)
    assert pcm.dtype == np.int16
    assert abs(len(pcm) - TARGET_RATE) <= 1
    assert abs(_dominant_hz(pcm, TARGET_RATE) - 440.0) < 2.0
    # RMS of a 0.5 sine is 0.354 of full scale; 8-bit quantization costs a little.
    rms = np.sqrt(np.mean(pcm[400:-400].astype(np.float64) ** 2)) / 32768
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    left = _tone(300.0, 44100, 0.5, 0.4)
    right = _tone(1000.0, 44100, 0.5, 0.4)
    path = _write(tmp_path / "st.wav", np.stack([left, right], axis=1), 44100, 2)
    pcm = read_wav(path).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(pcm))
    freqs = np.fft.rfftfreq(len(pcm), 1 / TARGET_RATE)
    for hz in (300.0, 1000.0):
        near = spectrum[np.abs(freqs - hz) < 5].max()
        assert near > 0.3 * spectrum.max()


def test_downsampling_filters_what_16k_cannot_hold(tmp_path: Path) -> None:
    # A 10 kHz tone is above 16 kHz's Nyquist frequency: it must vanish, not fold to 6 kHz.
    path = _write(tmp_path / "hi.wav", _tone(10000.0, 48000, 0.5)[:, None], 48000, 2)
    pcm = read_wav(path).astype(np.float64)
    assert np.abs(pcm[200:-200]).max() < 0.002 * 32768


def test_resampler_is_accurate_not_nearest_sample() -> None:
    x = _tone(1234.0, 44100, 0.5) * 10000
    y = resample(x, 44100, 16000)
    ref = _tone(1234.0, 16000, len(y) / 16000) * 10000
    # Nearest-sample picking would be off by hundreds; band-limited interpolation by < 1.
    assert np.abs(y - ref[: len(y)])[100:-100].max() < 1.0


def test_multichannel_odd_rate(tmp_path: Path) -> None:
    samples = np.stack([_tone(500.0, 12345, 0.3)] * 3, axis=1)
    pcm = read_wav(_write(tmp_path / "m.wav", samples, 12345, 2))
    assert abs(len(pcm) - int(0.3 * 12345) * 16000 // 12345) <= 1
    assert abs(_dominant_hz(pcm, TARGET_RATE) - 500.0) < 5.0


def test_espeak_speech_is_resampled_and_keeps_its_energy(espeak, tmp_path: Path) -> None:
    path = espeak("add five minutes")
    with wave.open(str(path), "rb") as wav:
        source_rate, frames = wav.getframerate(), wav.getnframes()
        raw = np.frombuffer(wav.readframes(frames), dtype="<i2").astype(np.float64)
    assert source_rate != TARGET_RATE  # espeak-ng writes 22.05 kHz: the resampler is exercised
    pcm = read_wav(path)
    assert abs(len(pcm) - frames * TARGET_RATE / source_rate) <= 1
    # Speech energy is mostly below 8 kHz, so the resampled RMS stays close to the original.
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) == pytest.approx(
        np.sqrt(np.mean(raw**2)), rel=0.1
    )
    # Round trip through write_wav is exact for 16 kHz int16.
    again = read_wav(write_wav(tmp_path / "again.wav", pcm))
    assert np.array_equal(again, pcm)


def test_empty_wav_gives_empty_audio(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.wav", np.zeros((0, 1)), 22050, 2)
    assert len(read_wav(path)) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a wav file at all", "not a readable PCM WAV"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a readable PCM WAV"),
        (b"", "not a readable PCM WAV"),
    ],
)
def test_corrupt_files_give_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(VoicecoachError, match=message) as info:
        read_wav(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_float_wav_is_refused_clearly(tmp_path: Path) -> None:
    # WAVE_FORMAT_IEEE_FLOAT (3): the standard library reads PCM only.
    data = np.zeros(100, dtype="<f4").tobytes()
    fmt = (
        b"fmt "
        + (16).to_bytes(4, "little")
        + (3).to_bytes(2, "little")
        + (1).to_bytes(2, "little")
        + (16000).to_bytes(4, "little")
        + (64000).to_bytes(4, "little")
        + (4).to_bytes(2, "little")
        + (32).to_bytes(2, "little")
    )
    body = b"WAVE" + fmt + b"data" + len(data).to_bytes(4, "little") + data
    path = tmp_path / "float.wav"
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    with pytest.raises(VoicecoachError, match="not a readable PCM WAV"):
        read_wav(path)


def _extensible(path: Path, data: bytes, rate: int, channels: int, width: int, sub: int) -> Path:
    """A WAVE_FORMAT_EXTENSIBLE file, as sox and recorders write 24-bit or multichannel audio."""
    guid = sub.to_bytes(2, "little") + bytes.fromhex("000000001000800000aa00389b71")
    fmt_body = (
        (0xFFFE).to_bytes(2, "little")
        + channels.to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + (rate * channels * width).to_bytes(4, "little")
        + (channels * width).to_bytes(2, "little")
        + (8 * width).to_bytes(2, "little")
        + (22).to_bytes(2, "little")
        + (8 * width).to_bytes(2, "little")
        + (0).to_bytes(4, "little")
        + guid
    )
    fact = (
        b"fact"
        + (4).to_bytes(4, "little")
        + (len(data) // (channels * width)).to_bytes(4, "little")
    )
    body = (
        b"WAVE"
        + b"fmt "
        + len(fmt_body).to_bytes(4, "little")
        + fmt_body
        + fact
        + b"data"
        + len(data).to_bytes(4, "little")
        + data
    )
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    return path


def test_extensible_24_bit_stereo_is_read(tmp_path: Path) -> None:
    tone = _tone(440.0, 48000, 1.0)
    ints = np.rint(np.repeat(tone[:, None], 2, axis=1) * (2**23 - 1)).astype(np.int32)
    data = ints.reshape(-1).astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    pcm = read_wav(_extensible(tmp_path / "t24.wav", data, 48000, 2, 3, sub=1))
    assert abs(len(pcm) - TARGET_RATE) <= 1
    assert abs(_dominant_hz(pcm, TARGET_RATE) - 440.0) < 2.0
    rms = np.sqrt(np.mean(pcm[400:-400].astype(np.float64) ** 2)) / 32768
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_extensible_six_channel_16_bit_is_read(tmp_path: Path) -> None:
    tone = np.rint(_tone(300.0, 44100, 0.5) * 32767).astype("<i2")
    data = np.repeat(tone[:, None], 6, axis=1).tobytes()
    pcm = read_wav(_extensible(tmp_path / "t6.wav", data, 44100, 6, 2, sub=1))
    assert abs(len(pcm) - TARGET_RATE // 2) <= 1
    assert abs(_dominant_hz(pcm, TARGET_RATE) - 300.0) < 3.0


def test_extensible_float_is_refused_clearly(tmp_path: Path) -> None:
    data = np.zeros(100, dtype="<f4").tobytes()
    path = _extensible(tmp_path / "f.wav", data, 16000, 1, 4, sub=3)
    with pytest.raises(VoicecoachError, match=r"not a readable PCM WAV.*not PCM") as info:
        read_wav(path)
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(VoicecoachError, match="no such file"):
        read_wav(tmp_path / "missing.wav")
    with pytest.raises(VoicecoachError, match="is a directory"):
        read_wav(tmp_path)


# --- bounds and blocks (issue 11) -------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), [(44100, 16000), (8000, 16000), (48000, 16000)])
def test_resampling_in_blocks_is_resampling_at_once(source: int, target: int) -> None:
    from voicecoach.hearing.wavio import Resampler, _weights

    rng = np.random.default_rng(3)
    x = rng.normal(0, 3000, size=source // 2)
    whole = resample(x, source, target)
    resampler = Resampler(source, target)
    parts, at = [], 0
    for size in rng.integers(1, 3000, size=1000):
        if at >= len(x):
            break
        parts.append(resampler.feed(x[at : at + size]))
        at += size
    parts.append(resampler.finish())
    blocks = np.concatenate(parts)
    assert len(blocks) == len(whole) == len(x) * target // source
    assert np.allclose(blocks, whole, atol=1e-6)
    # And both are the windowed sinc evaluated directly, at a few output samples.
    for k in (0, 7, len(whole) // 2, len(whole) - 1):
        up, down = resampler.up, resampler.down
        base = k * down // up
        taps = np.arange(base - resampler.half_width + 1, base + resampler.half_width + 1)
        values = np.where((taps >= 0) & (taps < len(x)), x[np.clip(taps, 0, len(x) - 1)], 0.0)
        w = _weights((k * down % up) / up - (taps - base), resampler.cutoff, resampler.half_width)
        assert whole[k] == pytest.approx(float(values @ w), abs=1e-6)


def test_a_long_file_is_read_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file many blocks long gives the same audio as reading it whole would."""
    import voicecoach.hearing.wavio as wavio

    tone = _tone(440, 48000, 3.0)
    stereo = np.stack([tone, tone * 0.5], axis=1)
    path = _write(tmp_path / "long.wav", stereo, 48000, 2)
    whole = read_wav(path)
    monkeypatch.setattr(wavio, "_BLOCK_BYTES", 4 * 1000)  # 1,000 frames a block: 144 blocks
    assert np.array_equal(read_wav(path), whole)
    assert abs(len(whole) - 3 * TARGET_RATE) <= 1


def test_a_wav_from_a_pipe_is_read_by_its_header(tmp_path: Path) -> None:
    """`recognize <(sox in.mp3 -t wav -)`: a pipe has no size, so only its header bounds it."""
    import os
    import threading

    data = _write(tmp_path / "tone.wav", _tone(440, 22050, 1.0)[:, None], 22050, 2).read_bytes()
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)

    def writer() -> None:
        with fifo.open("wb") as f:
            f.write(data)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        pcm = read_wav(fifo)
    finally:
        thread.join(timeout=10)
    assert abs(len(pcm) - TARGET_RATE) <= 1
    assert np.array_equal(pcm, read_wav(tmp_path / "tone.wav"))


@pytest.mark.parametrize(("channels", "width"), [(1, 2), (2, 2), (1, 4), (3, 1)])
def test_a_data_chunk_that_ends_inside_a_frame_is_read_up_to_it(
    tmp_path: Path, channels: int, width: int
) -> None:
    """A recording cut off mid-sample (an odd-length data chunk) was a numpy traceback."""
    import struct

    frame = channels * width
    data = bytes(frame * 800 + 1)
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, channels, 16000, 16000 * frame, frame, 8 * width)
    path = tmp_path / "cut.wav"
    path.write_bytes(header + b"data" + struct.pack("<I", len(data)) + data)
    assert len(read_wav(path)) == 800
