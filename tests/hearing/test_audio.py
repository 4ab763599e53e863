"""Microphone adapter: resampling, device choice, and a callback that never blocks or raises."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from voicecoach.errors import VoicecoachError
from voicecoach.hearing.audio import (
    Device,
    Microphone,
    choose_input,
    format_devices,
    resample,
)

DEVICES = [
    Device(0, "HDA Intel PCH: ALC257 Analog", 2, 2, 48000.0),
    Device(1, "HDMI output", 0, 8, 48000.0),
    Device(2, "USB PnP Sound Device: Audio", 1, 0, 44100.0),
]


def test_resample_keeps_duration_and_pitch() -> None:
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)
    out = resample(tone, 48000, 16000)
    assert len(out) == 16000
    spectrum = np.abs(np.fft.rfft(out.astype(np.float64)))
    assert np.argmax(spectrum) == pytest.approx(440, abs=1)  # 1 Hz bins over one second


def test_resample_removes_what_16k_cannot_carry() -> None:
    t = np.arange(44100) / 44100
    high = (np.sin(2 * np.pi * 12000 * t) * 10000).astype(np.int16)  # above 8 kHz Nyquist
    out = resample(high, 44100, 16000)
    assert np.sqrt(np.mean(out.astype(np.float64) ** 2)) < 0.1 * 10000 / np.sqrt(2)


def test_choose_input_by_index_name_or_default() -> None:
    assert choose_input("2", DEVICES).index == 2
    assert choose_input("usb", DEVICES).index == 2
    assert choose_input(None, DEVICES).inputs > 0
    with pytest.raises(VoicecoachError, match="devices"):
        choose_input("1", DEVICES)  # an output-only device is not an input
    with pytest.raises(VoicecoachError, match="no input device named like"):
        choose_input("bluetooth", DEVICES)


def test_no_input_device_suggests_the_demo() -> None:
    with pytest.raises(VoicecoachError, match="voicecoach demo"):
        choose_input(None, [DEVICES[1]])
    assert "voicecoach demo" in format_devices([])
    table = format_devices(DEVICES)
    assert "USB PnP Sound Device" in table and "44100" in table


def test_callback_only_queues_and_counts_losses() -> None:
    mic = Microphone(DEVICES[2], max_queued_s=0.1)  # room for 5 blocks of 20 ms
    block = np.ones(320, dtype=np.int16).tobytes()
    overflow = SimpleNamespace(input_overflow=True)
    frames = mic.frames(timeout=0.01)
    assert len(next(frames)[0]) == 0  # listening from here on
    for i in range(8):
        mic._callback(block, 320, None, overflow if i == 0 else None)
    assert mic.overflows == 1
    assert mic.dropped_blocks == 3
    got = [next(frames) for _ in range(5)]
    assert all(len(f) == 320 for f, _t in got)
    assert len(next(frames)[0]) == 0  # nothing more: an empty frame, never a block forever
    mic.close()


def test_frames_are_resampled_when_the_device_refuses_16k() -> None:
    mic = Microphone(DEVICES[2])
    mic.rate = 44100
    frames = mic.frames(timeout=0.01)
    next(frames)  # listening
    mic._callback(np.zeros(882, dtype=np.int16).tobytes(), 882, None, None)
    assert len(next(frames)[0]) == 320
    mic.close()


@pytest.mark.parametrize(("rate", "freq"), [(44100, 3000), (48000, 6000), (8000, 1000)])
def test_a_resampled_stream_has_no_seams_at_block_edges(rate: int, freq: int) -> None:
    """Block by block, as the microphone delivers it, the stream comes out as one signal
    (resampling each 20 ms block on its own buzzed at 50 Hz)."""
    from voicecoach.hearing.audio import SAMPLE_RATE, _lowpass

    block = round(rate * 0.02)
    t = np.arange(rate * 2) / rate
    x = (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)
    mic = Microphone(DEVICES[2], max_queued_s=3.0)
    mic.rate = rate
    frames = mic.frames(timeout=0.01)
    next(frames)  # listening
    for i in range(0, len(x), block):
        mic._callback(x[i : i + block].tobytes(), block, None, None)
    got = []
    while (frame := next(frames)[0]).size:
        got.append(frame)
    mic.close()
    out = np.concatenate(got).astype(np.float64)
    assert {f.size for f in got} == {320}
    # The same signal resampled whole, with the stream's fixed (sub-millisecond) delay.
    kernel = _lowpass(rate, SAMPLE_RATE)
    whole = np.convolve(x.astype(np.float64), kernel, mode="same") if kernel is not None else x
    step = rate / SAMPLE_RATE
    delay = (kernel.size // 2 if kernel is not None else 0) + 1 - step
    positions = np.arange(out.size) * step - delay
    expected = np.interp(positions, np.arange(x.size), whole)
    inner = slice(50, out.size - 50)
    assert np.abs(out[inner] - expected[inner]).max() <= 2


def test_audio_captured_before_listening_began_is_dropped_not_reported_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stream starts before the model has loaded; what it queued meanwhile is stale."""
    mic = Microphone(DEVICES[2], max_queued_s=0.1)
    for _ in range(50):  # a second of audio while the model loads: the queue overflows
        mic._callback(np.ones(320, dtype=np.int16).tobytes(), 320, None, None)
    frames = mic.frames(timeout=0.01)
    with caplog.at_level("WARNING", logger="voicecoach.hearing.audio"):
        assert len(next(frames)[0]) == 0  # nothing stale
        mic._callback(np.full(320, 7, dtype=np.int16).tobytes(), 320, None, None)
        frame, _t = next(frames)
    assert frame.tolist() == [7] * 320
    assert "lost audio" not in caplog.text
    mic.close()


def test_a_stream_that_stops_delivering_is_a_lost_device_not_a_hang() -> None:
    """A running stream delivers a block every 20 ms; silence from it (no callbacks at all) for
    `lost_after_s`, or a stream PortAudio has stopped, means the device or sound server is gone.
    Quiet audio is not silence: blocks of zeros keep it alive."""
    from voicecoach.hearing.audio import DeviceLost

    mic = Microphone(DEVICES[2])
    mic.lost_after_s = 0.2
    mic._stream = SimpleNamespace(active=True, stop=lambda: None, close=lambda: None)
    frames = mic.frames(timeout=0.05)
    assert len(next(frames)[0]) == 0  # listening from here on
    quiet = np.zeros(320, dtype=np.int16).tobytes()
    for _ in range(10):  # 0.5 s of quiet audio, delivered
        time.sleep(0.05)
        mic._callback(quiet, 320, None, None)
        assert len(next(frames)[0]) == 320
    with pytest.raises(DeviceLost, match="stopped delivering sound"):
        for _ in range(100):
            next(frames)
    mic.close()

    stopped = Microphone(DEVICES[2])
    stopped._stream = SimpleNamespace(active=False, stop=lambda: None, close=lambda: None)
    with pytest.raises(DeviceLost):
        next(stopped.frames(timeout=0.01))
    closed = Microphone(DEVICES[2])
    closed._stream = SimpleNamespace(active=False, stop=lambda: None, close=lambda: None)
    frames = closed.frames(timeout=0.01)
    closed.close()
    assert list(frames) == []  # closed by us: the frames just end


def test_capture_clock_stamps_blocks_by_sample_count_under_jittered_callbacks() -> None:
    from voicecoach.hearing.audio import CaptureClock

    rng = np.random.default_rng(1)
    clock = CaptureClock(rate=16000)
    true_end = 10.0
    stamps = []
    for _ in range(500):
        true_end += 0.02
        # Handed over 5 to 18 ms after the block's last sample was captured.
        stamps.append(clock.stamp(true_end + 0.005 + rng.uniform(0, 0.013), 320))
    steps = np.diff(stamps)
    # Contiguous but for the rare step back to a new least delay (more of them early on).
    assert np.mean(np.abs(steps - 0.02) < 1e-4) > 0.95
    assert np.all(steps > 0.005)
    callback_steps = np.diff([0.02 * k + 0.005 + rng.uniform(0, 0.013) for k in range(500)])
    assert np.mean(np.abs(callback_steps - 0.02) < 1e-4) < 0.05  # which the callbacks are not
    # Never later than the truest (least) delay seen.
    assert abs(stamps[-1] - (true_end + 0.005)) < 0.002


def test_capture_clock_follows_a_slow_device_clock_and_a_smaller_delay() -> None:
    from voicecoach.hearing.audio import CaptureClock

    clock = CaptureClock(rate=16000)
    # A device whose 320-sample blocks take 20.01 ms of system time (0.05% slow).
    t = 0.0
    for _ in range(3000):
        t += 0.02001
        last = clock.stamp(t + 0.01, 320)
    assert abs(last - (t + 0.01)) < 0.002
    # The delay falls by 8 ms (a device buffer drained): the stamps follow at once.
    t += 0.02001
    assert abs(clock.stamp(t + 0.002, 320) - (t + 0.002)) < 1e-6


# --- issue 20: a coach that cannot speak is refused before the session ----------------------


class _ClosingMic:
    closed = False

    def frames(self):  # pragma: no cover - the session never starts
        return iter(())

    def close(self) -> None:
        _ClosingMic.closed = True


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            "99999999999999999999999",
            "voicecoach: output device '99999999999999999999999' not found; "
            "`voicecoach devices` lists them",
        ),
        ('"Bluetooth"', "voicecoach: no output device named like 'Bluetooth'; "),
        # Listed, but PortAudio cannot open it (no such stream here): refused, not a mute coach.
        ("1", "voicecoach: could not open output device 'HDMI output' at 16000 Hz: "),
    ],
)
def test_an_output_device_that_cannot_be_opened_is_refused_before_the_session(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], setting, expected
) -> None:
    """`output_device = 99999999999999999999999` ran a whole session with no voice."""
    import sounddevice as sd

    import voicecoach.hearing.audio as audio
    from voicecoach import cli

    def refuse(**_kw):
        raise sd.PortAudioError("Invalid device [PaErrorCode -9996]")

    monkeypatch.setattr(sd, "check_output_settings", refuse)
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(f"output_device = {setting}\n")
    monkeypatch.setattr(audio, "list_devices", lambda: DEVICES)
    monkeypatch.setattr(audio, "open_microphone", lambda _spec: _ClosingMic())
    _ClosingMic.closed = False
    assert cli.main(["start", "--routine", "hip"]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(expected), err
    assert _ClosingMic.closed
    assert not (tmp_path / "data").exists()  # no session was started, nothing recorded


def test_no_output_device_at_all_is_refused() -> None:
    from voicecoach.hearing.audio import NO_OUTPUT_MESSAGE, choose_output

    with pytest.raises(VoicecoachError, match="no speakers found"):
        choose_output(None, [d for d in DEVICES if d.outputs == 0])
    assert "voicecoach demo" in NO_OUTPUT_MESSAGE


def test_the_default_output_is_the_systems_or_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    import voicecoach.hearing.audio as audio

    monkeypatch.setattr(audio, "_default_index", lambda which: 1 if which == 1 else None)
    assert audio.choose_output(None, DEVICES).index == 1
    monkeypatch.setattr(audio, "_default_index", lambda which: None)
    assert audio.choose_output(None, DEVICES).index == 0
    assert audio.choose_output("hdmi", DEVICES).index == 1
