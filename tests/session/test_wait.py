"""The waiting deadline alone: started, restarted after speech, run out, cleared."""

from __future__ import annotations

import pytest

from voicecoach.session.wait import Wait


def test_a_wait_runs_out_at_its_deadline_and_restarts_from_the_end_of_speech() -> None:
    wait = Wait()
    assert not wait.over(1e9)
    wait.start(100.0, 15.0)
    assert not wait.over(114.0)
    assert wait.over(115.0)
    assert wait.left(110.0) == pytest.approx(5.0)
    wait.restart(130.0)  # the coach finished speaking at 130
    assert wait.deadline == pytest.approx(145.0)
    wait.clear()
    assert wait.deadline is None and wait.length is None
    assert wait.left(200.0) == 0.0
