"""The echo canceller: a delayed, scaled copy of the coach's signal is taken out of the mix."""

from __future__ import annotations

import numpy as np

from voicecoach.echo import EchoCanceller


def _run(mic: np.ndarray, ref: np.ndarray, lag: int, frame: int = 320) -> np.ndarray:
    canceller = EchoCanceller()
    padded = np.concatenate([np.zeros(lag), ref])
    out = [
        canceller.process(mic[i : i + frame].astype(np.int16), padded[i : i + frame + lag])
        for i in range(0, len(mic) - frame + 1, frame)
    ]
    return np.concatenate(out).astype(np.float64)


def test_a_delayed_scaled_echo_is_removed_and_the_person_kept() -> None:
    rng = np.random.default_rng(3)
    n = 16000
    coach = rng.normal(0, 3000, n) * np.sin(np.linspace(0, 40, n)) ** 2
    person = np.zeros(n)
    person[8000:12000] = 2000 * np.sin(np.arange(4000) * 0.05)
    delay = 37
    echo = 0.4 * np.concatenate([np.zeros(delay), coach[:-delay]])
    mic = echo + person + rng.normal(0, 20, n)
    out = _run(mic, coach, lag=1600)
    settled = slice(3200, n)
    residual = out[settled] - person[settled]
    assert np.sqrt(np.mean(residual**2)) < 0.1 * np.sqrt(np.mean(echo[settled] ** 2))


def test_nothing_played_leaves_the_frame_alone() -> None:
    mic = (np.arange(320) % 50 * 40).astype(np.int16)
    canceller = EchoCanceller()
    assert np.array_equal(canceller.process(mic, np.zeros(320 + 1600)), mic)
    assert np.array_equal(canceller.process(mic, None), mic)
