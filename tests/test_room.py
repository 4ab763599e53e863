"""The room itself (tests/room.py): a PulseAudio null sink whose monitor hears everything played
into it, mixed, and that leaves nothing running once stopped."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from room import Room, read_wav

pytestmark = pytest.mark.room


def _energy(x: np.ndarray, rate: int, gain: float = 1.0) -> float:
    """Signal energy integrated over time (rate-independent), of `x` scaled by `gain`."""
    return float(np.sum((x.astype(np.float64) * gain) ** 2)) / rate


def test_what_is_played_into_the_room_is_heard_on_its_monitor_mixed(room: Room, espeak) -> None:
    person = espeak("ready")
    coach = espeak("kneel on the floor on one leg", voice="en+f3")
    rec = room.dir / "heard.wav"
    with room.recording(rec):
        a = room.play(coach, volume=0.5, wait=False)
        room.play(person, volume=0.5)
        a.wait(timeout=30)
    heard = read_wav(rec)
    e_heard = _energy(heard, 16_000)
    e_coach = _energy(read_wav(coach), 22_050, 0.5)
    e_person = _energy(read_wav(person), 22_050, 0.5)
    # Both voices reached the monitor, summed (their energies add: different words, uncorrelated),
    # and nothing clipped.
    assert e_heard == pytest.approx(e_coach + e_person, rel=0.25)
    assert e_heard > e_coach + 0.5 * e_person
    assert np.abs(heard).max() < 32767


def test_portaudio_in_a_process_given_the_rooms_address_sees_its_devices(room: Room) -> None:
    code = (
        "import sounddevice as sd; d = sd.query_devices(); "
        "print(sum(x['max_input_channels'] > 0 for x in d))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=room.env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) >= 1


def test_a_stopped_room_leaves_no_server_and_no_directory(tmp_path) -> None:
    r = Room().start()
    pid, where = r.proc.pid, r.dir
    assert r.running and r.socket.exists()
    r.stop()
    assert not r.running
    assert not where.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_room_module_is_the_one_place_a_sound_server_is_started() -> None:
    """One way to start a room (tests/room.py, through the `room` fixture or `Room`): a test
    with a server of its own would go unchecked by the suite's "nothing left running" guard,
    which knows only the rooms Room started."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    # The binary named as a str (b"..." in conftest only reads /proc); split, not to name it here.
    starts_a_server = re.compile(r'(?<![\w"])"' + "pulse" + r'audio"')
    own = [
        str(path.relative_to(root))
        for folder in ("tests", "bench", "scripts", "voicecoach")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "room.py" and starts_a_server.search(path.read_text(encoding="utf-8"))
    ]
    assert own == [], f"these start PulseAudio themselves instead of using tests/room.py: {own}"
