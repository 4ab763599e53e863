"""The voicing check: speech has voiced frames, noise and silence have none."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.hearing.voicing import MIN_VOICED_S, has_voiced_speech, voiced_seconds
from voicecoach.hearing.wavio import read_wav

RATE = 16000


def test_silence_and_noise_have_no_voiced_frames() -> None:
    rng = np.random.default_rng(1)
    assert voiced_seconds(np.zeros(RATE), RATE) == 0.0
    assert voiced_seconds(rng.normal(0, 100, RATE), RATE) == 0.0  # a microphone's floor
    assert voiced_seconds(rng.normal(0, 3000, 2 * RATE), RATE) == 0.0  # loud white noise
    assert voiced_seconds(np.zeros(100), RATE) == 0.0  # shorter than a frame


def test_a_pitched_tone_is_voiced_for_its_length() -> None:
    t = np.arange(RATE // 2) / RATE
    vowel = 3000 * np.sign(np.sin(2 * np.pi * 120 * t))  # a buzz at 120 Hz, like a vowel
    x = np.concatenate([np.zeros(RATE // 2), vowel, np.zeros(RATE // 2)])
    assert voiced_seconds(x, RATE) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(("text", "voice"), [("ow", "en-us"), ("stop", "en+f3"), ("ouch", "en")])
def test_the_shortest_commands_are_voiced_speech(espeak, text: str, voice: str) -> None:
    pcm = read_wav(espeak(text, voice, 175, 50)).astype(np.float64)
    pcm += np.random.default_rng(2).normal(0, 100, pcm.size)
    assert voiced_seconds(pcm, RATE) >= 1.5 * MIN_VOICED_S
    assert has_voiced_speech(pcm, RATE)
