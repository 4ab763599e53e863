"""The built-in routine library, loaded once for the routines tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecoach.routines import RoutineLibrary


@pytest.fixture(scope="module")
def lib() -> RoutineLibrary:
    return RoutineLibrary.load(user_dir=Path("/nonexistent-voicecoach-test"))
