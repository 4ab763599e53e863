"""The real pyttsx3 renderer, started once per test module for the speaking tests."""

from __future__ import annotations

import pytest

from voicecoach.speaking.render import Pyttsx3Renderer


@pytest.fixture(scope="module")
def renderer() -> Pyttsx3Renderer:
    r = Pyttsx3Renderer()
    yield r
    r.close()
