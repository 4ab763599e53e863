"""Fixtures for the history tests: a history file in a temporary data directory, and the wall."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.history.helpers import TZ, FakeWall


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def wall() -> FakeWall:
    return FakeWall(datetime(2026, 11, 20, 8, 0, tzinfo=TZ))
