"""The echo reference: what the coach played, its tail, and the output's gain followed."""

from __future__ import annotations

import numpy as np

from voicecoach.speaking.echo_reference import EchoReference
from voicecoach.speaking.speaker import DUCK_GAIN


def test_echo_reference_tail() -> None:
    ref = EchoReference()
    ref.started(10.0, np.ones(16_000, dtype=np.int16), 16_000)
    ref.finished(11.0)
    assert ref.speaking_at(11.2, tail_s=0.3)
    assert not ref.speaking_at(11.4, tail_s=0.3)


def test_the_echo_reference_follows_the_outputs_gain() -> None:
    """Ducked from 10.5 s and back at 10.75 s: the reference is scaled alike, or the canceller
    would take out four times the echo there is."""
    ref = EchoReference()
    ref.started(10.0, np.full(16_000, 1000, dtype=np.int16), 16_000)
    ref.gain_from(10.5, DUCK_GAIN)
    ref.gain_from(10.75, 1.0)
    window = ref.window(10.25, 11.0)
    quarter = 16_000 // 4
    assert np.all(window[:quarter] == 1000)
    assert np.all(window[quarter : 2 * quarter] == 1000 * DUCK_GAIN)
    assert np.all(window[2 * quarter :] == 1000)
    assert ref.window(10.55, 10.6)[0] == 1000 * DUCK_GAIN  # a change before the window counts
    assert ref.gain_at(10.6) == DUCK_GAIN and ref.gain_at(10.0) == 1.0
